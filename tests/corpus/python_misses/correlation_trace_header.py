"""A correlation ID read from the X-Ray trace header (x-amzn-trace-id): the trace ID itself, not flagged.

Reduced from Powertools' AppSync and ALB examples.
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.correlation_paths import APPLICATION_LOAD_BALANCER

logger = Logger()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.APPSYNC_RESOLVER)
def resolver(event: dict, context: object) -> dict:
    return {}


@logger.inject_lambda_context(correlation_id_path=APPLICATION_LOAD_BALANCER)
def alb(event: dict, context: object) -> dict:
    return {"statusCode": 200}


@logger.inject_lambda_context(correlation_id_path='headers."X-Amzn-Trace-Id"')
def written_out(event: dict, context: object) -> dict:
    return {"statusCode": 200}
