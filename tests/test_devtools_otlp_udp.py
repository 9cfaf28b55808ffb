"""``xray-exclusive collect`` on its UDP port: OTLP-over-UDP datagrams next to X-Ray segment documents.

The senders are real: the streaming tracer on its ``udp`` route, AWS's own ``OTLPUdpSpanExporter``
(``aws-opentelemetry-distro``), and a segment document as Lambda's service sends it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import TRACE_PARENT
from xray_exclusive.devtools import Collector, render_text
from xray_exclusive.streaming import (
    dynamodb_span,
    get_streaming_tracer,
    poll_cycle,
    traced_stream,
)

HEADER = b'{"format":"json","version":1}\n'


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector(udp_port=0, http_port=0) as running:
        yield running


def send(address: str, datagram: bytes) -> None:
    host, port = address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, (host, int(port)))


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert predicate()


def test_udp_route_spans_assemble_with_the_function_segment(
    collector: Collector, streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = streaming.root
    now = time.time()
    # What Lambda's service sends for the invocation: the function segment, whose id is the Parent.
    segment = {"name": "sse-streaming-fn", "id": TRACE_PARENT, "trace_id": root, "start_time": now,
               "end_time": now + 0.5, "origin": "AWS::Lambda::Function"}  # fmt: skip
    send(collector.udp_address, HEADER + json.dumps(segment).encode())
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", collector.udp_address)
    tracer = get_streaming_tracer(route="udp")

    def stream() -> Iterator[bytes]:
        with poll_cycle(item_count=3), dynamodb_span("Query", "items"):
            pass
        yield b"data: 1\n\n"

    assert list(traced_stream(stream(), tracer=tracer)) == [b"data: 1\n\n"]
    wait_until(lambda: collector.store.received >= 4)
    trace = collector.store.get(root)
    assert trace is not None
    by_name = {d["name"]: d for d in trace.documents.values()}
    assert set(by_name) == {"sse-streaming-fn", "sse_stream", "poll_cycle", "DynamoDB"}
    assert by_name["sse_stream"]["parent_id"] == TRACE_PARENT  # under the function's segment
    assert by_name["poll_cycle"]["annotations"] == {"item_count": 3}
    assert by_name["DynamoDB"]["namespace"] == "aws"
    assert collector.store.rejected == 0
    out = io.StringIO()
    render_text(collector.store.traces(), stream=out, colour=False)
    assert "poll_cycle [local]" in out.getvalue() and "DynamoDB [aws]" in out.getvalue()


def test_aws_exporter_datagrams_sampled_stored_unsampled_counted(collector: Collector) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("app").start_as_current_span("handler"):
        pass
    spans = memory.get_finished_spans()
    for sampled in (True, False):
        exporter = OTLPUdpSpanExporter(endpoint=collector.udp_address, sampled=sampled)
        exporter.export(spans)
        exporter.shutdown()
    wait_until(lambda: getattr(collector.store, "unsampled_spans", 0) == 1 and collector.store.received == 1)
    [trace] = collector.store.traces()
    [document] = trace.documents.values()
    assert document["name"] == "handler"
    hex_id = f"{spans[0].context.trace_id:032x}"
    assert trace.trace_id == f"1-{hex_id[:8]}-{hex_id[8:]}"


def test_malformed_otlp_datagrams_are_rejected_and_the_collector_keeps_running(collector: Collector) -> None:
    send(collector.udp_address, HEADER + b"T1S***not base64***")  # not OTLP: treated as a bad document
    send(collector.udp_address, HEADER + b"T1S" + base64.b64encode(b"\xff\xff\xff"))  # not protobuf
    wait_until(lambda: collector.store.rejected == 2)
    assert collector.store.traces() == []


def test_demo_on_the_udp_route(tmp_path: Path) -> None:
    env = {**os.environ, "XRAY_EXCLUSIVE_STREAMING_ROUTE": "udp"}
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "logging.getLogger('xray_exclusive.streaming').setLevel(logging.INFO)\n"
        "from xray_exclusive.cli import main\n"
        f"sys.exit(main(['demo', '--html', {str(tmp_path / 'demo.html')!r}]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    # The streaming Lambda's tracer took the udp route, to the collector's UDP port.
    assert "route: udp, OTLP over UDP to the X-Ray daemon at 127.0.0.1:" in out.stderr
    assert out.stdout.count("\ntrace 1-") == 4
    assert "global_stream" in out.stdout and '"client.disconnected":true' in out.stdout
    assert "DynamoDB [aws]" in out.stdout
