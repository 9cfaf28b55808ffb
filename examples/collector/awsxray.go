//go:build lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.awsxray)

// The awsxray exporter, registered with opentelemetry-lambda's custom-build component set, as its own
// exporters are (collector/lambdacomponents/exporter/*.go at the pinned commit). ./Dockerfile copies this
// file there and builds the extension with BUILDTAGS naming exactly the components of collector.yaml.

package exporter

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"go.opentelemetry.io/collector/exporter"
)

func init() {
	Factories = append(Factories, func(extensionId string) exporter.Factory {
		return awsxrayexporter.NewFactory()
	})
}
