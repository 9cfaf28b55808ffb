"""A RESPONSE_STREAM SSE Lambda traced with xray_exclusive.streaming: run it and read what X-Ray would get.

    pip install -e '.[streaming]'
    python examples/sse_stream.py

It plays two warm invocations of the same execution environment, each with its
own ``_X_AMZN_TRACE_ID``, the way the Lambda runtime sets it. The spans go
through the real ``OTLPSpanExporter`` to a loopback OTLP/HTTP receiver playing
the ADOT extension, which prints them as the collector's ``awsxray`` exporter
would file them: the trace ID, the namespace (``aws`` for DynamoDB and
CloudWatch, ``remote`` for other clients), the indexed annotations.
No AWS account, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Generator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

# --- the ADOT extension's stand-in: a loopback OTLP/HTTP receiver -----------------------------

RECEIVED: list[Any] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                RECEIVED.extend(scope_spans.spans)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()

# --- the Lambda's configuration (Terraform would set these) ------------------------------------

os.environ.update(
    OTEL_SERVICE_NAME="sse-streaming",
    POWERTOOLS_SERVICE_NAME="sse-streaming",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}/v1/traces",
    POWERTOOLS_METRICS_DISABLED="true",
)

# --- the SSE Lambda's module: INIT builds the one provider ---------------------------------------

from xray_exclusive import failure_path  # noqa: E402
from xray_exclusive.streaming import (  # noqa: E402
    annotate_poll,
    cloudwatch_span,
    dispatch_span,
    dynamodb_span,
    get_streaming_tracer,
    poll_cycle,
    traced_handler,
)

streaming = get_streaming_tracer()  # module level: once per execution environment, not per invocation


def query_changes(poll: int) -> list[dict[str, Any]]:
    with dynamodb_span("Query", "sentiment-items"):
        return [{"id": f"item-{poll}", "sentiment": "positive"}] if poll % 2 else []


@traced_handler(name="global_stream")
def handler(event: dict[str, Any], context: Any) -> Generator[bytes, None, None]:
    yield b"retry: 3000\n\n"
    for poll in range(3):
        with poll_cycle() as cycle:
            items = query_changes(poll)
            annotate_poll(cycle, item_count=len(items), changed_count=len(items))
            for item in items:
                with dispatch_span(item["sentiment"]):
                    pass  # the write of the SSE frame happens here
            try:
                with failure_path("metrics_emit", namespace="SentimentAnalyzer/Streaming"), cloudwatch_span():
                    if poll == 2:
                        raise TimeoutError("PutMetricData timed out")
            except TimeoutError:
                pass  # catch-and-continue, as before: now a fault subsegment in the stream's trace
        yield f"id: {poll}\ndata: {len(items)} changes\n\n".encode()


# --- two warm invocations, as the runtime drives them -------------------------------------------


def namespace(span: Any) -> str:
    attributes = {kv.key: kv.value for kv in span.attributes}
    if "rpc.system" in attributes and attributes["rpc.system"].string_value == "aws-api":
        return "aws"
    return "remote" if span.kind == 3 else "-"


def main() -> None:
    for invocation in (1, 2):
        root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"
        RECEIVED.clear()
        chunks = list(handler({"headers": {}}, None))  # the runtime writes each chunk to the client
        print(f"invocation {invocation}: {len(chunks)} chunks streamed; trace {root}")
        by_id = {span.span_id: span for span in RECEIVED}
        for span in sorted(RECEIVED, key=lambda s: s.start_time_unix_nano):
            depth, parent = 0, by_id.get(span.parent_span_id)
            while parent is not None:
                depth, parent = depth + 1, by_id.get(parent.parent_span_id)
            trace_id = span.trace_id.hex()
            attributes = {kv.key: kv.value for kv in span.attributes}
            indexed = (
                [v.string_value for v in attributes["aws.xray.annotations"].array_value.values]
                if ("aws.xray.annotations" in attributes)
                else []
            )
            marks = "fault" if span.status.code == 2 else ""
            same = "same trace" if f"1-{trace_id[:8]}-{trace_id[8:]}" == root else "OTHER TRACE"
            name = "  " * depth + span.name
            print(f"  {name:<30} ns={namespace(span):<6} {marks:<6} {same}  annotations={indexed}")
    print(
        f"spans delivered: {streaming.exported_spans}, dropped: {streaming.dropped_spans}, "
        f"lost in export: {streaming.failed_spans}"
    )
    server.shutdown()


if __name__ == "__main__":
    main()
