"""Never mask, never lose: the streaming tracer's own work, guarded so that it can only log.

The span helpers and the stream wrapper run their recording, classification, ending and flushing
through :func:`run_steps`: each step runs once, in order; a step that fails is a logged warning and the
next step still runs (the span is still ended, the context still detached). A ``RecursionError``, the
caller's or one our work meets at the stack's limit, borrows depth from the same lender as
``failure_path`` and the step is tried again; the limit is given back as soon as the stack allows.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence

from .._headroom import LENDER, Headroom
from ..bounded import truncate_message

__all__ = ["ours_failed", "run_steps"]

_logger = logging.getLogger("xray_exclusive.streaming")


def ours_failed(what: str, name: str, exc: BaseException) -> None:
    """Log a failure of the streaming tracer's own work; never raises, never formats the caller's objects.

    Example:
        >>> ours_failed("recording the exception", "poll_cycle", RuntimeError("boom"))
    """
    try:  # noqa: SIM105 - no context manager: this must work one frame from the recursion limit
        _logger.warning(
            "Span %r: %s failed (%s: %s); the caller's code and exception are unaffected.",
            truncate_message(name, 256),
            what,
            truncate_message(type(exc).__name__, 256),
            truncate_message(exc, 512),
        )
    except Exception:  # logging itself failed (a broken handler, no stack left): nothing more to do
        pass


def run_steps(
    name: str, caller: BaseException | None, steps: Sequence[tuple[str, Callable[[], object]]]
) -> None:
    """Run each step once, in order; failures are logged, a ``RecursionError`` is retried with more stack.

    Example:
        >>> done = []
        >>> run_steps("poll_cycle", None, [("failing", lambda: 1 / 0), ("ending", lambda: done.append(1))])
        >>> done
        [1]
    """
    headroom, borrowed, i = LENDER, False, 0
    wanted = isinstance(caller, RecursionError)
    try:
        while i < len(steps):
            try:
                if wanted and not borrowed:
                    # Statements and one C call only: this runs at the recursion limit itself.
                    if headroom.users == 0 and not headroom.pending:
                        headroom.base = sys.getrecursionlimit()
                    headroom.users += 1
                    borrowed = True
                    sys.setrecursionlimit(headroom.base + Headroom.HEADROOM)
                    headroom.pending = True
                steps[i][1]()
            except RecursionError as ours:
                if not borrowed:
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
                    ours_failed(steps[i - 1][0], name, failed)
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
