"""The AWS X-Ray SDK: its patched-module set, its recorder's thread-local entity stack, ``Throwable``.

Nothing is imported from the SDK at module import: the readers look in ``sys.modules``
(an SDK the process has not imported has no entity and patched nothing), and
:func:`record_exception` imports ``Throwable`` when it runs (the SDK backend has loaded it).

Example:
    >>> requests_patched() in (True, False)
    True
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from . import fell_back

__all__ = ["current_entity", "record_exception", "requests_patched", "thread_entities"]


def requests_patched() -> bool:
    """Whether the X-Ray SDK has patched ``requests``.

    As ``patch(["requests"])``, ``patch_all()`` and a Powertools ``Tracer(auto_patch=True)`` do.

    Private: ``aws_xray_sdk.core.patcher._PATCHED_MODULES``, a ``set`` of module names
    (X-Ray SDK 2.14.0 and 2.15.0). Fallback: ``False``, with one warning, when the patcher is
    loaded but the set is gone: the guard against exporting OTLP through a patched
    ``requests`` stops, nothing else.

    Example:
        >>> requests_patched()
        False
    """
    patcher = sys.modules.get("aws_xray_sdk.core.patcher")
    if patcher is None:
        return False
    patched = getattr(patcher, "_PATCHED_MODULES", None)
    if isinstance(patched, set):
        return "requests" in patched
    fell_back(
        "aws_xray_sdk.core.patcher._PATCHED_MODULES",
        "a `requests` patched by the X-Ray SDK is not detected before streaming exports through it",
    )
    return False


def _thread_local() -> Any:
    """The recorder context's ``_local`` (``threading.local``, or the async context's task storage)."""
    core = sys.modules.get("aws_xray_sdk.core")
    if core is None:
        return None
    context = getattr(getattr(core, "xray_recorder", None), "context", None)
    local = getattr(context, "_local", None)
    if local is None and context is not None:
        fell_back(
            "the X-Ray SDK recorder context's _local",
            "the SDK's current entity is read through get_trace_entity(), the trace id from the environment",
        )
    return local


def thread_entities() -> list[Any] | None:
    """The X-Ray SDK's open entities on this thread or task, innermost last; ``None`` without any.

    Read without the SDK's ``get_trace_entity()``, which logs an error (or raises, by the
    ``context_missing`` strategy) when none is open: this runs on every log record.

    Private: ``xray_recorder._context._local.entities`` (``Context``, ``AsyncContext`` and
    Lambda's ``LambdaContext``; X-Ray SDK 2.14.0 and 2.15.0). Fallback: ``None``, with one
    warning: no trace id from the SDK's stack; callers use the environment's trace header.

    Example:
        >>> thread_entities() is None or isinstance(thread_entities(), list)
        True
    """
    core = sys.modules.get("aws_xray_sdk.core")  # inlined _thread_local(): this runs on every log record
    if core is None:
        return None
    context = getattr(getattr(core, "xray_recorder", None), "_context", None)
    local = getattr(context, "_local", None)
    if local is None:
        if context is not None:
            _thread_local()  # the warning
        return None
    entities = getattr(local, "entities", None)
    return entities if entities.__class__ is list else None


def current_entity() -> Any:
    """The X-Ray SDK's current entity on this thread, if the SDK is imported and has one; never pushes.

    Reads the context's thread-local stack directly (the public ``get_trace_entity()``
    re-parses the trace header and, with no entity, logs or raises by the
    ``context_missing`` strategy).

    Private: ``xray_recorder.context._local.entities``, and ``_local.segment`` where Lambda's
    ``LambdaContext`` keeps the function's facade segment (X-Ray SDK 2.14.0 and 2.15.0).
    Fallback: the public ``context.get_trace_entity()``, with one warning (``None`` when it
    raises).

    Example:
        >>> current_entity() is None  # no SDK entity open here
        True
    """
    local = _thread_local()
    if local is None:
        core = sys.modules.get("aws_xray_sdk.core")
        context = getattr(getattr(core, "xray_recorder", None), "context", None)
        try:
            return context.get_trace_entity() if context is not None else None
        except Exception:  # the RUNTIME_ERROR context_missing strategy: no entity
            return None
    entities = getattr(local, "entities", None)
    if entities:
        return entities[-1]
    return getattr(local, "segment", None)


def record_exception(
    entity: Any,
    exception_id: str,
    type_name: str,
    message: str,
    stack: Sequence[dict[str, Any]],
    truncated: int,
    remote: bool,
    working_directory: str,
) -> None:
    """Add one exception to ``entity``'s ``cause`` as the SDK's own ``Throwable``, the exception untouched.

    ``Throwable(exception, ...)`` sets ``_recorded`` and ``_cause_id`` on the exception,
    which a frozen dataclass refuses, and the caller's exception is not ours to change; so
    the ``Throwable`` is made with ``__new__`` and its fields (those ``to_dict()`` writes)
    set by hand, in its order.

    Private: ``Throwable.__new__`` without ``__init__``, its fields ``id``, ``message``,
    ``type``, ``remote``, ``stack`` (and ``truncated``); ``entity.cause`` as a dict with
    ``exceptions`` (a list of ``Throwable``) and ``working_directory``, which
    ``Entity.to_dict()`` serialises (X-Ray SDK 2.14.0 and 2.15.0). Fallback: nothing is added
    to the cause, with one warning; the entity keeps its error, fault and throttle marks.

    Example:
        >>> from aws_xray_sdk.core.models.segment import Segment
        >>> segment = Segment("doc")
        >>> record_exception(segment, "0123456789abcdef", "ValueError", "bad", [], 0, False, "/")
        >>> segment.to_dict()["cause"]["exceptions"]
        [{'id': '0123456789abcdef', 'message': 'bad', 'type': 'ValueError', 'remote': False}]
    """
    try:
        from aws_xray_sdk.core.models.throwable import Throwable

        throwable = Throwable.__new__(Throwable)
        throwable.id = exception_id
        throwable.message = message
        throwable.type = type_name
        throwable.remote = remote
        throwable.stack = list(stack)
        if truncated:
            throwable.truncated = truncated
        if not isinstance(entity.cause, dict):
            entity.cause = {}
        entity.cause.setdefault("exceptions", []).append(throwable)
        entity.cause["working_directory"] = working_directory
    except Exception:
        fell_back(
            "the X-Ray SDK's Throwable and Entity.cause",
            "exceptions are not written into the subsegment's cause (its error and fault marks are)",
        )
