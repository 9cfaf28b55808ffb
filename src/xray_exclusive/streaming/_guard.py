"""Never mask, never lose: the streaming tracer's own work, guarded so that it can only log.

The span helpers and the stream wrapper run their recording, classification, ending and flushing
through :func:`run_steps`, the core's ``StepRunner`` (``_guard.py``, shared with ``failure_path``) with
this module's log line: each step runs once, in order; a step that fails is a logged warning and the
next step still runs (the span is still ended, the context still detached). A ``RecursionError``, the
caller's or one our work meets at the stack's limit, borrows depth from the same lender as
``failure_path`` and the step is tried again; the limit is given back as soon as the stack allows.
"""

from __future__ import annotations

import logging

from .._guard import StepRunner
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


run_steps = StepRunner(ours_failed).run
"""Run each step once, in order: failures logged (``Span ...``), a ``RecursionError`` retried with more stack.

The core's :class:`~xray_exclusive._guard.StepRunner`: the one guard ``failure_path``'s exit runs through too.
"""
