//go:build lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.awsxray)

// The awsxray exporter, registered with opentelemetry-lambda's custom-build component set, as its own
// exporters are (collector/lambdacomponents/exporter/*.go). ./Dockerfile copies this file there and builds
// the extension with BUILDTAGS naming exactly the components of collector.yaml.

package exporter

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"github.com/open-telemetry/opentelemetry-lambda/collector/lambdacomponents"
	"go.opentelemetry.io/collector/exporter"
)

func init() {
	lambdacomponents.AddExporterFactory(lambdacomponents.FactoryFn[exporter.Factory](awsxrayexporter.NewFactory))
}
