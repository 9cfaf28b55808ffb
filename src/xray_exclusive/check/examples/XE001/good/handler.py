import boto3

from xray_exclusive.streaming import dynamodb_span, get_streaming_tracer

streaming = get_streaming_tracer()
dynamodb = boto3.client("dynamodb")


def scan(table: str) -> dict:
    with dynamodb_span("Scan", table):
        return dynamodb.scan(TableName=table)
