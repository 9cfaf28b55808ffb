r"""Tracing for Lambda ``RESPONSE_STREAM`` generators: OpenTelemetry → ADOT extension → X-Ray.

After the handler returns its generator, the Lambda runtime's X-Ray segment
is closed and the X-Ray SDK can record nothing. This module keeps
the work done while streaming (DynamoDB polls, event dispatch, CloudWatch
calls) in the invocation's trace, with nothing lost and nothing leaked:

* :func:`get_streaming_tracer`: one provider per process, built at INIT, with
  the guards that refuse setups known to break traces;
* :func:`invocation_context`: the trace of *this* invocation, read afresh;
* :func:`traced_stream` / :func:`traced_handler`: the connection span, current
  only while the generator runs, flushed (bounded) when it ends;
* :func:`is_traced`, :func:`track_end` and :func:`flush_if_started`: the hooks
  of a consumer that wraps streams itself (the custom runtime);
* :func:`poll_cycle`, :func:`dynamodb_span`, :func:`cloudwatch_span`,
  :func:`dispatch_span`, :func:`annotate` and the named annotation helpers;
* :class:`OTelBackend`: ``failure_path`` on OpenTelemetry.

Example:
    >>> from xray_exclusive.streaming import get_streaming_tracer, traced_handler, poll_cycle
    >>> st = get_streaming_tracer(service_name="doc-sse", endpoint="http://127.0.0.1:9/v1/traces")
    >>> @traced_handler
    ... def handler(event, context):
    ...     for _ in range(2):
    ...         with poll_cycle(item_count=0):
    ...             pass
    ...         yield b": keep-alive\n\n"
    >>> from xray_exclusive.streaming import reset_streaming_tracer
    >>> reset_streaming_tracer()
"""

from __future__ import annotations

from ._bootstrap import (
    DEFAULT_ENDPOINT,
    ConfigurationError,
    FlushReport,
    StreamingSettings,
    StreamingTracer,
    built_streaming_tracer,
    check_environment,
    check_instrumentation,
    get_streaming_tracer,
    reset_streaming_tracer,
)
from ._context import invocation_context
from ._export import METRIC_NAMESPACE
from ._otel_backend import OTelBackend
from ._semconv import (
    ANNOTATIONS_ATTRIBUTE,
    DISCONNECT_ERRORS,
    SpanScope,
    annotate,
    annotate_cache,
    annotate_connection,
    annotate_event,
    annotate_poll,
    annotate_session,
    cloudwatch_span,
    dispatch_span,
    dynamodb_span,
    mark_disconnected,
    poll_cycle,
    record_bounded_exception,
)
from ._stream import StreamEnding, is_traced, traced_handler, traced_stream, track_end

__all__ = [
    "ANNOTATIONS_ATTRIBUTE",
    "DEFAULT_ENDPOINT",
    "DISCONNECT_ERRORS",
    "METRIC_NAMESPACE",
    "ConfigurationError",
    "FlushReport",
    "OTelBackend",
    "SpanScope",
    "StreamEnding",
    "StreamingSettings",
    "StreamingTracer",
    "annotate",
    "annotate_cache",
    "annotate_connection",
    "annotate_event",
    "annotate_poll",
    "annotate_session",
    "check_environment",
    "check_instrumentation",
    "cloudwatch_span",
    "dispatch_span",
    "dynamodb_span",
    "flush",
    "flush_if_started",
    "get_streaming_tracer",
    "invocation_context",
    "is_traced",
    "mark_disconnected",
    "poll_cycle",
    "record_bounded_exception",
    "reset_streaming_tracer",
    "traced_handler",
    "traced_stream",
    "track_end",
]


def flush(budget_ms: int | None = None) -> FlushReport:
    """Flush the streaming tracer (bounded); call it in the ``finally`` of a non-streaming handler.

    :func:`traced_stream` flushes by itself. A handler that uses the
    OpenTelemetry backend of ``failure_path`` without streaming must flush
    before it returns, or its spans wait in memory while Lambda freezes the
    environment and leave with the next invocation, or are lost.

    When failure paths attached to a provider someone else set (AWS's Lambda
    layer, the application's own), that provider is flushed too, with its own
    ``force_flush``; the report's counts are the streaming tracer's only, and
    the streaming tracer is not built just to flush.

    Example:
        >>> st = get_streaming_tracer(service_name="doc-sse", endpoint="http://127.0.0.1:9/v1/traces")
        >>> flush().complete
        True
        >>> reset_streaming_tracer()
    """
    from ._attach import external_provider

    external = external_provider()
    if external is None or built_streaming_tracer() is not None:
        report = get_streaming_tracer().flush(budget_ms)
    else:
        report = FlushReport(0, 0, 0, 0.0)
    force_flush = getattr(external, "force_flush", None)
    if callable(force_flush):
        import time

        from .. import _env

        started = time.monotonic()
        force_flush(budget_ms or _env.XRAY_EXCLUSIVE_FLUSH_BUDGET_MS.get())
        report = report._replace(seconds=report.seconds + time.monotonic() - started)
    return report


def flush_if_started(budget_ms: int | None = None) -> FlushReport | None:
    """:func:`flush`, when there is something to flush: never builds the streaming tracer.

    For a process that may never have traced anything (the custom runtime at ``SIGTERM``, a buffered
    handler's ``finally``): ``None`` when neither the streaming tracer nor a provider failure paths attached
    to exists, else what :func:`flush` reports.

    Example:
        >>> reset_streaming_tracer()
        >>> flush_if_started() is None  # nothing built: nothing to flush, and nothing built now
        True
        >>> st = get_streaming_tracer(service_name="doc-sse", endpoint="http://127.0.0.1:9/v1/traces")
        >>> flush_if_started().complete
        True
        >>> reset_streaming_tracer()
    """
    from ._attach import external_provider

    if built_streaming_tracer() is None and external_provider() is None:
        return None
    return flush(budget_ms)


def _register() -> None:
    from .._backend import register_backend

    register_backend("otel", OTelBackend)


_register()
