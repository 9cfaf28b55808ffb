"""The invocation loop of the custom runtime, with the tracing lifecycle built in."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._api import PRELUDE_DELIMITER, Invocation, ResponseStream, RuntimeAPI, error_body

__all__ = ["HttpResponse", "LambdaContext", "Runtime", "load_handler", "main"]

_logger = logging.getLogger("xray_exclusive.runtime")


@dataclass(frozen=True)
class HttpResponse:
    """Yield this first from a streaming handler to set the Function URL response's status, headers, cookies.

    Example:
        >>> from xray_exclusive import sse
        >>> HttpResponse(200, dict(sse.RESPONSE_HEADERS)).prelude()[:16]
        b'{"statusCode":20'
    """

    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: tuple[str, ...] = ()

    def prelude(self) -> bytes:
        """The metadata prelude: JSON, then the 8-NUL-byte delimiter."""
        headers = {"Content-Type": "application/octet-stream", **dict(self.headers)}
        document: dict[str, Any] = {"statusCode": self.status_code, "headers": headers}
        if self.cookies:
            document["cookies"] = list(self.cookies)
        return json.dumps(document, separators=(",", ":")).encode() + PRELUDE_DELIMITER


class LambdaContext:
    """The ``context`` argument, as the official runtime provides it."""

    def __init__(self, invocation: Invocation) -> None:
        self.aws_request_id = invocation.request_id
        self.invoked_function_arn = invocation.function_arn
        self._deadline_ms = invocation.deadline_ms
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.client_context = invocation.client_context
        self.identity = invocation.cognito_identity

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the invocation's deadline."""
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(aws_request_id)s\t%(message)s"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.WARNING:
        root.setLevel(logging.INFO)


def load_handler(spec: str) -> Any:
    """Import ``module.function`` (the ``_HANDLER`` value) from ``LAMBDA_TASK_ROOT``."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        raise ValueError(f"_HANDLER={spec!r} is not module.function")
    root = os.environ.get("LAMBDA_TASK_ROOT")
    if root and root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module(module_name)
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise AttributeError(f"module {module_name!r} has no function {function_name!r}")
    return handler


def _is_stream(result: Any) -> bool:
    if isinstance(result, (str, bytes, bytearray, Mapping, list, tuple)) or result is None:
        return False
    return (
        inspect.isgenerator(result)
        or inspect.isasyncgen(result)
        or isinstance(result, Iterator | AsyncIterator)
    )


def _already_traced(result: Any) -> bool:
    from ..streaming import _stream

    code = getattr(result, "gi_code", None) or getattr(result, "ag_code", None)
    return code is _stream._sync.__code__ or code is _stream._async.__code__


class _AsyncBridge:
    """Drives an async generator from the runtime's synchronous loop, one event loop per invocation."""

    def __init__(self, agen: Any) -> None:
        import asyncio

        self._loop = asyncio.new_event_loop()
        self._agen = agen

    def __iter__(self) -> _AsyncBridge:
        return self

    def __next__(self) -> Any:
        try:
            return self._loop.run_until_complete(self._agen.__anext__())
        except StopAsyncIteration:
            self._loop.close()
            raise StopIteration from None

    def throw(self, exc: BaseException) -> Any:
        try:
            return self._loop.run_until_complete(self._agen.athrow(exc))
        finally:
            self._loop.close()

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._agen.aclose())
            self._loop.close()


def _as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    return json.dumps(chunk, default=str).encode()


class Runtime:
    """The loop: ``next``, set ``_X_AMZN_TRACE_ID``, call the handler, stream or buffer the answer.

    Example:
        >>> Runtime  # doctest: +ELLIPSIS
        <class '...Runtime'>
    """

    def __init__(self, api: RuntimeAPI, handler: Any) -> None:
        self.api = api
        self.handler = handler

    def run_forever(self) -> None:
        """Serve invocations until the process is stopped."""
        while True:
            self.run_once()

    def run_once(self) -> None:
        """Serve one invocation."""
        invocation = self.api.next()
        _RequestIdFilter.request_id = invocation.request_id
        # A custom runtime owns this: a stale value links every span to the previous invocation (SC-026).
        if invocation.trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = invocation.trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            event = json.loads(invocation.body) if invocation.body else {}
        except ValueError as exc:
            self.api.error(invocation.request_id, error_body(exc, "Runtime.UnmarshalError"))
            return
        try:
            result = self.handler(event, LambdaContext(invocation))
        except Exception as exc:
            _logger.exception("Handler failed")
            self.api.error(invocation.request_id, error_body(exc))
            return
        if _is_stream(result):
            self._stream(invocation, event, result)
        else:
            try:
                body = _as_bytes(result) if result is not None else b"null"
            except (TypeError, ValueError) as exc:
                self.api.error(invocation.request_id, error_body(exc, "Runtime.MarshalError"))
                return
            self.api.respond(invocation.request_id, body)

    def _stream(self, invocation: Invocation, event: Any, result: Any) -> None:
        if not _already_traced(result):
            from ..streaming import traced_stream

            headers = event.get("headers") if isinstance(event, Mapping) else None
            result = traced_stream(result, headers=headers if isinstance(headers, Mapping) else None)
        chunks: Any = _AsyncBridge(result) if inspect.isasyncgen(result) else iter(result)
        try:
            first = next(chunks)
        except StopIteration:
            first = b""
        except Exception as exc:  # before the first byte: a plain invocation error
            _logger.exception("Stream failed before its first byte")
            self.api.error(invocation.request_id, error_body(exc))
            return
        prelude = first if isinstance(first, HttpResponse) else HttpResponse()
        stream: ResponseStream | None = None
        try:
            stream = self.api.stream(invocation.request_id)
            stream.write(prelude.prelude())
            if not isinstance(first, HttpResponse):
                stream.write(_as_bytes(first))
        except OSError:
            self._disconnected(chunks, stream)
            return
        error: dict[str, Any] | None = None
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except Exception as exc:  # after the first byte: the documented trailers
                _logger.exception("Stream failed after its first byte")
                error = error_body(exc)
                break
            try:
                stream.write(_as_bytes(chunk))
            except OSError:
                self._disconnected(chunks, stream)
                return
        try:
            stream.finish(error)
        except OSError as exc:
            _logger.warning("The Runtime API closed the response before its end: %s", exc)

    @staticmethod
    def _disconnected(chunks: Any, stream: ResponseStream | None) -> None:
        """The Runtime API (the client) went away: the generator sees ``BrokenPipeError`` (FR-085)."""
        _logger.warning("The client disconnected mid-stream.")
        if stream is not None:
            stream.abort()
        thrower = getattr(chunks, "throw", None)
        if thrower is None:
            return
        with contextlib.suppress(BrokenPipeError, StopIteration, RuntimeError):
            thrower(BrokenPipeError(32, "Broken pipe: the client disconnected"))


def _flush_tracer() -> None:
    streaming = sys.modules.get("xray_exclusive.streaming._bootstrap")
    instance = getattr(streaming, "_instance", None)
    if instance is not None:
        instance.flush()


def main() -> int:
    """``python -m xray_exclusive.runtime``: INIT (import ``_HANDLER``), then serve until SIGTERM."""
    _configure_logging()
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        print(
            "AWS_LAMBDA_RUNTIME_API is not set: this is the entry point of a Lambda container.",
            file=sys.stderr,
        )
        return 2
    api = RuntimeAPI(address)

    def stop(signum: int, frame: Any) -> None:
        # Only raise here: flushing inside the handler could wait for a lock the interrupted code holds.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        # Lambda sets _HANDLER from the image CMD; `python -m xray_exclusive.runtime mod.func` works too.
        spec = os.environ.get("_HANDLER") or (sys.argv[1] if len(sys.argv) > 1 else "")
        handler = load_handler(spec)
    except Exception as exc:
        kind = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        _logger.exception("INIT failed")
        api.init_error(error_body(exc, kind))
        return 1
    try:
        Runtime(api, handler).run_forever()
    except SystemExit:
        _logger.info("SIGTERM: flushing spans and exiting.")
        _flush_tracer()
    return 0
