"""Span helpers that the collector's ``awsxray`` exporter turns into the right X-Ray subsegments.

How the exporter decides (read from its Go source in opentelemetry-collector-contrib):

* ``rpc.system="aws-api"`` puts a span in the ``aws`` namespace, named by
  ``rpc.service`` (``DynamoDB``, ``CloudWatch``): a typed node in the service
  map. ``aws.dynamodb.table_names`` becomes ``aws.table_name``.
* Other CLIENT spans land in ``remote``; INTERNAL spans with a parent become
  local subsegments.
* Attributes are **metadata** unless their keys are listed in the span
  attribute ``aws.xray.annotations``: :func:`annotate` keeps that list.
* ``error``/``throttle`` come only from an HTTP status of 4xx/429; ``fault``
  from a 5xx or from status ERROR without a status code. Exceptions become
  ``cause`` from ``exception`` events, whose Python stack text it parses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..bounded import MAX_ANNOTATIONS, Frame, annotation, bounded_stack, truncate_message
from ..failure import Classification, classify
from ._guard import ours_failed, run_steps

__all__ = [
    "ANNOTATIONS_ATTRIBUTE",
    "DISCONNECT_ERRORS",
    "SpanScope",
    "annotate",
    "annotate_cache",
    "annotate_connection",
    "annotate_event",
    "annotate_poll",
    "annotate_session",
    "apply_classification",
    "cloudwatch_span",
    "dispatch_span",
    "dynamodb_span",
    "mark_disconnected",
    "poll_cycle",
    "record_bounded_exception",
]

_logger = logging.getLogger("xray_exclusive.streaming")

ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"
"""The span attribute listing which attribute keys the exporter indexes as X-Ray annotations."""

METADATA_PREFIX = "aws.xray.metadata."

DISCONNECT_ERRORS: tuple[type[BaseException], ...] = (BrokenPipeError, ConnectionResetError)
"""What a write to a client that went away raises: the only disconnect signal Python gets."""

DISCONNECTED_ATTRIBUTE = "client.disconnected"


def _span_name(span: object) -> str:
    try:
        name = getattr(span, "name", None)
    except Exception:
        name = None
    return name if isinstance(name, str) else "?"


def mark_disconnected(span: trace.Span) -> None:
    """Record a client disconnect on ``span``: ``client.disconnected=true`` (indexed), status OK.

    A client going away is not a server fault: the status is OK, never ERROR, and no
    fault shows in X-Ray.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("sse_stream")
        >>> mark_disconnected(span)
        >>> span.attributes["client.disconnected"], span.status.status_code.name
        (True, 'OK')
    """
    try:
        if not span.is_recording():
            return
        span.set_attribute(DISCONNECTED_ATTRIBUTE, True)
        index_key(span, DISCONNECTED_ATTRIBUTE)
        span.set_status(Status(StatusCode.OK))
    except Exception as ours:  # never in place of the disconnect being handled
        ours_failed("marking the client disconnect", _span_name(span), ours)


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


# ------------------------------------------------------------------------------- annotations


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
        ours_failed("reading its annotations (new ones dropped)", _span_name(span), ours)
        return
    changed = False
    for key, value in values.items():
        try:
            valid = annotation(key, value)
        except Exception as ours:  # a value whose conversion raises
            ours_failed("validating an annotation (dropped)", _span_name(span), ours)
            continue
        if valid is None:
            continue
        if valid.key not in keys:
            if len(keys) >= MAX_ANNOTATIONS:
                _logger.warning("Dropping annotation %r: more than %d on span.", valid.key, MAX_ANNOTATIONS)
                continue
            keys.append(valid.key)
            changed = True
        try:
            span.set_attribute(valid.key, valid.value)
        except Exception as ours:
            ours_failed("setting an annotation (dropped)", _span_name(span), ours)
    if changed:
        try:
            span.set_attribute(ANNOTATIONS_ATTRIBUTE, keys)
        except Exception as ours:
            ours_failed("listing its annotations", _span_name(span), ours)


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


# ------------------------------------------------------------------------------- failures


def python_stacktrace(type_name: str, message: str, frames: list[Frame], truncated: int) -> str:
    """Frames as Python prints them, the text the exporter's ``fillPythonStacktrace`` parses back.

    Example:
        >>> print(python_stacktrace("ValueError", "boom", [Frame("app.py", 3, "poll")], 0))
        Traceback (most recent call last):
          File "app.py", line 3, in poll
        ValueError: boom
    """
    lines = ["Traceback (most recent call last):"]
    for i, frame in enumerate(frames):
        # The exporter splits a frame line on ",": keep the path free of them.
        lines.append(f'  File "{frame.path.replace(",", "_")}", line {frame.line}, in {frame.label}')
        if truncated and i == 0 and len(frames) > 1:
            lines.append(f"  [... {truncated} frames omitted ...]")
    # One line for the exception, so no message line can pose as a frame.
    flat = " ".join(message.splitlines())
    lines.append(f"{type_name}: {flat}" if flat else type_name)
    return "\n".join(lines)


def record_exception_event(
    span: trace.Span,
    type_name: str,
    message: str,
    frames: list[Frame],
    truncated: int,
) -> None:
    """Add one bounded ``exception`` event (type, message, Python-formatted stack) to ``span``."""
    span.add_event(
        "exception",
        {
            "exception.type": type_name,
            "exception.message": message,
            "exception.stacktrace": python_stacktrace(type_name, message, frames, truncated),
        },
    )


def record_bounded_exception(span: trace.Span, exc: BaseException) -> Classification | None:
    """Record ``exc`` with a bounded message and at most 10 frames, mark the span, return its class.

    ``GeneratorExit``, ``KeyboardInterrupt``, ``SystemExit`` and
    ``CancelledError`` are not failures: nothing is recorded (``None``).

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("poll")
        >>> record_bounded_exception(span, TimeoutError("dynamodb")).label
        'fault'
        >>> span.status.status_code.name
        'ERROR'
    """
    result: list[Classification | None] = [None]

    def record() -> None:
        result[0] = _record_bounded(span, exc)

    run_steps(_span_name(span), exc, [("recording the exception", record)])
    return result[0]


def _record_bounded(span: trace.Span, exc: BaseException) -> Classification | None:
    try:
        classification = classify(exc)
        if classification is None or not span.is_recording():
            return classification
        stack = bounded_stack(exc)
        message = truncate_message(exc)
        type_name = truncate_message(type(exc).__name__, 256)
        record_exception_event(span, type_name, message, stack.frames, stack.truncated)
        apply_classification(span, classification, message)
        return classification
    except RecursionError:
        raise  # run_steps tries again with more stack
    except Exception as ours:  # the caller's exception goes on unchanged; the span is still marked a fault
        ours_failed("recording the exception", _span_name(span), ours)
        try:
            span.set_status(Status(StatusCode.ERROR))
        except Exception as again:
            ours_failed("marking the span a fault", _span_name(span), again)
        return None


HTTP_STATUS_ATTRIBUTES = ("http.status_code", "http.response.status_code")
"""Where the ``awsxray`` exporter reads the HTTP status: the old name, then the current one.

Exporters before v0.11x read only ``http.status_code`` to mark ``error`` and
``throttle`` (``internal/translator/cause.go``); later ones fall back to
``http.response.status_code``. Writing both keeps the marks right on every
collector a fleet runs (tested against a real v0.109.0 build, which turned a
4xx with only the new name into a ``fault``).
"""


def set_http_status(span: trace.Span, status: int) -> None:
    """Record an HTTP status where every ``awsxray`` exporter version reads it.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("call")
        >>> set_http_status(span, 429)
        >>> span.attributes["http.status_code"], span.attributes["http.response.status_code"]
        (429, 429)
    """
    for key in HTTP_STATUS_ATTRIBUTES:
        span.set_attribute(key, status)


def apply_classification(span: trace.Span, classification: Classification, message: str = "") -> None:
    """Set what makes the exporter mark ``error``/``throttle`` (an HTTP 4xx/429) or ``fault`` (ERROR).

    The ``awsxray`` exporter derives ``error`` and ``throttle`` only from the
    span's HTTP status (:data:`HTTP_STATUS_ATTRIBUTES`); a client-side failure
    without a real status gets 400, and a throttle always 429 (DynamoDB
    throttles answer 400), so X-Ray shows the same marks as the X-Ray SDK
    backend. The span status is ERROR in every case.
    """
    status = classification.status
    if classification.error:
        if classification.throttle:
            status = 429  # the exporter's only throttle signal (a DynamoDB throttle answers 400)
        elif status is None or not 400 <= status < 500:
            status = 400
        set_http_status(span, status)
    elif status is not None and 500 <= status < 600:
        set_http_status(span, status)
    span.set_status(Status(StatusCode.ERROR, truncate_message(message, 256) if message else None))


# ------------------------------------------------------------------------------- span helpers


class SpanScope:
    """A span made current for a ``with`` block, failures recorded bounded; the span is ``as`` target.

    Unlike ``start_as_current_span``, the exception is recorded with a bounded
    message and stack, and classified (4xx ``error``, 429 ``throttle``, the
    rest ``fault``). With ``writes_to_client``, a ``BrokenPipeError`` or
    ``ConnectionResetError`` is a client disconnect instead (status OK,
    ``client.disconnected=true``). Keep each scope between two ``yield``
    statements of a stream, never across one.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> tracer = TracerProvider().get_tracer("doc")
        >>> with SpanScope(tracer, "poll_cycle", SpanKind.INTERNAL, None, {"item_count": 3}) as span:
        ...     span.attributes["item_count"]
        3
    """

    __slots__ = ("_annotations", "_attributes", "_kind", "_name", "_token", "_tracer", "_writes", "span")

    def __init__(
        self,
        tracer: trace.Tracer | None,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any] | None,
        annotations: Mapping[str, object] | None,
        writes_to_client: bool = False,
    ) -> None:
        self._tracer = tracer
        self._writes = writes_to_client
        self._name = name
        self._kind = kind
        self._attributes = attributes
        self._annotations = annotations
        self._token: object = None
        self.span: trace.Span = trace.INVALID_SPAN

    def __enter__(self) -> trace.Span:
        tracer = self._tracer
        if tracer is None:
            from ._bootstrap import get_streaming_tracer

            tracer = get_streaming_tracer().tracer
        attributes, annotations = self._attributes, self._annotations
        # A dict (the helpers' keyword arguments) is tested cheaply; any other mapping goes to _admit,
        # which reads it under a guard (even its truthiness may raise).
        if annotations is not None and (type(annotations) is not dict or annotations):
            # Validated up front and passed at start: one dict, no per-attribute lock on the live span.
            attributes = dict(attributes) if attributes else {}
            keys = _admit(attributes, annotations, self._name)
            if keys:
                attributes[ANNOTATIONS_ATTRIBUTE] = keys
        try:
            span = tracer.start_span(self._name, kind=self._kind, attributes=attributes)
        except Exception as ours:  # the block runs untraced rather than not at all
            ours_failed("starting", self._name, ours)
            return self.span
        self.span = span
        self._token = otel_context.attach(trace.set_span_in_context(span))
        return span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        span, token = self.span, self._token
        self._token = None
        if exc is None and token is not None:  # the common path, without building steps
            otel_context.detach(token)  # type: ignore[arg-type]  # logs, never raises
            try:
                span.end()
            except RecursionError:  # no stack left to end it: again, with borrowed depth
                run_steps(self._name, None, [("ending", span.end)])
            except Exception as ours:
                ours_failed("ending", self._name, ours)
            return
        steps: list[tuple[str, Callable[[], object]]] = []
        if exc is not None and span is not trace.INVALID_SPAN:
            if self._writes and isinstance(exc, DISCONNECT_ERRORS):
                steps.append(("marking the client disconnect", lambda: mark_disconnected(span)))
            else:
                steps.append(("recording the exception", lambda: _record_bounded(span, exc)))
        if token is not None:
            steps.append(("detaching its context", lambda: otel_context.detach(token)))  # type: ignore[arg-type]
            steps.append(("ending", span.end))
        run_steps(self._name, exc, steps)


def _admit(attributes: dict[str, Any], annotations: Mapping[str, object], name: str) -> list[str]:
    """Add the valid annotations to ``attributes``; return their keys. Invalid ones are dropped, logged."""
    keys: list[str] = []
    try:
        items = list(annotations.items())
    except Exception as ours:
        ours_failed("reading its annotations (all dropped)", name, ours)
        return keys
    for key, value in items:
        try:
            valid = annotation(key, value)
        except Exception as ours:  # a key or value whose conversion raises
            ours_failed("validating an annotation (dropped)", name, ours)
            continue
        if valid is not None and len(keys) < MAX_ANNOTATIONS:
            attributes[valid.key] = valid.value
            if valid.key not in keys:
                keys.append(valid.key)
    return keys


def poll_cycle(tracer: trace.Tracer | None = None, **annotations: object) -> SpanScope:
    """One span per poll cycle: the parent of its DynamoDB, dispatch and metric spans.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> tracer = TracerProvider().get_tracer("doc")
        >>> with poll_cycle(tracer, sentiment_type="all") as cycle:
        ...     cycle.name
        'poll_cycle'
    """
    return SpanScope(tracer, "poll_cycle", SpanKind.INTERNAL, None, annotations)


def dynamodb_span(
    operation: str, table: str, tracer: trace.Tracer | None = None, **annotations: object
) -> SpanScope:
    """A CLIENT span the exporter renders as a DynamoDB subsegment (``aws`` namespace, table name).

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> tracer = TracerProvider().get_tracer("doc")
        >>> with dynamodb_span("Query", "sentiment-items", tracer) as span:
        ...     span.attributes["rpc.service"], span.attributes["aws.dynamodb.table_names"]
        ('DynamoDB', ('sentiment-items',))
    """
    attributes = {
        "rpc.system": "aws-api",
        "rpc.service": "DynamoDB",
        "rpc.method": operation,
        "db.system": "dynamodb",
        "aws.dynamodb.table_names": [table],
    }
    return SpanScope(tracer, f"DynamoDB.{operation}", SpanKind.CLIENT, attributes, annotations)


def cloudwatch_span(
    operation: str = "PutMetricData", tracer: trace.Tracer | None = None, **annotations: object
) -> SpanScope:
    """A CLIENT span the exporter renders as a CloudWatch subsegment (``aws`` namespace).

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> with cloudwatch_span(tracer=TracerProvider().get_tracer("doc")) as span:
        ...     span.attributes["rpc.method"]
        'PutMetricData'
    """
    attributes = {"rpc.system": "aws-api", "rpc.service": "CloudWatch", "rpc.method": operation}
    return SpanScope(tracer, f"CloudWatch.{operation}", SpanKind.CLIENT, attributes, annotations)


def dispatch_span(event_type: str, tracer: trace.Tracer | None = None, **annotations: object) -> SpanScope:
    """An INTERNAL span per dispatched event, annotated ``event_type``.

    Writes to the client happen here, so a ``BrokenPipeError`` inside is a
    client disconnect (``client.disconnected=true``, status OK), not a fault.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> with dispatch_span("sentiment", TracerProvider().get_tracer("doc")) as span:
        ...     span.attributes["event_type"]
        'sentiment'
    """
    return SpanScope(
        tracer, "dispatch_event", SpanKind.INTERNAL, None, {"event_type": event_type, **annotations}, True
    )


def set_metadata(span: trace.Span, namespace: str, document: Mapping[str, Any]) -> None:
    """Store ``document`` as X-Ray metadata under ``namespace`` (``aws.xray.metadata.<namespace>``, JSON)."""
    span.set_attribute(METADATA_PREFIX + namespace, json.dumps(document, separators=(",", ":"), default=str))
