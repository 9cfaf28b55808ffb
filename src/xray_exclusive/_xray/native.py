"""The native X-Ray backend: subsegments as segment documents sent straight to the daemon, no SDK.

Each subsegment is one UDP datagram (:mod:`._daemon`) sent when it closes,
holding exactly the fields the X-Ray SDK's ``Subsegment.serialize()`` writes
for the same calls (``tests/test_backend_differential.py`` compares the two
byte for byte, ids and times aside): ``id``, ``name``, ``start_time``,
``parent_id``, ``in_progress: false``, ``http``, ``annotations``,
``metadata``, ``cause`` (``working_directory`` and ``exceptions``),
``trace_id``, ``type: "subsegment"``, ``namespace``, the ``fault``/``error``/
``throttle`` flags and ``end_time``; empty sections are left out as the SDK
leaves them out. Serialised as the SDK does (``json.dumps(document, default=str)``'s
text, ASCII-escaped, from the C encoder ``_compat/cpython.py``'s ``json_encoder`` makes once),
so the library's 64 KB budgets hold for both.

Parentage is context-local (:mod:`._parent`): correct for threads and asyncio
tasks, and never pushed onto the SDK's thread-local stack.

Example:
    >>> from xray_exclusive import failure_path
    >>> with failure_path("doc_native", namespace="Doc/Examples", backend="native"):
    ...     pass  # outside Lambda: inert, nothing is sent
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._backend import INERT, Span
from .._compat.cpython import json_encoder
from .._http_block import http_fields, status_flags
from ..bounded import AnnotationValue, Frame, JSONValue, working_directory
from . import _daemon
from ._parent import Parent, close_leaked, push, resolve

if TYPE_CHECKING:
    from .._classification import Classification

__all__ = ["NativeBackend"]

_encode = json_encoder()  # json.dumps(document, default=str), its encoder made once
_ID_POOL = 512  # bytes of randomness drawn at once: os.urandom costs a system call (~5 µs) per call


class _Pool:
    __slots__ = ("data", "offset")

    def __init__(self) -> None:
        self.data = b""
        self.offset = 0


_pool = _Pool()


def _new_id() -> str:
    """A random 16-hex-digit id, as the SDK's ``os.urandom(8)`` makes them (drawn from a pooled read)."""
    pool = _pool
    offset = pool.offset
    if offset + 8 > len(pool.data):
        pool.data, offset = os.urandom(_ID_POOL), 0
    pool.offset = offset + 8
    return pool.data[offset : offset + 8].hex()


def _forget_pool() -> None:
    _pool.data, _pool.offset = b"", 0


os.register_at_fork(after_in_child=_forget_pool)  # a forked child never reuses its parent's ids


class _NativeSpan:
    """One open subsegment: its document's sections, filled as the failure path runs."""

    __slots__ = (
        "annotations",
        "cause",
        "closed",
        "flags",
        "http",
        "id",
        "metadata",
        "name",
        "namespace",
        "outer",
        "parent_id",
        "start_time",
        "trace_id",
    )

    recording = True

    def __init__(self, name: str, namespace: str, parent: Parent) -> None:
        self.id = _new_id()
        self.name = name
        self.start_time = time.time()
        self.parent_id = parent.id
        self.trace_id = parent.trace_id
        self.namespace = namespace
        self.http: dict[str, dict[str, Any]] = {}
        self.annotations: dict[str, AnnotationValue] = {}
        self.metadata: dict[str, dict[str, JSONValue]] = {}
        self.cause: dict[str, Any] = {}
        self.flags: dict[str, bool] = {}
        self.closed = False
        self.outer: Any = None

    def annotate(self, key: str, value: AnnotationValue) -> None:
        self.annotations[key] = value

    def add_metadata(self, namespace: str, key: str, value: JSONValue) -> None:
        section = self.metadata.get(namespace)
        if section is None:
            section = self.metadata[namespace] = {}
        section[key] = value

    def mark(self, classification: Classification) -> None:
        flags = self.flags
        if classification.fault:
            flags["fault"] = True
        if classification.error:
            flags["error"] = True
        if classification.throttle:
            flags["throttle"] = True

    def add_exception(
        self,
        exception: BaseException | None,
        type_name: str,
        message: str,
        frames: Sequence[Frame],
        truncated: int,
        remote: bool,
    ) -> None:
        # What the SDK's Throwable.to_dict() keeps: non-empty values, and the boolean `remote`.
        throwable: dict[str, Any] = {"id": _new_id()}
        if message:
            throwable["message"] = message
        if type_name:
            throwable["type"] = type_name
        throwable["remote"] = remote
        if frames:
            throwable["stack"] = [{"path": f.path, "line": f.line, "label": f.label} for f in frames]
        if truncated:
            throwable["truncated"] = truncated
        cause = self.cause
        cause["working_directory"] = working_directory()
        exceptions = cause.get("exceptions")
        if exceptions is None:
            exceptions = cause["exceptions"] = []
        exceptions.append(throwable)

    def set_http(self, method: str | None = None, url: str | None = None, status: int | None = None) -> None:
        if status is not None:
            for flag in status_flags(status):  # in the SDK's order: the document's key order follows
                self.flags[flag] = True
        for field in http_fields(method, url, status):
            self.http.setdefault(field.section, {})[field.key] = field.value

    def document(self, end_time: float) -> dict[str, Any]:
        """The segment document, keys in the order the SDK writes them."""
        doc: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "start_time": self.start_time,
            "parent_id": self.parent_id,
            "in_progress": False,
        }
        if self.http:
            doc["http"] = self.http
        if self.annotations:
            doc["annotations"] = self.annotations
        if self.metadata:
            doc["metadata"] = self.metadata
        if self.cause:
            cause = self.cause
            doc["cause"] = {
                "working_directory": cause["working_directory"],
                "exceptions": cause["exceptions"],
            }
        doc["trace_id"] = self.trace_id
        doc["type"] = "subsegment"
        doc["namespace"] = self.namespace
        doc.update(self.flags)
        doc["end_time"] = end_time
        return doc

    def finish(self) -> None:
        """Close and send (once)."""
        if self.closed:
            return
        _daemon.send(_encode(self.document(time.time())))
        self.closed = True  # after sending: interrupted (RecursionError), the retry sends it again


class NativeBackend:
    """Subsegments written straight to the X-Ray daemon over UDP; no X-Ray SDK on the path.

    The default while the process has not imported the X-Ray SDK; forced with
    ``XRAY_EXCLUSIVE_BACKEND=native`` or ``failure_path(..., backend="native")``.

    Example:
        >>> backend = NativeBackend()
        >>> span = backend.open("circuit_breaker_load")  # outside Lambda: inert
        >>> span.recording
        False
        >>> backend.close(span)
    """

    __slots__ = ()

    def open(self, name: str, remote: bool = False) -> Span:
        """Begin a subsegment (namespace ``remote`` if ``remote``), child of the current parent."""
        parent = resolve()
        if parent is None:
            return INERT
        span = _NativeSpan(name, "remote" if remote else "local", parent)
        push(span)
        return span

    def close(self, span: Span) -> None:
        """End ``span``, and any subsegment of the library left open inside it, and send it."""
        if isinstance(span, _NativeSpan) and not span.closed:
            close_leaked(span)
