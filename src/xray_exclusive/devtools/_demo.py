"""``xray-exclusive demo``: two example Lambdas, run locally, and the traces X-Ray would show.

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
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from ._assets import data_dir
from ._collector import UDP_HEADER, Collector
from ._view import render_html, render_text

__all__ = ["run_demo"]


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


def _environment(collector: Collector) -> None:
    os.environ.update(
        LAMBDA_TASK_ROOT=os.getcwd(),
        AWS_REGION="eu-west-1",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="2026/11/22/[$LATEST]demo",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
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


def _wait_for(collector: Collector, count: int, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while len(collector.store.traces()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # stragglers of the last trace


def run_demo(html_path: Path | None = None, out: TextIO | None = None) -> int:
    """Run the demo; print the traces, the EMF lines and where the HTML page is. Returns the exit status."""
    out = out or sys.stdout
    started = time.monotonic()
    html_path = html_path or Path("xray-exclusive-demo.html")
    emf = io.StringIO()
    with Collector(udp_port=0, http_port=0) as collector:
        _environment(collector)
        lambda_service = _LambdaService(collector.udp_address)
        out.write(f"collector: X-Ray UDP {collector.udp_address}, OTLP {collector.otlp_endpoint}\n\n")
        # 1. The Ingestion Lambda: a buffered handler with two caught-and-continued failures.
        os.environ.update(POWERTOOLS_SERVICE_NAME="ingestion", OTEL_SERVICE_NAME="ingestion")
        with contextlib.redirect_stdout(emf):
            ingestion = _load("ingestion")
            with lambda_service.invocation("ingestion"):
                answer = ingestion.handler({"ticker": "AAPL"}, None)
        out.write(f"ingestion returned {answer}\n")
        # 2. The SSE Lambda: a RESPONSE_STREAM handler; the client goes away after three events.
        os.environ.update(POWERTOOLS_SERVICE_NAME="sse-streaming", OTEL_SERVICE_NAME="sse-streaming")
        with contextlib.redirect_stdout(emf):
            sse_stream = _load("sse_stream")
            with lambda_service.invocation("sse-streaming"):
                written = _play_streaming_runtime(sse_stream.handler, {"headers": _client_headers()})
        out.write(f"sse-streaming wrote {written} frames, then the client disconnected\n\n")
        _wait_for(collector, 2)
        traces = collector.store.traces()
        lambda_service.close()
    render_text(traces, stream=out)
    out.write("CloudWatch EMF metric lines (stdout of the functions):\n")
    for line in emf.getvalue().splitlines():
        if line.startswith('{"_aws"'):
            out.write(f"  {line}\n")
    html_path.write_text(render_html(traces), encoding="utf-8")
    out.write(f"\nHTML waterfall: {html_path.resolve()}\n")
    out.write(f"{len(traces)} traces in {time.monotonic() - started:.1f} s\n")
    return 0 if len(traces) == 2 else 1


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
