"""``current_trace_id()``: the X-Ray trace ID is the correlation ID.

It replaces custom helpers such as ``get_correlation_id()`` / ``generate_correlation_id()``:
every log line, metric and trace of one request is joined by the X-Ray trace
ID instead, so an operator goes from a log line to its trace in one query.

Cheap enough to call on every log record: no import of the X-Ray SDK or
OpenTelemetry, one environment read, and a one-entry cache of the parsed
header.
"""

from __future__ import annotations

import os
import sys

from ._compat.xray_sdk import thread_entities
from ._wire import TRACE_ID

__all__ = ["current_trace_id"]

_last_header: tuple[str, str | None] = ("", None)


def current_trace_id() -> str | None:
    """The active X-Ray trace ID (``1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx``), or ``None`` outside any trace.

    In order:

    1. the X-Ray segment open on this thread (the X-Ray SDK, when something
       already imported it);
    2. ``_X_AMZN_TRACE_ID``, the invocation's header that Lambda sets, read on
       every call (so warm invocations never see a stale ID);
    3. the active OpenTelemetry span (the streaming phase, or a service that
       only uses OpenTelemetry), converted to X-Ray's format.

    Never invents an ID: a request without a trace has no correlation ID, and
    says so with ``None``.

    Example:
        >>> import os
        >>> os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
        >>> current_trace_id()
        '1-5759e988-bd862e3fe1be46a994272793'
        >>> del os.environ["_X_AMZN_TRACE_ID"]
        >>> current_trace_id() is None
        True
    """
    trace_id = _from_xray_sdk()
    if trace_id is not None:
        return trace_id
    trace_id = _from_environment()
    if trace_id is not None:
        return trace_id
    return _from_opentelemetry()


def _from_xray_sdk() -> str | None:
    # The library's own open subsegment in this thread or task (failure_path, http_subsegment): both X-Ray
    # backends keep it in a ContextVar, never on the SDK's thread-local stack.
    parentage = sys.modules.get("xray_exclusive._xray._parent")
    if parentage is not None:
        trace_id = getattr(parentage.CURRENT.get(), "trace_id", None)
        if isinstance(trace_id, str) and TRACE_ID.match(trace_id):
            return trace_id
    # The thread's open entities, read without the SDK's lookup (which logs an error when none is open).
    entities = thread_entities()
    if not entities:
        return None
    trace_id = getattr(entities[-1], "trace_id", None)
    return trace_id if isinstance(trace_id, str) and TRACE_ID.match(trace_id) else None


def _from_environment() -> str | None:
    global _last_header
    raw = os.environ.get("_X_AMZN_TRACE_ID")
    if not raw:
        return None
    cached_raw, cached_id = _last_header
    if raw == cached_raw:
        return cached_id
    trace_id = _root_of(raw) if len(raw) <= 1024 else None
    _last_header = (raw, trace_id)
    return trace_id


def _root_of(header: str) -> str | None:
    """``Root`` as OpenTelemetry's propagator reads it (spaces around ``=`` and ``;``, the last wins).

    A trace ID that is not ``1-<8 hex>-<24 hex>``, or is all zeros, is no trace ID.
    """
    root = None
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == "Root":
            root = value.strip()
    if root is None or not TRACE_ID.match(root) or int(root[2:10] + root[11:], 16) == 0:
        return None
    return root.lower()


def _from_opentelemetry() -> str | None:
    api = sys.modules.get("opentelemetry.trace")
    if api is None:
        return None
    context = api.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    hex_id = f"{context.trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}"
