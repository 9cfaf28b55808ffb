"""Which entity a new subsegment belongs to, read without touching the X-Ray SDK's thread-local stack.

The resolution, for both X-Ray backends:

1. the library's own current subsegment, kept in a :class:`~contextvars.ContextVar`
   (each thread and each asyncio task sees its own; a task starts with what
   was current when it was created);
2. else, when the process has imported the X-Ray SDK, the SDK's current
   entity (a Powertools ``## handler`` subsegment stays the parent), read
   without pushing anything;
3. else the Lambda function's segment from ``_X_AMZN_TRACE_ID``
   (``Root``, ``Parent``, ``Sampled``).

Nothing is recorded (an *inert* parent, ``None``) when tracing is switched off
the way Powertools and the SDK switch it off: ``POWERTOOLS_TRACE_DISABLED``
true, ``AWS_XRAY_SDK_ENABLED`` false (or the SDK disabled in code), outside
Lambda (no ``LAMBDA_TASK_ROOT``, or under SAM or Chalice local), no trace
header (Lambda's INIT phase), or ``Sampled`` other than ``1``.

Example:
    >>> resolve({"LAMBDA_TASK_ROOT": "/var/task", "AWS_XRAY_SDK_ENABLED": "true", "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"})
    Parent(trace_id='1-5759e988-bd862e3fe1be46a994272793', id='53995c3f42cd8ad8', sampled=True)
"""  # noqa: E501

from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from typing import Any, NamedTuple

from .._compat.xray_sdk import current_entity as sdk_current_entity
from .._fastenv import BYTES_ENVIRON
from ..bounded import LazyLogger

__all__ = [
    "CURRENT",
    "Parent",
    "close_leaked",
    "pop",
    "push",
    "resolve",
    "sdk_current_entity",
    "trace_header",
    "tracing_disabled",
]

_logger = LazyLogger("xray_exclusive")

TRACE_HEADER = "_X_AMZN_TRACE_ID"
LAMBDA_TASK_ROOT = "LAMBDA_TASK_ROOT"
POWERTOOLS_TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
AWS_XRAY_SDK_ENABLED = "AWS_XRAY_SDK_ENABLED"
_LOCAL_EMULATORS = ("AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE")  # Powertools disables tracing under both
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})


class Parent(NamedTuple):
    """The entity a subsegment is a child of: its trace, its id, and whether the trace is sampled."""

    trace_id: str
    id: str
    sampled: bool


CURRENT: ContextVar[Any] = ContextVar("xray_exclusive_current_subsegment", default=None)
"""The library's innermost open subsegment (a span with ``trace_id`` and ``id``) in this context."""

_header_cache: tuple[object, Parent | None] = (None, None)


def _lambda_parent(raw: str | None, key: object) -> Parent | None:
    """The function segment named by a trace header, as the SDK's ``LambdaContext`` reads it (cached)."""
    global _header_cache
    cached_key, parent = _header_cache
    if key == cached_key and key is not None:
        return parent
    parent = None
    if raw:
        fields: dict[str, str] = {}
        for part in raw.strip().split(";"):
            name, sep, value = part.partition("=")
            if sep:
                fields[name.strip()] = value.strip()
        root, entity, sampled = fields.get("Root"), fields.get("Parent"), fields.get("Sampled")
        if root and entity and sampled is not None:
            parent = Parent(root, entity, sampled == "1")
    _header_cache = (key, parent)
    return parent


_ENVIRON = BYTES_ENVIRON
_B_TRUE = frozenset(v.encode() for v in _TRUE)
_B_FALSE = frozenset(v.encode() for v in _FALSE)


def _switched_off(
    task_root: object, emulators: tuple[object, ...], disabled: Any, sdk_enabled: Any, true: Any, false: Any
) -> bool:
    if task_root is None or any(emulators):
        return True
    if disabled is not None and disabled.strip().lower() in true:
        return True
    if sdk_enabled is not None:
        return bool(sdk_enabled.strip().lower() in false)
    sdk = sys.modules.get("aws_xray_sdk")
    if sdk is not None:  # the SDK disabled in code (Powertools does it outside Lambda)
        config = getattr(sdk, "global_sdk_config", None)
        try:
            return config is not None and not config.sdk_enabled()
        except Exception:
            return False
    return False


def tracing_disabled(environ: Any = None) -> bool:
    """Whether Powertools or the SDK would record nothing in this process right now.

    Example:
        >>> tracing_disabled({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"})
        True
    """
    data = _ENVIRON if environ is None else None
    if data is not None:
        get = data.get
        return _switched_off(
            get(b"LAMBDA_TASK_ROOT"),
            (get(b"AWS_SAM_LOCAL"), get(b"AWS_CHALICE_CLI_MODE")),
            get(b"POWERTOOLS_TRACE_DISABLED"),
            get(b"AWS_XRAY_SDK_ENABLED"),
            _B_TRUE,
            _B_FALSE,
        )
    env = os.environ if environ is None else environ
    return _switched_off(
        env.get(LAMBDA_TASK_ROOT),
        tuple(env.get(name) for name in _LOCAL_EMULATORS),
        env.get(POWERTOOLS_TRACE_DISABLED),
        env.get(AWS_XRAY_SDK_ENABLED),
        _TRUE,
        _FALSE,
    )


def trace_header(environ: Any = None) -> Parent | None:
    """The Lambda function segment of the current invocation, from ``_X_AMZN_TRACE_ID`` (parsed once)."""
    data = _ENVIRON if environ is None else None
    if data is not None:
        raw = data.get(b"_X_AMZN_TRACE_ID")
        return _lambda_parent(raw.decode("utf-8", "replace") if raw is not None else None, raw)
    env = os.environ if environ is None else environ
    raw_text = env.get(TRACE_HEADER)
    return _lambda_parent(raw_text, raw_text)


def _from_sdk(entity: Any, header: Parent | None) -> Parent | None:
    """``entity`` as a parent, when it belongs to the current invocation (else ``None``: use the header)."""
    trace_id = getattr(entity, "trace_id", None)
    entity_id = getattr(entity, "id", None)
    if not isinstance(trace_id, str) or not isinstance(entity_id, str):
        return None
    if header is not None and trace_id != header.trace_id:
        return None  # left over from an earlier invocation, or a dummy of a disabled SDK
    if getattr(entity, "initializing", False):
        return Parent(trace_id, entity_id, False)  # the SDK discards subsegments of an initialising segment
    return Parent(trace_id, entity_id, bool(getattr(entity, "sampled", False)))


def resolve(environ: Any = None) -> Parent | None:
    """The parent of a subsegment opened now; ``None`` when nothing may be recorded."""
    if tracing_disabled(environ):
        return None
    current = CURRENT.get() if environ is None else None
    if current is not None:
        return Parent(current.trace_id, current.id, True)
    header = trace_header(environ)
    if environ is None and "aws_xray_sdk.core" in sys.modules:
        entity = sdk_current_entity()
        if entity is not None:
            parent = _from_sdk(entity, header)
            if parent is not None:
                return parent if parent.sampled else None
    if header is None or not header.sampled:
        return None
    return header


def push(span: Any) -> None:
    """Make ``span`` the current subsegment of this context; ``span.outer`` keeps the one it replaces."""
    span.outer = CURRENT.get()
    CURRENT.set(span)


def pop(span: Any) -> list[Any]:
    """Make ``span``'s outer subsegment current again; return the spans left open inside it, innermost first.

    A span that is not on this context's stack (closed from another thread or
    task than the one that opened it) leaves the stack as it is.
    """
    top = CURRENT.get()
    if top is span:
        CURRENT.set(span.outer)
        return []
    leaked = []
    node = top
    while node is not None and node is not span:
        leaked.append(node)
        node = getattr(node, "outer", None)
    if node is None:
        return []
    CURRENT.set(span.outer)
    return leaked


def close_leaked(span: Any) -> None:
    """End the subsegments left open inside ``span`` (innermost first), with a warning, then ``span``."""
    for leaked in pop(span):
        _logger.warning(
            "Subsegment %r was left open inside %r; ending it too.",
            getattr(leaked, "name", "?"),
            getattr(span, "name", "?"),
        )
        finish = getattr(leaked, "finish", None)
        if finish is not None:
            finish()
    span.finish()
