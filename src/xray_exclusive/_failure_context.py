"""``FailurePathContext``: the handle of one ``failure_path``, as a context manager and as a decorator.

The order that makes a failure path safe lives here: the metric line first
(nothing can lose it), then the record on the span (``_recording.py``), then
the close; each step guarded, resumable after a ``RecursionError`` with depth
borrowed from ``_headroom``. The public names are in ``xray_exclusive.failure``.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from . import _emf
from ._backend import Span, TracingBackend, get_default_backend
from ._classification import FAULT, Classification, classify
from ._headroom import LENDER, Headroom
from ._recording import METADATA_NAMESPACE, admit_all, ours_failed, record_failure
from .bounded import LazyLogger, SubsegmentBudget, truncate_message
from .paths import FailurePath

__all__ = ["FailurePathContext"]

_logger = LazyLogger("xray_exclusive")

P = ParamSpec("P")
R = TypeVar("R")

_FAIL = Classification(True, False, False)  # what fail() marks: error
_DEFAULT_SINK = _emf.StdoutSink()


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

    Every method is guarded: a failure of the library (a hostile exception or
    annotation, a backend or socket error) is a logged warning, after the
    metric line is written; the caller's exception always comes back as it was.

    Example:
        >>> from xray_exclusive import FailurePath, failure_path
        >>> with failure_path(FailurePath("price_batch_write"), annotations={"ticker": "AAPL"}) as fp:
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
            ours_failed("opening its subsegment", self.path.name, exc)
        except BaseException:  # KeyboardInterrupt while opening: leave nothing open behind
            self._close()
            raise
        return self

    def _enter(self) -> None:
        self._stage = 0
        budget = self._budget = SubsegmentBudget()
        # Validated before anything is opened: a bad annotation can never leave a subsegment open.
        annotations = self._annotations
        admitted = admit_all(budget, annotations, self.path.name) if annotations is not None else ()
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
        # Inline on purpose, not a Headroom.borrow() method: a call of ours here, at the limit, would
        # raise RecursionError again before it could lend anything (streaming/_guard.py does the same).
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
                    ours_failed("closing its subsegment", self.path.name, ours)
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
            classification = classify(exc, self.path.mark) or FAULT
            record_failure(span, self._get_budget(), self.path, classification, exc, None)
        except RecursionError:
            raise  # __exit__ retries with more stack
        except Exception as ours:
            ours_failed("recording the exception", self.path.name, ours)

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
            ours_failed("closing its subsegment", self.path.name, ours)

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
            >>> from xray_exclusive import FailurePath, failure_path
            >>> with failure_path(FailurePath("price_fetch", "PriceFetchErrors")) as fp:
            ...     errors = ["timeout", "503"]
            ...     fp.fail(f"{len(errors)} of 10 fetches failed", count=len(errors), error_count=len(errors))
            {"_aws":...,"PriceFetchErrors":2}
        """
        try:
            value = _valid_count(count)
            self.failures += 1
            _emf.emit_failure(self.path, value, self._sink or _DEFAULT_SINK)  # first: nothing can lose it
        except Exception as ours:
            ours_failed("writing the metric of fail()", self.path.name, ours)
        span = self._span
        if span is None:
            _logger.warning(
                "fail() on failure path %r outside its `with` block: metric only.", self.path.name
            )
            return
        if not span.recording:
            return
        try:
            record_failure(span, self._get_budget(), self.path, _FAIL, None, reason)
        except Exception as ours:
            ours_failed("recording fail()", self.path.name, ours)
        if annotations:
            self.annotate(**annotations)

    def annotate(self, **annotations: object) -> None:
        """Add validated, bounded annotations to the subsegment; bad ones are dropped with a logged reason.

        Example:
            >>> from xray_exclusive import FailurePath, failure_path
            >>> with failure_path(FailurePath("item_fetch")) as fp:
            ...     fp.annotate(source_id="newsapi#42")
        """
        span = self._span
        if span is None or not span.recording:
            return
        try:
            for valid in admit_all(self._get_budget(), annotations, self.path.name):
                span.annotate(valid.key, valid.value)
        except Exception as ours:
            ours_failed("annotating", self.path.name, ours)

    def put_metadata(self, key: str, value: object) -> None:
        """Attach a bounded plain-JSON copy of ``value`` under the ``xray_exclusive`` namespace.

        Example:
            >>> from xray_exclusive import FailurePath, failure_path
            >>> with failure_path(FailurePath("audit_event_persist")) as fp:
            ...     fp.put_metadata("event", {"id": 42, "body": b"not recorded"})
        """
        span = self._span
        if span is None or not span.recording:
            return
        try:
            bounded = self._get_budget().admit_metadata(value)
            span.add_metadata(METADATA_NAMESPACE, truncate_message(key, 250), bounded)
        except Exception as ours:
            ours_failed("adding metadata", self.path.name, ours)

    # -- internals ----------------------------------------------------------------------
    def _get_budget(self) -> SubsegmentBudget:
        budget = self._budget
        if budget is None:
            budget = self._budget = SubsegmentBudget()
        return budget


_CO_GENERATOR, _CO_COROUTINE, _CO_ASYNC_GENERATOR = 0x20, 0x80, 0x200  # inspect.CO_*, without inspect


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
