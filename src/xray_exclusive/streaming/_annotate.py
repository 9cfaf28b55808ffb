"""Annotations and metadata on a span, the way the ``awsxray`` exporter indexes them.

Attributes are X-Ray **metadata** unless their keys are listed in the span
attribute ``aws.xray.annotations``: :func:`annotate` validates the values and
keeps that list; the ``annotate_*`` helpers name the annotations the streaming
Lambdas use; :func:`set_metadata` writes ``aws.xray.metadata.<namespace>``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from ..bounded import MAX_ANNOTATIONS, Annotation, annotation
from ._guard import ours_failed

__all__ = [
    "ANNOTATIONS_ATTRIBUTE",
    "METADATA_PREFIX",
    "annotate",
    "annotate_cache",
    "annotate_connection",
    "annotate_event",
    "annotate_poll",
    "annotate_session",
    "index_key",
    "set_metadata",
    "span_name",
]

_logger = logging.getLogger("xray_exclusive.streaming")

ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"
"""The span attribute listing which attribute keys the exporter indexes as X-Ray annotations."""

METADATA_PREFIX = "aws.xray.metadata."


def span_name(span: object) -> str:
    """``span.name`` for a log line, or ``"?"``; never raises."""
    try:
        name = getattr(span, "name", None)
    except Exception:
        name = None
    return name if isinstance(name, str) else "?"


def _indexed_keys(span: trace.Span) -> list[str]:
    attributes = getattr(span, "attributes", None)
    existing = attributes.get(ANNOTATIONS_ATTRIBUTE) if isinstance(attributes, Mapping) else None
    return list(existing) if existing else []


def index_key(span: trace.Span, key: str) -> None:
    """List ``key`` in ``aws.xray.annotations`` (once), so the exporter indexes that attribute."""
    keys = _indexed_keys(span)
    if key not in keys:
        keys.append(key)
        span.set_attribute(ANNOTATIONS_ATTRIBUTE, keys)


def admit(keys: list[str], key: object, value: object, span: object) -> Annotation | None:
    """One annotation for a span whose indexed keys are ``keys``: validated, its key added to ``keys``.

    ``None`` when it is dropped, with the reason logged: an invalid key or value (see
    :func:`xray_exclusive.bounded.annotation`), or a new key beyond the 50 a span may index. ``span`` is
    the span, or its name, for the log line.

    Example:
        >>> keys = []
        >>> admit(keys, "event type", "sentiment", "dispatch"), keys
        (Annotation(key='event_type', value='sentiment'), ['event_type'])
    """
    name = span if isinstance(span, str) else span_name(span)
    try:
        valid = annotation(key, value)
    except Exception as ours:  # a key or value whose conversion raises
        ours_failed("validating an annotation (dropped)", name, ours)
        return None
    if valid is None or valid.key in keys:
        return valid
    if len(keys) >= MAX_ANNOTATIONS:
        _logger.warning("Dropping annotation %r: more than %d on span %r.", valid.key, MAX_ANNOTATIONS, name)
        return None
    keys.append(valid.key)
    return valid


def annotate(span: trace.Span, **values: object) -> None:
    """Set attributes **and** list their keys in ``aws.xray.annotations``, so X-Ray indexes them.

    Keys and values are validated by :func:`xray_exclusive.bounded.annotation`
    (keys ``[A-Za-z0-9_]``, scalar values, strings cut at 2,048 characters);
    an invalid one is dropped with a logged reason, at most 50 per span.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("dispatch")
        >>> annotate(span, event_type="sentiment", latency_ms=12)
        >>> span.attributes["aws.xray.annotations"]
        ('event_type', 'latency_ms')
    """
    try:
        if not span.is_recording():
            return
        keys = _indexed_keys(span)
    except Exception as ours:
        ours_failed("reading its annotations (new ones dropped)", span_name(span), ours)
        return
    before = len(keys)
    for key, value in values.items():
        valid = admit(keys, key, value, span)
        if valid is None:
            continue
        try:
            span.set_attribute(valid.key, valid.value)
        except Exception as ours:
            ours_failed("setting an annotation (dropped)", span_name(span), ours)
    changed = len(keys) != before
    if changed:
        try:
            span.set_attribute(ANNOTATIONS_ATTRIBUTE, keys)
        except Exception as ours:
            ours_failed("listing its annotations", span_name(span), ours)


def _annotate_present(span: trace.Span, values: dict[str, object]) -> None:
    annotate(span, **{k: v for k, v in values.items() if v is not None})


def annotate_event(
    span: trace.Span,
    *,
    event_type: str | None = None,
    latency_ms: float | None = None,
    is_cold_start: bool | None = None,
    is_clock_skew: bool | None = None,
    connection_count: int | None = None,
) -> None:
    """Annotate a dispatched event, searchable in X-Ray; ``None`` values are left out.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("dispatch")
        >>> annotate_event(span, event_type="sentiment", latency_ms=40.5, is_cold_start=False)
        >>> span.attributes["aws.xray.annotations"]
        ('event_type', 'latency_ms', 'is_cold_start')
    """
    _annotate_present(
        span,
        {
            "event_type": event_type,
            "latency_ms": latency_ms,
            "is_cold_start": is_cold_start,
            "is_clock_skew": is_clock_skew,
            "connection_count": connection_count,
        },
    )


def annotate_cache(
    span: trace.Span,
    *,
    cache_hit_rate: float | None = None,
    cache_entry_count: int | None = None,
    cache_max_entries: int | None = None,
    trigger: str | None = None,
) -> None:
    """Annotate a cache operation (hit rate, size, what triggered it); ``None`` values are left out.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("cache")
        >>> annotate_cache(span, cache_hit_rate=0.9, trigger="eviction")
    """
    _annotate_present(
        span,
        {
            "cache_hit_rate": cache_hit_rate,
            "cache_entry_count": cache_entry_count,
            "cache_max_entries": cache_max_entries,
            "trigger": trigger,
        },
    )


def annotate_connection(
    span: trace.Span,
    *,
    connection_id: str | None = None,
    current_count: int | None = None,
    max_connections: int | None = None,
) -> None:
    """Annotate a connection of the pool (id, count in use, limit); ``None`` values are left out.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("acquire")
        >>> annotate_connection(span, connection_id="c-1", current_count=3, max_connections=100)
    """
    _annotate_present(
        span,
        {"connection_id": connection_id, "current_count": current_count, "max_connections": max_connections},
    )


def annotate_poll(
    span: trace.Span,
    *,
    item_count: int | None = None,
    changed_count: int | None = None,
    poll_duration_ms: float | None = None,
    sentiment_type: str | None = None,
) -> None:
    """Annotate a DynamoDB poll (items read, items changed, duration); ``None`` values are left out.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("poll")
        >>> annotate_poll(span, item_count=20, changed_count=2, poll_duration_ms=31.0)
    """
    _annotate_present(
        span,
        {
            "item_count": item_count,
            "changed_count": changed_count,
            "poll_duration_ms": poll_duration_ms,
            "sentiment_type": sentiment_type,
        },
    )


def annotate_session(
    span: trace.Span,
    *,
    session_id: str | None = None,
    previous_trace_id: str | None = None,
    connection_sequence: int | None = None,
) -> None:
    """Annotate an SSE connection with its session, across reconnections; ``None`` values are left out.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("sse_stream")
        >>> annotate_session(span, session_id="s-1", connection_sequence=2)
    """
    _annotate_present(
        span,
        {
            "session_id": session_id,
            "previous_trace_id": previous_trace_id,
            "connection_sequence": connection_sequence,
        },
    )


def set_metadata(span: trace.Span, namespace: str, document: Mapping[str, Any]) -> None:
    """Store ``document`` as X-Ray metadata under ``namespace`` (``aws.xray.metadata.<namespace>``, JSON)."""
    span.set_attribute(METADATA_PREFIX + namespace, json.dumps(document, separators=(",", ":"), default=str))
