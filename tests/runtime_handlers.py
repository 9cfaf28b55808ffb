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
