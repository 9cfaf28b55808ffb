"""The AWS X-Ray SDK: its patched-module set, its recorder's thread-local entity stack, its models.

``Throwable`` built without its ``__init__``; and the SDK backend's hot path: a ``Subsegment``
built without its ``__init__``, filled without ``put_annotation``'s checks, serialised without
``to_dict()``'s generic walks and sent through the ``UDPEmitter``'s ``_send_data``.

Nothing is imported from the SDK at module import: the readers look in ``sys.modules``
(an SDK the process has not imported has no entity and patched nothing), and
:func:`record_exception` and :func:`new_subsegment` import what they need when they run (the
SDK backend has loaded it).

Example:
    >>> requests_patched() in (True, False)
    True
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from . import fell_back

__all__ = [
    "current_entity",
    "new_subsegment",
    "put_annotation",
    "put_metadata",
    "record_exception",
    "requests_patched",
    "send_subsegment",
    "serialize_subsegment",
    "thread_entities",
]


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
        module = sys.modules.get("aws_xray_sdk.core.models.throwable")
        if module is None:
            from aws_xray_sdk.core.models import throwable as throwable_module

            module = throwable_module
        cls = module.Throwable  # read each time, not kept: the module's own attribute
        throwable = cls.__new__(cls)
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


# --- the SDK backend's hot path: a Subsegment built, filled and sent without the SDK's generic walks ---

_EMITTER_MODULE = "aws_xray_sdk.core.emitters.udp_emitter"
_DEBUG = 10  # logging.DEBUG: the UDPEmitter logs each datagram at this level, so then it sends them itself
_INVALID_NAME = frozenset("?;*()!$~^<>")  # entity.py's _common_invalid_name_characters: the SDK strips them
_NOT_WRITTEN = frozenset({"sampled", "_origin_trace_header", "parent_segment"})  # what to_dict() leaves out

_SUBSEGMENT_FIELDS = (
    "id",
    "name",
    "start_time",
    "parent_id",
    "sampled",
    "in_progress",
    "http",
    "annotations",
    "metadata",
    "aws",
    "cause",
    "subsegments",
    "parent_segment",
    "trace_id",
    "type",
    "namespace",
    "sql",
)
"""The instance fields ``Subsegment(name, namespace, segment)`` sets, in its order (``to_dict()``'s order)."""


class _ProbeRoot:
    trace_id = "1-00000000-000000000000000000000000"


class _Models:
    """The SDK's ``Subsegment``, and whether its first use found it can be built field by field."""

    __slots__ = ("checked", "fast", "subsegment")

    def __init__(self) -> None:
        self.checked = False
        self.fast = False
        self.subsegment: Any = None


_models = _Models()


def _check_models() -> _Models:
    """Read ``Subsegment`` once, and check that its constructor sets exactly :data:`_SUBSEGMENT_FIELDS`."""
    from aws_xray_sdk.core.models.subsegment import Subsegment

    models = _models
    try:
        fast = tuple(vars(Subsegment("probe", "local", _ProbeRoot()))) == _SUBSEGMENT_FIELDS
    except Exception:
        fast = False
    if not fast:
        fell_back(
            "the X-Ray SDK's Subsegment fields",
            "subsegments are built by the SDK's own constructor (slower, the same document)",
        )
    models.subsegment, models.fast, models.checked = Subsegment, fast, True
    return models


def new_subsegment(name: str, namespace: str, segment: Any, parent_id: str, entity_id: str) -> Any:
    """An SDK ``Subsegment`` as ``Subsegment(name, namespace, segment)`` builds it, with our id and parent.

    ``Entity.__init__`` draws its id from ``os.urandom`` (a system call) and filters the name
    character by character; here the id is the caller's (pooled) and a name with none of the
    characters the SDK strips is taken as it is (any other name goes through the constructor,
    which strips them and warns). The fields are set in the constructor's order, so
    ``to_dict()`` writes the same keys in the same order.

    Private: ``Subsegment.__new__`` without ``__init__``, and the instance fields
    ``Entity.__init__`` and ``Subsegment.__init__`` set (:data:`_SUBSEGMENT_FIELDS`; X-Ray SDK
    2.14.0 and 2.15.0), checked once against a real instance. Fallback: the public constructor
    (its id then replaced by ``entity_id``), with one warning: slower, the same document.

    Example:
        >>> class Root:
        ...     trace_id = "1-5759e988-bd862e3fe1be46a994272793"
        >>> sub = new_subsegment("load", "local", Root(), "53995c3f42cd8ad8", "0123456789abcdef")
        >>> sub.id, sub.parent_id, sub.in_progress, type(sub).__name__
        ('0123456789abcdef', '53995c3f42cd8ad8', True, 'Subsegment')
    """
    models = _models if _models.checked else _check_models()
    cls = models.subsegment
    if not models.fast or not _INVALID_NAME.isdisjoint(name):
        sub = cls(name, namespace, segment)
        sub.id = entity_id
        sub.parent_id = parent_id
        return sub
    sub = cls.__new__(cls)
    sub.id = entity_id
    sub.name = name
    sub.start_time = time.time()
    sub.parent_id = parent_id
    sub.sampled = True
    sub.in_progress = True
    sub.http = {}
    sub.annotations = {}
    sub.metadata = {}
    sub.aws = {}
    sub.cause = {}
    sub.subsegments = []
    sub.parent_segment = segment
    sub.trace_id = segment.trace_id
    sub.type = "subsegment"
    sub.namespace = namespace
    sub.sql = {}
    return sub


def put_annotation(entity: Any, key: str, value: str | int | float | bool) -> None:
    """``entity.put_annotation(key, value)`` for an annotation the library validated (key ``[A-Za-z0-9_]+``).

    The SDK checks the key character by character and the value's type, which the library's
    budget has done already; an ended entity still goes to ``put_annotation`` (which raises).

    Private: ``Entity.annotations``, the dict ``put_annotation`` fills and ``to_dict()`` writes
    (X-Ray SDK 2.14.0 and 2.15.0). Fallback: ``put_annotation`` itself when the entity has no
    such dict (no warning: the same result, slower).

    Example:
        >>> from aws_xray_sdk.core.models.segment import Segment
        >>> segment = Segment("doc")
        >>> put_annotation(segment, "ticker", "AAPL")
        >>> segment.annotations
        {'ticker': 'AAPL'}
    """
    annotations = entity.__dict__.get("annotations")
    if annotations.__class__ is dict and entity.in_progress:
        annotations[key] = value
    else:
        entity.put_annotation(key, value)


def put_metadata(entity: Any, namespace: str, key: str, value: Any) -> None:
    """``entity.put_metadata(key, value, namespace)``, without its checks for a namespace of the library's.

    Private: ``Entity.metadata``, the dict of namespaces ``put_metadata`` fills and ``to_dict()``
    writes (X-Ray SDK 2.14.0 and 2.15.0). Fallback: ``put_metadata`` itself when the entity has
    no such dict, has ended or the namespace is reserved (no warning: the same result).

    Example:
        >>> from aws_xray_sdk.core.models.segment import Segment
        >>> segment = Segment("doc")
        >>> put_metadata(segment, "xray_exclusive", "event", {"id": 42})
        >>> segment.metadata
        {'xray_exclusive': {'event': {'id': 42}}}
    """
    metadata = entity.__dict__.get("metadata")
    if metadata.__class__ is dict and entity.in_progress and not namespace.startswith("AWS."):
        section = metadata.get(namespace)
        if section:
            section[key] = value
        else:
            metadata[namespace] = {key: value}
    else:
        entity.put_metadata(key, value, namespace)


class _Emitter:
    """The SDK's ``UDPEmitter`` class, its protocol header, its logger and a JSON encoder, read once."""

    __slots__ = ("cls", "encode", "header", "logger", "ready")

    def __init__(self) -> None:
        self.ready = False
        self.cls: Any = None
        self.header = ""
        self.logger: Any = None
        self.encode: Any = None


_emitter = _Emitter()


def _load_emitter() -> _Emitter:
    import logging

    from .cpython import json_encoder

    state = _emitter
    try:
        from aws_xray_sdk.core.emitters import udp_emitter
    except Exception:  # pragma: no cover - the SDK backend has imported it
        udp_emitter = None
    cls = getattr(udp_emitter, "UDPEmitter", None)
    header = getattr(udp_emitter, "PROTOCOL_HEADER", None)
    delimiter = getattr(udp_emitter, "PROTOCOL_DELIMITER", None)
    if isinstance(header, str) and isinstance(delimiter, str) and callable(getattr(cls, "_send_data", None)):
        state.cls, state.header = cls, header + delimiter
    else:
        fell_back(
            "the X-Ray SDK's UDPEmitter._send_data and PROTOCOL_HEADER",
            "each subsegment is serialised and sent by the emitter's send_entity (slower, the same datagram)",
        )
    state.logger = logging.getLogger(_EMITTER_MODULE)
    state.encode = json_encoder()  # json.dumps(document, default=str), as Entity.serialize() calls it
    state.ready = True
    return state


def serialize_subsegment(entity: Any) -> str | None:
    """``entity.serialize()``'s text, for a ``Subsegment`` whose metadata is plain JSON; else ``None``.

    ``Entity.to_dict()`` walks every metadata value through ``metadata_to_dict`` (which gives
    plain JSON back unchanged: dicts, lists, strings, numbers, booleans, ``None``) and every
    ``Throwable`` through its own ``to_dict()``; this writes the same dict directly: the fields
    of ``vars(entity)`` that are ``False`` or truthy (``isinstance(value, bool) or value``), in
    their order, but ``sampled``, ``parent_segment`` and the saved trace header; the ``cause``
    as ``working_directory``, then ``exceptions``. The caller vouches that the metadata is plain
    JSON (the library's bounded copies); an entity of another class, or with child
    subsegments, gives ``None``.

    Private: the rules of ``Entity.to_dict()``, ``Subsegment.to_dict()`` and
    ``Throwable.to_dict()`` (X-Ray SDK 2.14.0 and 2.15.0; ``tests/test_compat.py`` compares the
    text with ``serialize()``'s). Fallback: a ``None`` sends through ``serialize()``.

    Example:
        >>> class Root:
        ...     trace_id = "1-5759e988-bd862e3fe1be46a994272793"
        >>> sub = new_subsegment("load", "local", Root(), "53995c3f42cd8ad8", "0123456789abcdef")
        >>> sub.put_annotation("ticker", "AAPL")
        >>> serialize_subsegment(sub) == sub.serialize()
        True
    """
    state = _emitter if _emitter.ready else _load_emitter()
    models = _models if _models.checked else _check_models()
    if entity.__class__ is not models.subsegment:
        return None
    skip = _NOT_WRITTEN
    doc = {key: value for key, value in vars(entity).items() if (value or value is False) and key not in skip}
    if "subsegments" in doc:
        return None
    cause = doc.get("cause")
    if cause.__class__ is dict:  # replaced in place: the key keeps its position
        doc["cause"] = {
            "working_directory": cause["working_directory"],
            "exceptions": [
                {key: value for key, value in vars(throwable).items() if value or value is False}
                for throwable in cause["exceptions"]
            ],
        }
    return str(state.encode(doc))


def send_subsegment(emitter: Any, entity: Any) -> None:
    """Send ``entity`` through ``emitter``: the datagram ``emitter.send_entity(entity)`` sends.

    To the SDK's own ``UDPEmitter`` (that very class, its debug logging off), the document
    :func:`serialize_subsegment` writes goes through the emitter's ``_send_data``: the
    emitter's socket, the emitter's address. Any other emitter (a subclass, a custom one), a
    debug-logging one, an entity it cannot write and a failed send go to
    ``emitter.send_entity(entity)``, which logs a failure as the SDK does. The caller vouches
    that the entity's metadata is plain JSON (see :func:`serialize_subsegment`).

    Private: ``UDPEmitter._send_data(message)``, ``udp_emitter.PROTOCOL_HEADER`` and
    ``PROTOCOL_DELIMITER`` (X-Ray SDK 2.14.0 and 2.15.0). Fallback: ``emitter.send_entity``
    for every entity, with one warning: slower, the same datagram.

    Example:
        >>> class Recording:
        ...     def send_entity(self, entity):
        ...         print("sent", entity.name)
        >>> class Root:
        ...     trace_id = "1-5759e988-bd862e3fe1be46a994272793"
        >>> sub = new_subsegment("load", "local", Root(), "53995c3f42cd8ad8", "0123456789abcdef")
        >>> send_subsegment(Recording(), sub)
        sent load
    """
    state = _emitter if _emitter.ready else _load_emitter()
    if emitter.__class__ is state.cls and state.cls is not None and not state.logger.isEnabledFor(_DEBUG):
        try:
            text = serialize_subsegment(entity)
            if text is not None:
                emitter._send_data(state.header + text)
                return
        except Exception:  # the SDK's own path logs it as it does (and tries once more)
            pass
    emitter.send_entity(entity)
