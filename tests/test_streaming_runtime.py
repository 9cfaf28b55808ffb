"""The hooks of a consumer of traced streams (the custom runtime): is_traced, track_end, flush_if_started."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest

from xray_exclusive import streaming as package
from xray_exclusive.streaming import (
    StreamEnding,
    flush_if_started,
    is_traced,
    traced_handler,
    traced_stream,
    track_end,
)


def events(n: int = 2) -> Generator[bytes, None, None]:
    for i in range(n):
        yield b"data: %d\n\n" % i


def forever() -> Generator[bytes, None, None]:
    while True:
        yield b": keep-alive\n\n"


async def async_events() -> AsyncGenerator[bytes, None]:
    yield b"data: 0\n\n"


class Hostile:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("no attributes for you")


def test_is_traced_knows_the_wrappers_own_generators(streaming: Any) -> None:
    handler = traced_handler(lambda event, context: events())
    assert is_traced(traced_stream(events())) and is_traced(traced_stream(async_events()))
    assert is_traced(traced_stream([b"a", b"b"]))  # an iterable is wrapped in a generator first
    assert is_traced(handler({}, None))
    assert not any(is_traced(x) for x in (events(), async_events(), iter([b"a"]), b"a", None, Hostile()))


def test_an_untracked_stream_gets_no_annotation(streaming: Any) -> None:
    assert list(traced_stream(events())) == [b"data: 0\n\n", b"data: 1\n\n"]
    [span] = streaming.wait_for(1)
    assert "stream_end_reason" not in span.attributes


@pytest.mark.parametrize(
    ("consume", "reason"),
    [
        (list, "completed"),
        (lambda stream: next(stream) and stream.close(), "closed"),
    ],
)
def test_a_tracked_stream_names_its_own_end(streaming: Any, consume: Any, reason: str) -> None:
    stream = traced_stream(events())
    ending = track_end(stream)
    assert isinstance(ending, StreamEnding) and ending.tracked
    consume(stream)
    [span] = streaming.wait_for(1)
    assert span.attributes["stream_end_reason"] == reason == ending.reason
    assert span.attributes["aws.xray.annotations"] == ("stream_end_reason",)


def test_the_consumers_reason_wins_and_its_error_is_recorded(streaming: Any) -> None:
    stream = traced_stream(forever())
    ending = track_end(stream)
    assert ending is not None
    next(stream)
    problem = ValueError("a chunk that cannot be encoded")
    ending.set("encoding_error", problem)
    ending.set("deadline")  # too late
    stream.close()
    [span] = streaming.wait_for(1)
    assert span.attributes["stream_end_reason"] == "encoding_error"
    assert span.attributes["stream.closed_early"] is True
    assert span.status_code == 2
    assert [attrs["exception.type"] for name, attrs in span.events if name == "exception"] == ["ValueError"]


def test_errors_and_disconnects_name_themselves(streaming: Any) -> None:
    def fails() -> Generator[bytes, None, None]:
        yield b"one"
        raise RuntimeError("gone")

    def leaves() -> Generator[bytes, None, None]:
        yield b"one"
        raise BrokenPipeError

    for source, expected in ((fails, "error"), (leaves, "client_disconnected")):
        stream = traced_stream(source())
        track_end(stream)
        with pytest.raises((RuntimeError, BrokenPipeError)):
            list(stream)
        assert streaming.named("sse_stream")[-1].attributes["stream_end_reason"] == expected


def test_track_end_of_something_else_or_of_an_ended_stream_is_none(streaming: Any) -> None:
    stream = traced_stream(events())
    list(stream)
    assert track_end(stream) is None
    assert track_end(events()) is None and track_end(Hostile()) is None


def test_an_async_step_cancelled_after_the_consumer_said_why_is_not_an_error(streaming: Any) -> None:
    async def blocked() -> AsyncGenerator[bytes, None]:
        yield b"first"
        await asyncio.sleep(3600)
        yield b"never"  # pragma: no cover

    async def consume() -> None:
        stream = traced_stream(blocked())
        ending = track_end(stream)
        assert ending is not None
        assert await stream.__anext__() == b"first"
        step = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.01)
        ending.set("deadline")
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step

    asyncio.run(consume())
    [span] = streaming.wait_for(1)
    assert span.attributes["stream_end_reason"] == "deadline"
    assert span.attributes["stream.closed_early"] is True
    assert span.status_code != 2


def test_flush_if_started_never_builds_the_tracer(streaming: Any) -> None:
    from xray_exclusive.streaming._bootstrap import built_streaming_tracer

    assert flush_if_started() is None
    assert built_streaming_tracer() is None
    list(traced_stream(events()))  # builds it
    report = flush_if_started()
    assert report is not None and report.complete


def test_the_hooks_are_public() -> None:
    for name in ("is_traced", "track_end", "flush_if_started", "StreamEnding"):
        assert name in package.__all__
        assert "Example" in (getattr(package, name).__doc__ or "")
