"""Pure helpers for values that arrive on the wire, shared by ``trace_header``, ``sse`` and ``correlation``.

Example:
    >>> header_value({"LAST-EVENT-ID": ["7"]}, "Last-Event-ID")
    '7'
    >>> header_value({"x-amzn-trace-id": "a", "X-Amzn-Trace-Id": "b"}, "X-Amzn-Trace-Id")
    'b'
    >>> bool(TRACE_ID.match("1-5759e988-bd862e3fe1be46a994272793"))
    True
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["TRACE_ID", "header_value"]

TRACE_ID = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}\Z")
"""An X-Ray trace ID: ``1-<epoch, 8 hex>-<24 hex>``."""


def header_value(headers: Mapping[str, object] | None, name: str) -> str | None:
    """The value of header ``name`` in ``headers``, matched case-insensitively; ``None`` if absent or odd.

    When the mapping holds the exact spelling ``name`` and other spellings too, the exact one
    wins (as OpenTelemetry's getter reads it); otherwise the first match. A list value
    (multi-value headers) counts only when it has exactly one element. An odd mapping (one
    whose ``items()`` raises) counts as no header.
    """
    if not headers:
        return None
    try:
        items = list(headers.items())
    except Exception:
        return None
    wanted = name.lower()
    found: object = None
    matched = False
    for key, value in items:
        if isinstance(key, str) and key.lower() == wanted:
            if key == name:
                found, matched = value, True
                break
            if not matched:
                found, matched = value, True
    if not matched:
        return None
    if isinstance(found, (list, tuple)):
        found = found[0] if len(found) == 1 else None
    return found if isinstance(found, str) else None
