r"""Pure limits: nothing the library emits can exceed X-Ray's limits.

Every function here takes arbitrary user data, never raises on it, and never
does I/O. Bad data is dropped or replaced with a logged reason; an invalid
*argument* (a negative limit, say) raises ``ValueError`` at once.

Sizes are measured as X-Ray's SDK serialises documents: ``json.dumps`` with
``ensure_ascii=True`` and the default separators, so a non-ASCII character
costs six bytes (``\\uXXXX``) and an astral one twelve.

Example:
    >>> from xray_exclusive.bounded import truncate_message, annotation
    >>> len(truncate_message("x" * 10_000))
    2048
    >>> annotation("user.id", 42)
    Annotation(key='user_id', value=42)
    >>> annotation("ticker", None) is None
    True
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import types
from collections.abc import Mapping
from typing import Any, NamedTuple, TypeAlias

__all__ = [
    "ANNOTATION_BUDGET_BYTES",
    "CAUSE_BUDGET_BYTES",
    "DOCUMENT_LIMIT_BYTES",
    "MAX_ANNOTATIONS",
    "MESSAGE_LIMIT",
    "METADATA_BUDGET_BYTES",
    "NAME_LIMIT",
    "STACK_FRAMES",
    "Annotation",
    "AnnotationValue",
    "BoundedStack",
    "Frame",
    "JSONValue",
    "LazyLogger",
    "SubsegmentBudget",
    "annotation",
    "bounded_metadata",
    "bounded_stack",
    "json_size",
    "truncate_message",
    "working_directory",
]


class LazyLogger:
    """A ``logging`` logger looked up at its first message: importing ``logging`` costs milliseconds.

    Every call goes to ``logging.getLogger(name)`` as it is then, so handlers,
    levels and pytest's ``caplog`` behave as with a plain logger.

    Example:
        >>> LazyLogger("xray_exclusive").name
        'xray_exclusive'
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        import logging

        return getattr(logging.getLogger(self.name), attribute)


_logger = LazyLogger("xray_exclusive.bounded")

MESSAGE_LIMIT = 2048
"""Characters in an exception message or annotation string (X-Ray's limit)."""
STACK_FRAMES = 10
"""Stack frames recorded per exception (the X-Ray SDK's ``max_trace_back``)."""
MAX_ANNOTATIONS = 50
"""Annotations per subsegment."""
NAME_LIMIT = 200
"""Characters in a subsegment name (X-Ray truncates longer ones)."""
DOCUMENT_LIMIT_BYTES = 64 * 1024
"""A segment document larger than this is dropped whole by the SDK's UDP emitter."""
ANNOTATION_BUDGET_BYTES = 16 * 1024
"""Serialised bytes of annotations (keys and values) the library attaches to one subsegment."""
METADATA_BUDGET_BYTES = 16 * 1024
"""Serialised bytes of metadata the library attaches to one subsegment."""
CAUSE_BUDGET_BYTES = 16 * 1024
"""Serialised bytes of recorded exceptions (messages and frames) on one subsegment."""

_KEY_LIMIT = 250
_PATH_LIMIT = 256
_LABEL_LIMIT = 256
_MIN_METADATA_BYTES = 64
_INT_LIMIT = 2**53  # JSON numbers beyond this lose precision in X-Ray's backend

AnnotationValue: TypeAlias = str | int | float | bool
JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

_encode_str = json.encoder.encode_basestring_ascii
_INVALID_KEY_CHARS = re.compile(r"[^A-Za-z0-9_]")


def json_size(value: JSONValue) -> int:
    """Bytes ``value`` takes when the X-Ray SDK serialises it (``json.dumps``, ASCII-escaped).

    Example:
        >>> json_size("é"), json_size({"a": [1, 2]})
        (8, 13)
    """
    if isinstance(value, str):
        return len(_encode_str(value))
    return len(json.dumps(value))


def _safe_str(obj: object) -> str:
    try:
        text = obj if isinstance(obj, str) else str(obj)
    except Exception as exc:  # a user __str__ that raises must not break us
        return f"<unprintable {type(obj).__name__}: {type(exc).__name__}>"
    return str.__str__(text)  # a plain str, even from a str subclass


def _marker(cut: int) -> str:
    return f"…[truncated {cut} chars]"


def truncate_message(text: object, limit: int = MESSAGE_LIMIT, *, max_bytes: int | None = None) -> str:
    """Return ``text`` as a string of at most ``limit`` characters, its start kept and its cut marked.

    The marker ``…[truncated N chars]`` counts inside the limit. With
    ``max_bytes``, the result also serialises to at most that many JSON bytes
    (non-ASCII characters cost more than one byte). Non-strings are converted
    with ``str()``; one whose ``__str__`` raises gives a placeholder.

    Example:
        >>> truncate_message("abcdefghij" * 3, limit=26)
        'abcde…[truncated 25 chars]'

    Limitations:
        With a ``limit`` shorter than the marker, the text is cut without one.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if max_bytes is not None and max_bytes < 2:
        raise ValueError(f"max_bytes must be >= 2 (the quotes), got {max_bytes}")
    s = _safe_str(text)
    if len(s) > limit:
        s = _cut(s, limit)
    if max_bytes is not None and len(_encode_str(s)) > max_bytes:
        s = _fit_bytes(_safe_str(text), s, max_bytes)
    return s


def _cut(text: str, limit: int) -> str:
    """Keep the start of ``text`` so that it and its marker have at most ``limit`` characters."""
    keep = limit - len(_marker(len(text)))  # the longest marker this text can need
    if keep < 0:
        return text[:limit]
    while keep + 1 + len(_marker(len(text) - keep - 1)) <= limit:
        keep += 1
    return text[:keep] + _marker(len(text) - keep)


def _fit_bytes(original: str, current: str, max_bytes: int) -> str:
    lo, hi = 0, len(current)
    best = ""
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = current[:mid]
        if mid < len(original):
            candidate += _marker(len(original) - mid)
        if len(_encode_str(candidate)) <= max_bytes:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    if best or max_bytes >= len(_encode_str(_marker(len(original)))):
        return best
    # Not even the marker fits: a hard cut by bytes.
    lo, hi, best = 0, len(current), ""
    while lo <= hi:
        mid = (lo + hi) // 2
        if len(_encode_str(current[:mid])) <= max_bytes:
            best, lo = current[:mid], mid + 1
        else:
            hi = mid - 1
    return best


# --------------------------------------------------------------------------- stacks


class Frame(NamedTuple):
    """One stack frame as X-Ray records it: ``path``, ``line`` and ``label`` (the function).

    Example:
        >>> Frame("handler.py", 12, "handler")
        Frame(path='handler.py', line=12, label='handler')
    """

    path: str
    line: int
    label: str


class BoundedStack(NamedTuple):
    """At most ``frames`` frames, outermost first, and how many were left out.

    Example:
        >>> bounded_stack(None)
        BoundedStack(frames=[], truncated=0)
    """

    frames: list[Frame]
    truncated: int


def bounded_stack(
    exc_or_tb: BaseException | types.TracebackType | None, frames: int = STACK_FRAMES
) -> BoundedStack:
    """Return at most ``frames`` frames of an exception's traceback, and how many were omitted.

    The frames run outermost first, as Python prints them. When the traceback
    is longer, the outermost frame (where the failure path was entered) and
    the ``frames - 1`` innermost ones (where it was raised) are kept, and
    ``truncated`` counts the rest, which X-Ray shows as its ``truncated`` field.
    Paths are made relative to the working directory (``/var/task`` in Lambda).

    Example:
        >>> try:
        ...     raise ValueError("boom")
        ... except ValueError as exc:
        ...     stack = bounded_stack(exc)
        >>> len(stack.frames), stack.truncated
        (1, 0)
    """
    if frames < 0:
        raise ValueError(f"frames must be >= 0, got {frames}")
    tb = exc_or_tb.__traceback__ if isinstance(exc_or_tb, BaseException) else exc_or_tb
    raw: list[types.TracebackType] = []
    while tb is not None:
        raw.append(tb)
        tb = tb.tb_next
    if len(raw) > frames:
        kept = raw[:1] + raw[len(raw) - (frames - 1) :] if frames > 1 else raw[:frames]
        truncated = len(raw) - len(kept)
    else:
        kept, truncated = raw, 0
    cwd = working_directory() if kept else ""
    return BoundedStack([_frame(t, cwd) for t in kept], truncated)


def working_directory() -> str:
    """The process's working directory, or ``""`` when it was deleted (``os.getcwd()`` raises then).

    Example:
        >>> import os
        >>> working_directory() == os.getcwd()
        True
    """
    try:
        return os.getcwd()
    except OSError:
        return ""


def _frame(tb: types.TracebackType, cwd: str) -> Frame:
    code = tb.tb_frame.f_code
    label = code.co_qualname
    if len(label) > _LABEL_LIMIT:
        label = truncate_message(label, _LABEL_LIMIT)
    return Frame(_frame_path(code.co_filename, cwd), tb.tb_lineno or 0, label)


_paths: dict[tuple[str, str], str] = {}


def _frame_path(filename: str, cwd: str) -> str:
    """``filename`` relative to ``cwd`` when below it, cut to 256 characters (cached)."""
    key = (cwd, filename)
    cached = _paths.get(key)
    if cached is not None:
        return cached
    path = filename
    try:
        rel = os.path.relpath(filename, cwd) if cwd else ".."
        if not rel.startswith(".."):
            path = rel
    except (ValueError, OSError):  # another drive, or the working directory was deleted
        pass
    if len(_paths) >= 1024:
        _paths.clear()
    cached = _paths[key] = truncate_message(path, _PATH_LIMIT)
    return cached


# --------------------------------------------------------------------------- annotations


def _decimal_type() -> type | None:
    """``decimal.Decimal`` if anything imported it; no instance can exist otherwise (keeps import cheap)."""
    module = sys.modules.get("decimal")
    return getattr(module, "Decimal", None)


def _decimal_number(value: object) -> int | float:
    number = float(value)  # type: ignore[arg-type]
    integral = value == value.to_integral_value()  # type: ignore[attr-defined]
    return int(value) if integral else number  # type: ignore[call-overload]


class Annotation(NamedTuple):
    """A validated X-Ray annotation: a key of ``[A-Za-z0-9_]`` and a scalar value.

    Example:
        >>> annotation("count", 3)
        Annotation(key='count', value=3)
    """

    key: str
    value: AnnotationValue


def _shown(key: object) -> object:
    """What a log line shows of a key: a short plain string, or its type (never its own repr)."""
    if isinstance(key, str):
        return str.__str__(key[:64]) + ("…" if len(key) > 64 else "")
    return type(key)


def _drop(key: object, reason: str) -> None:
    _logger.warning("Dropping X-Ray annotation %r: %s.", _shown(key), reason)


def annotation(key: object, value: object) -> Annotation | None:
    """Validate one annotation for X-Ray; return it normalised, or ``None`` with a logged reason.

    * Keys must be non-empty strings. Characters outside ``[A-Za-z0-9_]`` are
      replaced by ``_`` (as the ADOT collector does; the X-Ray SDK would drop
      the annotation silently). Keys are capped at 250 characters.
    * Values: ``str`` (capped at 2,048 characters), ``bool``, ``int``, ``float``.
      ``Decimal`` (what DynamoDB returns) becomes an ``int`` or ``float``; an
      integer beyond 2**53 becomes a string. ``None``, NaN, infinities,
      containers and other objects are dropped.

    Example:
        >>> annotation("unprocessed-count", 3)
        Annotation(key='unprocessed_count', value=3)
        >>> annotation("", "x") is None, annotation("ratio", float("nan")) is None
        (True, True)
    """
    if not isinstance(key, str):
        _drop(key, f"key must be a str, not {type(key).__name__}")
        return None
    if not key:
        _drop(key, "empty key")
        return None
    clean = _INVALID_KEY_CHARS.sub("_", str.__str__(key[:_KEY_LIMIT]))
    if clean != key:
        _logger.warning(
            "X-Ray annotation key %r normalised to %r (only [A-Za-z0-9_] is indexed, %d characters).",
            _shown(key),
            _shown(clean),
            _KEY_LIMIT,
        )
    clean_value = _annotation_value(clean, value)
    return None if clean_value is None else Annotation(clean, clean_value)


def _annotation_value(key: str, value: object) -> AnnotationValue | None:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        number = int(value)
        if -_INT_LIMIT <= number <= _INT_LIMIT:
            return number
        return f"<int of {number.bit_length()} bits>" if number.bit_length() > 256 else str(number)
    decimal = _decimal_type()
    if isinstance(value, float) or (decimal is not None and isinstance(value, decimal)):
        try:
            finite = math.isfinite(value)  # type: ignore[arg-type]
        except ValueError:  # a signalling NaN
            finite = False
        if not finite:
            _drop(key, f"value {value!r} is not a finite number (the SDK would emit invalid JSON)")
            return None
        if not isinstance(value, float):
            return _annotation_value(key, _decimal_number(value))
        return float(value)
    if isinstance(value, str):
        return truncate_message(value, MESSAGE_LIMIT)
    if value is None:
        _drop(key, "value is None")
        return None
    _drop(key, f"unsupported value type {type(value).__name__} (only str, int, float, bool)")
    return None


class SubsegmentBudget:
    """What the library may still attach to one subsegment, so its document stays under 64 KB.

    Annotations: at most 50 and :data:`ANNOTATION_BUDGET_BYTES`; metadata:
    :data:`METADATA_BUDGET_BYTES`; recorded exceptions: :data:`CAUSE_BUDGET_BYTES`.
    Together with the fixed fields of a subsegment this stays far below
    :data:`DOCUMENT_LIMIT_BYTES`, whatever the user data.

    Example:
        >>> budget = SubsegmentBudget()
        >>> budget.admit_annotation("ticker", "AAPL")
        Annotation(key='ticker', value='AAPL')
    """

    __slots__ = ("_annotation_bytes", "_cause_bytes", "_metadata_bytes", "annotations")

    def __init__(self) -> None:
        self.annotations: dict[str, AnnotationValue] = {}
        self._annotation_bytes = 0
        self._metadata_bytes = 0
        self._cause_bytes = 0

    def admit_annotation(self, key: object, value: object) -> Annotation | None:
        """Validate an annotation and count it against the budget; ``None`` (logged) when it does not fit."""
        valid = annotation(key, value)
        if valid is None:
            return None
        size = json_size(valid.key) + json_size(valid.value) + 4  # ': ' and ', '
        previous = self.annotations.get(valid.key)
        if previous is not None:
            size -= json_size(previous) + json_size(valid.key) + 4
        elif len(self.annotations) >= MAX_ANNOTATIONS:
            _drop(valid.key, f"more than {MAX_ANNOTATIONS} annotations on one subsegment")
            return None
        if self._annotation_bytes + size > ANNOTATION_BUDGET_BYTES:
            _drop(valid.key, f"annotations on one subsegment would exceed {ANNOTATION_BUDGET_BYTES} bytes")
            return None
        self._annotation_bytes += size
        self.annotations[valid.key] = valid.value
        return valid

    def charge_metadata(self, size: int) -> bool:
        """Count ``size`` bytes of metadata the caller bounded itself; ``False`` if they do not fit."""
        if self._metadata_bytes + size > METADATA_BUDGET_BYTES:
            _logger.warning(
                "Dropping X-Ray metadata: the subsegment's %d-byte budget is spent.", METADATA_BUDGET_BYTES
            )
            return False
        self._metadata_bytes += size
        return True

    def admit_metadata(self, value: object) -> JSONValue:
        """Return a bounded copy of ``value`` that fits what is left of the metadata budget."""
        left = METADATA_BUDGET_BYTES - self._metadata_bytes
        if left < _MIN_METADATA_BYTES:
            _logger.warning(
                "Dropping X-Ray metadata: the subsegment's %d-byte budget is spent.", METADATA_BUDGET_BYTES
            )
            return None
        bounded = bounded_metadata(value, max_bytes=left)
        self._metadata_bytes += json_size(bounded) + 8  # the key and separators, bounded by the caller
        return bounded

    def admit_exception(self, text: object, frames: list[Frame]) -> tuple[str, list[Frame]] | None:
        """Bound a message and its frames to what is left of the cause budget; ``None`` (logged) when spent.

        Frames are kept before the message's tail: the message is cut first,
        to no less than 256 characters, then frames are dropped from the middle.
        """
        left = CAUSE_BUDGET_BYTES - self._cause_bytes - _EXCEPTION_OVERHEAD
        if left < 64:
            _logger.warning("Not recording another exception: the subsegment's cause budget is spent.")
            return None
        kept = list(frames)
        frame_bytes = sum(_frame_size(f) for f in kept)
        while kept and frame_bytes > left - 256 * 6:
            frame_bytes -= _frame_size(kept.pop(len(kept) // 2))
        message = truncate_message(text, MESSAGE_LIMIT, max_bytes=max(2, left - frame_bytes))
        self._cause_bytes += json_size(message) + frame_bytes + _EXCEPTION_OVERHEAD
        return message, kept


_EXCEPTION_OVERHEAD = 160  # id, type, remote, truncated and the JSON around them


def _frame_size(frame: Frame) -> int:
    return json_size(frame.path) + json_size(frame.label) + len(str(frame.line)) + 40


# --------------------------------------------------------------------------- metadata


class _Walk:
    __slots__ = ("max_depth", "max_items", "max_string", "path")

    def __init__(self, max_depth: int, max_items: int, max_string: int) -> None:
        self.max_depth = max_depth
        self.max_items = max_items
        self.max_string = max_string
        self.path: set[int] = set()

    def value(self, obj: object, depth: int, room: int) -> tuple[JSONValue, int] | None:
        """A bounded copy of ``obj`` and its exact JSON size, or ``None`` if nothing fits ``room``."""
        try:
            result = self._value(obj, depth, room)
        except Exception as exc:  # odd user objects (properties that raise, broken __iter__)
            result = self._text(f"<unrepresentable {type(obj).__name__}: {type(exc).__name__}>", room)
        return result

    def _text(self, text: str, room: int) -> tuple[JSONValue, int] | None:
        if room < 2:
            return None
        s = truncate_message(text, self.max_string, max_bytes=room)
        return s, json_size(s)

    def _scalar(self, value: JSONValue, room: int) -> tuple[JSONValue, int] | None:
        size = json_size(value)
        return (value, size) if size <= room else None

    def _value(self, obj: object, depth: int, room: int) -> tuple[JSONValue, int] | None:
        if obj is None or isinstance(obj, bool):
            return self._scalar(obj, room)
        if isinstance(obj, int):
            if abs(obj) <= _INT_LIMIT:
                return self._scalar(int(obj), room)
            return self._text(f"<int of {obj.bit_length()} bits>", room)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return self._scalar(float(obj), room)
            return self._text(repr(obj), room)
        if isinstance(obj, str):
            return self._text(obj, room)
        if isinstance(obj, bytes | bytearray | memoryview):
            size = obj.nbytes if isinstance(obj, memoryview) else len(obj)
            return self._text(f"<{type(obj).__name__}: {size} bytes>", room)
        decimal = _decimal_type()
        if decimal is not None and isinstance(obj, decimal):
            if obj.is_finite():  # type: ignore[attr-defined]
                return self.value(_decimal_number(obj), depth, room)
            return self._text(str(obj), room)
        enum = sys.modules.get("enum")
        if enum is not None and isinstance(obj, enum.Enum):
            return self.value(obj.value, depth, room)
        datetime = sys.modules.get("datetime")
        if datetime is not None and isinstance(obj, datetime.date | datetime.time):
            return self._text(obj.isoformat(), room)
        if isinstance(obj, BaseException):
            return self.value({"type": type(obj).__name__, "message": _safe_str(obj)}, depth, room)
        if callable(getattr(obj, "read", None)):
            return self._text(f"<file-like {type(obj).__name__}: not read>", room)
        if isinstance(obj, Mapping):
            return self._container(obj, depth, room, mapping=True)
        if isinstance(obj, list | tuple | set | frozenset):
            return self._container(obj, depth, room, mapping=False)
        fields = getattr(type(obj), "__dataclass_fields__", None)
        if isinstance(fields, dict) and not isinstance(obj, type):
            values = {name: getattr(obj, name, None) for name in fields}
            return self._container(values, depth, room, mapping=True, ident=id(obj))
        if hasattr(obj, "__next__") or isinstance(obj, types.GeneratorType | types.AsyncGeneratorType):
            return self._text(f"<iterator {type(obj).__name__}: not consumed>", room)
        return self._text(_safe_repr(obj), room)

    def _container(
        self, obj: object, depth: int, room: int, *, mapping: bool, ident: int | None = None
    ) -> tuple[JSONValue, int] | None:
        key = id(obj) if ident is None else ident
        if key in self.path:
            return self._text(f"<cycle: {type(obj).__name__}>", room)
        if depth >= self.max_depth:
            return self._text(f"<{type(obj).__name__}: deeper than {self.max_depth} levels>", room)
        if room < 2:
            return None
        self.path.add(key)
        try:
            if mapping:
                return self._fill_mapping(obj, depth, room)  # type: ignore[arg-type]
            return self._fill_list(obj, depth, room)  # type: ignore[arg-type]
        finally:
            self.path.discard(key)

    def _fill_list(
        self, items: list[object] | tuple[object, ...] | set[object], depth: int, room: int
    ) -> tuple[JSONValue, int]:
        out: list[JSONValue] = []
        size = 2
        total = len(items)
        for i, item in enumerate(items):
            sep = 2 if out else 0
            if i >= self.max_items:
                break
            child = self.value(item, depth + 1, room - size - sep - _RESERVE)
            if child is None:
                break
            out.append(child[0])
            size += sep + child[1]
        if len(out) < total:
            note = f"…[+{total - len(out)} more items]"
            size += (2 if out else 0) + json_size(note)
            out.append(note)
        return out, size

    def _fill_mapping(self, items: Mapping[object, object], depth: int, room: int) -> tuple[JSONValue, int]:
        out: dict[str, JSONValue] = {}
        size = 2
        total = len(items)
        for i, (k, v) in enumerate(items.items()):
            if i >= self.max_items:
                break
            name = truncate_message(k, _KEY_LIMIT)
            if name in out:  # two keys that print alike (1 and "1")
                name = truncate_message(f"{name}#{i}", _KEY_LIMIT)
            head = (2 if out else 0) + json_size(name) + 2
            child = self.value(v, depth + 1, room - size - head - _RESERVE)
            if child is None:
                break
            out[name] = child[0]
            size += head + child[1]
        if len(out) < total:
            note = f"+{total - len(out)} more keys"
            size += (2 if out else 0) + json_size("…") + 2 + json_size(note)
            out["…"] = note
        return out, size


_RESERVE = 48  # room kept free in every container for its own "…[+N more]" marker


def _safe_repr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception as exc:
        return f"<unprintable {type(obj).__name__}: {type(exc).__name__}>"


def bounded_metadata(
    obj: object,
    *,
    max_depth: int = 8,
    max_items: int = 100,
    max_string: int = 1024,
    max_bytes: int = METADATA_BUDGET_BYTES,
) -> JSONValue:
    """Return a plain-JSON copy of ``obj`` that serialises to at most ``max_bytes`` bytes.

    Made *before* data reaches the X-Ray SDK, whose own serialiser consumes
    generators, turns bytes into lists of integers and dumps objects'
    ``__dict__``. Here:

    * mappings become dicts with string keys, sequences and sets become lists,
      at most ``max_items`` entries each and ``max_depth`` levels deep, with a
      marker saying how many entries were left out;
    * strings are cut to ``max_string`` characters; NaN and infinities become
      strings; ``Decimal`` becomes a number; dates become ISO strings;
      dataclasses become dicts of their fields; exceptions their type and message;
    * bytes and file-like objects are summarised by length or type, never
      read or copied (no response bodies); iterators are never consumed;
    * anything else becomes its ``repr``, cut; cycles are marked.

    Example:
        >>> bounded_metadata({"body": b"x" * 10_000, "items": iter([1, 2])})
        {'body': '<bytes: 10000 bytes>', 'items': '<iterator list_iterator: not consumed>'}
    """
    for name, number, minimum in (
        ("max_depth", max_depth, 1),
        ("max_items", max_items, 1),
        ("max_string", max_string, 16),
        ("max_bytes", max_bytes, _MIN_METADATA_BYTES),
    ):
        if number < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {number}")
    walked = _Walk(max_depth, max_items, max_string).value(obj, 0, max_bytes)
    if walked is None or walked[1] > max_bytes:
        return truncate_message(f"<{type(obj).__name__}: larger than {max_bytes} bytes>", max_bytes=max_bytes)
    return walked[0]
