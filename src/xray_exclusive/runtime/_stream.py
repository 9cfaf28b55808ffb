"""Streaming one invocation's response: the prelude, the chunks, the deadline, and every way a stream ends.

A stream ends in one of these ways, written on its span as the ``stream_end_reason`` annotation (whether the
runtime wrapped the stream in ``traced_stream`` or the handler is a ``@traced_handler``; the runtime names the
reason through ``streaming.track_end``): ``completed``; ``error`` (the generator raised: the error trailers);
``encoding_error`` (a chunk could not be encoded: the error trailers, the exception on the span); ``deadline``
(the invocation's deadline is near: the stream ends cleanly, without trailers); ``runtime_api_closed`` (the
Runtime API connection broke); ``response_rejected`` (the Runtime API refused the response while it was sent,
for example ``413`` over the size limit); ``client_disconnected`` (the generator raised ``BrokenPipeError`` or
``ConnectionResetError`` itself); ``closed`` (closed early for any other reason). In every case the generator
is closed, the span ended and flushed, and the process serves the next invocation.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._compat.cmodules import c_getsignal
from ._api import HTTP_INTEGRATION, PRELUDE_DELIMITER, ResponseStream

if TYPE_CHECKING:
    import asyncio

    from ..streaming import StreamEnding

__all__ = ["DeadlineReached", "HttpResponse", "StreamEnd"]

_logger = logging.getLogger("xray_exclusive.runtime")
_DEFAULT_CONTENT_TYPE = "application/octet-stream"

# The C function under ``signal.getsignal``, without its enum conversion (µs before every first byte).
_getsignal: Callable[[int], Any] = c_getsignal()


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
    """Why a stream ended; ``ending``: the stream's own record (``streaming.track_end``), told the same."""

    reason: str = ""
    error: BaseException | None = None
    deadline_at: float = float("inf")  # time.monotonic() at which the stream is ended
    ending: StreamEnding | None = None
    closing: bool = False  # the runtime is closing the generator: its span is ending, not to be interrupted

    def end(self, reason: str, error: BaseException | None = None) -> None:
        """Name why the stream ends (the first reason wins), on its span too."""
        if not self.reason:
            self.reason = reason
            self.error = error
        if self.ending is not None:
            self.ending.set(reason, error)


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
        self._current = current = self._ensure_future(self._agen.__anext__(), loop=self._loop)
        try:
            return self._loop.run_until_complete(current)
        except StopAsyncIteration:
            raise StopIteration from None
        except BaseException:
            if self._state.reason == "deadline" and current.cancelled():  # our own cancellation
                raise DeadlineReached("the invocation's deadline is near") from None
            raise
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
        self._state.end("deadline")
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


class _Alarm:
    """The runtime's SIGALRM handler, installed with the first stream and kept.

    Arming a stream's watchdog is then a look and one ``setitimer``: installing a handler costs more than
    the rest of the arming (``signal.signal``'s conversions), on the way to every stream's first byte.

    Between streams an alarm is not the runtime's: the handler then puts back what was there before and
    lets the signal do what it did (by default, end the process), as if the runtime had never been there.
    """

    def __init__(self) -> None:
        self.watchdog: Watchdog | None = None
        self.previous: Any = signal.SIG_DFL
        self.handler = self.handle  # one bound method: what signal.getsignal() gives back when it is ours

    def install(self) -> bool:
        """Ours installed (now, or still); ``False`` when the function has a SIGALRM handler of its own."""
        current = _getsignal(signal.SIGALRM)
        if current is self.handler:
            return True
        if current not in (signal.SIG_DFL, signal.SIG_IGN, None):
            return False  # the function's own alarm: leave it alone
        signal.signal(signal.SIGALRM, self.handler)
        self.previous = signal.SIG_IGN if current == signal.SIG_IGN else signal.SIG_DFL  # the members
        return True

    def handle(self, signum: int, frame: Any) -> None:
        watchdog = self.watchdog
        if watchdog is not None:
            watchdog._fire(signum, frame)
            return
        signal.signal(signal.SIGALRM, self.previous)  # not ours: as without the runtime
        if self.previous is signal.SIG_DFL:
            signal.raise_signal(signal.SIGALRM)


_alarm = _Alarm()


class Watchdog:
    """Ends a generator that blocks past the deadline: SIGALRM at ``state.deadline_at``.

    The alarm interrupts the generator only while it runs a step (``gi_running``), never the runtime's own
    writes, nor the generator while the runtime closes it (its span is ending and being flushed). Not armed
    outside the main thread, or when the function installed a SIGALRM handler of its own.
    """

    def __init__(self, state: StreamEnd, chunks: Any) -> None:
        self.state = state
        self.chunks = chunks
        self.armed = False

    def arm(self) -> None:
        delay = self.state.deadline_at - time.monotonic()
        if delay <= 0 or delay == float("inf"):
            return
        try:
            if not _alarm.install():
                return
            if isinstance(self.chunks, AsyncBridge):
                if not self.chunks.watch_deadline(delay):
                    return
            else:
                _alarm.watchdog = self
            signal.setitimer(signal.ITIMER_REAL, delay)
        except (ValueError, OSError, AttributeError):
            return  # not the main thread, or no SIGALRM here: the check between chunks remains
        self.armed = True

    def _fire(self, signum: int, frame: Any) -> None:
        if not self.state.closing and getattr(self.chunks, "gi_running", False):  # inside a step
            self.state.end("deadline")
            raise DeadlineReached("the invocation's deadline is near")

    def disarm(self) -> None:
        if not self.armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        if _alarm.watchdog is self:
            _alarm.watchdog = None
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
