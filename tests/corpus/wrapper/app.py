"""A streaming Lambda that imports OpenTelemetry only through tracing.py: still a streaming Lambda."""

from aws_lambda_powertools import Tracer
from tracing import tracer as otel

powertools = Tracer()


def handler(event: dict, context: object) -> dict:
    with otel.start_as_current_span("handle"):
        return {"status": 200, "service": powertools.service}
