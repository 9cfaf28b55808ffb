"""A failure's marks on a span, the way the ``awsxray`` exporter reads them back into X-Ray.

``error``/``throttle`` come only from an HTTP status of 4xx/429
(:func:`set_http_status`, :func:`apply_classification`); ``fault`` from a 5xx or
from status ERROR without a status code. Exceptions become ``cause`` from
``exception`` events, whose Python stack text the exporter parses
(:func:`python_stacktrace`). A client that went away is not a failure at all
(:func:`mark_disconnected`).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from .._classification import Classification, classify
from ..bounded import Frame, bounded_stack, truncate_message
from ._annotate import index_key, span_name
from ._guard import ours_failed, run_steps

__all__ = [
    "DISCONNECTED_ATTRIBUTE",
    "DISCONNECT_ERRORS",
    "HTTP_STATUS_ATTRIBUTES",
    "apply_classification",
    "mark_disconnected",
    "python_stacktrace",
    "record_bounded",
    "record_bounded_exception",
    "record_exception_event",
    "set_http_status",
]

DISCONNECT_ERRORS: tuple[type[BaseException], ...] = (BrokenPipeError, ConnectionResetError)
"""What a write to a client that went away raises: the only disconnect signal Python gets."""

DISCONNECTED_ATTRIBUTE = "client.disconnected"


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
        ours_failed("marking the client disconnect", span_name(span), ours)


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
        result[0] = record_bounded(span, exc)

    run_steps(span_name(span), exc, [("recording the exception", record)])
    return result[0]


def record_bounded(span: trace.Span, exc: BaseException) -> Classification | None:
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
        ours_failed("recording the exception", span_name(span), ours)
        try:
            span.set_status(Status(StatusCode.ERROR))
        except Exception as again:
            ours_failed("marking the span a fault", span_name(span), again)
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
