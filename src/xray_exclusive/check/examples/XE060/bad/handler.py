from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

EXPORTER = OTLPSpanExporter(endpoint="https://api.honeycomb.io/v1/traces")
