"""The tracing seam behind ``failure_path`` and ``http_subsegment``, and how a backend is chosen.

``failure.py`` and ``http.py`` talk to tracing only through :class:`TracingBackend`.
Three implementations, all writing the same X-Ray subsegment:

* ``native`` (:mod:`._xray.native`): segment documents sent straight to the
  X-Ray daemon over UDP, no SDK on the path; parentage kept in ``contextvars``.
* ``xray-sdk`` (alias ``xray``, :mod:`._xray.sdk`): the X-Ray SDK's own
  ``Subsegment`` models, sent through its recorder's emitter, never pushed on
  its thread-local stack.
* ``otel`` (the ``[streaming]`` extra): an OpenTelemetry span through the ADOT
  collector; always used inside a traced stream.

Without a choice (:func:`set_default_backend`, ``XRAY_EXCLUSIVE_BACKEND``) the
choice is made at every ``failure_path``: ``xray-sdk`` once the process has
imported the X-Ray SDK (a Powertools ``Tracer``, patched clients), else
``native``. The library decides the marks itself: the SDK's context manager
would mark ``fault`` for any ``BaseException``, ``GeneratorExit`` included.

A backend's own failure never reaches the caller: ``failure.py`` and
``http.py`` turn it into a logged warning, after the metric line is written.
"""

from __future__ import annotations

import _thread  # the lock alone: `threading` costs half a millisecond at cold start
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from importlib import import_module
from typing import Any, Protocol

from ._classification import Classification
from .bounded import AnnotationValue, Frame, JSONValue, LazyLogger
from .exceptions import ConfigurationError, MissingExtraError

__all__ = [
    "INERT",
    "Classification",
    "Span",
    "TracingBackend",
    "get_default_backend",
    "register_backend",
    "resolve_backend",
    "set_default_backend",
]

_logger = LazyLogger("xray_exclusive")


class Span(Protocol):
    """One open subsegment (or span). Every method is a no-op when ``recording`` is false.

    Example:
        >>> span = resolve_backend("native").open("doc_example")  # outside Lambda: an inert span
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
    """Opens and closes named subsegments. Implementations: native X-Ray, X-Ray SDK, OpenTelemetry.

    Example:
        >>> from xray_exclusive import failure_path
        >>> backend: TracingBackend = resolve_backend("native")
        >>> with failure_path("doc_example", namespace="Doc/Examples", backend=backend):
        ...     pass
    """

    def open(self, name: str, remote: bool = False) -> Span:
        """Begin a subsegment named ``name`` as a child of the current one (``remote``: a call out)."""

    def close(self, span: Span) -> None:
        """End ``span`` and let it be sent."""


class _InertSpan:
    """A subsegment that records nothing: unsampled, tracing disabled, outside a trace, or failed to open."""

    __slots__ = ()

    recording = False

    def annotate(self, key: str, value: AnnotationValue) -> None:
        pass

    def add_metadata(self, namespace: str, key: str, value: JSONValue) -> None:
        pass

    def mark(self, classification: Classification) -> None:
        pass

    def add_exception(
        self,
        exception: BaseException | None,
        type_name: str,
        message: str,
        frames: Sequence[Frame],
        truncated: int,
        remote: bool,
    ) -> None:
        pass

    def set_http(self, method: str | None = None, url: str | None = None, status: int | None = None) -> None:
        pass

    def __repr__(self) -> str:
        return "INERT"


INERT: Span = _InertSpan()
"""The span every backend returns when nothing is to be recorded.

Example:
    >>> INERT.recording
    False
"""

_default: TracingBackend | None = None
_default_lock = _thread.allocate_lock()
_env_read = False
_auto: TracingBackend | None = None  # the automatic choice, built on first use

STREAM_BACKEND: ContextVar[TracingBackend | None] = ContextVar("xray_exclusive_stream_backend", default=None)
"""Set by a traced stream for each of its steps: ``failure_path`` then uses OpenTelemetry there."""

_factories: dict[str, Callable[[], TracingBackend]] = {}
# Built in, imported on first use: neither module imports the X-Ray SDK at import time.
_BUILTIN = {
    "native": ("xray_exclusive._xray.native", "NativeBackend"),
    "xray-sdk": ("xray_exclusive._xray.sdk", "XRaySdkBackend"),
    "xray": ("xray_exclusive._xray.sdk", "XRaySdkBackend"),
}
# Backends of the optional extras, loaded by name on first use (the core never imports them).
_PLUGINS = {"otel": "xray_exclusive.streaming"}


def register_backend(name: str, factory: Callable[[], TracingBackend]) -> None:
    """Make ``failure_path(..., backend=name)`` and ``XRAY_EXCLUSIVE_BACKEND=name`` build ``factory()``.

    Example:
        >>> register_backend("doc-native", resolve_backend("native").__class__)
        >>> type(resolve_backend("doc-native")).__name__
        'NativeBackend'
    """
    _factories[name] = factory


def _factory(name: str) -> Callable[[], TracingBackend] | None:
    factory = _factories.get(name)
    if factory is None and name in _BUILTIN:
        module, attribute = _BUILTIN[name]
        factory = getattr(import_module(module), attribute)
    if factory is None and name in _PLUGINS:
        try:
            import_module(_PLUGINS[name])
        except ImportError as exc:
            raise MissingExtraError(
                f"backend {name!r} needs the [streaming] extra: "
                f"pip install 'xray-exclusive[streaming]' ({exc})"
            ) from exc
        factory = _factories.get(name)
    return factory


def resolve_backend(name: str) -> TracingBackend:
    """Build the backend registered as ``name``: ``native``, ``xray-sdk`` (or ``xray``), ``otel``.

    Example:
        >>> type(resolve_backend("native")).__name__, type(resolve_backend("xray")).__name__
        ('NativeBackend', 'XRaySdkBackend')
    """
    factory = _factory(name)
    if factory is None:
        known = sorted(set(_factories) | set(_BUILTIN) | set(_PLUGINS))
        raise ConfigurationError(f"unknown tracing backend {name!r}; known: {known}")
    return factory()


def _automatic() -> TracingBackend:
    """``native``, whether or not the process imported the X-Ray SDK (one instance).

    Native keeps the SDK's parentage when the SDK is in use (its current
    entity, such as Powertools' ``## handler``, is the parent), writes the same
    documents as the ``xray-sdk`` backend (a differential test holds them
    equal), and costs less: 0.45x the hand-written Powertools failure path,
    where serialising through the SDK's models costs 0.70x.
    """
    global _auto
    backend = _auto
    if backend is None:
        backend = _auto = resolve_backend("native")
    return backend


def get_default_backend() -> TracingBackend:
    """The backend ``failure_path`` uses when none is passed.

    Inside a traced stream: the stream's OpenTelemetry backend. Otherwise the
    one set with :func:`set_default_backend`, else the one
    ``XRAY_EXCLUSIVE_BACKEND`` names, else the automatic choice: ``native``.

    Example:
        >>> type(get_default_backend()).__name__ in ("NativeBackend", "XRaySdkBackend")
        True
    """
    stream = STREAM_BACKEND.get()
    if stream is not None:
        return stream
    backend = _default
    if backend is not None:
        return backend
    if not _env_read:
        _read_environment()
        if _default is not None:
            return _default
    return _automatic()


def _read_environment() -> None:
    global _default, _env_read
    with _default_lock:
        if _env_read:
            return
        from . import _env

        name = _env.XRAY_EXCLUSIVE_BACKEND.get()
        if name != "auto" and _default is None:
            try:
                _default = resolve_backend(name)
            except Exception as exc:  # never fail the caller's code over its tracing
                _logger.warning(
                    "XRAY_EXCLUSIVE_BACKEND=%s cannot be used (%s); choosing the backend automatically.",
                    name,
                    exc,
                )
        _env_read = True


def set_default_backend(backend: TracingBackend | None) -> None:
    """Replace the process-wide default backend; ``None`` resets it (the documented hook for tests).

    After a reset, ``XRAY_EXCLUSIVE_BACKEND`` is read again at the next ``failure_path``.

    Example:
        >>> set_default_backend(None)  # the next failure_path chooses again
    """
    global _default, _env_read
    with _default_lock:
        _default = backend
        _env_read = False


def __getattr__(name: str) -> Any:
    if name == "XRaySdkBackend":  # kept importable from here; defined in _xray.sdk
        return _factory("xray-sdk")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
