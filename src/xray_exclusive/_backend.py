"""The tracing seam behind ``failure_path`` and its X-Ray SDK (Powertools) implementation.

``failure.py`` talks to tracing only through :class:`TracingBackend`. The
default backend opens subsegments with the recorder of a Powertools
``Tracer(auto_patch=False)`` (FR-029), and decides the marks itself: the
SDK's context manager would mark ``fault`` for any ``BaseException``
(FACTS.md §9). The X-Ray SDKs lose support on 2027-02-25; the streaming
extra adds an OpenTelemetry backend behind the same seam.

Tracing calls are never wrapped in ``try/except`` (FR-018): a failure of the
SDK itself propagates.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, NamedTuple, Protocol

from .bounded import AnnotationValue, Frame, JSONValue

__all__ = [
    "Classification",
    "Span",
    "TracingBackend",
    "XRaySdkBackend",
    "get_default_backend",
    "register_backend",
    "resolve_backend",
    "set_default_backend",
]

_logger = logging.getLogger("xray_exclusive")


class Classification(NamedTuple):
    """X-Ray's marks for one failure: ``error`` (client side), ``throttle`` (with error), ``fault`` (server).

    Example:
        >>> from xray_exclusive import classify
        >>> classify(ConnectionResetError()).label
        'fault'
    """

    error: bool
    fault: bool
    throttle: bool
    remote: bool = False
    status: int | None = None
    code: str | None = None

    @property
    def label(self) -> str:
        """``"throttle"``, ``"error"`` or ``"fault"``, for annotations and logs."""
        if self.throttle:
            return "throttle"
        return "fault" if self.fault else "error"


class Span(Protocol):
    """One open subsegment (or span). Every method is a no-op when ``recording`` is false.

    Example:
        >>> span = XRaySdkBackend().open("doc_example")  # outside Lambda: an inert span
        >>> span.annotate("ticker", "AAPL")
    """

    @property
    def recording(self) -> bool:
        """Whether anything attached will be sent (false when unsampled, disabled or outside a trace)."""

    def annotate(self, key: str, value: AnnotationValue) -> None:
        """Set an already validated annotation."""

    def add_metadata(self, namespace: str, key: str, value: JSONValue) -> None:
        """Set already bounded metadata."""

    def mark(self, classification: Classification) -> None:
        """Set the error, fault and throttle flags."""

    def add_exception(
        self,
        exception: BaseException | None,
        type_name: str,
        message: str,
        frames: Sequence[Frame],
        truncated: int,
        remote: bool,
    ) -> None:
        """Record one bounded exception (or, with ``exception=None``, a failure without one) in the cause."""

    def set_http(self, method: str | None = None, url: str | None = None, status: int | None = None) -> None:
        """Record the HTTP request (method, sanitised URL) and response status of a remote call."""


class TracingBackend(Protocol):
    """Opens and closes named subsegments. Implementations: X-Ray SDK (default), OpenTelemetry.

    Example:
        >>> from xray_exclusive import failure_path
        >>> backend: TracingBackend = XRaySdkBackend()
        >>> with failure_path("doc_example", namespace="Doc/Examples", backend=backend):
        ...     pass
    """

    def open(self, name: str, remote: bool = False) -> Span:
        """Begin a subsegment named ``name`` as a child of the current one (``remote``: a call out)."""

    def close(self, span: Span) -> None:
        """End ``span`` and let it be sent."""


class _XRaySpan:
    __slots__ = ("entity", "recording")

    def __init__(self, entity: Any) -> None:
        self.entity = entity
        self.recording: bool = entity is not None and bool(getattr(entity, "sampled", False))

    def annotate(self, key: str, value: AnnotationValue) -> None:
        if self.recording:
            self.entity.put_annotation(key, value)

    def add_metadata(self, namespace: str, key: str, value: JSONValue) -> None:
        if self.recording:
            self.entity.put_metadata(key, value, namespace)

    def mark(self, classification: Classification) -> None:
        if not self.recording:
            return
        entity = self.entity
        if classification.fault:
            entity.add_fault_flag()
        if classification.error:
            entity.add_error_flag()
        if classification.throttle:
            entity.add_throttle_flag()

    def add_exception(
        self,
        exception: BaseException | None,
        type_name: str,
        message: str,
        frames: Sequence[Frame],
        truncated: int,
        remote: bool,
    ) -> None:
        if not self.recording:
            return
        from aws_xray_sdk.core.models.throwable import Throwable

        entity = self.entity
        # Always a full (bounded) record, even when a child subsegment recorded the same exception:
        # the SDK would only point at the child's id, which is gone once the child was streamed.
        if not isinstance(entity.cause, dict):
            entity.cause = {}
        throwable = Throwable(exception, None, remote)
        throwable.type = type_name
        throwable.message = message
        throwable.stack = [{"path": f.path, "line": f.line, "label": f.label} for f in frames]
        if truncated:
            throwable.truncated = truncated
        entity.cause.setdefault("exceptions", []).append(throwable)
        entity.cause["working_directory"] = os.getcwd()

    def set_http(self, method: str | None = None, url: str | None = None, status: int | None = None) -> None:
        if not self.recording:
            return
        entity = self.entity
        if method is not None:
            entity.put_http_meta("method", method)
        if url is not None:
            entity.put_http_meta("url", url)
        if status is not None:
            entity.put_http_meta("status", status)  # the SDK also sets error/throttle/fault from it


class XRaySdkBackend:
    """Subsegments through the X-Ray recorder of a Powertools ``Tracer(auto_patch=False)``.

    The ``Tracer`` is built on first use, not at import. Powertools shares its
    configuration between instances; the application's own ``auto_patch``
    default is restored afterwards, so a later ``Tracer()`` of the application
    still patches as it asked.

    Example:
        >>> backend = XRaySdkBackend()
        >>> span = backend.open("circuit_breaker_load")
        >>> backend.close(span)
    """

    def __init__(self, recorder: Any = None) -> None:
        self._recorder = recorder
        self._lock = threading.Lock()

    @property
    def recorder(self) -> Any:
        """The X-Ray recorder (``tracer.provider``), created on first use."""
        recorder = self._recorder
        if recorder is None:
            with self._lock:
                if self._recorder is None:
                    self._recorder = _powertools_recorder()
                recorder = self._recorder
        return recorder

    def open(self, name: str, remote: bool = False) -> _XRaySpan:
        """Begin a subsegment (namespace ``remote`` if ``remote``); outside a trace it is inert."""
        recorder = self.recorder
        if remote:
            return _XRaySpan(recorder.begin_subsegment(name, "remote"))
        return _XRaySpan(recorder.begin_subsegment(name))

    def close(self, span: Span) -> None:
        """End ``span``, and any subsegment left open inside it, so nothing stays unsent."""
        entity = getattr(span, "entity", None)
        if entity is None:
            return
        recorder = self.recorder
        # The thread's open entities, read without re-parsing the trace header (the SDK's
        # current_subsegment() does that on every call); the public call is the fallback.
        stack = getattr(getattr(getattr(recorder, "context", None), "_local", None), "entities", None)
        current = stack[-1] if isinstance(stack, list) and stack else recorder.current_subsegment()
        if current is entity:
            recorder.end_subsegment()
            return
        if current is None or not _is_descendant(current, entity):
            return  # not on this thread's stack: discarded at INIT, or the SDK is disabled
        _logger.warning(
            "Subsegment %r was left open inside failure path %r; ending it too.",
            getattr(current, "name", "?"),
            getattr(entity, "name", "?"),
        )
        while current is not None and current is not entity:
            recorder.end_subsegment()
            current = recorder.current_subsegment()
        if current is entity:
            recorder.end_subsegment()


def _is_descendant(node: Any, ancestor: Any) -> bool:
    stack = list(getattr(ancestor, "subsegments", ()))
    while stack:
        child = stack.pop()
        if child is node:
            return True
        stack.extend(getattr(child, "subsegments", ()))
    return False


def _powertools_recorder() -> Any:
    from aws_lambda_powertools.tracing import Tracer

    config = getattr(Tracer, "_config", None)
    previous = config.get("auto_patch") if isinstance(config, dict) else None
    tracer = Tracer(auto_patch=False)
    if isinstance(config, dict) and previous is not None and Tracer._config is config:
        config["auto_patch"] = previous
    return tracer.provider


_default: TracingBackend | None = None
_default_lock = threading.Lock()

STREAM_BACKEND: ContextVar[TracingBackend | None] = ContextVar("xray_exclusive_stream_backend", default=None)
"""Set by a traced stream for each of its steps: ``failure_path`` then uses OpenTelemetry there."""

_factories: dict[str, Any] = {"xray": XRaySdkBackend}
# Backends of the optional extras, loaded by name on first use (the core never imports them).
_PLUGINS = {"otel": "xray_exclusive.streaming"}


def register_backend(name: str, factory: Any) -> None:
    """Make ``failure_path(..., backend=name)`` and ``XRAY_EXCLUSIVE_BACKEND=name`` build ``factory()``.

    Example:
        >>> register_backend("xray", XRaySdkBackend)
    """
    _factories[name] = factory


def resolve_backend(name: str) -> TracingBackend:
    """Build the backend registered as ``name`` (``"xray"``, or ``"otel"`` with the streaming extra).

    Example:
        >>> type(resolve_backend("xray")).__name__
        'XRaySdkBackend'
    """
    factory = _factories.get(name)
    if factory is None and name in _PLUGINS:
        from importlib import import_module

        try:
            import_module(_PLUGINS[name])
        except ImportError as exc:
            raise RuntimeError(
                f"backend {name!r} needs the [streaming] extra: "
                f"pip install 'xray-exclusive[streaming]' ({exc})"
            ) from exc
        factory = _factories.get(name)
    if factory is None:
        raise ValueError(
            f"unknown tracing backend {name!r}; known: {sorted(set(_factories) | set(_PLUGINS))}"
        )
    backend: TracingBackend = factory()
    return backend


def get_default_backend() -> TracingBackend:
    """The backend ``failure_path`` uses when none is passed.

    Inside a traced stream: the stream's OpenTelemetry backend. Otherwise the
    one set with :func:`set_default_backend`, else the one
    ``XRAY_EXCLUSIVE_BACKEND`` names (``xray`` by default).
    """
    stream = STREAM_BACKEND.get()
    if stream is not None:
        return stream
    backend = _default
    if backend is None:
        with _default_lock:
            if _default is None:
                from . import _env

                set_default_backend(resolve_backend(_env.XRAY_EXCLUSIVE_BACKEND.get()))
            backend = _default
    assert backend is not None
    return backend


def set_default_backend(backend: TracingBackend | None) -> None:
    """Replace the process-wide default backend; ``None`` resets it (the documented hook for tests).

    Example:
        >>> set_default_backend(None)  # the next failure_path builds a fresh X-Ray backend
    """
    global _default
    _default = backend
