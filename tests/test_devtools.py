"""collect, view and demo: fed by the real X-Ray SDK (UDP) and OTLP exporter; the page in Chromium."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import example_paths as paths
from tests.conftest import TRACE_PARENT, trace_header
from xray_exclusive import failure_path
from xray_exclusive.devtools import Collector, CollectorError, TraceStore, render_html, render_text

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "test-artifacts"


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector(udp_port=0, http_port=0) as running:
        yield running


def wait_for_documents(collector: Collector, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while collector.store.received < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert collector.store.received >= count, f"{collector.store.received} of {count} documents arrived"


def test_handler_phase_and_streaming_phase_assemble_into_one_trace(
    collector: Collector, streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

    from tests.conftest import _reset_tracing
    from xray_exclusive.streaming import dynamodb_span, poll_cycle, reset_streaming_tracer, traced_stream

    # The real SDKs, pointed at the local collector instead of the test receivers.
    monkeypatch.setenv("LAMBDA_TASK_ROOT", os.getcwd())
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", collector.udp_address)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.otlp_endpoint)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(streaming.root, sampled=True))
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    reset_streaming_tracer()
    _reset_tracing()
    xray_recorder.configure(
        daemon_address=collector.udp_address, context=LambdaContext(), streaming_threshold=0
    )

    try:  # handler phase: X-Ray SDK subsegment over UDP
        with failure_path(paths.CIRCUIT_BREAKER_LOAD):
            raise TimeoutError("state table")
    except TimeoutError:
        pass

    def events() -> Generator[bytes, None, None]:  # streaming phase: OTLP spans
        with poll_cycle(item_count=2), dynamodb_span("Query", "items"):
            pass
        try:
            with failure_path(paths.SELF_HEALING_ITEM_FETCH):
                raise ValueError("bad item")
        except ValueError:
            pass
        yield b"data: x\n\n"

    list(traced_stream(events()))
    wait_for_documents(collector, 5)
    [trace] = collector.store.traces()
    assert trace.trace_id == streaming.root
    by_name = {doc["name"]: doc for doc in trace.documents.values()}
    assert set(by_name) >= {
        "circuit_breaker_load",
        "sse_stream",
        "poll_cycle",
        "DynamoDB",
        "self_healing_item_fetch",
    }
    assert by_name["circuit_breaker_load"]["parent_id"] == TRACE_PARENT
    assert by_name["sse_stream"]["parent_id"] == TRACE_PARENT
    assert by_name["sse_stream"]["type"] == "subsegment"
    dynamo = by_name["DynamoDB"]
    assert dynamo["namespace"] == "aws"
    assert dynamo["aws"] == {"operation": "Query", "table_name": "items"}
    assert by_name["poll_cycle"]["annotations"] == {"item_count": 2}
    fetch = by_name["self_healing_item_fetch"]
    assert fetch["fault"] is True
    [exception] = fetch["cause"]["exceptions"]
    assert exception["type"] == "ValueError"
    assert exception["message"] == "bad item"
    assert exception["stack"][0]["label"].endswith("events")  # the exporter's order: innermost first
    assert fetch["annotations"] == {"failure_path": "self_healing_item_fetch"}
    assert (
        json.loads(json.dumps(fetch["metadata"]["xray_exclusive"]))["failure"]["exception_type"]
        == "ValueError"
    )
    text = render_text([trace], colour=False)
    assert "DynamoDB [aws]" in text and "circuit_breaker_load [local]" in text


def test_otlp_json_and_gzip_are_accepted(collector: Collector) -> None:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex("5759e988bd862e3fe1be46a994272793")
    span.span_id = bytes.fromhex("53995c3f42cd8ad8")
    span.name = "from-json"
    span.start_time_unix_nano, span.end_time_unix_nano = 1_000_000_000, 2_000_000_000
    body = json_format.MessageToJson(request).encode()
    assert post(collector, body, "application/json") == 200
    span.name = "from-gzip"
    span.span_id = bytes.fromhex("53995c3f42cd8ad9")
    assert (
        post(collector, gzip.compress(request.SerializeToString()), "application/x-protobuf", "gzip") == 200
    )
    [trace] = collector.store.traces()
    assert {d["name"] for d in trace.documents.values()} == {"from-json", "from-gzip"}
    assert trace.trace_id == "1-5759e988-bd862e3fe1be46a994272793"


def post(
    collector: Collector,
    body: bytes,
    content_type: str,
    encoding: str | None = None,
    path: str = "/v1/traces",
) -> int:
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(collector.http_address + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "status"),
    [
        (b"\x0a\xff\xff\xff", "application/x-protobuf", None, 400),  # truncated protobuf
        (b"{not json", "application/json", None, 400),
        (b"\x1f\x8b garbage", "application/x-protobuf", "gzip", 400),
        (b"hello", "text/plain", None, 415),
    ],
)
def test_malformed_otlp_is_answered_and_the_collector_keeps_running(
    collector: Collector, body: bytes, content_type: str, encoding: str | None, status: int
) -> None:
    assert post(collector, body, content_type, encoding) == status
    assert post(collector, b"", "application/x-protobuf", path="/v1/metrics") == 404
    assert post(collector, b"", "application/x-protobuf") == 200  # an empty request is valid


def test_oversized_otlp_body_is_refused(collector: Collector) -> None:
    with socket.create_connection(("127.0.0.1", int(collector.http_address.rsplit(":", 1)[1]))) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 999999999\r\n\r\n"
        )
        assert sock.recv(200).startswith(b"HTTP/1.1 413")
    assert post(collector, b"", "application/x-protobuf") == 200


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(max_size=200).map(lambda t: ('{"format":"json","version":1}\n' + t).encode())
)
def test_malformed_datagrams_never_stop_the_collector(collector: Collector, data: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        host, port = collector.udp_address.rsplit(":", 1)
        if data:
            sender.sendto(data, (host, int(port)))
        good = {"id": "53995c3f42cd8ad8", "trace_id": "1-5759e988-bd862e3fe1be46a994272793", "name": "ok"}
        before = collector.store.received
        sender.sendto(b'{"format":"json","version":1}\n' + json.dumps(good).encode(), (host, int(port)))
    deadline = time.monotonic() + 2
    while collector.store.received <= before and time.monotonic() < deadline:
        time.sleep(0.005)
    assert collector.store.received > before


def test_ports_in_use_give_a_clear_message() -> None:
    with Collector(udp_port=0, http_port=0) as first:
        udp_port = int(first.udp_address.rsplit(":", 1)[1])
        http_port = int(first.http_address.rsplit(":", 1)[1])
        with pytest.raises(CollectorError, match="--udp-port 0"):
            Collector(udp_port=udp_port, http_port=0)
        with pytest.raises(CollectorError, match="--http-port 0"):
            Collector(udp_port=0, http_port=http_port)
    with pytest.raises(CollectorError, match="loopback only"):
        Collector(host="0.0.0.0", udp_port=0, http_port=0)


def test_store_evicts_the_oldest_trace_and_writes_json_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "traces.jsonl"
    store = TraceStore(max_traces=2, jsonl=jsonl)
    for i in range(3):
        store.add({"id": f"{i:016x}", "trace_id": f"1-5759e98{i}-bd862e3fe1be46a994272793", "name": f"t{i}"})
    store.add({"name": "no trace id"})
    store.close()
    assert [t.trace_id[-26:-25] for t in store.traces()] == ["1", "2"]
    assert store.rejected == 1
    assert len(jsonl.read_text().splitlines()) == 3
    out = subprocess.run(
        [sys.executable, "-m", "xray_exclusive.cli", "view", str(jsonl)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    assert out.stdout.count("trace 1-") == 3


def test_collect_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xray_exclusive.cli",
            "collect",
            "--udp-port",
            "0",
            "--http-port",
            "0",
            "--html",
            str(tmp_path / "page.html"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    address = first.split("AWS_XRAY_DAEMON_ADDRESS=")[1].strip()
    host, port = address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        doc = {
            "id": "53995c3f42cd8ad8",
            "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "name": "seen",
            "start_time": 1.0,
            "end_time": 1.5,
        }
        sender.sendto(b'{"format":"json","version":1}\n' + json.dumps(doc).encode(), (host, int(port)))
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "seen [segment] 500.0 ms" in out
    assert (tmp_path / "page.html").exists()


def test_collect_reports_a_busy_port() -> None:
    with Collector(udp_port=0, http_port=0) as first:
        port = first.http_address.rsplit(":", 1)[1]
        out = subprocess.run(
            [sys.executable, "-m", "xray_exclusive.cli", "collect", "--udp-port", "0", "--http-port", port],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 3  # could not run
    assert "is not available" in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_runs_the_reference_lambdas_and_shows_their_traces(tmp_path: Path) -> None:
    page = tmp_path / "demo.html"
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "xray_exclusive.cli", "demo", "--html", str(page)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.count("\ntrace 1-") == 4
    for path in paths.ALL:  # the reference Ingestion Lambda has all seven failure paths in place
        assert f"{path.name} [local]" in text and f'"{path.metric}":' in text
    assert "circuit_breaker_load [local]" in text and "error+throttle" in text
    assert "sendgrid [remote]" in text and "HTTP 429" in text  # FR-028
    assert "query_sentiment_counts [local]" in text and "dynamodb [aws]" in text  # FR-003, FR-004
    assert "put_sentiment_metrics [local]" in text and "monitoring [aws]" in text
    assert "global_stream" in text and '"client.disconnected":true' in text
    assert "DynamoDB [aws]" in text
    assert '"CircuitBreakerPersistenceFailure":1' in text
    assert '"TimeseriesFanoutPartialFailure":3' in text
    assert f"HTML waterfall: {page.resolve()}" in text
    assert elapsed < 60  # "under ten seconds" on a laptop; generous for a loaded CI machine
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(page, ARTIFACTS / "demo.html")


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_html_page_in_headless_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is required: .ci/run installs Debian's chromium package"
    store = TraceStore()
    root = "1-5759e988-bd862e3fe1be46a994272793"
    store.add({"id": "a" * 16, "trace_id": root, "name": "fn", "start_time": 1.0, "end_time": 1.2})
    store.add(
        {
            "id": "b" * 16,
            "trace_id": root,
            "parent_id": "a" * 16,
            "type": "subsegment",
            "name": "bad</script><b>",
            "start_time": 1.05,
            "end_time": 1.1,
            "fault": True,
            "annotations": {"k": "v"},
            "cause": {"exceptions": [{"type": "TimeoutError", "message": "PutMetricData timed out"}]},
        }
    )
    store.add(
        {
            "id": "c" * 16,
            "trace_id": root,
            "parent_id": "a" * 16,
            "type": "subsegment",
            "name": "DynamoDB",
            "namespace": "aws",
            "start_time": 1.1,
            "end_time": 1.15,
            "error": True,
            "throttle": True,
        }
    )
    page = tmp_path / "page.html"
    page.write_text(render_html(store.traces()))
    dom = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile1'}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="row"') == 3
    assert "bad&lt;/script&gt;&lt;b&gt;" in dom.stdout  # user data is text, never markup
    assert 'class="mark fault"' in dom.stdout and "error+throttle" in dom.stdout
    # Throttle is told apart from error, the cause is on the row, rows are keyboard-reachable, a legend says
    # what the colours mean.
    assert 'class="mark throttle"' in dom.stdout and 'class="bar throttle"' in dom.stdout
    assert '<span class="cause">TimeoutError: PutMetricData timed out</span>' in dom.stdout
    assert dom.stdout.count('tabindex="0"') == 3 and dom.stdout.count('role="button"') == 3
    assert 'class="legend"' in dom.stdout and "throttle (error + throttle" in dom.stdout
    console_errors = [
        line for line in dom.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()
    ]
    assert console_errors == []
    assert "Uncaught" not in dom.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--window-size=1280,600",
            f"--screenshot={ARTIFACTS / 'waterfall.png'}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (ARTIFACTS / "waterfall.png").stat().st_size > 1000


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["application/x-protobuf", "application/json"]))
def test_any_otlp_body_gets_an_answer_and_the_collector_keeps_running(
    collector: Collector, body: bytes, content_type: str
) -> None:
    status = post(collector, body, content_type)
    assert status in (200, 400)
    assert post(collector, b"", "application/x-protobuf") == 200


def test_live_page_and_raw_data_are_served(collector: Collector) -> None:
    collector._page = lambda: render_html(collector.store.traces())
    collector.store.add({"id": "a" * 16, "trace_id": "1-5759e988-bd862e3fe1be46a994272793", "name": "live"})
    with urllib.request.urlopen(collector.http_address + "/", timeout=5) as response:
        page = response.read().decode()
    assert response.headers["Content-Type"].startswith("text/html")
    assert '"name":"live"' in page
    with urllib.request.urlopen(collector.http_address + "/traces.json", timeout=5) as response:
        data = json.loads(response.read())
    assert data[0]["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def test_terminal_colour_only_when_asked() -> None:
    store = TraceStore()
    store.add(
        {
            "id": "a" * 16,
            "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "name": "x",
            "fault": True,
            "start_time": 1.0,
            "end_time": 2.0,
        }
    )
    assert "\033[31m" in render_text(store.traces(), colour=True)
    assert "\033[" not in render_text(store.traces(), colour=False)


def test_otlp_json_as_the_specification_writes_it(collector: Collector) -> None:
    """Hex trace and span IDs (any case), integer enums, ``intValue`` as a string, unknown fields ignored."""
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "my.library", "version": "1.0.0"},
                        "spans": [
                            {
                                "traceId": "5B8EFFF798038103D269B633813FC60C",
                                "spanId": "eee19b7ec3c1b174",
                                "parentSpanId": "EEE19B7EC3C1B173",
                                "name": "I'm a server span",
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                                "kind": 2,
                                "attributes": [{"key": "count", "value": {"intValue": "5"}}],
                                "status": {"code": 2, "message": "boom"},
                                "links": [
                                    {
                                        "traceId": "5b8efff798038103d269b633813fc60d",
                                        "spanId": "eee19b7ec3c1b175",
                                    }
                                ],
                                "aFieldFromTheFuture": {"x": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    assert post(collector, json.dumps(body).encode(), "application/json") == 200
    [trace] = collector.store.traces()
    assert trace.trace_id == "1-5b8efff7-98038103d269b633813fc60c"
    [document] = trace.documents.values()
    assert document["id"] == "eee19b7ec3c1b174"
    assert document["parent_id"] == "eee19b7ec3c1b173"
    assert "type" not in document  # SERVER (kind 2): a segment, even with a parent
    assert document["name"] == "my.service"
    assert document["start_time"] == 1544712660.0
    assert document["fault"] is True and document["cause"]["exceptions"][0]["message"] == "boom"
    assert document["metadata"]["default"]["count"] == 5
    assert document["links"] == [
        {"trace_id": "1-5b8efff7-98038103d269b633813fc60d", "id": "eee19b7ec3c1b175"}
    ]
    # A span ID that is neither hex nor base64 of 8 bytes is refused, not guessed.
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "not-an-id-at-all"  # type: ignore[index]
    assert post(collector, json.dumps(body).encode(), "application/json") == 400
