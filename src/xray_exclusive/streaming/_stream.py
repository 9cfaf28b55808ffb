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
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Generator, Iterable, Mapping
from typing import Any, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from .._backend import STREAM_BACKEND
from ..bounded import annotation
from ._bootstrap import StreamingTracer, check_instrumentation, get_streaming_tracer
from ._context import invocation_context
from ._deferred import warm_exporter
from ._guard import ours_failed, run_steps
from ._otel_backend import OTelBackend
from ._semconv import DISCONNECT_ERRORS, mark_disconnected, record_bounded_exception

__all__ = ["DISCONNECT_ERRORS", "mark_disconnected", "traced_handler", "traced_stream"]

T = TypeVar("T")
H = TypeVar("H", bound=Callable[..., Any])


class _Connection:
    """One stream's span and context; entered for each step of the wrapped generator."""

    __slots__ = ("backend", "context", "name", "span", "steps", "tracer")

    def __init__(
        self,
        tracer: StreamingTracer,
        name: str,
        headers: Mapping[str, object] | None,
        attributes: Mapping[str, object] | None,
    ) -> None:
        check_instrumentation()  # a Tracer(auto_patch=True) built after INIT is caught here
        self.tracer = tracer
        self.name = name
        self.steps = 0
        try:
            parent = invocation_context(headers)
        except Exception as ours:  # a hostile headers mapping: the environment variable alone decides
            ours_failed("reading the trace header", name, ours)
            parent = invocation_context(None)
        self.span = tracer.tracer.start_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=_attributes(attributes, name)
        )
        self.context = trace.set_span_in_context(self.span, parent)
        self.backend = OTelBackend(tracer.tracer)

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
        if isinstance(exc, DISCONNECT_ERRORS):
            mark_disconnected(self.span)
        elif isinstance(exc, GeneratorExit):
            self.closed_early()
        else:
            record_bounded_exception(self.span, exc)

    def closed_early(self) -> None:
        try:
            if self.span.is_recording():
                self.span.set_attribute("stream.closed_early", True)
        except Exception as ours:
            ours_failed("marking the stream closed early", self.name, ours)

    def finish(self, exc: BaseException | None = None) -> None:
        run_steps(self.name, exc, [("ending", self.span.end), ("flushing", self.tracer.flush)])


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
) -> Generator[T, Any, Any]:
    connection = _Connection(tracer or get_streaming_tracer(), name, headers, attributes)
    try:
        run = connection.own_context()  # each step runs in the stream's context: see the module's docstring
        send = inner.send
        sent: Any = None
        thrown: BaseException | None = None
        steps = 0
        while True:
            if steps < 2:
                steps += 1
                if steps == 2:  # the first chunk is out: build the exporter in the background, off the stream
                    warm_exporter(connection.tracer.exporter)
            try:
                if thrown is None:
                    chunk = run(send, sent)
                else:
                    exc, thrown = thrown, None
                    chunk = run(_throw, inner, exc)
            except StopIteration as stop:
                return stop.value
            except BaseException as exc:
                run(connection.failed, exc)
                raise
            try:
                sent = yield chunk
            except GeneratorExit:
                run(inner.close)
                connection.closed_early()
                raise
            except BaseException as exc:  # thrown in by the consumer: the inner generator sees it
                thrown = exc
    finally:
        connection.finish()


async def _async(
    inner: AsyncGenerator[T, Any],
    name: str,
    headers: Mapping[str, object] | None,
    attributes: Mapping[str, object] | None,
    tracer: StreamingTracer | None,
) -> AsyncGenerator[T, Any]:
    connection = _Connection(tracer or get_streaming_tracer(), name, headers, attributes)
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
                return
            except BaseException as exc:
                connection.failed(exc)
                raise
            finally:
                connection.leave(tokens)
            try:
                sent = yield chunk
            except GeneratorExit:
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
        return _async(cast("AsyncGenerator[T, Any]", candidate), name, headers, attributes, tracer)
    if inspect.isgenerator(candidate):
        return _sync(cast("Generator[T, Any, Any]", candidate), name, headers, attributes, tracer)
    if callable(candidate) and not isinstance(candidate, Iterable | AsyncIterable):
        raise TypeError(
            "traced_stream wraps the generator a handler returns, not the handler: "
            "use @traced_handler on the handler, or traced_stream(handler(event, context))."
        )
    if isinstance(stream, AsyncIterable):
        return _async(_as_async_generator(stream), name, headers, attributes, tracer)
    if isinstance(stream, Iterable):
        return _sync(_as_generator(stream), name, headers, attributes, tracer)
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
        module = getattr(current, "__globals__", {}).get("__name__")
        code = getattr(current, "__code__", None)
        if (
            module == "aws_lambda_powertools.tracing.tracer"
            and code is not None
            and _captures_response(current, code)
        ):
            raise TypeError(
                f"{getattr(func, '__qualname__', func)!r} is wrapped by Powertools' Tracer with response "
                "capture: X-Ray's metadata serialisation would consume the stream and the client would "
                "receive nothing. Remove @tracer.capture_lambda_handler / "
                "@tracer.capture_method from the streaming handler, or pass capture_response=False."
            )
        current = getattr(current, "__wrapped__", None)


def _captures_response(func: Any, code: Any) -> bool:
    names = code.co_freevars
    cells = func.__closure__ or ()
    for var, cell in zip(names, cells, strict=False):
        if var == "capture_response":
            try:
                return bool(cell.cell_contents)
            except ValueError:  # empty cell
                return True
    return True
