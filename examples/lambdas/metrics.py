"""The Metrics Lambda: its DynamoDB query and ``put_metric_data`` in explicit subsegments.

``Tracer(patch_modules=["botocore"])`` makes every AWS call an automatic X-Ray subsegment and patches
nothing else (no ``requests``: one patching mechanism, so no call is traced twice); the explicit
subsegments around them say what the calls were for and carry the annotations operators search by. Run by
``xray-exclusive demo`` with the clients stubbed by botocore's ``Stubber``; deploy with handler
``metrics.handler``.
"""

from __future__ import annotations

import os
from typing import Any

import botocore.session
from aws_lambda_powertools import Tracer

tracer = Tracer(auto_patch=True, patch_modules=["botocore"])  # explicit: Tracer settings are shared
TABLE = os.environ.get("ITEMS_TABLE", "sentiment-items")
NAMESPACE = os.environ.get("METRICS_NAMESPACE", "SentimentAnalyzer")

_session = botocore.session.get_session()  # what boto3.client() wraps; boto3 is in the Lambda runtime too
dynamodb = _session.create_client("dynamodb")
cloudwatch = _session.create_client("cloudwatch")


def sentiment_counts() -> dict[str, int]:
    """Count the items of the last hour per sentiment."""
    with tracer.provider.in_subsegment("query_sentiment_counts") as subsegment:
        answer = dynamodb.query(
            TableName=TABLE,
            IndexName="by-hour",
            KeyConditionExpression="hour_bucket = :hour",
            ExpressionAttributeValues={":hour": {"S": "current"}},
        )
        counts: dict[str, int] = {}
        for item in answer.get("Items", []):
            sentiment = item["sentiment"]["S"]
            counts[sentiment] = counts.get(sentiment, 0) + 1
        subsegment.put_annotation("item_count", answer.get("Count", 0))
        subsegment.put_annotation("sentiment_types", len(counts))
    return counts


def publish(counts: dict[str, int]) -> int:
    """One ``put_metric_data`` call with a datapoint per sentiment."""
    data = [
        {"MetricName": "SentimentCount", "Dimensions": [{"Name": "Sentiment", "Value": name}], "Value": count}
        for name, count in sorted(counts.items())
    ]
    with tracer.provider.in_subsegment("put_sentiment_metrics") as subsegment:
        subsegment.put_annotation("datapoint_count", len(data))
        if data:
            cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    return len(data)


@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    counts = sentiment_counts()
    return {"counts": counts, "published": publish(counts)}
