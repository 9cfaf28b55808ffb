"""The ``udp`` route: OTLP over UDP to the X-Ray daemon, held byte for byte to AWS's own exporter.

The reference is ``aws-opentelemetry-distro``'s ``OTLPUdpSpanExporter``, the exporter AWS's Lambda layer
uses. The same ``ReadableSpan`` objects go through it and through the streaming tracer; both send real
datagrams to real loopback sockets; the datagrams are compared as bytes, and decoded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import pytest
from amazon.opentelemetry.distro.otlp_udp_exporter import (
    FORMAT_OTEL_SAMPLED_TRACES_BINARY_PREFIX,
    FORMAT_OTEL_UNSAMPLED_TRACES_BINARY_PREFIX,
    PROTOCOL_HEADER,
    OTLPUdpSpanExporter,
)
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from tests.otlp_udp import UdpDaemon, decode, spans_of
from xray_exclusive import failure_path
from xray_exclusive.streaming import (
    annotate_poll,
    dispatch_span,
    dynamodb_span,
    get_streaming_tracer,
    poll_cycle,
    reset_streaming_tracer,
    traced_stream,
)
from xray_exclusive.streaming._udp_export import (
    MAX_DATAGRAM_BYTES,
    SAMPLED_PREFIX,
    UNSAMPLED_PREFIX,
    OTLPUdpExporter,
    daemon_endpoint,
    parse_daemon_address,
)
from xray_exclusive.streaming._udp_export import (
    PROTOCOL_HEADER as OUR_HEADER,
)


class Lines:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write(self, line: str) -> None:
        self.lines.append(json.loads(line))


@pytest.fixture
def daemon() -> Iterator[UdpDaemon]:
    receiver = UdpDaemon()
    yield receiver
    receiver.close()


@pytest.fixture
def aws_daemon() -> Iterator[UdpDaemon]:
    """A second socket: where AWS's exporter sends the same spans."""
    receiver = UdpDaemon()
    yield receiver
    receiver.close()


@pytest.fixture
def udp_route(streaming: Any, daemon: UdpDaemon, monkeypatch: pytest.MonkeyPatch) -> UdpDaemon:
    """The streaming Lambda's environment, on the udp route, with the daemon at ``daemon.address``."""
    monkeypatch.setenv("XRAY_EXCLUSIVE_STREAMING_ROUTE", "udp")
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    daemon.root = streaming.root  # type: ignore[attr-defined]
    return daemon


def tee() -> InMemorySpanExporter:
    """The ``ReadableSpan`` objects the streaming tracer ends, kept as they are, to replay through AWS's."""
    memory = InMemorySpanExporter()
    get_streaming_tracer().provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


def sse(polls: int) -> Generator[bytes, None, None]:
    for i in range(polls):
        with poll_cycle() as cycle:
            with dynamodb_span("Query", "items"):
                pass
            annotate_poll(cycle, item_count=i, changed_count=i % 2)
            with dispatch_span("sentiment"):
                pass
            try:
                with failure_path("metrics_emit", namespace="SSE/Reliability"):
                    raise ConnectionError("cloudwatch unreachable")
            except ConnectionError:
                pass
        yield f"data: {i}\n\n".encode()


def replay_through_aws(
    datagrams: Sequence[bytes], ended: Sequence[ReadableSpan], aws_daemon: UdpDaemon, sampled: bool = True
) -> list[bytes]:
    """For each of our datagrams, the same spans (found by span id) sent through AWS's exporter."""
    by_id = {format(span.context.span_id, "016x"): span for span in ended}
    exporter = OTLPUdpSpanExporter(endpoint=aws_daemon.address, sampled=sampled)
    try:
        for datagram in datagrams:
            batch = [by_id[s.span_id] for s in spans_of(decode(datagram)[1])]
            assert exporter.export(batch) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    return aws_daemon.datagrams()


# ------------------------------------------------------------------------------- the wire


def test_same_header_and_prefixes_as_aws_exporter() -> None:
    assert PROTOCOL_HEADER.encode() == OUR_HEADER
    assert FORMAT_OTEL_SAMPLED_TRACES_BINARY_PREFIX.encode() == SAMPLED_PREFIX
    assert FORMAT_OTEL_UNSAMPLED_TRACES_BINARY_PREFIX.encode() == UNSAMPLED_PREFIX


def test_a_stream_sends_the_datagrams_aws_exporter_sends(udp_route: UdpDaemon, aws_daemon: UdpDaemon) -> None:
    memory = tee()
    assert len(list(traced_stream(sse(3)))) == 3
    ours = udp_route.datagrams()
    ended = memory.get_finished_spans()
    assert len(ended) == 1 + 3 * 4  # the stream, and per poll: the cycle, DynamoDB, dispatch, the failure
    theirs = replay_through_aws(ours, ended, aws_daemon)
    assert theirs == ours  # byte for byte, datagram by datagram
    assert all(decode(d)[0] == "T1S" for d in ours)
    received = [s for d in ours for s in spans_of(decode(d)[1])]
    assert sorted(s.span_id for s in received) == sorted(format(s.context.span_id, "016x") for s in ended)
    # The annotations travel: listed in aws.xray.annotations, exactly as on the collector route.
    cycles = [s for s in received if s.name == "poll_cycle"]
    assert [c.attributes["item_count"] for c in cycles] == [0, 1, 2]
    assert all(set(c.attributes["aws.xray.annotations"]) >= {"item_count", "changed_count"} for c in cycles)
    failure = next(s for s in received if s.name == "metrics_emit")
    assert failure.status_code == 2 and failure.events[0][1]["exception.type"] == "ConnectionError"
    assert {s.xray_trace_id for s in received} == {udp_route.root}  # type: ignore[attr-defined]


def test_same_spans_and_annotations_as_the_collector_route(
    streaming: Any, daemon: UdpDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    list(traced_stream(sse(2)))
    over_http = streaming.spans
    reset_streaming_tracer()
    monkeypatch.setenv("XRAY_EXCLUSIVE_STREAMING_ROUTE", "udp")
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    list(traced_stream(sse(2)))
    over_udp = daemon.spans()

    def shape(spans: Sequence[Any]) -> list[tuple[Any, ...]]:
        volatile = {"aws.xray.metadata.xray_exclusive"}  # carries timings
        return sorted(
            (
                s.name,
                s.kind,
                s.status_code,
                tuple(sorted((k, v) for k, v in s.attributes.items() if k not in volatile)),
                tuple(name for name, _ in s.events),
                s.trace_id,
            )
            for s in spans
        )

    assert len(over_udp) == len(over_http) == 9
    assert shape(over_udp) == shape(over_http)
    assert {s.resource["service.name"] for s in over_udp} == {"sse-streaming"}


class _Ended(SpanProcessor):
    """Every span that ends, sampled or only recorded (SimpleSpanProcessor passes on sampled ones only)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def _big_spans(count: int, size: int, sampler: Sampler | None = None) -> list[ReadableSpan]:
    ended = _Ended()
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    provider.add_span_processor(ended)
    tracer = provider.get_tracer("test")
    for i in range(count):
        with tracer.start_as_current_span(f"span-{i}") as span:
            span.set_attribute("payload", "x" * size)
    provider.shutdown()
    return ended.spans


def test_a_batch_too_large_for_one_datagram_is_split(daemon: UdpDaemon, aws_daemon: UdpDaemon) -> None:
    spans = _big_spans(24, 4_000)  # about 130 KB in base64: three datagrams at least
    whole = OTLPUdpSpanExporter(endpoint=aws_daemon.address)
    try:
        assert whole.export(spans) is SpanExportResult.FAILURE  # AWS's exporter: one datagram, refused
    finally:
        whole.shutdown()
    assert aws_daemon.datagrams(wait=0.05) == []
    exporter = OTLPUdpExporter(daemon.address)
    result = exporter.send(spans)
    exporter.shutdown()
    assert (result.sent, result.lost) == (24, 0)
    ours = daemon.datagrams()
    assert len(ours) == result.datagrams >= 3
    assert all(len(d) <= MAX_DATAGRAM_BYTES for d in ours)
    assert replay_through_aws(ours, spans, aws_daemon) == ours
    assert [s.name for d in ours for s in spans_of(decode(d)[1])] == [f"span-{i}" for i in range(24)]


class _EveryOtherSampled(Sampler):
    """Records every span; marks every other one sampled (what AWS's layer does for unsampled invocations)."""

    def __init__(self) -> None:
        self.n = 0

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        self.n += 1
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.n % 2 else Decision.RECORD_ONLY)

    def get_description(self) -> str:
        return "EveryOtherSampled"


def test_sampled_and_unsampled_spans_are_marked_as_aws_marks_them(
    daemon: UdpDaemon, aws_daemon: UdpDaemon
) -> None:
    spans = _big_spans(4, 10, sampler=_EveryOtherSampled())
    exporter = OTLPUdpExporter(daemon.address)
    assert exporter.send(spans).datagrams == 4  # runs of one: S, U, S, U
    exporter.shutdown()
    ours = daemon.datagrams()
    assert [decode(d)[0] for d in ours] == ["T1S", "T1U", "T1S", "T1U"]
    sampled = replay_through_aws(ours[0::2], spans, aws_daemon, sampled=True)
    aws_daemon.raw.clear()
    unsampled = replay_through_aws(ours[1::2], spans, aws_daemon, sampled=False)
    assert sampled == ours[0::2] and unsampled == ours[1::2]


# ------------------------------------------------------------------------------- losses are counted


def test_a_span_too_large_for_any_datagram_is_counted_not_silent(
    udp_route: UdpDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    lines = Lines()
    reset_streaming_tracer()
    tracer = get_streaming_tracer(sink=lines)

    def stream() -> Generator[bytes, None, None]:
        with poll_cycle() as cycle:
            cycle.set_attribute("huge", "y" * 60_000)  # 80 KB in base64: no datagram can carry it
        with poll_cycle():
            pass
        yield b"data: x\n\n"

    list(traced_stream(stream(), tracer=tracer))
    assert tracer.failed_spans == 1
    assert tracer.exported_spans == 2  # the other poll and the stream's span still went
    [line] = [x for x in lines.lines if "UnexportedSpans" in x]
    assert line["UnexportedSpans"] == 1
    assert "over the 65507-byte limit" in line["message"]
    assert line["endpoint"] == f"udp://{udp_route.address}"
    assert sorted(s.name for s in udp_route.spans()) == ["poll_cycle", "sse_stream"]


def test_a_send_error_is_counted(streaming: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Broadcast without SO_BROADCAST: the kernel refuses the sendto (EACCES); nothing leaves the host.
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "255.255.255.255:2000")
    lines = Lines()
    tracer = get_streaming_tracer(route="udp", sink=lines)
    list(traced_stream(sse(1), tracer=tracer))
    report = tracer.flush()
    assert tracer.failed_spans == 5 and tracer.exported_spans == 0
    assert report.failed == 0  # already counted by the stream's own flush
    [line] = [x for x in lines.lines if "UnexportedSpans" in x]
    assert line["UnexportedSpans"] == 5
    assert "sendto udp://255.255.255.255:2000 failed" in line["message"]


def test_no_daemon_listening_costs_nothing_and_loses_nothing_we_can_see(
    streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.otlp_receiver import closed_port

    tracer = get_streaming_tracer(route="udp", endpoint=f"127.0.0.1:{closed_port()}")
    list(traced_stream(sse(2), tracer=tracer))
    # Fire and forget: no connection to refuse, no retry, no circuit; UDP gives no receipt.
    assert (tracer.exported_spans, tracer.failed_spans) == (9, 0)
    assert tracer.exporter.udp.datagrams == 1  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------- selection


def test_route_from_environment_and_logged_at_init(
    udp_route: UdpDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="xray_exclusive.streaming"):
        tracer = get_streaming_tracer()
    assert tracer.settings.route == "udp"
    assert tracer.settings.endpoint == f"udp://{udp_route.address}"
    assert f"route: udp, OTLP over UDP to the X-Ray daemon at {udp_route.address}" in caplog.text


def test_the_argument_wins_over_the_environment(streaming: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XRAY_EXCLUSIVE_STREAMING_ROUTE", "udp")
    tracer = get_streaming_tracer(route="collector")
    assert tracer.settings.route == "collector"
    assert tracer.settings.endpoint == streaming.endpoint


def test_collector_stays_the_default_and_says_so(streaming: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="xray_exclusive.streaming"):
        tracer = get_streaming_tracer()
    assert tracer.settings.route == "collector"
    assert f"route: collector, OTLP/HTTP to {streaming.endpoint}" in caplog.text


def test_invalid_route_argument_raises_and_bad_environment_falls_back(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ValueError, match="route must be 'collector' or 'udp' \\(got 'xray'\\)"):
        get_streaming_tracer(route="xray")
    monkeypatch.setenv("XRAY_EXCLUSIVE_STREAMING_ROUTE", "carrier-pigeon")
    assert get_streaming_tracer().settings.route == "collector"
    assert "Ignoring malformed XRAY_EXCLUSIVE_STREAMING_ROUTE='carrier-pigeon'" in caplog.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("udp://127.0.0.1:2001", ("127.0.0.1", 2001)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2002", ("127.0.0.2", 2002)),
    ],
)
def test_daemon_address_forms(raw: str, expected: tuple[str, int]) -> None:
    assert parse_daemon_address(raw) == expected


@pytest.mark.parametrize("raw", ["", "localhost", "127.0.0.1:0", "127.0.0.1:http", "tcp:1.2.3.4:5 tcp:1:2"])
def test_bad_daemon_addresses(raw: str) -> None:
    with pytest.raises(ValueError, match="not a daemon address"):
        parse_daemon_address(raw)


def test_malformed_daemon_address_in_environment_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "nonsense")
    assert daemon_endpoint(None) == "udp://127.0.0.1:2000"
    assert "Ignoring malformed AWS_XRAY_DAEMON_ADDRESS='nonsense'" in caplog.text
