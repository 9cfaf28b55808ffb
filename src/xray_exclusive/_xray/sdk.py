"""The X-Ray SDK backend: the SDK's own ``Subsegment`` models, kept off the SDK's thread-local stack.

Chosen with ``XRAY_EXCLUSIVE_BACKEND=xray-sdk`` (or ``backend="xray-sdk"``), for
a process that configured the X-Ray recorder in code (its emitter and daemon
address are then used); the default is the native backend. Each failure path builds an SDK ``Subsegment``
against the parent current in *this* thread or task (:mod:`._parent`: the
library's own open subsegment first, then the SDK's current entity such as
Powertools' ``## handler``, then the function segment), closes it and sends it
through the recorder's emitter. It never calls ``begin_subsegment`` or
``end_subsegment``: the SDK keeps one entity stack per thread, which
concurrent asyncio tasks would interleave (aws-xray-sdk-python #164).

The hot path goes through :mod:`.._compat.xray_sdk`: the ``Subsegment`` is built field by
field (a pooled id, no ``os.urandom``), annotations and metadata the library validated go
straight into its dicts, and the SDK's own ``UDPEmitter`` is handed the text ``serialize()``
would write (one C JSON encoder made once, no ``to_dict()`` walk): the same datagram, cheaper.
Any other emitter gets the model through its ``send_entity``.

The trade-off, as for the native backend: a call the SDK patches (boto3,
requests) made inside a failure path is the SDK's child of *its* current
entity (the handler), not of the failure path's subsegment.

Example:
    >>> from xray_exclusive import failure_path
    >>> with failure_path("doc_sdk", namespace="Doc/Examples", backend="xray-sdk"):
    ...     pass  # outside Lambda: inert, nothing is sent
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._backend import INERT, Span
from .._compat.xray_sdk import (
    new_subsegment,
    put_annotation,
    put_metadata,
    record_exception,
    send_subsegment,
)
from .._http_block import http_fields
from ..bounded import AnnotationValue, Frame, JSONValue, working_directory
from ._parent import close_leaked, push, resolve
from .native import _new_id

if TYPE_CHECKING:
    from .._classification import Classification

__all__ = ["XRaySdkBackend"]


class _Root:
    """What an SDK ``Subsegment`` needs of its segment: the trace id (its counters are never touched)."""

    __slots__ = ("trace_id",)

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id


class _Close:
    """``Entity.close``, read on the first close (the SDK is imported by then), not at each one."""

    method: Any = None


def _entity_close(entity: Any) -> None:
    close = _Close.method
    if close is None:
        from aws_xray_sdk.core.models.entity import Entity

        close = _Close.method = Entity.close
    close(entity)


class _SdkSpan:
    __slots__ = ("closed", "entity", "id", "name", "outer", "recorder", "trace_id")

    recording = True

    def __init__(self, entity: Any, recorder: Any) -> None:
        self.entity = entity
        self.recorder = recorder
        self.id: str = entity.id
        self.trace_id: str = entity.trace_id
        self.name: str = entity.name
        self.closed = False
        self.outer: Any = None

    def annotate(self, key: str, value: AnnotationValue) -> None:
        put_annotation(self.entity, key, value)  # validated by the budget: what put_annotation checks

    def add_metadata(self, namespace: str, key: str, value: JSONValue) -> None:
        put_metadata(self.entity, namespace, key, value)

    def mark(self, classification: Classification) -> None:
        entity = self.entity
        if classification.fault:
            entity.add_fault_flag()
        if classification.error:
            entity.add_error_flag()
        if classification.throttle:
            entity.add_throttle_flag()

    def add_exception(
        self,
        exception: BaseException | None,
        type_name: str,
        message: str,
        frames: Sequence[Frame],
        truncated: int,
        remote: bool,
    ) -> None:
        stack = [{"path": f.path, "line": f.line, "label": f.label} for f in frames]
        # The SDK's Throwable, without touching the caller's exception object.
        record_exception(
            self.entity, _new_id(), type_name, message, stack, truncated, remote, working_directory()
        )

    def set_http(self, method: str | None = None, url: str | None = None, status: int | None = None) -> None:
        entity = self.entity
        for field in http_fields(method, url, status):
            entity.put_http_meta(field.key, field.value)  # the SDK files it; from a status, sets status_flags

    def finish(self) -> None:
        """Close the model and send it through the recorder's emitter (once)."""
        if self.closed:
            return
        entity = self.entity
        if entity.in_progress:
            _entity_close(entity)  # not Subsegment.close: the segment's reference count was never raised
        send_subsegment(self.recorder.emitter, entity)  # what emitter.send_entity(entity) sends, faster
        self.closed = True  # after sending: interrupted (RecursionError), the retry sends it again


class XRaySdkBackend:
    """Subsegments as X-Ray SDK ``Subsegment`` models, sent through the recorder's emitter.

    Keeps the SDK's parentage (a Powertools ``## handler`` subsegment is the
    parent) and is correct under asyncio: nothing is pushed onto the SDK's
    thread-local stack. ``recorder`` defaults to ``aws_xray_sdk.core.xray_recorder``,
    imported on first use.

    Example:
        >>> backend = XRaySdkBackend()
        >>> span = backend.open("circuit_breaker_load")  # outside Lambda: inert
        >>> backend.close(span)
    """

    def __init__(self, recorder: Any = None) -> None:
        self._recorder = recorder
        self._lock = threading.Lock()

    @property
    def recorder(self) -> Any:
        """The X-Ray recorder whose emitter sends the subsegments (the SDK's global one by default)."""
        recorder = self._recorder
        if recorder is None:
            with self._lock:
                if self._recorder is None:
                    from aws_xray_sdk.core import xray_recorder

                    self._recorder = xray_recorder
                recorder = self._recorder
        return recorder

    def open(self, name: str, remote: bool = False) -> Span:
        """Begin a subsegment (namespace ``remote`` if ``remote``) as a child of the current parent."""
        recorder = self.recorder  # imports the SDK before the parent is read from it
        parent = resolve()
        if parent is None:
            return INERT
        entity = new_subsegment(
            name, "remote" if remote else "local", _Root(parent.trace_id), parent.id, _new_id()
        )
        span = _SdkSpan(entity, recorder)
        push(span)
        return span

    def close(self, span: Span) -> None:
        """End ``span``, and any subsegment of the library left open inside it, and send it."""
        if isinstance(span, _SdkSpan) and not span.closed:
            close_leaked(span)
