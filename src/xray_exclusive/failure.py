"""``failure_path()``: a caught-and-continued failure made visible in X-Ray and CloudWatch.

Each use opens a named X-Ray subsegment. When the block raises, or when the
code calls :meth:`FailurePathContext.fail`, the library

1. writes one CloudWatch EMF metric line at once, for every failure, sampled
   or not, traced or not, in Lambda or not (FR-043);
2. marks the subsegment ``error``, ``error``+``throttle`` or ``fault`` by its
   own classification (FR-005), records the exception's type, a bounded
   message and at most 10 frames, and annotates ``failure_path``;
3. re-raises the exception unchanged: the caller's ``except`` keeps working.

``GeneratorExit``, ``KeyboardInterrupt``, ``SystemExit`` and
``asyncio.CancelledError`` are not failures: no mark, no metric.

Example:
    >>> from xray_exclusive import failure_path, paths
    >>> with failure_path(paths.SELF_HEALING_ITEM_FETCH, annotations={"source_id": "a1"}):
    ...     pass
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from . import _emf
from ._backend import (
    Classification,
    Span,
    TracingBackend,
    get_default_backend,
    resolve_backend,
    set_default_backend,
)
from .bounded import Frame, JSONValue, SubsegmentBudget, bounded_stack, json_size, truncate_message
from .paths import FailurePath, Mark

__all__ = [
    "THROTTLING_CODES",
    "Classification",
    "FailurePathContext",
    "classify",
    "failure_path",
    "set_default_backend",
]

_logger = logging.getLogger("xray_exclusive")

P = ParamSpec("P")
R = TypeVar("R")

METADATA_NAMESPACE = "xray_exclusive"
"""The X-Ray metadata namespace the library writes failure details under."""

THROTTLING_CODES = frozenset(
    {
        # botocore's standard retry list (retries/standard.py) ...
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        # ... and codes other services use for the same thing.
        "RequestLimitExceededException",
        "ThrottlingError",
    }
)
"""AWS error codes that mean "slow down": marked ``error`` + ``throttle``, whatever the HTTP status."""

_FAULT = Classification(error=False, fault=True, throttle=False)


def _status_and_code(exc: BaseException) -> tuple[int | None, str | None, bool]:
    """The HTTP status, the service error code and whether a remote service answered."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):  # botocore ClientError
        error = response.get("Error")
        meta = response.get("ResponseMetadata")
        code = error.get("Code") if isinstance(error, Mapping) else None
        status = meta.get("HTTPStatusCode") if isinstance(meta, Mapping) else None
        return _as_status(status), code if isinstance(code, str) else None, True
    if response is not None:  # requests / httpx HTTPError
        status = _as_status(getattr(response, "status_code", None))
        if status is not None:
            return status, None, True
    for attribute in ("status_code", "status", "code"):  # urllib HTTPError has .code
        status = _as_status(getattr(exc, attribute, None))
        if status is not None:
            return status, None, True
    return None, None, False


def _as_status(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return None


def classify(exc: BaseException, mark: Mark | None = None) -> Classification | None:
    """Decide X-Ray's marks for ``exc``; ``None`` when it is not a failure at all.

    * An AWS throttling code (:data:`THROTTLING_CODES`) or HTTP 429: ``error`` + ``throttle``.
    * Any other HTTP 4xx (botocore ``ClientError``, ``urllib`` and ``requests``
      errors): ``error``, the caller's side.
    * HTTP 5xx, connection errors, timeouts and anything unknown: ``fault``.
    * ``BaseException`` that is not an ``Exception`` (``GeneratorExit``,
      ``KeyboardInterrupt``, ``SystemExit``, ``CancelledError``): ``None``.

    ``mark`` forces ``"error"`` (a throttle keeps its flag) or ``"fault"``.

    Example:
        >>> classify(TimeoutError()).label, classify(GeneratorExit()) is None
        ('fault', True)
    """
    if not isinstance(exc, Exception):
        return None
    status, code, remote = _status_and_code(exc)
    throttle = status == 429 or (code is not None and code in THROTTLING_CODES)
    if mark == "fault":
        return Classification(False, True, False, remote, status, code)
    if mark == "error" or throttle or (status is not None and 400 <= status < 500):
        return Classification(True, False, throttle, remote, status, code)
    if status is None and code is None and not remote:
        return _FAULT
    return Classification(False, True, False, remote, status, code)


def _valid_count(count: object) -> int | float:
    if isinstance(count, int) and not isinstance(count, bool):
        if count > 0:
            return count
    elif isinstance(count, float) and math.isfinite(count) and count > 0:
        return count
    _logger.warning("fail(count=%r) is not a positive finite number; counting 1.", count)
    return 1


class FailurePathContext:
    """The handle of one ``failure_path``: a context manager, and ``fp`` in ``with ... as fp``.

    Example:
        >>> from xray_exclusive import failure_path, paths
        >>> with failure_path(paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": "AAPL"}) as fp:
        ...     unprocessed = []
        ...     if unprocessed:
        ...         fp.fail("unprocessed items after retries", count=len(unprocessed))
    """

    __slots__ = ("_annotations", "_backend", "_budget", "_sink", "_span", "failures", "path")

    def __init__(
        self,
        path: FailurePath,
        annotations: Mapping[str, object] | None,
        backend: TracingBackend | None,
        sink: _emf.MetricSink | None,
    ) -> None:
        self.path = path
        self._annotations = annotations
        self._backend = backend
        self._sink = sink
        self._span: Span | None = None
        self._budget: SubsegmentBudget | None = None
        self.failures = 0
        """How many failures this block recorded (exceptions and ``fail()`` calls)."""

    # -- the context manager ------------------------------------------------------------
    def __enter__(self) -> FailurePathContext:
        backend = self._backend or get_default_backend()
        self._backend = backend
        self._span = backend.open(self.path.name)
        if self._annotations:
            self.annotate(**self._annotations)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        span = self._span
        try:
            if exc is not None:
                classification = classify(exc, self.path.mark)
                if classification is not None:
                    self._failed(classification, exc, None, 1)
        finally:
            if span is not None and self._backend is not None:
                self._span = None
                self._backend.close(span)

    # -- decorator ----------------------------------------------------------------------
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Wrap every call of ``func`` (sync or ``async def``) in this failure path."""
        import inspect

        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(
                f"failure_path cannot decorate the generator function {func.__qualname__}: the subsegment "
                "would stay open across yields; use `with failure_path(...)` around the work inside it."
            )
        path, annotations, backend, sink = self.path, self._annotations, self._backend, self._sink
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with FailurePathContext(path, annotations, backend, sink):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with FailurePathContext(path, annotations, backend, sink):
                return func(*args, **kwargs)

        return wrapper

    # -- what the user calls ------------------------------------------------------------
    def fail(self, reason: str, count: int | float = 1, **annotations: object) -> None:
        """Record a failure that raised nothing (unprocessed items, collected errors).

        Emits the metric with value ``count``, marks the subsegment ``error``,
        records ``reason`` (bounded) as the cause and adds ``annotations``.

        Example:
            >>> from xray_exclusive import failure_path, paths
            >>> with failure_path(paths.PARALLEL_FETCH_AGGREGATE) as fp:
            ...     errors = ["timeout", "503"]
            ...     fp.fail(f"{len(errors)} of 10 fetches failed", count=len(errors), error_count=len(errors))
            {"_aws":...,"ParallelFetcherErrors":2}
        """
        if self._span is None:
            _logger.warning(
                "fail() on failure path %r outside its `with` block: metric only.", self.path.name
            )
        self._failed(Classification(True, False, False), None, reason, _valid_count(count))
        if annotations:
            self.annotate(**annotations)

    def annotate(self, **annotations: object) -> None:
        """Add validated, bounded annotations to the subsegment; bad ones are dropped with a logged reason.

        Example:
            >>> from xray_exclusive import failure_path, paths
            >>> with failure_path(paths.SELF_HEALING_ITEM_FETCH) as fp:
            ...     fp.annotate(source_id="newsapi#42")
        """
        span = self._span
        if span is None or not span.recording:
            return
        _annotate(span, self._budget or self._new_budget(), annotations)

    def put_metadata(self, key: str, value: object) -> None:
        """Attach a bounded plain-JSON copy of ``value`` under the ``xray_exclusive`` namespace."""
        span = self._span
        if span is None or not span.recording:
            return
        budget = self._budget or self._new_budget()
        span.add_metadata(METADATA_NAMESPACE, str(key)[:250], budget.admit_metadata(value))

    # -- internals ----------------------------------------------------------------------
    def _new_budget(self) -> SubsegmentBudget:
        self._budget = SubsegmentBudget()
        return self._budget

    def _failed(
        self,
        classification: Classification,
        exc: BaseException | None,
        reason: str | None,
        count: int | float,
    ) -> None:
        self.failures += 1
        # The metric first: it must exist for 100% of failures, even if tracing then raises (FR-018).
        _emf.emit_failure(self.path, count, self._sink or _DEFAULT_SINK)
        span = self._span
        if span is None or not span.recording:
            return
        budget = self._budget or self._new_budget()
        if exc is not None:
            stack = bounded_stack(exc)
            frames, truncated, type_name = stack.frames, stack.truncated, type(exc).__name__
            text: object = exc
        else:
            frames, truncated, type_name, text = [], 0, self.path.metric, reason
        span.mark(classification)
        message = _record_cause(span, budget, exc, type_name, text, frames, truncated, classification.remote)
        # Built from bounded parts, so it is charged by its exact size instead of being walked again.
        details: dict[str, JSONValue] = {"classification": classification.label, "exception_type": type_name}
        if message is not None:
            details["message"] = message
        if classification.code is not None:
            details["error_code"] = truncate_message(classification.code, 256)
        if classification.status is not None:
            details["http_status"] = classification.status
        if budget.charge_metadata(json_size(details) + 20):  # plus the key "failure" and separators
            span.add_metadata(METADATA_NAMESPACE, "failure", details)
        valid = budget.admit_annotation("failure_path", self.path.name)
        if valid is not None:
            span.annotate(valid.key, valid.value)


_DEFAULT_SINK = _emf.StdoutSink()


def _annotate(span: Span, budget: SubsegmentBudget, annotations: Mapping[str, object]) -> None:
    """Validate ``annotations`` against ``budget`` and set the ones admitted (the rest are logged)."""
    for key, value in annotations.items():
        valid = budget.admit_annotation(key, value)
        if valid is not None:
            span.annotate(valid.key, valid.value)


def _record_cause(
    span: Span,
    budget: SubsegmentBudget,
    exc: BaseException | None,
    type_name: str,
    text: object,
    frames: list[Frame],
    truncated: int,
    remote: bool,
) -> str | None:
    """Add one bounded exception to ``span``'s cause; return the message recorded (``None``: budget spent)."""
    admitted = budget.admit_exception(text, frames)
    if admitted is None:
        return None
    message, kept = admitted
    span.add_exception(exc, type_name, message, kept, truncated + len(frames) - len(kept), remote)
    return message


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

    ``path`` is a :class:`~xray_exclusive.paths.FailurePath` (the seven of the
    spec are in :mod:`xray_exclusive.paths`) or a subsegment name with
    ``metric``, ``namespace``, ``dimensions`` and ``mark`` as keywords.
    ``annotations`` are validated and added on entry. ``backend`` and ``sink``
    replace the X-Ray SDK and stdout: ``backend="otel"`` (or
    ``XRAY_EXCLUSIVE_BACKEND=otel``) sends the same subsegment as an
    OpenTelemetry span through the streaming tracer; inside a traced stream
    that backend is chosen automatically.

    Usable as ``with failure_path(...) as fp:`` and as a decorator. The
    exception is always re-raised unchanged; wrap the ``with`` in your own
    ``try/except`` to continue, as before.

    Example:
        >>> from xray_exclusive import failure_path, paths
        >>> try:
        ...     with failure_path(paths.CIRCUIT_BREAKER_LOAD):
        ...         raise ConnectionError("dynamodb unreachable")
        ... except ConnectionError:
        ...     state = "closed"  # the caller's catch-and-continue stays as it was
        {"_aws":{"Timestamp":...,"CloudWatchMetrics":[{"Namespace":"SentimentAnalyzer/Reliability",...}]},...,"Operation":"load","CircuitBreakerPersistenceFailure":1}

    Limitations:
        X-Ray's context is thread-local: in a thread pool, open failure paths
        inside each thread (in Lambda each thread gets the invocation's
        parent), or one aggregate path after the threads join. A failure of
        the X-Ray SDK itself is not caught (FR-018).
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
