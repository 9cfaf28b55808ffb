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

Example:
    >>> from xray_exclusive import failure_path, paths
    >>> with failure_path(paths.SELF_HEALING_ITEM_FETCH, annotations={"source_id": "a1"}):
    ...     pass
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from . import _emf
from ._backend import (
    Span,
    TracingBackend,
    get_default_backend,
    resolve_backend,
    set_default_backend,
)
from ._classification import Classification
from ._headroom import LENDER, Headroom
from .bounded import (
    Annotation,
    Frame,
    JSONValue,
    LazyLogger,
    SubsegmentBudget,
    bounded_stack,
    json_size,
    truncate_message,
)
from .paths import FailurePath, Mark

__all__ = [
    "THROTTLING_CODES",
    "Classification",
    "FailurePathContext",
    "classify",
    "failure_path",
    "set_default_backend",
]

_logger = LazyLogger("xray_exclusive")

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


def _attribute(obj: object, name: str) -> object:
    """``getattr(obj, name, None)``, where a property that raises counts as absent."""
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _status_and_code(exc: BaseException) -> tuple[int | None, str | None, bool]:
    """The HTTP status, the service error code and whether a remote service answered (never raises)."""
    response = _attribute(exc, "response")
    if response is not None:
        try:
            if isinstance(response, Mapping):  # botocore ClientError
                error = response.get("Error")
                meta = response.get("ResponseMetadata")
                code = error.get("Code") if isinstance(error, Mapping) else None
                status = meta.get("HTTPStatusCode") if isinstance(meta, Mapping) else None
                return _as_status(status), str.__str__(code) if isinstance(code, str) else None, True
            status = _as_status(_attribute(response, "status_code"))  # requests / httpx HTTPError
            if status is not None:
                return status, None, True
        except Exception:  # a response whose .get or items raise: read what else there is
            pass
    for attribute in ("status_code", "status", "code"):  # urllib HTTPError has .code
        status = _as_status(_attribute(exc, attribute))
        if status is not None:
            return status, None, True
    return None, None, False


def _as_status(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        number = int.__int__(value)  # an int subclass's own comparisons are never called
        if 100 <= number <= 599:
            return number
    return None


def classify(exc: BaseException, mark: Mark | None = None) -> Classification | None:
    """Decide X-Ray's marks for ``exc``; ``None`` when it is not a failure at all. Never raises.

    * An AWS throttling code (:data:`THROTTLING_CODES`) or HTTP 429: ``error`` + ``throttle``.
    * Any other HTTP 4xx (botocore ``ClientError``, ``urllib`` and ``requests``
      errors): ``error``, the caller's side.
    * HTTP 5xx, connection errors, timeouts and anything unknown: ``fault``
      (also an exception whose ``response`` or ``status_code`` raises when read).
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


def _ours_failed(what: str, name: str, exc: BaseException) -> None:
    """Log a failure of the library's own tracing work; never raises, never formats user objects."""
    try:  # noqa: SIM105 - no context manager here: this must work one frame from the recursion limit
        _logger.warning(
            "Subsegment %r: %s failed (%s: %s); the caller's code and exception are unaffected.",
            name,
            what,
            truncate_message(type(exc).__name__, 256),
            truncate_message(exc, 512),
        )
    except Exception:  # logging itself failed (a broken handler, no stack left): nothing more to do
        pass


def _admit_all(budget: SubsegmentBudget, annotations: object, name: str) -> list[Annotation]:
    """The annotations of a mapping that pass validation; the rest are dropped with a logged reason."""
    try:
        items = list(annotations.items())  # type: ignore[attr-defined]
    except Exception as exc:
        _ours_failed("reading its annotations (all dropped)", name, exc)
        return []
    admitted = []
    for key, value in items:
        try:
            valid = budget.admit_annotation(key, value)
        except Exception as exc:  # a value whose conversion raises
            _ours_failed("validating an annotation (dropped)", name, exc)
            continue
        if valid is not None:
            admitted.append(valid)
    return admitted


class FailurePathContext:
    """The handle of one ``failure_path``: a context manager, and ``fp`` in ``with ... as fp``.

    Every method is guarded: a failure of the library (a hostile exception or
    annotation, a backend or socket error) is a logged warning, after the
    metric line is written; the caller's exception always comes back as it was.

    Example:
        >>> from xray_exclusive import failure_path, paths
        >>> with failure_path(paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": "AAPL"}) as fp:
        ...     unprocessed = []
        ...     if unprocessed:
        ...         fp.fail("unprocessed items after retries", count=len(unprocessed))
    """

    __slots__ = ("_annotations", "_backend", "_budget", "_sink", "_span", "_stage", "failures", "path")

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
        self._stage = 0
        self.failures = 0
        """How many failures this block recorded (exceptions and ``fail()`` calls)."""

    # -- the context manager ------------------------------------------------------------
    def __enter__(self) -> FailurePathContext:
        try:
            self._enter()
        except Exception as exc:
            _ours_failed("opening its subsegment", self.path.name, exc)
        except BaseException:  # KeyboardInterrupt while opening: leave nothing open behind
            self._close()
            raise
        return self

    def _enter(self) -> None:
        self._stage = 0
        budget = self._budget = SubsegmentBudget()
        # Validated before anything is opened: a bad annotation can never leave a subsegment open.
        annotations = self._annotations
        admitted = _admit_all(budget, annotations, self.path.name) if annotations is not None else ()
        backend = self._backend
        if backend is None:
            backend = self._backend = get_default_backend()
        span = self._span = backend.open(self.path.name)
        if admitted and span.recording:
            for valid in admitted:
                span.annotate(valid.key, valid.value)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A RecursionError of the caller leaves no stack to record it with, and our own work can hit
        # the limit too: then borrow some depth (statements only, no call, so this works at the limit
        # itself), finish what is left (_exit resumes), and give the depth back as soon as possible.
        headroom, borrowed = LENDER, False
        for attempt in (0, 1):
            try:
                if (attempt or exc_type is RecursionError) and not borrowed:
                    if headroom.users == 0 and not headroom.pending:
                        headroom.base = sys.getrecursionlimit()
                    headroom.users += 1
                    borrowed = True
                    sys.setrecursionlimit(headroom.base + Headroom.HEADROOM)
                    headroom.pending = True
                self._exit(exc)
                break
            except Exception as ours:
                if attempt:
                    _ours_failed("closing its subsegment", self.path.name, ours)
        if borrowed:
            headroom.users -= 1
        if headroom.pending:
            headroom.restore()

    def _exit(self, exc: BaseException | None) -> None:
        """Metric, then record, then close; resumable from the step a ``RecursionError`` interrupted."""
        failed = exc is not None and isinstance(exc, Exception)
        if self._stage == 0:
            if failed:
                self.failures += 1
                _emf.emit_failure(self.path, 1, self._sink or _DEFAULT_SINK)  # first: nothing can lose it
            self._stage = 1
        if self._stage == 1:
            if failed:
                self._record_exception(exc)  # type: ignore[arg-type]
            self._stage = 2
        if self._stage == 2:
            self._close()
            self._stage = 3

    def _record_exception(self, exc: BaseException) -> None:
        span = self._span
        if span is None or not span.recording:
            return
        try:
            classification = classify(exc, self.path.mark) or _FAULT
            self._record(span, classification, exc, None)
        except RecursionError:
            raise  # __exit__ retries with more stack
        except Exception as ours:
            _ours_failed("recording the exception", self.path.name, ours)

    def _close(self) -> None:
        span, backend = self._span, self._backend
        if span is None or backend is None:
            return
        self._span = None
        try:
            backend.close(span)
        except RecursionError:
            self._span = span  # __exit__ retries with more stack
            raise
        except Exception as ours:
            _ours_failed("closing its subsegment", self.path.name, ours)

    # -- decorator ----------------------------------------------------------------------
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Wrap every call of ``func`` (sync or ``async def``) in this failure path."""
        flags = _code_flags(func)
        if flags & (_CO_GENERATOR | _CO_ASYNC_GENERATOR):
            raise TypeError(
                f"failure_path cannot decorate the generator function {func.__qualname__}: the subsegment "
                "would stay open across yields; use `with failure_path(...)` around the work inside it."
            )
        path, annotations, backend, sink = self.path, self._annotations, self._backend, self._sink
        if flags & _CO_COROUTINE:

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with FailurePathContext(path, annotations, backend, sink):
                    return await func(*args, **kwargs)  # type: ignore[misc]

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
        Never raises.

        Example:
            >>> from xray_exclusive import failure_path, paths
            >>> with failure_path(paths.PARALLEL_FETCH_AGGREGATE) as fp:
            ...     errors = ["timeout", "503"]
            ...     fp.fail(f"{len(errors)} of 10 fetches failed", count=len(errors), error_count=len(errors))
            {"_aws":...,"ParallelFetcherErrors":2}
        """
        try:
            value = _valid_count(count)
            self.failures += 1
            _emf.emit_failure(self.path, value, self._sink or _DEFAULT_SINK)  # first: nothing can lose it
        except Exception as ours:
            _ours_failed("writing the metric of fail()", self.path.name, ours)
        span = self._span
        if span is None:
            _logger.warning(
                "fail() on failure path %r outside its `with` block: metric only.", self.path.name
            )
            return
        if not span.recording:
            return
        try:
            self._record(span, Classification(True, False, False), None, reason)
        except Exception as ours:
            _ours_failed("recording fail()", self.path.name, ours)
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
        try:
            for valid in _admit_all(self._get_budget(), annotations, self.path.name):
                span.annotate(valid.key, valid.value)
        except Exception as ours:
            _ours_failed("annotating", self.path.name, ours)

    def put_metadata(self, key: str, value: object) -> None:
        """Attach a bounded plain-JSON copy of ``value`` under the ``xray_exclusive`` namespace.

        Example:
            >>> from xray_exclusive import failure_path, paths
            >>> with failure_path(paths.AUDIT_TRAIL_PERSIST) as fp:
            ...     fp.put_metadata("event", {"id": 42, "body": b"not recorded"})
        """
        span = self._span
        if span is None or not span.recording:
            return
        try:
            bounded = self._get_budget().admit_metadata(value)
            span.add_metadata(METADATA_NAMESPACE, truncate_message(key, 250), bounded)
        except Exception as ours:
            _ours_failed("adding metadata", self.path.name, ours)

    # -- internals ----------------------------------------------------------------------
    def _get_budget(self) -> SubsegmentBudget:
        budget = self._budget
        if budget is None:
            budget = self._budget = SubsegmentBudget()
        return budget

    def _record(
        self,
        span: Span,
        classification: Classification,
        exc: BaseException | None,
        reason: str | None,
    ) -> None:
        budget = self._get_budget()
        if exc is not None:
            stack = bounded_stack(exc)
            frames, truncated, type_name = stack.frames, stack.truncated, exception_type_name(exc)
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


_CO_GENERATOR, _CO_COROUTINE, _CO_ASYNC_GENERATOR = 0x20, 0x80, 0x200  # inspect.CO_*, without inspect
_TYPE_NAME_LIMIT = 256


def _code_flags(func: object) -> int:
    """The code flags of ``func``, through bound methods and ``functools.partial`` (as ``inspect`` does)."""
    while True:
        if isinstance(func, functools.partial):
            func = func.func
            continue
        inner = getattr(func, "__func__", None)
        if inner is None:
            break
        func = inner
    code = getattr(func, "__code__", None)
    flags = getattr(code, "co_flags", 0)
    return flags if isinstance(flags, int) else 0


def exception_type_name(exc: BaseException) -> str:
    """``type(exc).__name__``, at most 256 characters: what X-Ray records as the exception's type.

    Example:
        >>> name = exception_type_name(type("E" * 300, (Exception,), {})())
        >>> len(name), name.endswith("…[truncated 65 chars]")
        (256, True)
    """
    name = type(exc).__name__
    if len(name) > _TYPE_NAME_LIMIT:
        name = truncate_message(name, _TYPE_NAME_LIMIT)
    return name


_DEFAULT_SINK = _emf.StdoutSink()


def _annotate(span: Span, budget: SubsegmentBudget, annotations: Mapping[str, object]) -> None:
    """Validate ``annotations`` against ``budget`` and set the ones admitted (the rest are logged)."""
    for valid in _admit_all(budget, annotations, "?"):
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

    ``path`` is a :class:`~xray_exclusive.paths.FailurePath` (the seven
    catalogued ones are in :mod:`xray_exclusive.paths`) or a subsegment name with
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
        >>> from xray_exclusive import failure_path, paths
        >>> try:
        ...     with failure_path(paths.CIRCUIT_BREAKER_LOAD):
        ...         raise ConnectionError("dynamodb unreachable")
        ... except ConnectionError:
        ...     state = "closed"  # the caller's catch-and-continue stays as it was
        {"_aws":{"Timestamp":...,"CloudWatchMetrics":[{"Namespace":"SentimentAnalyzer/Reliability",...}]},...,"Operation":"load","CircuitBreakerPersistenceFailure":1}

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
