"""``xray-exclusive demo``: the reference Lambdas, run locally, and the traces X-Ray would show.

The demo plays what AWS does around a function and nothing more: it sets the
Lambda environment (``LAMBDA_TASK_ROOT``, ``_X_AMZN_TRACE_ID`` per
invocation), sends the function segment the Lambda service records, and, for
the streaming function, iterates the stream as a custom runtime does and
throws ``BrokenPipeError`` into it when the simulated client goes away. The
Lambdas themselves (``examples/lambdas``) use the library as any user would.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from ._assets import data_dir
from ._collector import UDP_HEADER, Collector
from ._real import RealCollector
from ._view import render_html, render_text

__all__ = ["DEMO_LAMBDAS", "run_demo"]

DEMO_LAMBDAS = ("ingestion", "notification", "sse-streaming", "metrics")
"""The reference Lambdas of ``examples/lambdas`` the demo plays, in order."""


def _load(name: str) -> ModuleType:
    path = data_dir("lambdas") / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"xray_exclusive_demo_{name}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load the demo Lambda {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _LambdaService:
    """What the Lambda service does around one invocation: the trace header and the function segment."""

    def __init__(self, udp_address: str) -> None:
        host, port = udp_address.rsplit(":", 1)
        self._target = (host, int(port))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    @contextlib.contextmanager
    def invocation(self, function: str) -> Iterator[str]:
        root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        parent = secrets.token_hex(8)
        os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={parent};Sampled=1;Lineage=1:demo:0"
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = function
        start = time.time()
        try:
            yield root
        finally:
            segment = {
                "name": function,
                "id": parent,
                "trace_id": root,
                "start_time": start,
                "end_time": time.time(),
                "origin": "AWS::Lambda::Function",
                "aws": {"function_arn": f"arn:aws:lambda:eu-west-1:123456789012:function:{function}"},
            }
            datagram = UDP_HEADER + b"\n" + json.dumps(segment).encode()
            self._socket.sendto(datagram, self._target)

    def close(self) -> None:
        self._socket.close()


def _environment(collector: Collector | RealCollector) -> None:
    os.environ.update(
        LAMBDA_TASK_ROOT=os.getcwd(),
        AWS_REGION="eu-west-1",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="2026/11/22/[$LATEST]demo",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        # Lambda hands every function its role's credentials in these; the demo's are fake and never sent.
        AWS_ACCESS_KEY_ID="ASIADEMODEMODEMODEMO",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_SESSION_TOKEN="demo",
        AWS_XRAY_DAEMON_ADDRESS=collector.udp_address,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=collector.otlp_endpoint,
    )
    for name in (
        "POWERTOOLS_TRACE_DISABLED",
        "AWS_XRAY_SDK_ENABLED",
        "AWS_LAMBDA_EXEC_WRAPPER",
        "OTEL_PROPAGATORS",
    ):
        os.environ.pop(name, None)


def _wait_for(collector: Collector | RealCollector, count: int, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while len(collector.store.traces()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # stragglers of the last trace


def run_demo(
    html_path: Path | None = None, out: TextIO | None = None, collector_binary: Path | None = None
) -> int:
    """Run the demo; print the traces, the EMF lines and where the HTML page is. Returns the exit status.

    With ``collector_binary`` (the collector built from ``collector/``), the
    Lambdas send to that real collector, whose ``awsxray`` exporter writes to
    a local X-Ray stand-in: what is shown is what X-Ray would store. Without
    it, the built-in pure-Python collector translates the spans itself.
    """
    out = out or sys.stdout
    started = time.monotonic()
    html_path = html_path or Path("xray-exclusive-demo.html")
    emf = io.StringIO()
    collector: Collector | RealCollector = (
        RealCollector(collector_binary) if collector_binary else Collector(udp_port=0, http_port=0)
    )
    with collector:
        _environment(collector)
        lambda_service = _LambdaService(collector.udp_address)
        if isinstance(collector, RealCollector):
            out.write(
                f"collector: {collector.binary} (the real build): X-Ray UDP {collector.udp_address}, "
                f"OTLP {collector.otlp_endpoint}; its awsxray exporter writes to the X-Ray stand-in "
                f"{collector.stand_in.endpoint}\n\n"
            )
        else:
            out.write(f"collector: X-Ray UDP {collector.udp_address}, OTLP {collector.otlp_endpoint}\n\n")
        # 1. The Ingestion Lambda: a buffered handler with two caught-and-continued failures.
        os.environ.update(POWERTOOLS_SERVICE_NAME="ingestion", OTEL_SERVICE_NAME="ingestion")
        with contextlib.redirect_stdout(emf):
            ingestion = _load("ingestion")
            with lambda_service.invocation("ingestion"):
                answer = ingestion.handler({"ticker": "AAPL"}, None)
        out.write(f"ingestion returned {answer}\n")
        # 2. The Notification Lambda: its SendGrid call (urllib, not patched) in an explicit subsegment.
        os.environ.update(POWERTOOLS_SERVICE_NAME="notification", OTEL_SERVICE_NAME="notification")
        with _FakeSendGrid() as sendgrid_url, contextlib.redirect_stdout(emf):
            os.environ["SENDGRID_API_URL"] = sendgrid_url
            notification = _load("notification")
            with lambda_service.invocation("notification"):
                event = {"recipients": ["oncall@example.com"], "want_status": 429}
                answer = notification.handler(event, None)
        out.write(f"notification returned {answer}\n")
        # 3. The SSE Lambda: a RESPONSE_STREAM handler; the client goes away after three events.
        os.environ.update(POWERTOOLS_SERVICE_NAME="sse-streaming", OTEL_SERVICE_NAME="sse-streaming")
        with contextlib.redirect_stdout(emf):
            sse_stream = _load("sse_stream")
            with lambda_service.invocation("sse-streaming"):
                written = _play_streaming_runtime(sse_stream.handler, {"headers": _client_headers()})
        out.write(f"sse-streaming wrote {written} frames, then the client disconnected\n")
        # 4. The Metrics Lambda: botocore auto-patched (last: patching is process-wide), its AWS calls
        #    answered by botocore's Stubber, each inside an explicit subsegment.
        os.environ.update(POWERTOOLS_SERVICE_NAME="metrics", OTEL_SERVICE_NAME="metrics")
        with contextlib.redirect_stdout(emf):
            metrics = _load("metrics")
            with _stubbed(metrics), lambda_service.invocation("metrics"):
                answer = metrics.handler({}, None)
        out.write(f"metrics returned {answer}\n\n")
        _wait_for(collector, len(DEMO_LAMBDAS))
        lambda_service.close()
    traces = collector.store.traces()  # after close: the real collector exports what it still holds
    render_text(traces, stream=out)
    if isinstance(collector, RealCollector):
        out.write(
            "note: the X-Ray SDK's subsegments went through the collector's awsxray receiver, which\n"
            "      keeps only `fault` for a failure without an HTTP status; on Lambda, X-Ray's own\n"
            "      daemon forwards them unchanged, so `error`/`throttle` stay as the SDK wrote them.\n\n"
        )
    out.write("CloudWatch EMF metric lines (stdout of the functions):\n")
    for line in emf.getvalue().splitlines():
        if line.startswith('{"_aws"'):
            out.write(f"  {line}\n")
    html_path.write_text(render_html(traces), encoding="utf-8")
    out.write(f"\nHTML waterfall: {html_path.resolve()}\n")
    out.write(f"{len(traces)} traces in {time.monotonic() - started:.1f} s\n")
    return 0 if len(traces) == len(DEMO_LAMBDAS) else 1


class _FakeSendGrid:
    """A loopback stand-in for SendGrid's API, answering with the status asked for in X-Want-Status."""

    def __enter__(self) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(int(self.headers.get("X-Want-Status") or 202))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def _stubbed(metrics: ModuleType) -> Iterator[None]:
    """Answer the Metrics Lambda's two AWS calls as DynamoDB and CloudWatch would (botocore's Stubber)."""
    from botocore.stub import Stubber

    items = [{"sentiment": {"S": s}} for s in ("positive", "positive", "negative", "neutral")]
    with Stubber(metrics.dynamodb) as dynamodb, Stubber(metrics.cloudwatch) as cloudwatch:
        dynamodb.add_response("query", {"Items": items, "Count": len(items)})
        cloudwatch.add_response("put_metric_data", {})
        yield


def _client_headers() -> dict[str, str]:
    return {
        "accept": "text/event-stream",
        "x-sse-session-id": "tab-42",
        "x-sse-connection-sequence": "1",
    }


def _play_streaming_runtime(handler: Any, event: dict[str, Any]) -> int:
    """Iterate the stream like a custom runtime writing to a client that goes away after three events."""
    stream = handler(event, None)
    written = events = 0
    try:
        for frame in stream:
            written += 1
            if frame.startswith(b"id:"):
                events += 1
                if events == 3:
                    stream.throw(BrokenPipeError(32, "Broken pipe"))
    except BrokenPipeError:
        pass
    return written
