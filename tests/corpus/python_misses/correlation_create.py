"""Where correlation IDs are created: flagged."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

logger = Logger()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    logger.set_correlation_id(event["requestContext"]["requestId"])
    return {"statusCode": 200}
