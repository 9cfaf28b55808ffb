"""Spans made current for a ``with`` block, and the ones the streaming Lambdas open (poll, DynamoDB, ...).

The ``awsxray`` exporter puts a span with ``rpc.system="aws-api"`` in the
``aws`` namespace, named by ``rpc.service`` (``DynamoDB``, ``CloudWatch``): a
typed node in the service map; ``aws.dynamodb.table_names`` becomes
``aws.table_name``. Other CLIENT spans land in ``remote``; INTERNAL spans with
a parent become local subsegments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from ._annotate import ANNOTATIONS_ATTRIBUTE, admit
from ._guard import ours_failed, run_steps
from ._record import DISCONNECT_ERRORS, mark_disconnected, record_bounded

__all__ = ["SpanScope", "cloudwatch_span", "dispatch_span", "dynamodb_span", "poll_cycle"]


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
                steps.append(("recording the exception", lambda: record_bounded(span, exc)))
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
        valid = admit(keys, key, value, name)
        if valid is not None:
            attributes[valid.key] = valid.value
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
