"""``failure_path`` on OpenTelemetry: the same subsegment, sent as a span through the ADOT collector.

The X-Ray SDKs are in maintenance mode since 2026-02-25 (AWS's "X-Ray SDK and
Daemon Support timeline"). This backend produces what the collector's ``awsxray`` exporter
turns into the same subsegment the X-Ray SDK backend sends: same name,
``error``/``throttle``/``fault`` (see :func:`~._record.apply_classification`),
a bounded ``cause`` from an ``exception`` event, annotations listed in
``aws.xray.annotations``, metadata as ``aws.xray.metadata.<namespace>`` JSON.

Select it with ``failure_path(..., backend="otel")`` or
``XRAY_EXCLUSIVE_BACKEND=otel``; inside a traced stream it is chosen
automatically. Outside a stream, call ``flush()`` before the handler returns.

When the process already has a global provider that this library did not
build (AWS's Lambda layer, its lite SDK, the application's own), failure
paths attach to it instead of building the streaming tracer (see ``_attach``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from .._classification import Classification
from .._http_block import http_fields
from ..bounded import AnnotationValue, Frame, JSONValue
from ._annotate import METADATA_PREFIX, index_key
from ._attach import external_provider, tracer_of
from ._record import apply_classification, record_exception_event, set_http_status

__all__ = ["OTelBackend"]

_HTTP_ATTRIBUTES = {"method": "http.request.method", "url": "url.full"}
"""Where the ``awsxray`` exporter reads the ``http`` block's request fields (the status: ``_record.py``)."""


class _OTelSpan:
    __slots__ = ("_metadata", "_token", "recording", "span")

    def __init__(self, span: trace.Span, token: object) -> None:
        self.span = span
        self._token = token
        self.recording: bool = span.is_recording()
        self._metadata: dict[str, dict[str, JSONValue]] = {}

    def annotate(self, key: str, value: AnnotationValue) -> None:
        if not self.recording:
            return
        self.span.set_attribute(key, value)
        index_key(self.span, key)

    def add_metadata(self, namespace: str, key: str, value: JSONValue) -> None:
        if not self.recording:
            return
        document = self._metadata.setdefault(namespace, {})
        document[key] = value
        self.span.set_attribute(METADATA_PREFIX + namespace, json.dumps(document, separators=(",", ":")))

    def mark(self, classification: Classification) -> None:
        if self.recording:
            apply_classification(self.span, classification)

    def add_exception(
        self,
        exception: BaseException | None,
        type_name: str,
        message: str,
        frames: Sequence[Frame],
        truncated: int,
        remote: bool,
    ) -> None:
        if not self.recording:
            return
        record_exception_event(self.span, type_name, message, list(frames), truncated)
        self.span.set_status(trace.Status(trace.StatusCode.ERROR, message[:256]))

    def set_http(self, method: str | None = None, url: str | None = None, status: int | None = None) -> None:
        if not self.recording:
            return
        for field in http_fields(method, url, status):
            if field.key == "status":
                set_http_status(self.span, int(field.value))  # the exporter sets status_flags from it
            else:
                self.span.set_attribute(_HTTP_ATTRIBUTES[field.key], field.value)


class OTelBackend:
    """The :class:`~xray_exclusive.TracingBackend` of ``failure_path`` on the streaming tracer.

    A failure path becomes an INTERNAL span, child of the current span (in a
    traced stream, the step's span), or else of the invocation's trace from
    ``_X_AMZN_TRACE_ID``; it is current while the block runs.

    Without a ``tracer``, spans go to the process's global provider when
    someone else set it (AWS's Lambda layer, the application), else to the
    streaming tracer, built on first use.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from xray_exclusive import failure_path
        >>> backend = OTelBackend(TracerProvider().get_tracer("doc"))
        >>> with failure_path("audit_write", namespace="Doc/Examples", backend=backend):
        ...     pass
    """

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer

    @property
    def tracer(self) -> trace.Tracer:
        """The tracer spans come from: the one given, else an existing global provider's, else ours."""
        tracer = self._tracer
        if tracer is None:
            external = external_provider()
            if external is not None:
                return tracer_of(external)
            from ._bootstrap import get_streaming_tracer

            tracer = get_streaming_tracer().tracer  # not kept: the tracer may be reset (tests)
        return tracer

    def open(self, name: str, remote: bool = False) -> _OTelSpan:
        """Start the span (current until :meth:`close`); CLIENT kind if ``remote`` (X-Ray: ``remote``)."""
        parent: Any = None
        if not trace.get_current_span().get_span_context().is_valid:
            from ._context import invocation_context

            parent = invocation_context()
        kind = SpanKind.CLIENT if remote else SpanKind.INTERNAL
        span = self.tracer.start_span(name, context=parent, kind=kind)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        return _OTelSpan(span, token)

    def close(self, span: Any) -> None:
        """End the span and restore the context that was current before it."""
        if not isinstance(span, _OTelSpan):
            return
        otel_context.detach(span._token)  # type: ignore[arg-type]
        span.span.end()
