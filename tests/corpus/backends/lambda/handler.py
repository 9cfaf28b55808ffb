"""A vendor tracing SDK next to X-Ray, and an OTLP exporter pointed at a vendor."""

import ddtrace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

LOCAL = OTLPSpanExporter()  # localhost:4318, the collector extension: fine
REMOTE = OTLPSpanExporter(endpoint="https://api.honeycomb.io/v1/traces")
ddtrace.patch_all()
