"""X-Ray's marks for one failure, the value ``classify`` returns and every backend's ``Span.mark`` takes.

A leaf: it imports nothing from the package, so ``_backend``, ``failure`` and
the backends can all import it without a cycle. Public as
``xray_exclusive.Classification`` (also importable from ``xray_exclusive.failure``
and ``xray_exclusive._backend``, where it used to live).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Classification"]


class Classification(NamedTuple):
    """X-Ray's marks for one failure: ``error`` (client side), ``throttle`` (with error), ``fault`` (server).

    Example:
        >>> from xray_exclusive import classify
        >>> classify(ConnectionResetError()).label
        'fault'
    """

    error: bool
    fault: bool
    throttle: bool
    remote: bool = False
    status: int | None = None
    code: str | None = None

    @property
    def label(self) -> str:
        """``"throttle"``, ``"error"`` or ``"fault"``, for annotations and logs."""
        if self.throttle:
            return "throttle"
        return "fault" if self.fault else "error"
