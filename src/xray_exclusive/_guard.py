"""Never mask, never lose: the library's own cleanup, run as steps that can only log.

``failure_path``'s and ``http_subsegment``'s exits (``_failure_context.py``, ``http.py``) and the streaming
tracer (``streaming/_guard.py``) run their metric, recording, ending and flushing through a
:class:`StepRunner`: each step runs once, in order; a step that fails is one logged warning and the next
step still runs (the subsegment or span is still closed, the metric still written). A ``RecursionError``,
the caller's or one our work meets at the stack's limit, borrows depth from the one lender
(``_headroom.py``) and the step is tried again once; the limit is given back as soon as the stack allows.
Where even lending is refused (at the limit itself) before any step ran, a caller one frame up can have the
steps back and lend from there (:attr:`StepRunner.hand_back`, as ``failure_path``'s exit does); otherwise
the steps go on without the depth. Never a loop: each step is called at most twice.

Each user holds its runner's bound :meth:`StepRunner.run` (a bound method costs no stack frame more than
a function, where a wrapper or a ``functools.partial`` would cost one, at the limit itself) and gives
it the log line of its own kind (``Subsegment ...`` or ``Span ...``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from ._headroom import LENDER, Headroom

__all__ = ["Report", "Step", "StepRunner"]

Step = tuple[str, Callable[..., object]]
"""One step: what it does (``"closing its subsegment"``, for the log line) and the call that does it,
with no argument, or with :meth:`StepRunner.run`'s ``target`` if one is given (steps built once, as
constants, cost nothing per run)."""

Report = Callable[[str, str, BaseException], None]
"""The log line for a failed step: ``report(what, name, exc)``; it must never raise."""


class StepRunner:
    """Runs the library's own steps so that they can only log, with borrowed depth after a ``RecursionError``.

    Example:
        >>> failed = []
        >>> run_steps = StepRunner(lambda what, name, exc: failed.append((what, type(exc).__name__))).run
        >>> done = []
        >>> run_steps("poll_cycle", None, [("failing", lambda: 1 / 0), ("ending", lambda: done.append(1))])
        >>> done, failed
        ([1], [('failing', 'ZeroDivisionError')])
    """

    __slots__ = ("hand_back", "report")

    def __init__(self, report: Report, hand_back: bool = False) -> None:
        self.report = report
        self.hand_back = hand_back
        """At the limit itself even lending can be refused (it needs C calls, which CPython counts).
        Then, ``False``: the steps go on without the depth; ``True``, and no step has run yet:
        :meth:`run` raises ``RecursionError``, for a caller that can lend from its own, shallower frame
        and call again with ``lent``."""

    def run(
        self,
        name: str,
        caller: BaseException | None,
        steps: Sequence[Step],
        target: object = None,
        lent: bool = False,
    ) -> None:
        """Run each step once, in order; failures are logged, a ``RecursionError`` is retried with more stack.

        ``caller`` is the exception the caller's block raised, if any: a ``RecursionError`` there borrows
        depth before the first step. A step that raises ``RecursionError`` is tried once more with
        borrowed depth; if it raises again, it is logged like any other failure and the next step runs.
        ``target``, if not ``None``, is passed to each step. ``lent``: the caller borrowed the depth from
        ``LENDER`` already (see :attr:`hand_back`); ``run`` gives it back. Never raises but as
        :attr:`hand_back` says (short of a ``BaseException`` a step lets through, such as
        ``KeyboardInterrupt``); never loops: each step is called at most twice.
        """
        # Statements and C calls only until the depth is lent: this runs at the recursion limit itself.
        headroom, borrowed, refused, i, n = LENDER, lent, False, 0, len(steps)
        wanted = isinstance(caller, RecursionError)
        try:
            while i < n:
                if wanted and not borrowed:
                    # Threads share the limit: read it, then claim (users) before raising it, so a thread
                    # that sees the raised limit sees the claim too and keeps the true base. A limit that
                    # is exactly a lent one (read just before its borrower gave it back) is not a base.
                    claimed = False
                    try:
                        limit = sys.getrecursionlimit()
                        if headroom.users or headroom.pending or limit == headroom.base + Headroom.HEADROOM:
                            base = headroom.base
                        else:
                            base = limit
                        headroom.users += 1
                        claimed = True
                        headroom.base = base
                        sys.setrecursionlimit(base + Headroom.HEADROOM)
                    except RecursionError:
                        if claimed:
                            headroom.users -= 1
                        if i == 0 and self.hand_back:
                            raise  # nothing done yet: the caller lends from one frame up and calls again
                        refused, wanted = True, False  # no depth to lend from here: on without it
                    else:
                        headroom.pending, borrowed = True, True
                try:
                    if target is None:
                        steps[i][1]()
                    else:
                        steps[i][1](target)
                except RecursionError as ours:
                    if not (borrowed or refused):
                        wanted = True
                        continue  # the same step again, with more stack
                    failed: BaseException | None = ours
                except Exception as ours:
                    failed = ours
                else:
                    failed = None
                i += 1
                if failed is not None:
                    try:  # noqa: SIM105 - no context manager at the recursion limit
                        self.report(steps[i - 1][0], name, failed)
                    except RecursionError:
                        pass
        finally:
            if borrowed:
                headroom.users -= 1
            if headroom.pending:
                try:  # noqa: SIM105 - no context manager at the recursion limit
                    headroom.restore()
                except RecursionError:  # a later exit gives the depth back
                    pass
