"""``X-Amzn-Trace-Id``: parse, format, sanitise and forward, safely.

The header arrives from clients, proxies and the Lambda runtime
(``_X_AMZN_TRACE_ID``), so it is attacker-controlled: :func:`parse` bounds its
length, refuses control characters and checks every field X-Ray defines
(``Root``, ``Parent``, ``Sampled``, ``Lineage``). Unknown fields (``Self``,
vendor keys) are kept in order, so ``format(parse(h)) == h`` for every valid
header ``h``.

Pure: no I/O, no dependency beyond the standard library.

Example:
    >>> h = parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    >>> h.root, h.parent, h.is_sampled
    ('1-5759e988-bd862e3fe1be46a994272793', '53995c3f42cd8ad8', True)
    >>> format(h)
    'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._wire import TRACE_ID, header_value
from .exceptions import DataError

__all__ = [
    "ENV_VAR",
    "HEADER",
    "MAX_LENGTH",
    "TraceHeader",
    "TraceHeaderError",
    "find",
    "format",
    "forward",
    "parse",
    "sanitize_inbound",
]

HEADER = "X-Amzn-Trace-Id"
"""The HTTP header, in X-Ray's canonical spelling (match it case-insensitively)."""

ENV_VAR = "_X_AMZN_TRACE_ID"
"""The environment variable the Lambda runtime sets for each invocation."""

MAX_LENGTH = 1024
"""Longest header accepted; X-Ray's own headers are about 100 characters."""

_ROOT = TRACE_ID
_PARENT = re.compile(r"[0-9a-fA-F]{16}\Z")
_KEY = re.compile(r"[A-Za-z0-9_\-]{1,64}\Z")
_VALUE = re.compile(r"[\x21-\x7e]{1,256}\Z")  # printable ASCII, no space, no control character
_LINEAGE = re.compile(r"[\x21-\x7e]{1,200}\Z")
_SAMPLED = frozenset({"0", "1", "?"})
_KNOWN = ("Root", "Parent", "Sampled", "Lineage")


class TraceHeaderError(DataError, ValueError):
    """The header is not a valid ``X-Amzn-Trace-Id``; the message says which part and why.

    Example:
        >>> try:
        ...     parse("Root=1-xyz")
        ... except TraceHeaderError as exc:
        ...     print(exc)
        Root '1-xyz' is not 1-<8 hex>-<24 hex>
    """


@dataclass(frozen=True, slots=True)
class TraceHeader:
    """A parsed ``X-Amzn-Trace-Id``: every field in its original order, plus typed accessors.

    ``problems`` lists what a lenient parse (``strict=False``) repaired or
    dropped; it is empty after a strict parse.

    Example:
        >>> h = TraceHeader.new("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", sampled=False)
        >>> format(h)
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0'
    """

    fields: tuple[tuple[str, str], ...]
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def new(
        cls,
        root: str,
        parent: str | None = None,
        *,
        sampled: bool | None = None,
        lineage: str | None = None,
    ) -> TraceHeader:
        """Build and validate a header from its parts; raise :class:`TraceHeaderError` when one is invalid."""
        pairs = [("Root", root)]
        if parent is not None:
            pairs.append(("Parent", parent))
        if sampled is not None:
            pairs.append(("Sampled", "1" if sampled else "0"))
        if lineage is not None:
            pairs.append(("Lineage", lineage))
        for key, value in pairs:
            _check_known(key, value)
        return cls(tuple(pairs))

    def get(self, key: str) -> str | None:
        """The value of field ``key`` (case-sensitive, as X-Ray defines it), or ``None``."""
        for k, v in self.fields:
            if k == key:
                return v
        return None

    @property
    def root(self) -> str:
        """The trace ID, ``1-<epoch 8 hex>-<24 hex>``."""
        root = self.get("Root")
        assert root is not None  # parse() and new() guarantee it
        return root

    @property
    def parent(self) -> str | None:
        """The parent segment or subsegment ID (16 hex), if any."""
        return self.get("Parent")

    @property
    def sampled(self) -> str | None:
        """The raw sampling field: ``"1"``, ``"0"``, ``"?"`` (decision requested) or ``None``."""
        return self.get("Sampled")

    @property
    def is_sampled(self) -> bool | None:
        """``True``/``False`` for a decision, ``None`` when absent or requested (``?``)."""
        value = self.sampled
        return None if value is None or value == "?" else value == "1"

    @property
    def lineage(self) -> str | None:
        """The ``Lineage`` field (Lambda recursion detection), if any."""
        return self.get("Lineage")

    @property
    def trace_id_int(self) -> int:
        """The 128-bit trace ID as OpenTelemetry stores it (epoch and random parts joined)."""
        root = self.root
        return int(root[2:10] + root[11:], 16)

    @property
    def parent_id_int(self) -> int | None:
        """The parent ID as a 64-bit integer (OpenTelemetry's span ID), if any."""
        parent = self.parent
        return None if parent is None else int(parent, 16)


def _check_known(key: str, value: str) -> None:
    if key == "Root":
        if not _ROOT.match(value):
            raise TraceHeaderError(f"Root {value[:40]!r} is not 1-<8 hex>-<24 hex>")
        if int(value[11:], 16) == 0 and int(value[2:10], 16) == 0:
            raise TraceHeaderError("Root is all zeros")
    elif key == "Parent":
        if not _PARENT.match(value):
            raise TraceHeaderError(f"Parent {value[:40]!r} is not 16 hex digits")
        if int(value, 16) == 0:
            raise TraceHeaderError("Parent is all zeros")
    elif key == "Sampled":
        if value not in _SAMPLED:
            raise TraceHeaderError(f"Sampled {value[:40]!r} is not 0, 1 or ?")
    elif key == "Lineage" and not _LINEAGE.match(value):
        raise TraceHeaderError(f"Lineage {value[:40]!r} is not printable ASCII of at most 200 characters")


def parse(header: object, *, strict: bool = True) -> TraceHeader:
    """Parse an ``X-Amzn-Trace-Id`` value; raise :class:`TraceHeaderError` (a ``ValueError``) if invalid.

    Strict (the default) accepts only the canonical form ``Key=Value;Key=Value``:
    no spaces, no empty pair, no trailing ``;``, each key once, ``Root``
    required, every known field well formed, at most :data:`MAX_LENGTH`
    printable ASCII characters.

    ``strict=False`` is for headers you must not lose a trace over (the
    runtime's ``_X_AMZN_TRACE_ID``, a proxy's header): it strips spaces, skips
    empty pairs and drops an invalid optional field (a bad ``Sampled``,
    ``Parent`` or unknown pair) instead of the whole header, listing each
    repair in :attr:`TraceHeader.problems`. A field that appears more than
    once is read as the X-Ray SDKs and OpenTelemetry's propagator read it:
    the last one wins (and when that last one is invalid, the field is
    dropped, not replaced by an earlier one). A missing or invalid ``Root``
    (the last one), an oversize header or a control character still raise.

    Example:
        >>> parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?;", strict=False).problems
        ('empty field removed (a trailing or doubled ;)',)
        >>> parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?;")
        Traceback (most recent call last):
        ...
        xray_exclusive.trace_header.TraceHeaderError: empty field (a trailing or doubled ;)
        >>> parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Sampled=1", strict=False).sampled
        '1'
    """
    if not isinstance(header, str):
        raise TraceHeaderError(f"header must be a str, not {type(header).__name__}")
    if len(header) > MAX_LENGTH:
        raise TraceHeaderError(f"header is {len(header)} characters long (at most {MAX_LENGTH})")
    if not header.isascii() or not header.isprintable():
        raise TraceHeaderError("header contains a control or non-ASCII character")
    problems: list[str] = []
    pairs: dict[str, str] = {}  # insertion-ordered; a repeated key moves to its last position
    repeated: set[str] = set()
    bad_root: TraceHeaderError | None = None
    for raw in header.split(";"):
        piece = raw if strict else raw.strip()
        if not piece:
            if strict:
                raise TraceHeaderError("empty field (a trailing or doubled ;)")
            _note(problems, "empty field removed (a trailing or doubled ;)")
            continue
        key, sep, value = piece.partition("=")
        if not strict:
            key, value = key.strip(), value.strip()
        try:
            if not sep or "=" in value:
                raise TraceHeaderError(f"field {piece[:40]!r} is not Key=Value")
            if not _KEY.match(key):
                raise TraceHeaderError(f"field name {key[:40]!r} is not [A-Za-z0-9_-]")
            if key in pairs or (not strict and key in repeated):
                if strict:
                    raise TraceHeaderError(f"field {key} appears twice")
                # Every X-Ray SDK and the OpenTelemetry propagator keep the last one.
                _note(problems, f"field {key} repeated: the last one wins")
                pairs.pop(key, None)
                repeated.add(key)
            if key in _KNOWN:
                _check_known(key, value)
            elif not _VALUE.match(value):
                raise TraceHeaderError(f"value of {key} is empty, too long or has spaces")
        except TraceHeaderError as exc:
            if strict:
                raise
            if key == "Root":
                bad_root = exc  # fatal unless a later Root replaces it
                continue
            _note(problems, f"{exc}: dropped")
            continue
        if key == "Root":
            bad_root = None
        pairs[key] = value
    if bad_root is not None:
        raise bad_root
    if "Root" not in pairs:
        raise TraceHeaderError("no Root field")
    return TraceHeader(tuple(pairs.items()), tuple(problems))


def _note(problems: list[str], text: str) -> None:
    if text not in problems:
        problems.append(text)


def format(header: TraceHeader) -> str:
    """Write ``header`` back as an ``X-Amzn-Trace-Id`` value (fields in their original order).

    Example:
        >>> format(parse("Root=1-5759e988-bd862e3fe1be46a994272793;Self=1-5759e988-00000000000000000000000a"))
        'Root=1-5759e988-bd862e3fe1be46a994272793;Self=1-5759e988-00000000000000000000000a'
    """
    return ";".join(f"{k}={v}" for k, v in header.fields)


def sanitize_inbound(header: object) -> str | None:
    r"""For edge handlers and proxies: keep ``Root`` and ``Parent``, drop the client's sampling decision.

    A client that sends ``Sampled=1`` would force 100% sampling, and its cost,
    on every service behind it: the server side decides. ``Lineage`` and
    unknown fields are dropped too. Returns ``None`` when the header is
    invalid, so the edge starts a fresh trace instead of forwarding junk.

    Example:
        >>> sanitize_inbound("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8'
        >>> sanitize_inbound("Root=1-evil\r\nX-Injected: 1") is None
        True
    """
    try:
        parsed = parse(header, strict=False)
    except TraceHeaderError:
        return None
    kept = tuple((k, v) for k, v in parsed.fields if k in ("Root", "Parent"))
    return format(TraceHeader(kept))


def forward(incoming_headers: Mapping[str, object] | None) -> dict[str, str]:
    """For a server-side proxy: the ``X-Amzn-Trace-Id`` to pass on, or nothing. Never originates one.

    The header is looked up case-insensitively (API Gateway HTTP APIs and ALB
    deliver it lower-case; the exact spelling wins when both are there) and
    passed through unchanged when it is valid. A header the X-Ray SDKs and
    OpenTelemetry's propagator read but the strict grammar refuses (spaces
    around ``;`` and ``=``, a repeated field) is forwarded in its canonical
    form, the last of a repeated field kept. Anything the propagator would
    refuse, or an absent header, gives ``{}``.

    Example:
        >>> forward({"x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"})
        {'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0'}
        >>> forward({"x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793; Parent=53995c3f42cd8ad8"})
        {'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8'}
        >>> forward({"x-amzn-trace-id": "Root=oops"})
        {}
    """
    value = find(incoming_headers)
    if value is None:
        return {}
    try:
        parse(value)
    except TraceHeaderError:
        normalised = _normalise(value)
        return {} if normalised is None else {HEADER: normalised}
    return {HEADER: value}


def _normalise(header: str) -> str | None:
    """The canonical form of a header OpenTelemetry's propagator would read, or ``None``.

    The propagator splits on ``;``, needs exactly one ``=`` in every pair,
    strips spaces around keys and values, keeps the last of a repeated
    field, and refuses the whole header for a bad ``Root``, ``Parent`` or
    ``Sampled`` (only ``0`` and ``1``). Here the same header must also be
    valid once written canonically; an unknown field that is not is left out.
    """
    if len(header) > MAX_LENGTH or not header.isascii() or not header.isprintable():
        return None
    pairs: dict[str, str] = {}
    for raw in header.split(";"):
        parts = raw.split("=")
        if len(parts) != 2:
            return None  # an empty pair, a trailing ';' or a value with '=': the propagator refuses it all
        key, value = parts[0].strip(), parts[1].strip()
        if key in ("Root", "Parent") and not (_ROOT if key == "Root" else _PARENT).match(value):
            return None  # the propagator refuses a bad Root or Parent wherever it stands
        if key == "Sampled" and value not in ("0", "1"):
            return None
        pairs.pop(key, None)
        pairs[key] = value
    kept: list[tuple[str, str]] = []
    for key, value in pairs.items():
        try:
            if key in _KNOWN:
                _check_known(key, value)
            elif not (_KEY.match(key) and _VALUE.match(value)):
                continue
        except TraceHeaderError:
            if key == "Lineage":
                continue
            return None
        kept.append((key, value))
    if "Root" not in pairs or "Parent" not in pairs:
        return None  # without both the propagator has no valid context
    return format(TraceHeader(tuple(kept)))


def find(headers: Mapping[str, object] | None) -> str | None:
    """The ``X-Amzn-Trace-Id`` value in ``headers``, matched case-insensitively; ``None`` if absent.

    A list value (multi-value headers) counts only when it has exactly one element.

    Example:
        >>> find({"X-AMZN-TRACE-ID": "Root=1-5759e988-bd862e3fe1be46a994272793"})
        'Root=1-5759e988-bd862e3fe1be46a994272793'
    """
    return header_value(headers, HEADER)
