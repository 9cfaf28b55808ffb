"""Log lines that carry the X-Ray trace ID as a top-level field.

Two pieces for the standard library, one line for Powertools:

* :class:`TraceIdFilter` adds ``xray_trace_id`` and ``correlation_id`` (the
  same value, so existing Logs Insights queries on ``correlation_id`` keep
  working) to every record that passes through it.
* :class:`JsonFormatter` writes one JSON object per line with those fields at
  the top level, next to ``timestamp``, ``level``, ``logger``, ``message``,
  the record's extra fields and a bounded exception.
* Powertools ``Logger`` already writes ``xray_trace_id`` (from
  ``_X_AMZN_TRACE_ID``); ``logger.addFilter(TraceIdFilter())`` adds
  ``correlation_id`` and fills both during the streaming phase too.

Example:
    >>> import logging, sys
    >>> from xray_exclusive.logging import JsonFormatter, TraceIdFilter
    >>> handler = logging.StreamHandler(sys.stdout)
    >>> handler.setFormatter(JsonFormatter())
    >>> handler.addFilter(TraceIdFilter())
    >>> log = logging.getLogger("doc.orders")
    >>> log.addHandler(handler); log.propagate = False
    >>> log.warning("stock low", extra={"sku": "A1"})  # doctest: +ELLIPSIS
    {"timestamp":"...","level":"WARNING","logger":"doc.orders","message":"stock low",...,"sku":"A1"}
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from .bounded import bounded_metadata, bounded_stack, truncate_message
from .correlation import current_trace_id

__all__ = ["JsonFormatter", "TraceIdFilter"]

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_OURS = ("xray_trace_id", "correlation_id")


class TraceIdFilter(logging.Filter):
    """Adds ``xray_trace_id`` and ``correlation_id`` (both :func:`current_trace_id`) to each record.

    Attach it to a handler (every record it writes) or to a logger (records
    logged on that logger). It never drops a record and never raises. A value
    the caller set explicitly (``extra={"correlation_id": ...}``) is kept.

    Example:
        >>> record = logging.makeLogRecord({"msg": "hello"})
        >>> TraceIdFilter().filter(record), record.xray_trace_id
        (True, None)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; always ``True``."""
        try:
            trace_id = current_trace_id()
        except Exception:  # a broken X-Ray or OTel context must not cost the log line
            trace_id = None
        if getattr(record, "xray_trace_id", None) is None:
            record.xray_trace_id = trace_id
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = trace_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``timestamp``, ``level``, ``logger``, ``message``, the trace ID, extras.

    ``xray_trace_id`` and ``correlation_id`` are always present (``null``
    outside a trace), so queries can rely on them. Extra fields are bounded
    plain JSON (``bounded_metadata``); an exception adds ``exception_type``,
    a bounded ``exception`` message and at most 10 ``stack`` frames.
    Use it with :class:`TraceIdFilter`; without the filter it looks the trace
    ID up itself.

    Example:
        >>> record = logging.makeLogRecord({"msg": "ok", "levelname": "INFO", "name": "app"})
        >>> JsonFormatter().format(record)  # doctest: +ELLIPSIS
        '{"timestamp":"...","level":"INFO","logger":"app","message":"ok","xray_trace_id":null,"correlation_id":null}'
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of JSON."""
        if not hasattr(record, "xray_trace_id"):
            TraceIdFilter().filter(record)
        created = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        document: dict[str, Any] = {
            "timestamp": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": truncate_message(record.getMessage(), 32_768),
            "xray_trace_id": getattr(record, "xray_trace_id", None),
            "correlation_id": getattr(record, "correlation_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _OURS and key not in document:
                document[key] = bounded_metadata(value, max_bytes=4096)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            stack = bounded_stack(exc)
            document["exception_type"] = type(exc).__name__
            document["exception"] = truncate_message(exc)
            document["stack"] = [f"{f.path}:{f.line} in {f.label}" for f in stack.frames]
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)
