"""``@traced_handler`` handlers the runtime tests run in a subprocess: their span is the handler's own.

The runtime does not wrap these streams again; it tells each one's span why it ended
(``streaming.track_end``), as it does for the streams it wraps itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

from xray_exclusive import sse
from xray_exclusive.runtime import HttpResponse
from xray_exclusive.streaming import get_streaming_tracer, poll_cycle, traced_handler

get_streaming_tracer()  # INIT, as a real handler module does

NAME = "handler_stream"


@traced_handler(name=NAME)
def completes(event: Any, context: Any) -> Generator[Any, None, None]:
    yield HttpResponse(200, dict(sse.RESPONSE_HEADERS))
    for i in range(2):
        with poll_cycle(item_count=i):
            pass
        yield b"data: %d\n\n" % i


@traced_handler(name=NAME)
def fails_after_first_byte(event: Any, context: Any) -> Generator[bytes, None, None]:
    yield b"data: one\n\n"
    raise RuntimeError("database gone mid-stream")


@traced_handler(name=NAME)
def bad_chunk(event: Any, context: Any) -> Generator[Any, None, None]:
    yield b"data: good\n\n"
    loop: dict[str, Any] = {}
    loop["self"] = loop
    yield loop
    yield b"data: never\n\n"  # pragma: no cover


@traced_handler(name=NAME)
def endless(event: Any, context: Any) -> Generator[bytes, None, None]:
    i = 0
    while True:
        with poll_cycle(item_count=i):
            time.sleep(0.01)
        yield b"data: %d\n\n" % i
        i += 1


@traced_handler(name=NAME)
def blocked(event: Any, context: Any) -> Generator[bytes, None, None]:
    yield b"data: first\n\n"
    with poll_cycle(item_count=1):
        time.sleep(3600)
    yield b"data: never\n\n"  # pragma: no cover


@traced_handler(name=NAME)
async def blocked_async(event: Any, context: Any) -> AsyncGenerator[bytes, None]:
    yield b"data: first\n\n"
    with poll_cycle(item_count=1):
        await asyncio.sleep(3600)
    yield b"data: never\n\n"  # pragma: no cover


@traced_handler(name=NAME)
def client_gone(event: Any, context: Any) -> Generator[bytes, None, None]:
    """A handler that learns the client left (from its own proxy) and says so with BrokenPipeError."""
    yield b"data: one\n\n"
    raise BrokenPipeError("the client went away")
