"""The SSE streaming Lambda of the demo: poll cycles on the streaming tracer, a client lost mid-stream.

Run by ``xray-exclusive demo``, which plays the custom runtime: it iterates the stream and
throws ``BrokenPipeError`` into it when the simulated client goes away.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from opentelemetry import trace

from xray_exclusive import sse
from xray_exclusive.streaming import (
    annotate_poll,
    annotate_session,
    cloudwatch_span,
    dispatch_span,
    dynamodb_span,
    get_streaming_tracer,
    poll_cycle,
    traced_handler,
)

streaming = get_streaming_tracer()  # INIT: one provider per execution environment


def query_changes(poll: int) -> list[dict[str, Any]]:
    with dynamodb_span("Query", "sentiment-items"):
        return [{"id": f"item-{poll}-{i}", "sentiment": "positive"} for i in range(poll % 3)]


@traced_handler(name="global_stream")
def handler(event: dict[str, Any], context: Any) -> Generator[bytes, None, None]:
    headers = event.get("headers") or {}
    stream = sse.EventStream(headers=headers, retry_ms=3000)
    annotate_session(trace.get_current_span(), **sse.session_annotations(headers))  # type: ignore[arg-type]
    yield from stream.start()
    for poll in range(10):
        with poll_cycle() as cycle:
            items = query_changes(poll)
            annotate_poll(cycle, item_count=len(items), changed_count=len(items))
            frames = []
            for item in items:
                with dispatch_span(item["sentiment"]):
                    frames.append(stream.send(json.dumps(item), event="sentiment"))
            with cloudwatch_span():
                pass  # PutMetricData of the poll's latency
        for frame in frames:
            if frame is not None:
                yield frame
        yield stream.comment("poll")
