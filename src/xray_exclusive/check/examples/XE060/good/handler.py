from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

EXPORTER = OTLPSpanExporter(endpoint="http://localhost:4318/v1/traces")  # the collector extension
