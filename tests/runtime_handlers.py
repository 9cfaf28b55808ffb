"""Handlers the runtime tests run in a subprocess (``_HANDLER=runtime_handlers.<name>``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

from xray_exclusive import sse
from xray_exclusive.runtime import HttpResponse
from xray_exclusive.streaming import get_streaming_tracer, poll_cycle, traced_handler

get_streaming_tracer()  # INIT, as a real handler module does


def slow_stream(event: Any, context: Any) -> Generator[Any, None, None]:
    """Not decorated: the runtime wraps it in traced_stream itself."""
    yield HttpResponse(200, dict(sse.RESPONSE_HEADERS))
    stream = sse.EventStream(retry_ms=3000)
    yield from stream.start()
    for i in range(int(event.get("events", 3))):
        with poll_cycle(item_count=i):
            time.sleep(float(event.get("pause", 0.2)))
        yield stream.send(f"event {i}")


@traced_handler(name="decorated_stream")
def decorated(event: Any, context: Any) -> Generator[bytes, None, None]:
    for i in range(2):
        with poll_cycle():
            pass
        yield f"data: {i}\n\n".encode()


def endless(event: Any, context: Any) -> Generator[bytes, None, None]:
    i = 0
    while True:
        with poll_cycle(item_count=i):
            time.sleep(0.01)
        yield b"data: %d\n\n" % i
        i += 1


def fails_before_first_byte(event: Any, context: Any) -> Generator[bytes, None, None]:
    raise ValueError("no stream for you")
    yield b""  # pragma: no cover


def fails_after_first_byte(event: Any, context: Any) -> Generator[bytes, None, None]:
    yield b"data: one\n\n"
    raise RuntimeError("database gone mid-stream")


async def async_stream(event: Any, context: Any) -> AsyncGenerator[bytes, None]:
    for i in range(3):
        await asyncio.sleep(0)
        yield b"data: %d\n\n" % i


def buffered(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "hello", "remaining": context.get_remaining_time_in_millis() > 0}


def raises(event: Any, context: Any) -> dict[str, Any]:
    raise KeyError("missing")


def endless_sse(event: Any, context: Any) -> Generator[Any, None, None]:
    """A never-ending SSE stream: one poll cycle, then one event, forever (not decorated)."""
    yield HttpResponse(200, dict(sse.RESPONSE_HEADERS))
    stream = sse.EventStream(retry_ms=3000)
    yield from stream.start()
    i = 0
    while True:
        with poll_cycle(item_count=i):
            time.sleep(float(event.get("pause", 0.05)))
        yield stream.send(f"poll {i} left {context.get_remaining_time_in_millis()}")
        i += 1


def blocked_stream(event: Any, context: Any) -> Generator[Any, None, None]:
    """Yields once, then blocks inside a poll far past the deadline: the runtime must interrupt it."""
    yield b"data: first\n\n"
    with poll_cycle(item_count=1):
        time.sleep(3600)
    yield b"data: never\n\n"  # pragma: no cover


async def blocked_async_stream(event: Any, context: Any) -> AsyncGenerator[bytes, None]:
    yield b"data: first\n\n"
    with poll_cycle(item_count=1):
        await asyncio.sleep(3600)
    yield b"data: never\n\n"  # pragma: no cover


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def bad_chunk(event: Any, context: Any) -> Generator[Any, None, None]:
    """Yields a chunk that cannot be encoded (``event["bad"]``: circular, unprintable) after good ones."""
    yield b"data: good\n\n"
    yield None  # nothing is sent for None
    if event.get("bad") == "circular":
        loop: dict[str, Any] = {}
        loop["self"] = loop
        yield loop
    else:
        yield {"value": _Unprintable()}
    yield b"data: never\n\n"  # pragma: no cover


def headers_stream(event: Any, context: Any) -> Generator[Any, None, None]:
    yield HttpResponse(
        202,
        {"content-type": "text/plain"},
        ("a=1",),
        multi_value_headers={"X-Multi": ["one", "two"]},
    )
    yield "text ✓"


def raw_stream(event: Any, context: Any) -> Generator[bytes, None, None]:
    """No HttpResponse first: no prelude, for InvokeWithResponseStream callers."""
    yield b"raw bytes"


def large_stream(event: Any, context: Any) -> Generator[bytes, None, None]:
    chunk = b"x" * 65536
    for _ in range(int(event["chunks"])):
        yield chunk


def exits(event: Any, context: Any) -> None:
    raise SystemExit(int(event.get("code", 3)))


def counting(event: Any, context: Any) -> dict[str, Any]:
    return {"n": event.get("n")}
