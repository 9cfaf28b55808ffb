"""Extra recursion depth, lent to the library's own cleanup when the caller's recursion used it all up.

``failure_path``, ``http_subsegment`` and the streaming tracer share one lender, through the shared guard
(``_guard.py``), so that depth lent by one is given back by whichever exits last. Borrowing is written
inline (statements and C calls only, in the guard and once in ``failure_path``'s exit): a function call of
ours at the recursion limit would raise again. A borrower claims (``users``) before it raises the limit,
so a thread that sees the raised limit also sees the claim and keeps the true ``base``.
"""

from __future__ import annotations

import sys

__all__ = ["LENDER", "Headroom"]


class Headroom:
    """Extra recursion depth lent to a failure path's exit when the caller's recursion used it all up.

    A ``RecursionError`` raised by the caller leaves ``__exit__`` next to the
    limit, where recording it would raise again. The exit then raises the limit
    by :data:`HEADROOM` frames for as long as it needs, and puts it back as soon
    as the stack is shallow enough (at once, or at a later exit).
    """

    __slots__ = ("base", "pending", "users")

    HEADROOM = 300

    def __init__(self) -> None:
        self.base = 0
        self.users = 0
        self.pending = False

    def restore(self) -> None:
        """Put the recursion limit back once nobody uses the lent depth (or leave it for a later exit)."""
        if self.users == 0 and self.pending:
            try:
                sys.setrecursionlimit(self.base)
            except RecursionError:  # still too deep for the old limit: a later exit restores it
                return
            self.pending = False


LENDER = Headroom()
"""The one lender of the process."""
