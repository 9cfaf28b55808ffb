"""Writing one failure onto an open span: the bounded cause, the ``failure`` metadata, annotations.

Shared by ``failure_path`` (``_failure_context.py``) and ``http_subsegment``
(``http.py``); talks to tracing only through the ``Span`` Protocol. Also the one
log line for a failure of the library's own tracing work (:func:`ours_failed`),
which never formats a user object.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _encode_str
from typing import TYPE_CHECKING

from .bounded import (
    Annotation,
    Frame,
    JSONValue,
    LazyLogger,
    SubsegmentBudget,
    bounded_stack,
    json_size,
    truncate_message,
)

if TYPE_CHECKING:
    from ._backend import Span
    from ._classification import Classification
    from .paths import FailurePath

__all__ = [
    "METADATA_NAMESPACE",
    "admit_all",
    "details_size",
    "exception_type_name",
    "ours_failed",
    "record_cause",
    "record_failure",
]

_logger = LazyLogger("xray_exclusive")

METADATA_NAMESPACE = "xray_exclusive"
"""The X-Ray metadata namespace the library writes failure details under."""

_TYPE_NAME_LIMIT = 256


def ours_failed(what: str, name: str, exc: BaseException) -> None:
    """Log a failure of the library's own tracing work; never raises, never formats user objects."""
    try:  # noqa: SIM105 - no context manager here: this must work one frame from the recursion limit
        _logger.warning(
            "Subsegment %r: %s failed (%s: %s); the caller's code and exception are unaffected.",
            name,
            what,
            truncate_message(type(exc).__name__, 256),
            truncate_message(exc, 512),
        )
    except Exception:  # logging itself failed (a broken handler, no stack left): nothing more to do
        pass


def admit_all(budget: SubsegmentBudget, annotations: object, name: str) -> list[Annotation]:
    """The annotations of a mapping that pass validation; the rest are dropped with a logged reason."""
    try:
        items = list(annotations.items())  # type: ignore[attr-defined]
    except Exception as exc:
        ours_failed("reading its annotations (all dropped)", name, exc)
        return []
    admitted = []
    for key, value in items:
        try:
            valid = budget.admit_annotation(key, value)
        except Exception as exc:  # a value whose conversion raises
            ours_failed("validating an annotation (dropped)", name, exc)
            continue
        if valid is not None:
            admitted.append(valid)
    return admitted


def exception_type_name(exc: BaseException) -> str:
    """``type(exc).__name__``, at most 256 characters: what X-Ray records as the exception's type.

    Example:
        >>> name = exception_type_name(type("E" * 300, (Exception,), {})())
        >>> len(name), name.endswith("…[truncated 65 chars]")
        (256, True)
    """
    name = type(exc).__name__
    if len(name) > _TYPE_NAME_LIMIT:
        name = truncate_message(name, _TYPE_NAME_LIMIT)
    return name


def record_cause(
    span: Span,
    budget: SubsegmentBudget,
    exc: BaseException | None,
    type_name: str,
    text: object,
    frames: list[Frame],
    truncated: int,
    remote: bool,
) -> str | None:
    """Add one bounded exception to ``span``'s cause; return the message recorded (``None``: budget spent)."""
    admitted = budget.admit_exception(text, frames)
    if admitted is None:
        return None
    message, kept = admitted
    span.add_exception(exc, type_name, message, kept, truncated + len(frames) - len(kept), remote)
    return message


def details_size(details: dict[str, JSONValue]) -> int:
    """``json_size(details)`` for a flat mapping, summed from its members instead of serialising it again.

    ``json.dumps`` writes ``{"k": v, ...}``: each member costs its key, its value and four bytes
    (``": "`` and ``", "``), the last one's ``", "`` being the two braces.

    Example:
        >>> details = {"label": "throttle", "message": 'é"', "http_status": 429, "ok": True, "n": None}
        >>> details_size(details) == json_size(details), details_size({}) == json_size({})
        (True, True)
    """
    size = 0
    encode = _encode_str
    for key, value in details.items():
        size += len(encode(key)) + 4
        if type(value) is str:
            size += len(encode(value))  # as json_size measures a str
        elif type(value) is int:
            size += len(int.__repr__(value))
        else:
            size += json_size(value)
    return size if details else 2


def record_failure(
    span: Span,
    budget: SubsegmentBudget,
    path: FailurePath,
    classification: Classification,
    exc: BaseException | None,
    reason: str | None,
) -> None:
    """Mark ``span``, add the bounded cause, the ``failure`` metadata and the ``failure_path`` annotation.

    ``exc`` is the exception, or ``None`` with ``reason`` for ``fail()``. Raises what the backend raises
    (the caller turns it into a logged warning).
    """
    if exc is not None:
        stack = bounded_stack(exc)
        frames, truncated, type_name = stack.frames, stack.truncated, exception_type_name(exc)
        text: object = exc
    else:
        frames, truncated, type_name, text = [], 0, path.metric, reason
    span.mark(classification)
    message = record_cause(span, budget, exc, type_name, text, frames, truncated, classification.remote)
    # Built from bounded parts, so it is charged by its exact size instead of being walked again.
    details: dict[str, JSONValue] = {"classification": classification.label, "exception_type": type_name}
    if message is not None:
        details["message"] = message
    if classification.code is not None:
        details["error_code"] = truncate_message(classification.code, 256)
    if classification.status is not None:
        details["http_status"] = classification.status
    if budget.charge_metadata(details_size(details) + 20):  # plus the key "failure" and separators
        span.add_metadata(METADATA_NAMESPACE, "failure", details)
    valid = budget.admit_annotation("failure_path", path.name)
    if valid is not None:
        span.annotate(valid.key, valid.value)
