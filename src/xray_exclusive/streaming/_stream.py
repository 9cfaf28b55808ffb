"""The stream wrapper: a connection span around a sync or async generator, flushed when it ends.

The span is made current only **while the wrapped generator runs a step**
and is detached before the chunk is handed to the consumer (the runtime). A
``start_as_current_span`` across a ``yield`` would leak the span into the
consumer, fail to detach when the generator is closed from another context,
and then make the next invocation's extraction ignore ``_X_AMZN_TRACE_ID``.

A sync stream gets one :class:`contextvars.Context` of its own, copied from the caller's when the stream
starts, with the stream's span and backend made current inside it once; each step (``send``, ``throw``,
``close``) runs in it with ``Context.run``: one C call per chunk instead of an attach/detach pair, and
whatever a step sets (a span current across a ``yield``) stays in the stream's context, never the caller's.
An async stream attaches and detaches around each step (its steps run in the task's context).

A consumer that wants to know how a stream ended on its span (the custom runtime) asks :func:`track_end` for
the stream's :class:`StreamEnding`: nothing per chunk, one annotation when the span ends. The custom runtime
wraps and tracks in one call (:func:`traced_and_tracked`), without looking into the wrapper's frame.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import sys
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Generator, Iterable, Mapping
from types import AsyncGeneratorType, GeneratorType
from typing import Any, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from .._backend import STREAM_BACKEND
from .._compat.powertools import tracer_captures_response
from ..bounded import annotation
from ._bootstrap import StreamingTracer, built_streaming_tracer, check_instrumentation, get_streaming_tracer
from ._context import invocation_context
from ._deferred import warm_exporter
from ._guard import ours_failed, run_steps
from ._otel_backend import OTelBackend
from ._semconv import DISCONNECT_ERRORS, annotate, mark_disconnected, record_bounded_exception

__all__ = [
    "DISCONNECT_ERRORS",
    "StreamEnding",
    "is_traced",
    "mark_disconnected",
    "traced_handler",
    "traced_stream",
    "track_end",
]

T = TypeVar("T")
H = TypeVar("H", bound=Callable[..., Any])


class StreamEnding:
    """Why one traced stream ended, written on its span as the ``stream_end_reason`` annotation.

    :func:`track_end` returns it for a stream of :func:`traced_stream` or :func:`traced_handler` and turns the
    annotation on (it is off for streams nobody tracks). The stream names its own end: ``completed`` (the
    generator finished), ``error`` (it raised; the exception is recorded as always), ``client_disconnected``
    (``BrokenPipeError`` or ``ConnectionResetError``), ``closed`` (its consumer closed it early). A consumer
    that knows better says so with :meth:`set` before it closes the stream (the custom runtime: ``deadline``,
    ``encoding_error``, ``runtime_api_closed``, ``response_rejected``). The first reason given wins.

    Example:
        >>> ending = StreamEnding()
        >>> ending.set("deadline")
        >>> ending.set("closed")  # too late: the first reason stands
        >>> ending.reason
        'deadline'
    """

    __slots__ = ("error", "reason", "tracked")

    def __init__(self) -> None:
        self.reason = ""
        self.error: BaseException | None = None
        self.tracked = False

    def set(self, reason: str, error: BaseException | None = None) -> None:
        """Name why the stream ends, unless a reason was named already.

        ``error``: an exception of the consumer's about this stream (a chunk it could not encode), recorded
        on the span when it ends (bounded, status ERROR).
        """
        if not self.reason:
            self.reason = reason
            self.error = error

    def __repr__(self) -> str:
        return f"StreamEnding(reason={self.reason!r}, tracked={self.tracked})"


def is_traced(stream: object) -> bool:
    r"""Whether ``stream`` is a generator returned by :func:`traced_stream` (or a :func:`traced_handler`).

    A consumer that wraps streams itself (the custom runtime) uses it to wrap each stream once.

    Example:
        >>> def events():
        ...     yield b"data: hello\n\n"
        >>> is_traced(events()), is_traced(traced_stream(events()))
        (False, True)
    """
    if isinstance(stream, GeneratorType):
        return stream.gi_code is _SYNC_CODE
    if isinstance(stream, AsyncGeneratorType):
        return stream.ag_code is _ASYNC_CODE
    return False


def track_end(stream: object) -> StreamEnding | None:
    r"""Turn on ``stream_end_reason`` for a traced stream's span; return the handle to name the reason.

    ``None`` when ``stream`` is not a stream of :func:`traced_stream` (see :func:`is_traced`), or has ended
    already. Costs nothing per chunk: the annotation is written once, when the span ends, before it is
    flushed.

    Example:
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        >>> from xray_exclusive.streaming import get_streaming_tracer, reset_streaming_tracer
        >>> memory = InMemorySpanExporter()
        >>> st = get_streaming_tracer(service_name="doc-sse", exporter=memory)
        >>> def events():
        ...     while True:
        ...         yield b": keep-alive\n\n"
        >>> stream = traced_stream(events())
        >>> ending = track_end(stream)
        >>> next(stream)
        b': keep-alive\n\n'
        >>> ending.set("deadline")  # the consumer ends the stream, and says why
        >>> stream.close()
        >>> memory.get_finished_spans()[0].attributes["stream_end_reason"]
        'deadline'
        >>> reset_streaming_tracer()
    """
    if isinstance(stream, GeneratorType) and stream.gi_code is _SYNC_CODE:
        frame = stream.gi_frame
    elif isinstance(stream, AsyncGeneratorType) and stream.ag_code is _ASYNC_CODE:
        frame = stream.ag_frame
    else:
        return None
    ending = frame.f_locals.get("ending") if frame is not None else None  # the wrapper's own argument
    if not isinstance(ending, StreamEnding):
        return None
    ending.tracked = True
    return ending


def traced_and_tracked(stream: Any, headers: Mapping[str, object] | None) -> tuple[Any, StreamEnding | None]:
    """``traced_stream(stream, headers=headers)`` unless it is traced already, and its :func:`track_end`.

    The custom runtime's one call per stream. A plain generator (the common case) is wrapped with its
    ``StreamEnding`` in hand, without :func:`track_end`'s look into the wrapper's frame.
    """
    if type(stream) is GeneratorType and stream.gi_code is not _SYNC_CODE:
        ending = StreamEnding()
        ending.tracked = True
        return _sync(stream, "sse_stream", headers, None, None, ending), ending
    if not is_traced(stream):
        stream = traced_stream(stream, headers=headers)
    return stream, track_end(stream)


def _cancelled(exc: BaseException) -> bool:
    asyncio = sys.modules.get("asyncio")  # a CancelledError exists only once asyncio is loaded
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)


class _Connection:
    """One stream's span and context; entered for each step of the wrapped generator."""

    __slots__ = ("backend", "context", "ending", "name", "span", "steps", "tracer")

    def __init__(
        self,
        tracer: StreamingTracer,
        name: str,
        headers: Mapping[str, object] | None,
        attributes: Mapping[str, object] | None,
        ending: StreamEnding,
    ) -> None:
        check_instrumentation()  # a Tracer(auto_patch=True) built after INIT is caught here
        self.tracer = tracer
        self.name = name
        self.steps = 0
        self.ending = ending
        try:
            parent = invocation_context(headers)
        except Exception as ours:  # a hostile headers mapping: the environment variable alone decides
            ours_failed("reading the trace header", name, ours)
            parent = invocation_context(None)
        self.span = tracer.tracer.start_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=_attributes(attributes, name)
        )
        self.context = trace.set_span_in_context(self.span, parent)
        self.backend = _backend_of(tracer)

    def own_context(self) -> Callable[..., Any]:
        """A copy of the caller's context with the span and backend current in it: its ``run``."""
        run = contextvars.copy_context().run
        run(self._make_current)
        return run

    def _make_current(self) -> None:  # inside the stream's own context: never detached, dropped with it
        otel_context.attach(self.context)
        STREAM_BACKEND.set(self.backend)

    def enter(self) -> tuple[object, Any]:
        self.steps += 1
        if self.steps == 2:  # the first chunk is out: build the exporter in the background, off the stream
            warm_exporter(self.tracer.exporter)
        return otel_context.attach(self.context), STREAM_BACKEND.set(self.backend)

    def leave(self, tokens: tuple[object, Any]) -> None:
        run_steps(
            self.name,
            None,
            [
                ("restoring the failure-path backend", lambda: STREAM_BACKEND.reset(tokens[1])),
                ("detaching its context", lambda: otel_context.detach(tokens[0])),  # type: ignore[arg-type]
            ],
        )

    def failed(self, exc: BaseException) -> None:
        ending = self.ending
        if isinstance(exc, DISCONNECT_ERRORS):
            ending.set("client_disconnected")
            mark_disconnected(self.span)
        elif isinstance(exc, GeneratorExit) or (ending.reason and _cancelled(exc)):
            # closed, or its step cancelled by a consumer that said why (an async stream at a deadline)
            ending.set("closed")
            self.closed_early()
        else:
            ending.set("error")
            record_bounded_exception(self.span, exc)

    def closed_early(self) -> None:
        try:
            if self.span.is_recording():
                self.span.set_attribute("stream.closed_early", True)
        except Exception as ours:
            ours_failed("marking the stream closed early", self.name, ours)

    def write_end(self) -> None:
        ending = self.ending
        if not ending.tracked or not self.span.is_recording():
            return
        annotate(self.span, stream_end_reason=ending.reason or "closed")
        if ending.error is not None:
            record_bounded_exception(self.span, ending.error)

    def finish(self, exc: BaseException | None = None) -> None:
        run_steps(
            self.name,
            exc,
            [
                ("writing how it ended", self.write_end),
                ("ending", self.span.end),
                ("flushing", self.tracer.flush),
            ],
        )


_backend: tuple[object, OTelBackend] = (None, OTelBackend())  # the last tracer's backend (it holds no state)


def _backend_of(tracer: StreamingTracer) -> OTelBackend:
    """The failure-path backend over ``tracer.tracer``: one per tracer, shared by its streams."""
    global _backend
    owner, backend = _backend
    if owner is not tracer.tracer:
        backend = OTelBackend(tracer.tracer)
        _backend = (tracer.tracer, backend)
    return backend


def _tracer() -> StreamingTracer:
    """The process's tracer: the one built (a look), else :func:`get_streaming_tracer` builds it."""
    return built_streaming_tracer() or get_streaming_tracer()


def _attributes(attributes: Mapping[str, object] | None, name: str = "sse_stream") -> dict[str, Any] | None:
    try:
        if not attributes:
            return None
        items = list(attributes.items())
    except Exception as ours:
        ours_failed("reading its attributes (all dropped)", name, ours)
        return None
    clean: dict[str, Any] = {}
    for key, value in items:
        try:
            valid = annotation(key, value)  # scalar values, bounded strings; dropped with a logged reason
        except Exception as ours:
            ours_failed("validating an attribute (dropped)", name, ours)
            continue
        if valid is not None and isinstance(key, str):
            clean[str.__str__(key)] = valid.value  # the key as given (a str subclass's __str__ may raise)
    return clean


def _throw(inner: Generator[T, Any, Any], exc: BaseException) -> T:
    chunk = inner.throw(exc)
    if isinstance(exc, DISCONNECT_ERRORS):  # swallowed, but the client is gone
        inner.close()
        raise exc
    return chunk


def _sync(
    inner: Generator[T, Any, Any],
    name: str,
    headers: Mapping[str, object] | None,
    attributes: Mapping[str, object] | None,
    tracer: StreamingTracer | None,
    ending: StreamEnding,
) -> Generator[T, Any, Any]:
    connection = _Connection(tracer or _tracer(), name, headers, attributes, ending)
    try:
        run = connection.own_context()  # each step runs in the stream's context: see the module's docstring
        send = inner.send
        sent: Any = None
        thrown: BaseException | None = None
        first = True
        while True:
            try:
                if thrown is None:
                    chunk = run(send, sent)
                else:
                    exc, thrown = thrown, None
                    chunk = run(_throw, inner, exc)
            except StopIteration as stop:
                ending.set("completed")
                return stop.value
            except BaseException as exc:
                run(connection.failed, exc)
                raise
            try:
                sent = yield chunk
            except GeneratorExit:
                ending.set("closed")
                run(inner.close)
                connection.closed_early()
                raise
            except BaseException as exc:  # thrown in by the consumer: the inner generator sees it
                thrown = exc
            if first:  # the first chunk is out: build the exporter in the background, off the stream
                first = False
                warm_exporter(connection.tracer.exporter)
    finally:
        connection.finish()


async def _async(
    inner: AsyncGenerator[T, Any],
    name: str,
    headers: Mapping[str, object] | None,
    attributes: Mapping[str, object] | None,
    tracer: StreamingTracer | None,
    ending: StreamEnding,
) -> AsyncGenerator[T, Any]:
    connection = _Connection(tracer or _tracer(), name, headers, attributes, ending)
    try:
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            tokens = connection.enter()
            try:
                if thrown is None:
                    chunk = await inner.asend(sent)
                else:
                    exc, thrown = thrown, None
                    chunk = await inner.athrow(exc)
                    if isinstance(exc, DISCONNECT_ERRORS):
                        await inner.aclose()
                        raise exc
            except StopAsyncIteration:
                ending.set("completed")
                return
            except BaseException as exc:
                connection.failed(exc)
                raise
            finally:
                connection.leave(tokens)
            try:
                sent = yield chunk
            except GeneratorExit:
                ending.set("closed")
                tokens = connection.enter()
                try:
                    await inner.aclose()
                finally:
                    connection.leave(tokens)
                connection.closed_early()
                raise
            except BaseException as exc:
                thrown = exc
    finally:
        connection.finish()


_SYNC_CODE = _sync.__code__
_ASYNC_CODE = _async.__code__


def _as_generator(iterable: Iterable[T]) -> Generator[T, Any, Any]:
    yield from iterable


async def _as_async_generator(iterable: AsyncIterable[T]) -> AsyncGenerator[T, Any]:
    async for item in iterable:
        yield item


@overload
def traced_stream(
    stream: AsyncIterable[T],
    *,
    name: str = ...,
    headers: Mapping[str, object] | None = ...,
    attributes: Mapping[str, object] | None = ...,
    tracer: StreamingTracer | None = ...,
) -> AsyncGenerator[T, Any]: ...


@overload
def traced_stream(
    stream: Iterable[T],
    *,
    name: str = ...,
    headers: Mapping[str, object] | None = ...,
    attributes: Mapping[str, object] | None = ...,
    tracer: StreamingTracer | None = ...,
) -> Generator[T, Any, Any]: ...


def traced_stream(
    stream: Iterable[T] | AsyncIterable[T],
    *,
    name: str = "sse_stream",
    headers: Mapping[str, object] | None = None,
    attributes: Mapping[str, object] | None = None,
    tracer: StreamingTracer | None = None,
) -> Generator[T, Any, Any] | AsyncGenerator[T, Any]:
    r"""Wrap a response stream (sync or async generator) in a connection span linked to the invocation.

    When iteration starts, a span ``name`` opens as the child of the
    invocation's trace (:func:`invocation_context`, with ``headers`` as the
    fallback); every span created inside the generator is its child, and
    ``failure_path`` there uses OpenTelemetry. The span ends when the
    generator finishes, fails or is closed, and the tracer is flushed, within
    its budget, before the wrapper returns, so no span waits in a frozen
    environment.

    * ``BrokenPipeError`` / ``ConnectionResetError`` (raised inside, or thrown
      in by the runtime): ``client.disconnected=true``, status OK, the
      generator is closed (no further polls), then the error propagates.
    * Any other exception: recorded bounded (message, 10 frames), status
      ERROR, re-raised.
    * ``send()``, ``throw()`` and ``close()`` reach the wrapped generator.

    Example:
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        >>> from xray_exclusive.streaming import get_streaming_tracer, reset_streaming_tracer
        >>> memory = InMemorySpanExporter()
        >>> st = get_streaming_tracer(service_name="doc-sse", exporter=memory)
        >>> def events():
        ...     yield b"retry: 3000\n\n"
        ...     yield b"data: hello\n\n"
        >>> list(traced_stream(events()))
        [b'retry: 3000\n\n', b'data: hello\n\n']
        >>> [span.name for span in memory.get_finished_spans()]
        ['sse_stream']
        >>> reset_streaming_tracer()
    """
    candidate: Any = stream
    if inspect.isasyncgen(candidate):
        return _async(
            cast("AsyncGenerator[T, Any]", candidate), name, headers, attributes, tracer, StreamEnding()
        )
    if inspect.isgenerator(candidate):
        return _sync(
            cast("Generator[T, Any, Any]", candidate), name, headers, attributes, tracer, StreamEnding()
        )
    if callable(candidate) and not isinstance(candidate, Iterable | AsyncIterable):
        raise TypeError(
            "traced_stream wraps the generator a handler returns, not the handler: "
            "use @traced_handler on the handler, or traced_stream(handler(event, context))."
        )
    if isinstance(stream, AsyncIterable):
        return _async(_as_async_generator(stream), name, headers, attributes, tracer, StreamEnding())
    if isinstance(stream, Iterable):
        return _sync(_as_generator(stream), name, headers, attributes, tracer, StreamEnding())
    raise TypeError(f"traced_stream needs an iterable or async iterable, not {type(stream).__name__}")


@overload
def traced_handler(handler: H) -> H: ...


@overload
def traced_handler(
    handler: None = None, *, name: str = ..., attributes: Mapping[str, object] | None = ...
) -> Callable[[H], H]: ...


def traced_handler(
    handler: H | None = None,
    *,
    name: str = "sse_stream",
    attributes: Mapping[str, object] | None = None,
) -> H | Callable[[H], H]:
    r"""Decorate a streaming Lambda handler: the stream it returns (or yields) is :func:`traced_stream`-ed.

    The event's ``headers`` (Function URL, API Gateway, Lambda Web Adapter)
    supply the ``x-amzn-trace-id`` fallback. A handler already wrapped by
    Powertools' ``capture_lambda_handler`` or ``capture_method`` with response
    capture is refused: X-Ray's metadata serialisation would iterate the
    generator and the client would get an empty stream.

    Example:
        >>> @traced_handler(name="global_stream")
        ... def handler(event, context):
        ...     yield b"data: hello\n\n"
    """

    def decorate(func: H) -> H:
        _refuse_powertools_capture(func)

        @functools.wraps(func)
        def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            result = func(event, context, *args, **kwargs)
            try:
                headers = event.get("headers") if isinstance(event, Mapping) else None
            except Exception as ours:  # a hostile event: the environment variable alone gives the trace
                ours_failed("reading the event's headers", name, ours)
                headers = None
            headers = headers if isinstance(headers, Mapping) else None
            if inspect.isgenerator(result) or inspect.isasyncgen(result):
                return traced_stream(result, name=name, headers=headers, attributes=attributes)
            return result

        return wrapper  # type: ignore[return-value]

    if handler is not None:
        return decorate(handler)
    return decorate


def _refuse_powertools_capture(func: Callable[..., Any]) -> None:
    current: Any = func
    for _ in range(16):  # the __wrapped__ chain
        if current is None:
            return
        if tracer_captures_response(current):
            raise TypeError(
                f"{getattr(func, '__qualname__', func)!r} is wrapped by Powertools' Tracer with response "
                "capture: X-Ray's metadata serialisation would consume the stream and the client would "
                "receive nothing. Remove @tracer.capture_lambda_handler / "
                "@tracer.capture_method from the streaming handler, or pass capture_response=False."
            )
        current = getattr(current, "__wrapped__", None)
