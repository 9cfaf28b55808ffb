"""The invocation loop of the custom runtime, with the tracing lifecycle built in.

A buffered handler is served exactly as AWS's Python runtime client (``awslambdaric``) serves it: the same
``context``, the same JSON, the same error documents and X-Ray error cause, the same INIT errors. A handler
that returns a generator is streamed (see :mod:`._stream`), and its stream is ended before the invocation's
deadline.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from types import GeneratorType
from typing import Any

from .. import _env
from ._api import Invocation, ResponseRejected, ResponseStream, RuntimeAPI, RuntimeAPIError
from ._context import LambdaContext
from ._logging import configure_logging, log_error, set_request
from ._marshal import Fault, encode_chunk, error_document, marshal_response, xray_cause
from ._stream import (
    AsyncBridge,
    DeadlineReached,
    HttpResponse,
    StreamEnd,
    Watchdog,
    content_type_of,
    finish_quietly,
)

__all__ = ["HttpResponse", "LambdaContext", "Runtime", "load_handler", "main"]

_logger = logging.getLogger("xray_exclusive.runtime")


class _Terminated(SystemExit):
    """SIGTERM: Lambda is shutting the environment down."""


_terminating = False
"""Set by SIGTERM's handler, and read before every ``next``.

The handler's exception can be lost: the interpreter may run the handler inside a finaliser (an
``http.client`` response closed by ``IOBase.__del__``, whose exceptions are cleared silently), and the
process would then wait on ``next`` until Lambda kills it, its spans unflushed.
"""


def _on_sigterm(signum: int, frame: Any) -> None:
    # Only raise here: flushing inside the handler could wait for a lock the interrupted code holds.
    global _terminating
    _terminating = True
    raise _Terminated(0)


def load_handler(spec: str) -> Any:
    """Import ``module.function`` (the ``_HANDLER`` value; ``sub/module.function`` too) as awslambdaric does.

    Raises :class:`Fault` with ``Runtime.MalformedHandlerName``, ``Runtime.ImportModuleError``,
    ``Runtime.UserCodeSyntaxError`` or ``Runtime.HandlerNotFound``; any other exception at import is the
    module's own and propagates as it is.
    """
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    root = os.environ.get("LAMBDA_TASK_ROOT")
    if root and root not in sys.path:
        sys.path.insert(0, root)
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


def _is_stream(result: Any) -> bool:
    if type(result) is GeneratorType:  # the common case, without the ABCs' checks
        return True
    if isinstance(result, (str, bytes, bytearray, Mapping, list, tuple)) or result is None:
        return False
    return (
        inspect.isgenerator(result)
        or inspect.isasyncgen(result)
        or isinstance(result, Iterator | AsyncIterator)
    )


_streaming: Any = None  # xray_exclusive.streaming._stream, imported with the first stream (not at INIT)


def _traced(result: Any, event: Any) -> tuple[Any, Any]:
    """The stream in ``traced_stream`` unless the handler already is (``@traced_handler``), and its ending.

    The ``StreamEnding``: whoever wrapped the stream, its span says why it ended.
    """
    global _streaming
    if _streaming is None:
        from ..streaming import _stream

        _streaming = _stream
    headers = event.get("headers") if type(event) is dict or isinstance(event, Mapping) else None
    traced: tuple[Any, Any] = _streaming.traced_and_tracked(
        result, headers if isinstance(headers, Mapping) else None
    )
    return traced


def _as_generator(chunks: Any) -> Any:
    yield from chunks


def _parse_json_header(raw: str | None, name: str) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except Exception as exc:
        raise Fault("Runtime.LambdaContextUnmarshalError", f"Unable to parse {name} JSON: {exc}") from None


def _event(invocation: Invocation) -> Any:
    if invocation.content_type != "application/json":
        return invocation.body
    try:
        return json.loads(invocation.body)
    except Exception as exc:
        raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None


def _margin_ms(explicit: int | None) -> int:
    if explicit is None:
        return _env.XRAY_EXCLUSIVE_STREAM_DEADLINE_MARGIN_MS.get()
    if isinstance(explicit, bool) or not isinstance(explicit, int) or explicit < 0:
        raise ValueError(f"deadline_margin_ms must be a non-negative int (got {explicit!r})")
    return explicit


class Runtime:
    """The loop: ``next``, set ``_X_AMZN_TRACE_ID``, call the handler, stream or buffer the answer.

    ``deadline_margin_ms``: a stream is ended this long before the invocation's deadline, so that its spans
    are flushed before Lambda stops the environment (then ``XRAY_EXCLUSIVE_STREAM_DEADLINE_MARGIN_MS``, then
    1000 ms); never more than half of the time the invocation had when it started.

    Example:
        >>> Runtime(RuntimeAPI("127.0.0.1:9"), print, deadline_margin_ms=-1)
        Traceback (most recent call last):
        ...
        ValueError: deadline_margin_ms must be a non-negative int (got -1)
    """

    def __init__(self, api: RuntimeAPI, handler: Any, *, deadline_margin_ms: int | None = None) -> None:
        self.api = api
        self.handler = handler
        self.deadline_margin_ms = _margin_ms(deadline_margin_ms)

    def run_forever(self) -> None:
        """Serve invocations until the process is stopped."""
        while not _terminating:
            self.run_once()
        raise _Terminated(0)  # SIGTERM's own exception was lost on the way (see _terminating)

    def run_once(self) -> None:
        """Serve one invocation."""
        invocation = self.api.next()
        request_id = invocation.request_id
        set_request(request_id, invocation.tenant_id)
        # A custom runtime owns this: a stale value links every span to the previous invocation.
        if invocation.trace_id is not None:
            os.environ["_X_AMZN_TRACE_ID"] = invocation.trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            context = LambdaContext(
                request_id,
                _parse_json_header(invocation.client_context, "Client Context"),
                _parse_json_header(invocation.cognito_identity, "Cognito Identity"),
                invocation.deadline_ms,
                invocation.function_arn,
                invocation.tenant_id,
            )
            event = _event(invocation)
            result = self.handler(event, context)
            if _is_stream(result):
                self._stream(invocation, event, result)
                return
            body, content_type = marshal_response(result)
        except Exception as exc:
            self._fail(request_id, exc)
            return
        self._post(lambda: self.api.respond(request_id, body, content_type))

    def _fail(self, request_id: str, exc: BaseException) -> None:
        document, cause = error_document(exc, request_id)
        log_error(document)
        self._post(lambda: self.api.error(request_id, document, xray_cause(cause)))

    @staticmethod
    def _post(call: Any) -> None:
        try:
            call()  # a status other than 2xx is logged by the client
        except (OSError, RuntimeAPIError) as exc:
            _logger.error("The Runtime API could not be reached to answer the invocation: %s", exc)

    # ----------------------------------------------------------------------------------------- streams

    def _stream(self, invocation: Invocation, event: Any, result: Any) -> None:
        state = StreamEnd()
        remaining_s = max(0.0, invocation.deadline_ms / 1000 - time.time())
        margin_s = min(self.deadline_margin_ms / 1000, remaining_s / 2)
        state.deadline_at = (
            time.monotonic() + remaining_s - margin_s if invocation.deadline_ms else float("inf")
        )
        is_async = type(result) is not GeneratorType and (
            inspect.isasyncgen(result)
            or (isinstance(result, AsyncIterator) and not isinstance(result, Iterator))
        )
        result, state.ending = _traced(result, event)
        chunks: Any
        if is_async:
            chunks = AsyncBridge(result, state)
        else:
            chunks = result if isinstance(result, GeneratorType) else _as_generator(result)
        watchdog = Watchdog(state, chunks)
        watchdog.arm()
        try:
            self._send(invocation.request_id, chunks, state)
        finally:
            watchdog.disarm()
            if is_async:
                chunks.close()

    def _end(self, chunks: Any, state: StreamEnd, reason: str, error: BaseException | None = None) -> None:
        """Close the generator (its span ends, annotated with ``reason``, and is flushed)."""
        state.end(reason, error)
        state.closing = True  # the watchdog leaves the generator alone from now on
        close = getattr(chunks, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception as exc:
            _logger.error("The stream's generator failed while it was closed: %r", exc)

    def _send(self, request_id: str, chunks: Any, state: StreamEnd) -> None:
        stream: ResponseStream | None = None
        first: Any = None
        try:
            first = next(chunks)  # the watchdog may interrupt the generator only while it runs (gi_running)
            data = b"" if isinstance(first, HttpResponse) else encode_chunk(first)
        except StopIteration:
            data = b""
        except DeadlineReached:
            self._end(chunks, state, "deadline")
            data = b""
        except Exception as exc:  # before the first byte: a plain invocation error
            if isinstance(exc, Fault):
                self._end(chunks, state, "encoding_error", exc)
            self._fail(request_id, exc)
            return
        try:  # the head and the first chunk (the prelude, when the handler gave one) in one write
            if isinstance(first, HttpResponse):
                data = first.prelude()
            stream = self.api.stream(request_id, content_type_of(first), data)
        except (OSError, RuntimeAPIError) as exc:
            self._broken(chunks, state, stream, exc)
            return
        deadline_at = state.deadline_at
        monotonic = time.monotonic
        write = stream.write
        deadline = False
        fault: Fault | None = None
        broken: OSError | RuntimeAPIError | None = None
        failure: Exception | None = None
        try:
            if monotonic() >= deadline_at:
                deadline = True
            else:
                for chunk in chunks:  # the generator's steps: what they raise is caught below
                    try:  # bytes: encode_chunk's own answer, without the call
                        data = chunk if type(chunk) is bytes else encode_chunk(chunk)
                    except Fault as exc:
                        fault = exc
                        break
                    try:
                        write(data)
                    except (OSError, RuntimeAPIError) as exc:
                        broken = exc
                        break
                    if monotonic() >= deadline_at:  # checked before the next step starts
                        deadline = True
                        break
        except DeadlineReached:  # the watchdog interrupted a step
            deadline = True
        except Exception as exc:  # the generator failed after the first byte: the trailers
            failure = exc
        if broken is not None:
            self._broken(chunks, state, stream, broken)
            return
        error: dict[str, Any] | None = None
        if deadline:
            self._end(chunks, state, "deadline")
            self._deadline_warning(stream)
        elif fault is not None:  # a chunk that cannot be encoded: the trailers, the process stays up
            self._end(chunks, state, "encoding_error", fault)
            error = self._stream_error(request_id, fault)
        elif failure is not None:
            error = self._stream_error(request_id, failure)
        finish_quietly(stream, error)

    def _stream_error(self, request_id: str, exc: BaseException) -> dict[str, Any]:
        document, _ = error_document(exc, request_id)
        log_error(document)
        return document

    def _deadline_warning(self, stream: ResponseStream) -> None:
        _logger.warning(
            "Ended the stream %d ms before the invocation's deadline, after %d bytes, to flush its spans.",
            self.deadline_margin_ms,
            stream.bytes_written,
        )

    def _broken(
        self, chunks: Any, state: StreamEnd, stream: ResponseStream | None, exc: BaseException
    ) -> None:
        """The Runtime API refused the response or its connection broke: not a client disconnect."""
        if isinstance(exc, ResponseRejected):
            reason = "response_rejected"
            _logger.error(
                "The Runtime API refused the streamed response after %d bytes: HTTP %d: %r",
                stream.bytes_written if stream else exc.bytes_written,
                exc.status,
                exc.body[:500],
            )
        else:
            reason = "runtime_api_closed"
            _logger.error(
                "The Runtime API connection broke after %d bytes of the streamed response: %r",
                stream.bytes_written if stream else 0,
                exc,
            )
        if stream is not None:
            stream.abort()
        else:
            self.api.reset()
        self._end(chunks, state, reason)


def _flush_tracer() -> None:
    streaming = sys.modules.get("xray_exclusive.streaming")  # never imported just to flush nothing
    if streaming is not None:
        streaming.flush_if_started()


def main() -> int:
    """``python -m xray_exclusive.runtime``: INIT (import ``_HANDLER``), then serve until SIGTERM."""
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        print(
            "AWS_LAMBDA_RUNTIME_API is not set: this is the entry point of a Lambda container.",
            file=sys.stderr,
        )
        return 2
    configure_logging()
    api = RuntimeAPI(address)

    signal.signal(signal.SIGTERM, _on_sigterm)
    # Lambda sets _HANDLER from the image CMD; `python -m xray_exclusive.runtime mod.func` works too.
    spec = os.environ.get("_HANDLER") or (sys.argv[1] if len(sys.argv) > 1 else "")
    try:
        handler = load_handler(spec)
    except Exception as exc:
        document, _ = error_document(exc)
        log_error(document)
        api.init_error(document)
        return 1
    try:
        Runtime(api, handler).run_forever()
    except SystemExit as exc:  # SIGTERM, or the function's own sys.exit(): flush, then exit with its code
        _flush_tracer()
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except RuntimeAPIError as exc:
        _logger.error("%s", exc)
        _flush_tracer()
        return 1
    return 0
