"""Never mask, never lose, in the streaming tracer: hostile exceptions out of streams and span helpers.

Whatever a stream step or a span-helper block raises (the hostile exceptions of
``test_backend_invariants``, a ``RecursionError`` at the stack's limit), from sync and async
generators, alone, from threads and from many asyncio tasks:

* the caller gets its own exception object back, with nothing of ours chained to it;
* every span was ended and reached the loopback OTLP receiver, under the right parent;
* nothing stays current afterwards (``trace.get_current_span()`` is invalid).

Bad annotation keys and values are dropped with a logged reason; a failure of ours is a logged warning.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from tests.conftest import TRACE_PARENT
from tests.test_backend_invariants import (
    HOSTILE,
    SETTINGS,
    BadInt,
    BadStr,
    ExplodingMapping,
    ItemsRaise,
    Unprintable,
    _run,
    hostile_annotations,
)
from xray_exclusive.bounded import MAX_ANNOTATIONS
from xray_exclusive.streaming import (
    ANNOTATIONS_ATTRIBUTE,
    SpanScope,
    annotate,
    annotate_cache,
    annotate_connection,
    annotate_event,
    annotate_poll,
    annotate_session,
    cloudwatch_span,
    dispatch_span,
    dynamodb_span,
    get_streaming_tracer,
    mark_disconnected,
    poll_cycle,
    record_bounded_exception,
    traced_handler,
    traced_stream,
)

STATUS_OK, STATUS_ERROR = 1, 2

KINDS: dict[str, Callable[[], BaseException]] = {
    **HOSTILE,
    "recursion_error": lambda: RecursionError("raised shallow, as a caller might"),
    "base_exception": lambda: KeyboardInterrupt(),
}
HELPERS: dict[str, Callable[[], SpanScope]] = {
    "poll_cycle": lambda: poll_cycle(item_count=1, bad=Unprintable(), worse=BadInt(3)),
    "dynamodb_span": lambda: dynamodb_span("Query", "items", note=BadStr("x")),
    "cloudwatch_span": lambda: cloudwatch_span(huge="v" * 100_000),
    "dispatch_span": lambda: dispatch_span("sentiment", latency=float("nan")),
    "span_scope": lambda: SpanScope(None, "scope", SpanKind.INTERNAL, None, ItemsRaise()),
}
HELPER_NAMES = {
    "poll_cycle": "poll_cycle",
    "dynamodb_span": "DynamoDB.Query",
    "cloudwatch_span": "CloudWatch.PutMetricData",
    "dispatch_span": "dispatch_event",
    "span_scope": "scope",
}
WHERE = ["stream", *HELPERS]


def _raise_in(where: str, exc: BaseException) -> None:
    if where == "stream":
        raise exc
    with HELPERS[where]():
        raise exc


def sync_stream(where: str, exc: BaseException, chunks: int) -> Generator[bytes, None, None]:
    for i in range(chunks):
        yield f"data: {i}\n\n".encode()
    _raise_in(where, exc)
    yield b"never"


async def async_stream(where: str, exc: BaseException, chunks: int) -> AsyncGenerator[bytes, None]:
    for i in range(chunks):
        await asyncio.sleep(0)
        yield f"data: {i}\n\n".encode()
    await asyncio.sleep(0)
    _raise_in(where, exc)
    yield b"never"


def consume(stream: Any) -> BaseException | None:
    try:
        for _ in stream:
            pass
    except BaseException as caught:
        return caught
    return None


async def consume_async(stream: Any) -> BaseException | None:
    try:
        async for _ in stream:
            pass
    except BaseException as caught:
        return caught
    return None


def _expect_status(where: str, kind: str) -> set[int]:
    """The stream span's status: a disconnect is OK, a BaseException that is no failure is unset."""
    if kind == "plain":  # ConnectionResetError: a client disconnect
        return {STATUS_OK}
    if kind == "base_exception":
        return {0}
    return {STATUS_ERROR}


def _bounded(span: Any) -> None:
    """Well under X-Ray's 64 KB per document, whatever the exception's name and message."""
    assert len(repr(span.attributes)) + len(repr(span.events)) + len(span.status_message) < 16_000


def _check_one_stream(receiver: Any, where: str, kind: str) -> None:
    for span in receiver.spans:
        _bounded(span)
    streams = receiver.named("sse_stream")
    assert len(streams) == 1, [s.name for s in receiver.spans]
    [stream] = streams
    assert stream.parent_span_id == TRACE_PARENT
    assert 0 < stream.start_ns <= stream.end_ns
    assert stream.status_code in _expect_status(where, kind), (stream.status_code, stream.events)
    if where != "stream":
        [helper] = receiver.named(HELPER_NAMES[where])
        assert helper.parent_span_id == stream.span_id
        assert 0 < helper.start_ns <= helper.end_ns
        if kind not in ("plain", "base_exception"):
            assert helper.status_code == STATUS_ERROR
    assert len(receiver.spans) == (1 if where == "stream" else 2)


def _no_context_leak() -> None:
    assert not trace.get_current_span().get_span_context().is_valid


# --------------------------------------------------------------------------- one stream at a time


@SETTINGS
@given(
    kind=st.sampled_from(sorted(KINDS)),
    where=st.sampled_from(WHERE),
    chunks=st.integers(min_value=0, max_value=2),
    asynchronous=st.booleans(),
    attributes=hostile_annotations,
)
def test_hostile_exception_out_of_a_stream_step_or_span_helper(
    streaming: Any, kind: str, where: str, chunks: int, asynchronous: bool, attributes: Any
) -> None:
    streaming.clear()
    exc = KINDS[kind]()
    if asynchronous:
        stream: Any = traced_stream(async_stream(where, exc, chunks), attributes=attributes)
        caught = _run(consume_async(stream))
    else:
        caught = consume(traced_stream(sync_stream(where, exc, chunks), attributes=attributes))
    assert caught is exc, f"the caller got {type(caught).__name__} instead of its own exception"
    assert exc.__context__ is None or kind == "cyclic_cause_and_context"  # nothing of ours chained
    _check_one_stream(streaming, where, kind)
    _no_context_leak()


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("where", sorted(HELPERS))
def test_span_helper_outside_a_stream(streaming: Any, kind: str, where: str) -> None:
    exc = KINDS[kind]()
    caught: BaseException | None = None
    try:
        _raise_in(where, exc)
    except BaseException as got:
        caught = got
    assert caught is exc
    assert get_streaming_tracer().flush().complete
    [helper] = streaming.named(HELPER_NAMES[where])
    assert helper.parent_span_id == TRACE_PARENT or helper.parent_span_id == ""
    assert 0 < helper.start_ns <= helper.end_ns
    _no_context_leak()


def test_traced_handler_with_a_hostile_event(streaming: Any, caplog: pytest.LogCaptureFixture) -> None:
    exc = HOSTILE["str_and_repr_raise"]()

    @traced_handler(attributes=ItemsRaise())
    def handler(event: Any, context: Any) -> Generator[bytes, None, None]:
        yield b"data: hello\n\n"
        raise exc

    class HostileEvent(ExplodingMapping):
        pass

    assert consume(handler(HostileEvent(), None)) is exc
    _check_one_stream(streaming, "stream", "str_and_repr_raise")
    assert "reading the event's headers failed" in caplog.text
    assert "reading its attributes (all dropped) failed" in caplog.text
    _no_context_leak()


def test_hostile_trace_header_mapping(streaming: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID")

    class Headers(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            raise RuntimeError("headers exploded")

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("headers exploded")

        def __len__(self) -> int:
            return 1

    exc = ValueError("mine")
    assert consume(traced_stream(sync_stream("poll_cycle", exc, 1), headers=Headers())) is exc
    assert len(streaming.named("sse_stream")) == 1
    _no_context_leak()


# --------------------------------------------------------------------------- recursion at the limit


def test_recursion_to_the_limit_through_nested_span_helpers(streaming: Any) -> None:
    levels = 0
    started: list[Any] = []

    def recurse() -> None:
        nonlocal levels
        with dynamodb_span("Query", "items") as span:
            levels += 1
            started.append(span)
            recurse()

    def events() -> Generator[bytes, None, None]:
        yield b"data: first\n\n"
        with poll_cycle():
            recurse()

    limit = sys.getrecursionlimit()
    caught = consume(traced_stream(events()))
    assert isinstance(caught, RecursionError)
    assert caught.__context__ is None  # nothing of ours chained to it
    assert sys.getrecursionlimit() == limit  # the depth lent to the exits was given back
    assert levels > 50
    [stream] = streaming.named("sse_stream")
    [cycle] = streaming.named("poll_cycle")
    queries = streaming.named("DynamoDB.Query")
    # The innermost levels may have had no stack left to start a span (their blocks ran untraced);
    # every span that was started was ended and exported.
    opened = [span for span in started if span is not trace.INVALID_SPAN]
    assert len(queries) == len(opened) >= levels - 20
    assert stream.status_code == cycle.status_code == STATUS_ERROR
    ids = {s.span_id for s in queries} | {cycle.span_id}
    assert all(q.parent_span_id in ids for q in queries)
    assert get_streaming_tracer().flush().complete
    _no_context_leak()


# --------------------------------------------------------------------------- concurrency


def _kind(i: int) -> str:
    names = [k for k in sorted(KINDS) if k != "huge_name_and_message"]  # keeps the receiver's load small
    return names[i % len(names)]


def _check_concurrent(receiver: Any, count: int) -> None:
    streams = {s.span_id: s for s in receiver.named("sse_stream")}
    polls = receiver.named("poll_cycle")
    assert len(streams) == len(polls) == count
    assert all(s.parent_span_id == TRACE_PARENT for s in streams.values())
    parents = [p.parent_span_id for p in polls]
    assert set(parents) == set(streams), "a helper span is parented to something else than its stream"
    assert len(set(parents)) == count, "two helper spans share a stream"
    assert sorted(p.attributes["item_count"] for p in polls) == list(range(count))


def _task_stream(i: int, exc: BaseException) -> AsyncGenerator[bytes, None]:
    async def events() -> AsyncGenerator[bytes, None]:
        yield b"data: first\n\n"
        with poll_cycle(item_count=i, bad=Unprintable()):
            for _ in range(3):
                await asyncio.sleep(0)  # every task interleaves with the others here
            raise exc
        yield b"never"

    return traced_stream(events())


def test_many_concurrent_asyncio_tasks(streaming: Any) -> None:
    count = 100
    errors = [KINDS[_kind(i)]() for i in range(count)]

    async def one(i: int) -> BaseException | None:
        caught = await consume_async(_task_stream(i, errors[i]))
        _no_context_leak()
        return caught

    async def main() -> list[Any]:
        return await asyncio.gather(*(one(i) for i in range(count)))

    results = _run(main())
    assert all(got is sent for got, sent in zip(results, errors, strict=True)), "a caller lost its exception"
    _check_concurrent(streaming, count)
    _no_context_leak()


def test_threads(streaming: Any) -> None:
    count, workers = 40, 8
    barrier = threading.Barrier(workers)
    errors = [KINDS[_kind(i)]() for i in range(count)]
    caught: dict[int, BaseException | None] = {}
    leaks: list[int] = []

    def events(i: int) -> Generator[bytes, None, None]:
        yield b"data: first\n\n"
        with poll_cycle(item_count=i), dispatch_span("sentiment", worse=BadInt(1)):
            raise errors[i]

    def worker(first: int) -> None:
        barrier.wait()
        for i in range(first, count, workers):
            caught[i] = consume(traced_stream(events(i)))
            if trace.get_current_span().get_span_context().is_valid:
                leaks.append(i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(caught[i] is errors[i] for i in range(count))
    assert leaks == []
    _check_concurrent(streaming, count)
    assert len(streaming.named("dispatch_event")) == count


# --------------------------------------------------------------------------- the helpers, called directly


class HostileSpan:
    """A span whose every method raises: what a broken or foreign span implementation may do."""

    @property
    def name(self) -> str:
        raise RuntimeError("name exploded")

    def __getattr__(self, attribute: str) -> Any:
        raise RuntimeError(f"{attribute} exploded")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_record_and_mark_never_raise(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    exc = KINDS[kind]()
    span = TracerProvider().get_tracer("t").start_span("s")
    record_bounded_exception(span, exc)
    mark_disconnected(span)
    hostile: Any = HostileSpan()
    assert record_bounded_exception(hostile, ValueError("x")) is None
    mark_disconnected(hostile)
    assert "failed" in caplog.text


@SETTINGS
@given(values=st.dictionaries(st.text(max_size=20), st.sampled_from([BadStr("b"), BadInt(2), Unprintable()])))
def test_annotate_drops_bad_values_with_a_reason(values: dict[str, Any]) -> None:
    span = TracerProvider().get_tracer("t").start_span("s")
    annotate(span, **values)
    annotate(span, good=1)
    assert span.attributes is not None and span.attributes["good"] == 1
    for helper in (annotate_cache, annotate_connection, annotate_event, annotate_poll, annotate_session):
        helper(HostileSpan())  # type: ignore[operator]


@pytest.mark.parametrize(("at_start", "later"), [(60, 0), (0, 60), (30, 30), (50, 1), (10, 5), (0, 0)])
def test_annotations_beyond_fifty_are_dropped_with_a_logged_reason_at_start_and_later(
    streaming: Any, caplog: pytest.LogCaptureFixture, at_start: int, later: int
) -> None:
    """A scope's annotations and ``annotate``'s go through one admission: 50 keys a span, each drop logged."""
    caplog.set_level(logging.WARNING)
    first = {f"a{i}": i for i in range(at_start)}
    with SpanScope(None, "scope", SpanKind.INTERNAL, None, first) as span:
        annotate(span, **{f"b{i}": i for i in range(later)}, a0="again")
    assert get_streaming_tracer().flush().complete
    [scope] = streaming.named("scope")
    listed = list(scope.attributes.get(ANNOTATIONS_ATTRIBUTE, ()))
    new_later = later + (at_start == 0)  # a0 is an update when the scope listed it
    room = MAX_ANNOTATIONS - min(at_start, MAX_ANNOTATIONS)
    dropped = max(0, at_start - MAX_ANNOTATIONS) + max(0, new_later - room)
    assert len(listed) == min(MAX_ANNOTATIONS, at_start + new_later)
    assert all(key in scope.attributes for key in listed)
    assert caplog.text.count("more than 50 on span 'scope'") == dropped
    if at_start:
        assert scope.attributes["a0"] == "again"


def test_bad_annotation_keys_and_values_are_dropped_with_a_logged_reason(
    streaming: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    annotations: dict[Any, Any] = {5: "x", "ok": 1, "bad": Unprintable(), BadStr("k"): 2, "int": BadInt(3)}
    with SpanScope(None, "scope", SpanKind.INTERNAL, None, annotations) as span:
        annotate(span, later=Unprintable(), fine="yes")
    assert get_streaming_tracer().flush().complete
    [scope] = streaming.named("scope")
    assert scope.attributes["ok"] == 1 and scope.attributes["fine"] == "yes"
    assert "bad" not in scope.attributes and "later" not in scope.attributes
    assert "key must be a str" in caplog.text
    _no_context_leak()
