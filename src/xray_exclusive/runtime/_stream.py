"""Streaming one invocation's response: the prelude, the chunks, the deadline, and every way a stream ends.

A stream ends in one of these ways, written on its span as the ``stream_end_reason`` annotation (when the
runtime wrapped the handler in ``traced_stream`` itself): ``completed``; ``error`` (the generator raised: the
error trailers); ``encoding_error`` (a chunk could not be encoded: the error trailers, the exception on the
span); ``deadline`` (the invocation's deadline is near: the stream ends cleanly, without trailers);
``runtime_api_closed`` (the Runtime API connection broke); ``response_rejected`` (the Runtime API refused the
response while it was sent, for example ``413`` over the size limit). In every case the generator is closed,
the span ended and flushed, and the process serves the next invocation.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import AsyncGenerator, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._api import HTTP_INTEGRATION, PRELUDE_DELIMITER, ResponseRejected, ResponseStream

if TYPE_CHECKING:
    import asyncio

__all__ = ["DeadlineReached", "HttpResponse", "StreamEnd"]

_logger = logging.getLogger("xray_exclusive.runtime")
_DEFAULT_CONTENT_TYPE = "application/octet-stream"


class DeadlineReached(GeneratorExit):
    """Raised inside a stream's generator blocked when the invocation's deadline is near.

    A ``GeneratorExit``: ``finally`` blocks and context managers run as for ``close()``, ``except
    Exception`` does not catch it, and the stream's span ends with ``stream.closed_early`` (not an error).
    """


@dataclass(frozen=True)
class HttpResponse:
    """Yield this first from a streaming handler to set the Function URL response's status, headers, cookies.

    ``headers`` are merged case-insensitively with the default ``Content-Type: application/octet-stream``;
    ``multi_value_headers`` are sent as ``multiValueHeaders``. Without an ``HttpResponse`` first, the stream
    has no prelude (for ``InvokeWithResponseStream`` callers, the body is exactly what the handler yields).

    Example:
        >>> from xray_exclusive import sse
        >>> HttpResponse(200, dict(sse.RESPONSE_HEADERS)).prelude()[:16]
        b'{"statusCode":20'
        >>> HttpResponse(200, {"content-type": "text/plain"}).metadata()["headers"]
        {'content-type': 'text/plain'}
    """

    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: tuple[str, ...] = ()
    multi_value_headers: Mapping[str, tuple[str, ...] | list[str]] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The prelude's JSON document."""
        headers = dict(self.headers)
        if not any(key.lower() == "content-type" for key in headers):
            headers = {"Content-Type": _DEFAULT_CONTENT_TYPE, **headers}
        document: dict[str, Any] = {"statusCode": self.status_code, "headers": headers}
        if self.multi_value_headers:
            document["multiValueHeaders"] = {
                key: list(values) for key, values in self.multi_value_headers.items()
            }
        if self.cookies:
            document["cookies"] = list(self.cookies)
        return document

    def prelude(self) -> bytes:
        """The metadata prelude: JSON, then the 8-NUL-byte delimiter."""
        import json

        return json.dumps(self.metadata(), separators=(",", ":")).encode() + PRELUDE_DELIMITER


@dataclass
class StreamEnd:
    """Why a stream ended, and what was sent."""

    reason: str = ""
    error: BaseException | None = None
    deadline_at: float = float("inf")  # time.monotonic() at which the stream is ended
    in_next: bool = False
    rejected: ResponseRejected | None = None


def annotate_end(state: StreamEnd, reason: str) -> None:
    """Write why the stream ended on the current span (the stream's, when the runtime wrapped it)."""
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    from ..streaming import annotate

    span = trace.get_current_span()
    if not span.is_recording():
        return
    annotate(span, stream_end_reason=state.reason or reason)
    if state.error is not None and state.reason == "encoding_error":
        span.record_exception(state.error)
        span.set_status(Status(StatusCode.ERROR, str(state.error)[:256]))


def guarded(chunks: Any, state: StreamEnd) -> Generator[Any, Any, Any]:
    """The handler's generator, inside ``traced_stream``: annotates the stream span with how it ended."""
    try:
        result = yield from chunks
    except GeneratorExit as exc:
        annotate_end(state, "deadline" if isinstance(exc, DeadlineReached) else "closed")
        raise
    except BaseException:
        annotate_end(state, "error")
        raise
    annotate_end(state, "completed")
    return result


async def guarded_async(chunks: Any, state: StreamEnd) -> AsyncGenerator[Any, Any]:
    """:func:`guarded` for an async generator (cancelled at the deadline: :class:`DeadlineReached`)."""
    import asyncio

    try:
        async for chunk in chunks:
            yield chunk
    except GeneratorExit:
        annotate_end(state, "closed")
        with contextlib.suppress(RuntimeError):
            await chunks.aclose()
        raise
    except asyncio.CancelledError:
        if state.reason != "deadline":
            annotate_end(state, "error")
            raise
        annotate_end(state, "deadline")
        raise DeadlineReached("the invocation's deadline is near") from None
    except BaseException:
        annotate_end(state, "error")
        raise
    annotate_end(state, "completed")


class AsyncBridge:
    """Drives an async generator from the runtime's synchronous loop, one event loop per invocation."""

    def __init__(self, agen: Any, state: StreamEnd) -> None:
        import asyncio

        self._ensure_future = asyncio.ensure_future
        self._loop = asyncio.new_event_loop()
        self._agen = agen
        self._state = state
        self._current: asyncio.Future[Any] | None = None

    def __iter__(self) -> AsyncBridge:
        return self

    def __next__(self) -> Any:
        self._current = self._ensure_future(self._agen.__anext__(), loop=self._loop)
        try:
            return self._loop.run_until_complete(self._current)
        except StopAsyncIteration:
            raise StopIteration from None
        finally:
            self._current = None

    def watch_deadline(self, delay: float) -> bool:
        """Cancel the running step when SIGALRM fires (the timer is set by the caller)."""
        try:
            self._loop.add_signal_handler(signal.SIGALRM, self._cancel)
        except (ValueError, RuntimeError, NotImplementedError):
            return False
        return True

    def _cancel(self) -> None:
        self._state.reason = self._state.reason or "deadline"
        if self._current is not None:
            self._current.cancel()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            with contextlib.suppress(RuntimeError, StopAsyncIteration):
                self._loop.run_until_complete(self._agen.aclose())
        finally:
            with contextlib.suppress(ValueError, RuntimeError):
                self._loop.remove_signal_handler(signal.SIGALRM)
            self._loop.close()


class Watchdog:
    """Ends a generator that blocks past the deadline: SIGALRM at ``state.deadline_at``.

    Not armed outside the main thread, or when the function installed a SIGALRM handler of its own.
    """

    def __init__(self, state: StreamEnd, chunks: Any) -> None:
        self.state = state
        self.chunks = chunks
        self.armed = False
        self._previous: Any = None

    def arm(self) -> None:
        delay = self.state.deadline_at - time.monotonic()
        if delay <= 0 or delay == float("inf"):
            return
        try:
            previous = signal.getsignal(signal.SIGALRM)
            if previous not in (signal.SIG_DFL, signal.SIG_IGN, None):
                return  # the function's own alarm: leave it alone
            if isinstance(self.chunks, AsyncBridge):
                if not self.chunks.watch_deadline(delay):
                    return
            else:
                self._previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, delay)
        except (ValueError, OSError, AttributeError):
            return  # not the main thread, or no SIGALRM here: the check between chunks remains
        self.armed = True

    def _fire(self, signum: int, frame: Any) -> None:
        if self.state.in_next:
            self.state.in_next = False
            self.state.reason = self.state.reason or "deadline"
            raise DeadlineReached("the invocation's deadline is near")

    def disarm(self) -> None:
        if not self.armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        if not isinstance(self.chunks, AsyncBridge):
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)
        self.armed = False


def content_type_of(first: Any) -> str:
    """The Runtime API request's content type: the Function URL integration only with a prelude."""
    return HTTP_INTEGRATION if isinstance(first, HttpResponse) else _DEFAULT_CONTENT_TYPE


def finish_quietly(stream: ResponseStream, error: dict[str, Any] | None) -> None:
    """End the response; a Runtime API that closed or refused it is logged, never raised."""
    try:
        stream.finish(error)
    except (OSError, Exception) as exc:
        _logger.error("The Runtime API connection broke before the end of the response: %s", exc)
