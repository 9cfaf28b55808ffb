"""The SSE Lambda: polls DynamoDB for changed items and streams them as Server-Sent Events.

Deployed as a container whose entry point is ``python -m xray_exclusive.runtime`` (see the
Dockerfile), invoked through a Function URL in ``RESPONSE_STREAM`` mode. ``run_local.py`` runs it
against a loopback Runtime API, moto's DynamoDB and ``xray-exclusive collect``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from typing import Any

import boto3
from opentelemetry import trace

from xray_exclusive import failure_path, sse
from xray_exclusive.runtime import HttpResponse
from xray_exclusive.streaming import (
    annotate_poll,
    annotate_session,
    dispatch_span,
    dynamodb_span,
    get_streaming_tracer,
    poll_cycle,
    traced_handler,
)

TABLE = os.environ.get("ITEMS_TABLE", "sentiment-items")
POLLS = int(os.environ.get("SSE_POLLS", "20"))
POLL_INTERVAL_S = float(os.environ.get("SSE_POLL_INTERVAL_S", "0.5"))

streaming = get_streaming_tracer()  # INIT: one provider per execution environment
dynamodb = boto3.client("dynamodb")  # never instrumented by OpenTelemetry: dynamodb_span() traces the calls


def changed_items(since: float) -> list[dict[str, Any]]:
    with dynamodb_span("Scan", TABLE):
        answer = dynamodb.scan(
            TableName=TABLE,
            FilterExpression="updated_at > :since",
            ExpressionAttributeValues={":since": {"N": str(since)}},
        )
    return [{"id": item["id"]["S"], "sentiment": item["sentiment"]["S"]} for item in answer.get("Items", [])]


@traced_handler(name="global_stream")
def handler(event: dict[str, Any], context: Any) -> Generator[Any, None, None]:
    headers = event.get("headers") or {}
    yield HttpResponse(200, {**sse.RESPONSE_HEADERS, **sse.cors_headers(headers.get("origin"))})
    stream = sse.EventStream(headers=headers)  # Last-Event-ID: no replay here, so the client deduplicates
    annotate_session(
        trace.get_current_span(), **sse.session_annotations(headers, event.get("queryStringParameters"))
    )
    yield from stream.start()
    since = 0.0
    for _ in range(POLLS):
        started = time.time()
        frames = []
        with poll_cycle() as cycle:
            try:
                with failure_path("sse_poll", namespace="SentimentAnalyzer/Streaming"):
                    items = changed_items(since)
            except Exception:
                items = []  # caught and continued: a fault subsegment and a metric, then the next poll
            annotate_poll(
                cycle, item_count=len(items), poll_duration_ms=round((time.time() - started) * 1000, 1)
            )
            for item in items:
                with dispatch_span(item["sentiment"]):
                    frames.append(stream.send(json.dumps(item), event="sentiment"))
        since = started
        for frame in frames:
            if frame is not None:
                yield frame
        yield stream.comment("poll")
        time.sleep(POLL_INTERVAL_S)
