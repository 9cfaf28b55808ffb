"""``failure_path()``: a caught-and-continued failure made visible in X-Ray and CloudWatch.

Each use opens a named X-Ray subsegment. When the block raises, or when the
code calls :meth:`FailurePathContext.fail`, the library

1. writes one CloudWatch EMF metric line at once, for every failure, sampled
   or not, traced or not, in Lambda or not (so an alarm sees every one, whatever
   X-Ray's sampling), before anything that could fail;
2. marks the subsegment ``error``, ``error``+``throttle`` or ``fault`` by its
   own classification, records the exception's type, a bounded message and
   at most 10 frames, and annotates ``failure_path``;
3. re-raises the exception unchanged: the caller's ``except`` keeps working.
   Whatever goes wrong in steps 1-2 (a hostile exception, the backend, the
   socket, a ``RecursionError`` with no stack left) is a logged warning.

``GeneratorExit``, ``KeyboardInterrupt``, ``SystemExit`` and
``asyncio.CancelledError`` are not failures: no mark, no metric.

The public module; the work is done beside it: ``_failure_context.py`` (the
context manager and decorator), ``_recording.py`` (writing a failure onto a
span), ``_classification.py`` (``classify``) and ``_throttling.py``
(``THROTTLING_CODES``).

Example:
    >>> from xray_exclusive import FailurePath, failure_path
    >>> with failure_path(FailurePath("item_fetch"), annotations={"source_id": "a1"}):
    ...     pass
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from . import _emf
from ._backend import TracingBackend, resolve_backend, set_default_backend
from ._classification import Classification, classify
from ._failure_context import FailurePathContext
from ._recording import METADATA_NAMESPACE as METADATA_NAMESPACE  # importable from here, as it was
from ._recording import exception_type_name as exception_type_name
from ._throttling import THROTTLING_CODES
from .paths import FailurePath, Mark

__all__ = [
    "THROTTLING_CODES",
    "Classification",
    "FailurePathContext",
    "classify",
    "failure_path",
    "set_default_backend",
]


def failure_path(
    path: FailurePath | str,
    *,
    annotations: Mapping[str, object] | None = None,
    metric: str | None = None,
    namespace: str | None = None,
    dimensions: Mapping[str, str] | None = None,
    mark: Mark | None = None,
    backend: TracingBackend | str | None = None,
    sink: _emf.MetricSink | None = None,
) -> FailurePathContext:
    """Wrap a caught-and-continued failure in a named X-Ray subsegment plus a CloudWatch metric.

    ``path`` is a :class:`~xray_exclusive.paths.FailurePath` (the application's own,
    declared inline or loaded with :func:`xray_exclusive.paths.load`) or a subsegment name with
    ``metric``, ``namespace``, ``dimensions`` and ``mark`` as keywords.
    ``annotations`` are validated on entry, before the subsegment opens; bad
    ones are dropped with a logged reason. ``backend`` (``"native"``,
    ``"xray-sdk"``, ``"otel"`` or a :class:`~xray_exclusive.TracingBackend`)
    and ``sink`` replace the automatic backend and stdout; see
    ``XRAY_EXCLUSIVE_BACKEND``. Inside a traced stream the OpenTelemetry
    backend is chosen automatically.

    Usable as ``with failure_path(...) as fp:`` and as a decorator (functions
    and ``async def``). The exception is always re-raised unchanged, the same
    object with the same traceback; a failure of the library itself (tracing,
    sending, a hostile exception or annotation) is a logged warning, written
    after the metric line. Wrap the ``with`` in your own ``try/except`` to
    continue, as before.

    Example:
        >>> from xray_exclusive import FailurePath, failure_path
        >>> breaker_load = FailurePath("breaker_load", namespace="Shop/Reliability",
        ...                            dimensions={"Operation": "load"})
        >>> try:
        ...     with failure_path(breaker_load):
        ...         raise ConnectionError("dynamodb unreachable")
        ... except ConnectionError:
        ...     state = "closed"  # the caller's catch-and-continue stays as it was
        {"_aws":{"Timestamp":...,"CloudWatchMetrics":[{"Namespace":"Shop/Reliability",...}]},...,"Operation":"load","BreakerLoadFailure":1}

    Limitations:
        The parent is context-local: each asyncio task sees the failure paths
        open where it was created, each new thread starts at the invocation's
        segment (or at the X-Ray SDK's current entity on that thread). A call
        the X-Ray SDK patches (boto3) inside a failure path is the SDK's child
        of its own current entity, not of the failure path.
    """
    if isinstance(path, FailurePath):
        if metric is not None or namespace is not None or dimensions is not None or mark is not None:
            raise TypeError(
                "pass either a FailurePath, or a name with metric/namespace/dimensions/mark; not both"
            )
        resolved = path
    elif isinstance(path, str):
        resolved = _string_path(path, metric, namespace, tuple(sorted((dimensions or {}).items())), mark)
    else:
        raise TypeError(f"path must be a FailurePath or a str, not {type(path).__name__}")
    if isinstance(backend, str):
        backend = _named_backend(backend)
    return FailurePathContext(resolved, annotations, backend, sink)


_named: dict[str, TracingBackend] = {}


def _named_backend(name: str) -> TracingBackend:
    backend = _named.get(name)
    if backend is None:
        backend = _named[name] = resolve_backend(name)
    return backend


@functools.lru_cache(maxsize=256)
def _string_path(
    name: str,
    metric: str | None,
    namespace: str | None,
    dimensions: tuple[tuple[str, str], ...],
    mark: Mark | None,
) -> FailurePath:
    return FailurePath(name, metric or "", namespace, dict(dimensions), mark)
