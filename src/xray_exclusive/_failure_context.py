"""``FailurePathContext``: the handle of one ``failure_path``, as a context manager and as a decorator.

The order that makes a failure path safe lives here: the metric line first
(nothing can lose it), then the record on the span (``_recording.py``), then
the close; the steps run through the shared guard (``_guard.py``, the one the
streaming tracer uses too): a step that fails, even after a ``RecursionError``
retried with depth borrowed from ``_headroom``, is one logged warning and the
next step still runs. The public names are in ``xray_exclusive.failure``.
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
from ._guard import Step, StepRunner
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

# What each step of the exit does, as the one warning of a failed step names it.
_WRITING, _RECORDING, _CLOSING = "writing the metric", "recording the exception", "closing its subsegment"

# The shared guard, with the "Subsegment ..." log line; at the limit itself, __exit__ lends for it.
_run_steps = StepRunner(ours_failed, hand_back=True).run


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

    __slots__ = ("_annotations", "_backend", "_budget", "_exc", "_sink", "_span", "failures", "path")

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
        self._exc: BaseException | None = None
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
        # Our steps run through the shared guard (_guard.py): each once, in order; a failure is one
        # warning and the next step still runs; a RecursionError (the caller's, or ours at the stack's
        # limit) borrows depth from _headroom and the step is tried again.
        if exc is None or not isinstance(exc, Exception):  # the common path: no guard
            try:
                self._close()
                if LENDER.pending:  # depth an earlier exit could not give back yet
                    LENDER.restore()
                return
            except RecursionError:  # no stack left to close it: again, through the guard
                steps = _CLOSE
        else:
            self.failures += 1
            self._exc = exc  # for _record_exception; dropped below (no cycle through the traceback)
            steps = _FAILURE
        try:
            _run_steps(self.path.name, exc, steps, self)
        except RecursionError:
            # The guard could not lend depth from its own frame, or could not even be entered: lend it
            # from here, one frame up, in statements and C calls only (a call of ours would be refused
            # too), and let the guard run the steps and give the depth back.
            lender, claimed = LENDER, False
            try:  # claimed before the limit rises, as in _guard.py (threads share the limit)
                limit = sys.getrecursionlimit()
                if lender.users or lender.pending or limit == lender.base + Headroom.HEADROOM:
                    base = lender.base
                else:
                    base = limit
                lender.users += 1
                claimed = True
                lender.base = base
                sys.setrecursionlimit(base + Headroom.HEADROOM)
            except RecursionError:  # no depth to lend even here: the caller's exception goes on
                if claimed:
                    lender.users -= 1
                return
            lender.pending = True
            _run_steps(self.path.name, exc, steps, self, lent=True)
        finally:
            self._exc = None

    def _write_metric(self) -> None:
        _emf.emit_failure(self.path, 1, self._sink or _DEFAULT_SINK)

    def _record_exception(self) -> None:
        span, exc = self._span, self._exc
        if span is None or exc is None or not span.recording:
            return
        try:
            classification = classify(exc, self.path.mark) or FAULT
            record_failure(span, self._get_budget(), self.path, classification, exc, None)
        except RecursionError:
            raise  # the guard tries again with more stack
        except Exception as ours:
            ours_failed(_RECORDING, self.path.name, ours)

    def _close(self) -> None:
        span, backend = self._span, self._backend
        if span is None or backend is None:
            return
        self._span = None
        try:
            backend.close(span)
        except RecursionError:
            self._span = span  # the guard tries again with more stack
            raise
        except Exception as ours:
            ours_failed(_CLOSING, self.path.name, ours)

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


# The steps of an exit, each called with the handle (built once: nothing to build per exit).
_FAILURE: tuple[Step, ...] = (  # the metric first: nothing can lose it
    (_WRITING, FailurePathContext._write_metric),
    (_RECORDING, FailurePathContext._record_exception),
    (_CLOSING, FailurePathContext._close),
)
_CLOSE: tuple[Step, ...] = ((_CLOSING, FailurePathContext._close),)

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
