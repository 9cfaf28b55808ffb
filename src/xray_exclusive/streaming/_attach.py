"""Which ``TracerProvider`` the OpenTelemetry backend of ``failure_path`` attaches to.

AWS's Lambda layer for OpenTelemetry (``AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument``), its lite SDK, or
the application itself may already have set a global provider before the handler runs. Failure paths then
create their spans there, next to the spans that provider's instrumentation makes, and are flushed with
them; the library does not build a second provider. The rule, at every ``failure_path`` (cheap: one
lookup and one set membership):

1. a tracer given explicitly wins (inside a traced stream: the streaming tracer's);
2. otherwise the process's global provider, when it is a real one (not OpenTelemetry's proxy or no-op
   provider) that this library did not build;
3. otherwise the streaming tracer, built on first use.

The providers this library builds are remembered (weakly) by :func:`mark_own`, so that a provider of ours
that stayed global after ``reset_streaming_tracer()`` is never mistaken for the application's.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from opentelemetry import trace

__all__ = ["external_provider", "is_own", "mark_own", "tracer_of"]

INSTRUMENTATION_NAME = "xray_exclusive.failure_path"

_own: weakref.WeakSet[Any] = weakref.WeakSet()
_tracers: weakref.WeakKeyDictionary[Any, trace.Tracer] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def mark_own(provider: Any) -> None:
    """Remember ``provider`` as built by this library (called once per streaming tracer)."""
    with _lock:
        _own.add(provider)


def is_own(provider: Any) -> bool:
    """Whether this library built ``provider``.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> is_own(TracerProvider())
        False
    """
    return provider in _own


def external_provider() -> trace.TracerProvider | None:
    """The global provider when someone else set it (AWS's layer, lite SDK, the application), else ``None``.

    Example:
        >>> external_provider() is None  # nothing set in this process, or only our own provider
        True
    """
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider) or is_own(provider):
        return None
    return provider


def tracer_of(provider: trace.TracerProvider) -> trace.Tracer:
    """The tracer failure paths use on ``provider`` (one per provider, built once).

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> provider = TracerProvider()
        >>> tracer_of(provider) is tracer_of(provider)
        True
    """
    tracer = _tracers.get(provider)
    if tracer is None:
        with _lock:
            tracer = _tracers.get(provider)
            if tracer is None:
                tracer = _tracers[provider] = provider.get_tracer(INSTRUMENTATION_NAME)
    return tracer
