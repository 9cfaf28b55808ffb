"""The one guard of the library's own cleanup (``_guard.StepRunner``), for failure paths and streaming."""

from __future__ import annotations

import logging
import sys
from contextlib import AbstractContextManager
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from xray_exclusive import _failure_context, _guard
from xray_exclusive._guard import StepRunner
from xray_exclusive._headroom import LENDER, Headroom

NAME = "poll_cycle"


class Reports:
    """A ``Report`` that keeps what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, BaseException]] = []

    def __call__(self, what: str, name: str, exc: BaseException) -> None:
        self.calls.append((what, name, exc))


def _raise(exc: BaseException) -> None:
    raise exc


def test_a_step_that_hits_the_limit_even_with_borrowed_depth_is_one_report_and_the_next_step_runs() -> None:
    reports, limits, closed = Reports(), [], []
    base = sys.getrecursionlimit()
    no_stack = RecursionError("no stack left, even borrowed")

    def record() -> None:
        limits.append(sys.getrecursionlimit())
        raise no_stack

    StepRunner(reports).run(NAME, None, [("recording", record), ("closing", lambda: closed.append(1))])
    assert limits == [base, base + Headroom.HEADROOM]  # tried once, then once more with borrowed depth
    assert reports.calls == [("recording", NAME, no_stack)]
    assert closed == [1]
    assert sys.getrecursionlimit() == base
    assert (LENDER.users, LENDER.pending) == (0, False)


def test_the_callers_recursion_error_lends_depth_before_the_first_step() -> None:
    reports, limits = Reports(), []
    base = sys.getrecursionlimit()
    StepRunner(reports).run(
        NAME, RecursionError("the caller's"), [("ending", lambda: limits.append(sys.getrecursionlimit()))]
    )
    assert limits == [base + Headroom.HEADROOM]
    assert reports.calls == []
    assert sys.getrecursionlimit() == base


def test_any_other_failure_is_one_report_and_every_step_still_runs() -> None:
    reports, done = Reports(), []
    boom = RuntimeError("backend broke")
    StepRunner(reports).run(
        NAME,
        ValueError("the caller's"),
        [
            ("metric", lambda: done.append("metric")),
            ("recording", lambda: _raise(boom)),
            ("closing", lambda: done.append("closing")),
        ],
    )
    assert done == ["metric", "closing"]
    assert reports.calls == [("recording", NAME, boom)]


def test_a_report_that_itself_hits_the_limit_is_dropped() -> None:
    closed = []

    def report(what: str, name: str, exc: BaseException) -> None:
        raise RecursionError("no stack to log with either")

    StepRunner(report).run(
        NAME, None, [("recording", lambda: _raise(ValueError("x"))), ("closing", lambda: closed.append(1))]
    )
    assert closed == [1]


def test_depth_the_caller_lent_is_given_back() -> None:
    base = sys.getrecursionlimit()
    LENDER.base, LENDER.users, LENDER.pending = (
        base,
        1,
        True,
    )  # what _failure_context's __exit__ does at the limit
    sys.setrecursionlimit(base + Headroom.HEADROOM)
    try:
        StepRunner(Reports()).run(NAME, None, [("closing", lambda: None)], lent=True)
    finally:
        if LENDER.pending:  # leave the process as it was even if the assertion below fails
            LENDER.users = 0
            LENDER.restore()
    assert sys.getrecursionlimit() == base
    assert (LENDER.users, LENDER.pending) == (0, False)


def _lending_refused() -> AbstractContextManager[Any]:
    """At the limit itself even the C call that raises the limit is refused (fault injected)."""
    refused = mock.Mock(side_effect=RecursionError("no depth even to lend"))
    fake_sys = SimpleNamespace(getrecursionlimit=sys.getrecursionlimit, setrecursionlimit=refused)
    return mock.patch.object(_guard, "sys", fake_sys)


@pytest.mark.parametrize(("caller", "calls_expected"), [(None, 2), (RecursionError("the caller's"), 1)])
def test_refused_lending_goes_on_without_the_depth_and_never_loops(
    caller: BaseException | None, calls_expected: int
) -> None:
    reports, calls, closed = Reports(), [], []
    base = sys.getrecursionlimit()

    def record() -> None:
        calls.append(1)
        raise RecursionError("no stack left")

    with _lending_refused():
        StepRunner(reports).run(NAME, caller, [("recording", record), ("closing", lambda: closed.append(1))])
    assert len(calls) == calls_expected  # tried again only where depth was to be lent: never a loop
    assert [what for what, _, _ in reports.calls] == ["recording"]
    assert closed == [1]
    assert sys.getrecursionlimit() == base
    assert (LENDER.users, LENDER.pending) == (0, False)


def test_refused_lending_hands_the_steps_left_back_to_a_caller_that_can_lend() -> None:
    reports, done = Reports(), []
    base = sys.getrecursionlimit()
    steps: list[_guard.Step] = [
        ("metric", lambda: done.append("metric")),
        ("closing", lambda: done.append("closing")),
    ]
    with _lending_refused(), pytest.raises(RecursionError):
        StepRunner(reports, hand_back=True).run(NAME, RecursionError("the caller's"), steps)
    assert done == [] and len(steps) == 2  # nothing ran, nothing lost
    LENDER.base, LENDER.users, LENDER.pending = base, 1, True  # the caller lends, one frame up
    sys.setrecursionlimit(base + Headroom.HEADROOM)
    StepRunner(reports, hand_back=True).run(NAME, RecursionError("the caller's"), steps, lent=True)
    assert done == ["metric", "closing"]
    assert reports.calls == []
    assert sys.getrecursionlimit() == base
    assert (LENDER.users, LENDER.pending) == (0, False)


def test_failure_paths_and_streaming_share_the_one_guard(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from xray_exclusive.streaming import _guard as streaming_guard

    assert _failure_context._run_steps.__func__ is streaming_guard.run_steps.__func__ is StepRunner.run
    caplog.set_level(logging.WARNING)
    streaming_guard.run_steps(NAME, None, [("ending", lambda: _raise(RecursionError("deep")))])
    assert caplog.messages == [
        "Span 'poll_cycle': ending failed (RecursionError: deep); "
        "the caller's code and exception are unaffected."
    ]


def test_threads_borrowing_at_once_give_the_limit_back_exactly() -> None:
    """The limit is the process's: each borrower claims before raising it, so none takes a lent limit for
    the base (before, four threads left it raised for good, at 3,100 to 5,500 instead of 1,000)."""
    import threading

    original = sys.getrecursionlimit()
    interval = sys.getswitchinterval()
    run = StepRunner(Reports()).run
    caller = RecursionError("the caller's own")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3000):
                run(NAME, caller, [("step", int)])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    sys.setswitchinterval(1e-6)  # switch threads as often as CPython allows
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert (LENDER.users, LENDER.pending) == (0, False)
    assert sys.getrecursionlimit() == original
