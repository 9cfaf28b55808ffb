"""traced_stream, traced_handler and the span helpers, exported by the real OTLP exporter to a receiver."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
from opentelemetry.sdk.trace import TracerProvider

from tests.conftest import TRACE_PARENT, new_root, trace_header
from xray_exclusive.streaming import (
    annotate,
    annotate_event,
    annotate_session,
    cloudwatch_span,
    dispatch_span,
    dynamodb_span,
    get_streaming_tracer,
    invocation_context,
    poll_cycle,
    traced_handler,
    traced_stream,
)

SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT = 1, 3
STATUS_OK, STATUS_ERROR = 1, 2


def xray_id(span: Any) -> str:
    return span.xray_trace_id


def sse(polls: int, spans_per_poll: bool = True) -> Generator[bytes, None, None]:
    for i in range(polls):
        with poll_cycle(item_count=i):
            if spans_per_poll:
                with dynamodb_span("Query", "items"):
                    pass
                with dispatch_span("sentiment"):
                    pass
        yield f"id: {i}\ndata: {i}\n\n".encode()


# ------------------------------------------------------------------------------- linkage


def test_spans_join_the_invocation_trace_under_its_parent(streaming: Any) -> None:
    assert list(traced_stream(sse(2))) == [b"id: 0\ndata: 0\n\n", b"id: 1\ndata: 1\n\n"]
    spans = streaming.spans  # flushed before the stream returned: nothing to wait for
    assert len(spans) == 7
    assert {xray_id(s) for s in spans} == {streaming.root}
    connection = streaming.one("sse_stream")
    assert connection.parent_span_id == TRACE_PARENT
    assert connection.kind == SPAN_KIND_INTERNAL
    cycles = streaming.named("poll_cycle")
    assert {c.parent_span_id for c in cycles} == {connection.span_id}
    cycle_ids = {c.span_id for c in cycles}
    assert {s.parent_span_id for s in streaming.named("DynamoDB.Query")} <= cycle_ids
    assert {s.parent_span_id for s in streaming.named("dispatch_event")} <= cycle_ids


def test_unsampled_invocation_exports_nothing(streaming: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(streaming.root, sampled=False))
    assert len(list(traced_stream(sse(3)))) == 3
    assert get_streaming_tracer().processor.ended == 0
    assert streaming.spans == []


def test_ten_warm_invocations_each_keep_their_own_trace(
    streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots = [new_root() for _ in range(10)]
    leaked = []
    for root in roots:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(root, sampled=True))
        for _chunk in traced_stream(sse(2)):
            leaked.append(trace.get_current_span().get_span_context().is_valid)
    assert not any(leaked), "the connection span leaked into the consumer between chunks"
    by_root: dict[str, int] = {}
    for span in streaming.spans:
        by_root[xray_id(span)] = by_root.get(xray_id(span), 0) + 1
    assert by_root == dict.fromkeys(roots, 7)


def test_a_span_current_in_the_caller_does_not_hijack_extraction(streaming: Any) -> None:
    outer_tracer = TracerProvider().get_tracer("leak")
    with outer_tracer.start_as_current_span("leaked-from-elsewhere"):
        list(traced_stream(sse(1, spans_per_poll=False)))
    assert xray_id(streaming.one("sse_stream")) == streaming.root


def test_header_is_the_fallback_and_matched_in_any_case(
    streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    root = new_root()

    @traced_handler
    def handler(event: Any, context: Any) -> Generator[bytes, None, None]:
        yield b"data: x\n\n"

    list(handler({"headers": {"x-amzn-trace-id": trace_header(root, sampled=True)}}, None))
    assert xray_id(streaming.one("sse_stream")) == root


def test_environment_wins_over_the_header(streaming: Any) -> None:
    headers = {"X-Amzn-Trace-Id": trace_header(new_root(), sampled=True)}
    list(traced_stream(iter([b"x"]), headers=headers))
    assert xray_id(streaming.one("sse_stream")) == streaming.root


def test_malformed_header_keeps_the_link_and_says_why(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(streaming.root, sampled=True) + ";")
    with caplog.at_level(logging.DEBUG, logger="xray_exclusive.streaming"):
        list(traced_stream(iter([b"x"])))
    assert xray_id(streaming.one("sse_stream")) == streaming.root
    assert "trailing or doubled ;" in caplog.text
    # The propagator itself would have lost the link:
    lost = AwsXRayLambdaPropagator().extract({}, context=Context())
    assert not trace.get_current_span(lost).get_span_context().is_valid


def test_sampled_question_mark_is_unsampled_with_a_debug_line(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={streaming.root};Parent={TRACE_PARENT};Sampled=?")
    with caplog.at_level(logging.DEBUG, logger="xray_exclusive.streaming"):
        context = invocation_context()
    parent = trace.get_current_span(context).get_span_context()
    assert parent.is_valid and not parent.trace_flags.sampled
    assert "Sampled=?" in caplog.text


def test_invocation_context_reads_the_environment_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = new_root(), new_root()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(first, sampled=True))
    a = trace.get_current_span(invocation_context()).get_span_context().trace_id
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(second, sampled=True))
    b = trace.get_current_span(invocation_context()).get_span_context().trace_id
    assert f"{a:032x}" == first[2:10] + first[11:]
    assert f"{b:032x}" == second[2:10] + second[11:]
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    assert not trace.get_current_span(invocation_context()).get_span_context().is_valid


hex_ = "0123456789abcdef"


@settings(max_examples=200)
@given(
    st.text(alphabet=hex_, min_size=8, max_size=8),
    st.text(alphabet=hex_, min_size=24, max_size=24),
    st.text(alphabet=hex_, min_size=16, max_size=16).filter(lambda p: int(p, 16) != 0),
    st.sampled_from(["0", "1", None]),
    st.booleans(),
)
def test_same_context_as_the_propagator_for_every_header_it_accepts(
    epoch: str, rest: str, parent: str, sampled: str | None, lineage: bool
) -> None:
    header = f"Root=1-{epoch}-{rest};Parent={parent}"
    if sampled is not None:
        header += f";Sampled={sampled}"
    if lineage:
        header += ";Lineage=1:a87bd80c:0"
    expected = trace.get_current_span(
        AwsXRayLambdaPropagator().extract({"X-Amzn-Trace-Id": header}, context=Context())
    ).get_span_context()
    saved = os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        got = trace.get_current_span(invocation_context({"x-amzn-trace-id": header})).get_span_context()
    finally:
        if saved is not None:
            os.environ["_X_AMZN_TRACE_ID"] = saved
    assert got == expected


# ------------------------------------------------------------------------------- lifecycle


def test_failure_is_recorded_bounded_and_re_raised(streaming: Any) -> None:
    def deep(n: int) -> None:
        if n == 0:
            raise RuntimeError("x" * 5000)
        deep(n - 1)

    def events() -> Generator[bytes, None, None]:
        yield b"data: first\n\n"
        deep(30)

    with pytest.raises(RuntimeError):
        list(traced_stream(events()))
    span = streaming.one("sse_stream")
    assert span.status_code == STATUS_ERROR
    [(name, event)] = span.events
    assert name == "exception"
    assert event["exception.type"] == "RuntimeError"
    assert len(event["exception.message"]) <= 2048
    assert event["exception.stacktrace"].count('  File "') == 10
    assert "frames omitted" in event["exception.stacktrace"]


def test_consumer_closing_early_ends_and_flushes(streaming: Any) -> None:
    closed = []

    def events() -> Generator[bytes, None, None]:
        try:
            yield from sse(100)
        finally:
            closed.append(trace.get_current_span().get_span_context().is_valid)

    stream = traced_stream(events())
    next(stream)
    stream.close()
    assert closed == [True]  # the inner finally ran inside the stream's context
    span = streaming.one("sse_stream")
    assert span.attributes["stream.closed_early"] is True
    assert span.status_code != STATUS_ERROR


def test_closing_from_another_thread_does_not_break_context(
    streaming: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stream = traced_stream(sse(10))
    next(stream)
    with caplog.at_level(logging.ERROR):
        worker = threading.Thread(target=stream.close)
        worker.start()
        worker.join()
    assert "Failed to detach context" not in caplog.text
    assert not trace.get_current_span().get_span_context().is_valid
    assert streaming.one("sse_stream").attributes["stream.closed_early"] is True


@pytest.mark.parametrize("error", [BrokenPipeError, ConnectionResetError])
def test_disconnect_thrown_by_the_runtime(streaming: Any, error: type[BaseException]) -> None:
    polls = []

    def events() -> Generator[bytes, None, None]:
        for i in range(100):
            polls.append(i)
            with poll_cycle():
                pass
            try:
                yield b"data: x\n\n"
            except BrokenPipeError:
                continue  # a generator that swallows it must still be stopped

    stream = traced_stream(events())
    next(stream)
    next(stream)
    with pytest.raises(error):
        stream.throw(error())
    assert len(polls) <= 3  # no further polls
    span = streaming.one("sse_stream")
    assert span.attributes["client.disconnected"] is True
    assert "client.disconnected" in span.attributes["aws.xray.annotations"]
    assert span.status_code == STATUS_OK
    assert len(streaming.named("poll_cycle")) == len(polls)  # everything flushed


def test_disconnect_raised_while_writing_inside_the_generator(streaming: Any) -> None:
    class Response:
        writes = 0

        def write(self, data: bytes) -> None:
            self.writes += 1
            if self.writes == 3:
                raise BrokenPipeError(32, "Broken pipe")

    response = Response()

    def events() -> Generator[bytes, None, None]:
        for i in range(10):
            with dispatch_span("sentiment"):
                response.write(b"data: %d\n\n" % i)
            yield b""

    with pytest.raises(BrokenPipeError):
        list(traced_stream(events()))
    assert streaming.one("sse_stream").attributes["client.disconnected"] is True
    assert streaming.one("sse_stream").status_code == STATUS_OK
    dispatches = streaming.named("dispatch_event")
    assert len(dispatches) == 3
    assert dispatches[-1].attributes["client.disconnected"] is True
    assert dispatches[-1].status_code == STATUS_OK


def test_send_reaches_the_wrapped_generator(streaming: Any) -> None:
    def echo() -> Generator[str, str, None]:
        received = yield "ready"
        yield f"got {received}"

    stream = traced_stream(echo())
    assert next(stream) == "ready"
    assert stream.send("ping") == "got ping"


def test_async_generator(streaming: Any) -> None:
    async def events() -> AsyncGenerator[bytes, None]:
        for i in range(3):
            with poll_cycle(item_count=i), dynamodb_span("Query", "items"):
                await asyncio.sleep(0)
            yield b"data: %d\n\n" % i

    async def consume() -> list[bytes]:
        chunks = []
        async for chunk in traced_stream(events()):
            assert not trace.get_current_span().get_span_context().is_valid
            chunks.append(chunk)
        return chunks

    assert len(asyncio.run(consume())) == 3
    connection = streaming.one("sse_stream")
    assert xray_id(connection) == streaming.root
    assert {c.parent_span_id for c in streaming.named("poll_cycle")} == {connection.span_id}
    assert len(streaming.named("DynamoDB.Query")) == 3


def test_async_disconnect(streaming: Any) -> None:
    async def events() -> AsyncGenerator[bytes, None]:
        while True:
            yield b"data: x\n\n"

    async def run() -> None:
        stream = traced_stream(events())
        await stream.__anext__()
        with pytest.raises(BrokenPipeError):
            await stream.athrow(BrokenPipeError())

    asyncio.run(run())
    assert streaming.one("sse_stream").attributes["client.disconnected"] is True


def test_traced_stream_refuses_a_handler_function(streaming: Any) -> None:
    with pytest.raises(TypeError, match="traced_handler"):
        traced_stream(sse)  # type: ignore[call-overload]


def test_handler_wrapped_by_powertools_response_capture_is_refused(streaming: Any) -> None:
    from aws_lambda_powertools import Tracer

    tracer = Tracer(auto_patch=False, disabled=True)

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> Generator[bytes, None, None]:
        yield b"x"

    with pytest.raises(TypeError, match="consume the stream"):
        traced_handler(handler)

    @tracer.capture_lambda_handler(capture_response=False)
    def handler_ok(event: Any, context: Any) -> Generator[bytes, None, None]:
        yield b"x"

    assert traced_handler(handler_ok) is not None


# ------------------------------------------------------------------------------- semantic conventions


def test_aws_spans_carry_what_the_xray_exporter_needs(streaming: Any) -> None:
    def events() -> Generator[bytes, None, None]:
        with poll_cycle():
            with dynamodb_span("Query", "sentiment-items"):
                pass
            with cloudwatch_span():
                pass
        yield b"x"

    list(traced_stream(events()))
    dynamo = streaming.one("DynamoDB.Query")
    assert dynamo.kind == SPAN_KIND_CLIENT
    assert dynamo.attributes["rpc.system"] == "aws-api"
    assert dynamo.attributes["rpc.service"] == "DynamoDB"
    assert dynamo.attributes["rpc.method"] == "Query"
    assert dynamo.attributes["db.system"] == "dynamodb"
    assert dynamo.attributes["aws.dynamodb.table_names"] == ("sentiment-items",)
    cloudwatch = streaming.one("CloudWatch.PutMetricData")
    assert cloudwatch.kind == SPAN_KIND_CLIENT
    assert (cloudwatch.attributes["rpc.service"], cloudwatch.attributes["rpc.method"]) == (
        "CloudWatch",
        "PutMetricData",
    )


def test_annotations_are_listed_for_indexing_and_validated(
    streaming: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def events() -> Generator[bytes, None, None]:
        span = trace.get_current_span()
        annotate_session(span, session_id="s-1", previous_trace_id=new_root(), connection_sequence=2)
        with dispatch_span("sentiment") as dispatch:
            annotate_event(dispatch, latency_ms=12.5, is_cold_start=False, connection_count=3)
            annotate(dispatch, **{"bad key": 1, "nothing": None, "ratio": float("nan")})
        yield b"x"

    with caplog.at_level(logging.WARNING):
        list(traced_stream(events()))
    connection = streaming.one("sse_stream")
    assert connection.attributes["aws.xray.annotations"] == (
        "session_id",
        "previous_trace_id",
        "connection_sequence",
    )
    dispatch = streaming.one("dispatch_event")
    assert dispatch.attributes["aws.xray.annotations"] == (
        "event_type",
        "latency_ms",
        "is_cold_start",
        "connection_count",
        "bad_key",
    )
    assert dispatch.attributes["event_type"] == "sentiment"
    assert "nothing" not in dispatch.attributes and "ratio" not in dispatch.attributes
    assert "value is None" in caplog.text and "not a finite number" in caplog.text


@pytest.mark.parametrize(
    ("status", "code", "http_status", "expected_status"),
    [
        (400, "ValidationException", 400, STATUS_ERROR),
        (400, "ProvisionedThroughputExceededException", 429, STATUS_ERROR),
        (500, "InternalServerError", 500, STATUS_ERROR),
    ],
)
def test_aws_errors_get_the_status_the_exporter_maps_to_error_throttle_fault(
    streaming: Any, status: int, code: str, http_status: int, expected_status: int
) -> None:
    error = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Query"
    )

    def events() -> Generator[bytes, None, None]:
        try:
            with dynamodb_span("Query", "items"):
                raise error
        except ClientError:
            pass
        yield b"x"

    list(traced_stream(events()))
    span = streaming.one("DynamoDB.Query")
    assert span.status_code == expected_status
    assert span.attributes["http.response.status_code"] == http_status
    assert span.events[0][1]["exception.type"] == "ClientError"


def test_yield_inside_a_dispatch_span_then_disconnect(
    streaming: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def events() -> Generator[bytes, None, None]:
        for i in range(10):
            with poll_cycle(), dispatch_span("sentiment"):
                yield b"data: %d\n\n" % i  # the runtime's write happens while the dispatch span is open

    stream = traced_stream(events())
    with caplog.at_level(logging.ERROR):
        next(stream)
        assert not trace.get_current_span().get_span_context().is_valid
        next(stream)
        with pytest.raises(BrokenPipeError):
            stream.throw(BrokenPipeError())
    assert "Failed to detach" not in caplog.text
    dispatches = streaming.named("dispatch_event")
    assert len(dispatches) == 2
    assert dispatches[-1].attributes["client.disconnected"] is True
    assert dispatches[-1].status_code == STATUS_OK
    cycles = {c.span_id for c in streaming.named("poll_cycle")}
    assert {d.parent_span_id for d in dispatches} <= cycles
    assert streaming.one("sse_stream").attributes["client.disconnected"] is True
