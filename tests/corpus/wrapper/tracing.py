"""A local wrapper: the Lambda imports OpenTelemetry through it."""

from opentelemetry import trace

tracer = trace.get_tracer("orders-stream")
