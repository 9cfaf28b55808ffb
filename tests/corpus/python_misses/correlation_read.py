"""Code that only reads a correlation ID (for a response header): not flagged."""

from aws_lambda_powertools import Logger

logger = Logger()


def handler(event: dict, context: object) -> dict:
    return {"statusCode": 200, "headers": {"x-correlation-id": logger.get_correlation_id() or ""}}
