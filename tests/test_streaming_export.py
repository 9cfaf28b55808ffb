"""Nothing lost, nothing hidden: drops, export failures and the bounded flush, against a real receiver.

The bounds asserted here are functional promises (a flush with the collector
down must not take the exporter's 7.6 s of retries), checked with a wide
margin; the measured figures live in ``benchmarks/bench_streaming.py``.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Generator
from typing import Any

import pytest

from tests.conftest import new_root, trace_header
from tests.otlp_receiver import closed_port
from xray_exclusive.streaming import (
    dispatch_span,
    dynamodb_span,
    get_streaming_tracer,
    poll_cycle,
    traced_stream,
)


class ListSink:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write(self, line: str) -> None:
        self.lines.append(json.loads(line))


def session(polls: int) -> Generator[bytes, None, None]:
    """A streaming session compressed in time: per poll a cycle, a DynamoDB query and a dispatch."""
    for i in range(polls):
        with poll_cycle():
            with dynamodb_span("Query", "items"):
                pass
            with dispatch_span("sentiment"):
                pass
        yield b"data: %d\n\n" % i


def test_a_fifteen_second_session_loses_nothing(streaming: Any) -> None:
    # 15 s x 15 polls/s x 3 spans = 675 spans (FR-086, SC-040), produced as fast as possible.
    st = get_streaming_tracer()
    chunks = list(traced_stream(session(225)))
    assert len(chunks) == 225
    assert st.dropped_spans == 0
    assert st.failed_spans == 0
    assert len(streaming.spans) == 676  # 675 + the connection span
    assert len({s.span_id for s in streaming.spans}) == 676
    assert {s.xray_trace_id for s in streaming.spans} == {streaming.root}


def test_overflow_is_counted_exactly_and_reported(streaming: Any) -> None:
    sink = ListSink()
    gate = threading.Event()
    streaming.gate = gate  # the collector hangs: the worker's export blocks, the queue fills
    st = get_streaming_tracer(max_queue_size=8, max_export_batch_size=4, export_timeout_s=5, sink=sink)
    tracer = st.tracer
    for i in range(40):
        tracer.start_span(f"s{i}").end()
    time.sleep(0.05)
    for i in range(40, 60):
        tracer.start_span(f"s{i}").end()
    assert st.dropped_spans > 0
    gate.set()
    report = st.flush()
    # Every sampled span is accounted for: delivered, failed in export, or dropped from the queue.
    assert st.processor.ended == 60
    assert st.exported_spans + st.failed_spans + st.dropped_spans == 60
    assert streaming.received == st.exported_spans
    overflow = [line for line in sink.lines if line.get("span_queue_overflow")]
    assert overflow, sink.lines
    first = overflow[0]
    assert first["queue_size"] == 8
    assert first["dropped_span"].startswith("s")
    assert first["DroppedSpans"] >= 1
    assert first["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "XrayExclusive/Streaming"
    # Rate-limited lines, exact counter: the lines sum to the counter.
    assert sum(line["DroppedSpans"] for line in overflow) == st.dropped_spans
    assert report.dropped == st.dropped_spans


@pytest.mark.parametrize("mode", ["down", "503", "500", "slow"])
def test_the_stream_finishes_and_the_flush_stays_bounded(streaming: Any, mode: str) -> None:
    sink = ListSink()
    endpoint = streaming.endpoint
    if mode == "down":
        endpoint = f"http://127.0.0.1:{closed_port()}/v1/traces"
    elif mode == "slow":
        streaming.delay = 2.0  # beyond the 0.5 s export timeout
    else:
        streaming.status = int(mode)
        streaming.retry_after = "0" if mode == "503" else None  # tempts the exporter to retry at once
    st = get_streaming_tracer(endpoint=endpoint, sink=sink)
    stream = traced_stream(session(200))  # 601 spans: 10 batches of 64
    started = time.monotonic()
    assert len(list(stream)) == 200
    elapsed = time.monotonic() - started
    # Unbounded, this was 7.6 s (down) to 10 s per batch (slow); see the benchmark for real figures.
    assert elapsed < (2.5 if mode == "slow" else 1.5), elapsed
    assert st.exported_spans == 0
    assert st.failed_spans + st.dropped_spans == 601
    [line] = [line for line in sink.lines if line.get("span_export_failed")]
    assert line["UnexportedSpans"] == st.failed_spans
    assert line["endpoint"] == endpoint
    assert line["level"] == "ERROR"


def test_the_collector_coming_back_is_used_again(streaming: Any) -> None:
    streaming.status = 503
    st = get_streaming_tracer()
    list(traced_stream(session(1)))
    assert st.failed_spans == 4
    streaming.status = 200
    time.sleep(1.05)  # the circuit's cooldown
    report = st.flush()
    list(traced_stream(session(1)))
    assert report.failed == 0
    assert st.exported_spans == 4


def test_gzip_compression_from_the_environment(streaming: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    list(traced_stream(session(2)))
    assert streaming.requests[0]["content-encoding"] == "gzip"
    assert len(streaming.spans) == 7


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import resource

    return pages * resource.getpagesize() // 1024


def _bsp_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "OtelBatchSpanRecordProcessor")


def test_a_thousand_invocations_one_provider_stable_memory(
    streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    streaming.keep = False  # count only: the receiver shares this process's memory
    st = get_streaming_tracer()
    threads = _bsp_threads()

    def invoke() -> None:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(new_root(), sampled=True))
        for _ in traced_stream(session(1)):
            pass

    for _ in range(200):  # warm up allocators, caches and connection pools
        invoke()
    gc.collect()
    before = _rss_kib()
    for _ in range(800):
        invoke()
    gc.collect()
    growth = _rss_kib() - before
    assert get_streaming_tracer() is st
    assert _bsp_threads() == threads
    assert streaming.received == 1000 * 4
    assert st.dropped_spans == 0 and st.failed_spans == 0
    # SC-027: no monotonic growth. 800 invocations leaking even 2 KiB each would be 1.6 MiB.
    assert growth < 1536, f"RSS grew by {growth} KiB over 800 invocations"
