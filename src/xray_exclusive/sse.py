r"""Server-Sent Events, server side: frames, resume, headers and session correlation (pure).

The browser client uses ``fetch()`` + ``ReadableStream`` instead of
``EventSource`` (which cannot send ``X-Amzn-Trace-Id``), so the server must
give it everything ``EventSource`` relied on, per the WHATWG rules:

* :class:`EventStream`, one per connection: ``retry:`` first (FR-088), an
  ``id:`` on every event, increasing across reconnections, ``Last-Event-ID``
  honoured or ``X-SSE-Resume-Supported: false`` said (FR-081, SC-036);
* :func:`encode`: one frame, multi-line ``data:`` split on CR, LF and CRLF, no
  field able to smuggle a line break;
* :data:`RESPONSE_HEADERS`, :func:`cors_headers`: ``text/event-stream``,
  ``no-cache``, ``X-Amzn-Trace-Id`` allowed (FR-015) and exposed (FR-082);
* :func:`session_annotations`: ``session_id``, ``previous_trace_id``,
  ``connection_sequence`` from the request, validated (FR-048, SC-020);
* :class:`SSEParser`: the same format read back, incrementally.

Example:
    >>> stream = EventStream(headers={"Last-Event-ID": "41"}, retry_ms=3000)
    >>> stream.response_headers["X-SSE-Resume-Supported"]
    'false'
    >>> b"".join(stream.start())
    b'retry: 3000\n\n'
    >>> stream.send("line one\nline two", event="sentiment")
    b'id: 42\nevent: sentiment\ndata: line one\ndata: line two\n\n'
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from ._wire import TRACE_ID, header_value

__all__ = [
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "DEFAULT_RETRY_MS",
    "RESPONSE_HEADERS",
    "RESUME_HEADER",
    "SESSION_HEADERS",
    "Event",
    "EventStream",
    "SSEParser",
    "comment",
    "cors_headers",
    "encode",
    "parse",
    "parse_last_event_id",
    "session_annotations",
]

_logger = logging.getLogger("xray_exclusive")

DEFAULT_RETRY_MS = 3000
"""The reconnection delay sent first on every connection (FR-088); ``SSE_RETRY_MS`` overrides it."""

RESUME_HEADER = "X-SSE-Resume-Supported"
"""``false`` when the server cannot replay events after ``Last-Event-ID``: the client deduplicates by id."""

RESPONSE_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
"""Headers of every SSE response (a proxy must neither cache nor buffer the stream)."""

SESSION_HEADERS = ("X-SSE-Session-Id", "X-SSE-Previous-Trace-Id", "X-SSE-Connection-Sequence")
"""Request headers the reference client sends on each (re)connection (query parameters work too)."""

CORS_ALLOW_HEADERS = ("Content-Type", "Last-Event-ID", "X-Amzn-Trace-Id", *SESSION_HEADERS)
"""``Access-Control-Allow-Headers`` for API Gateway and Function URLs: the trace header included (FR-015)."""

CORS_EXPOSE_HEADERS = ("x-amzn-trace-id", RESUME_HEADER.lower())
"""``Access-Control-Expose-Headers``: the browser may read the trace ID for ``previous_trace_id`` (FR-082)."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SESSION_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}\Z")
_DIGITS = re.compile(r"[0-9]{1,18}\Z")
_MAX_ID = 10**18


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event as a client sees it: ``data``, ``event`` type, last event ``id``.

    Example:
        >>> Event("hello").event
        'message'
    """

    data: str
    event: str = "message"
    id: str = ""


def _field_value(name: str, value: object) -> str:
    """A single-line field value: line breaks (the only way to smuggle a field) become spaces."""
    text = value if isinstance(value, str) else str(value)
    if "\r" in text or "\n" in text:
        _logger.warning("SSE %s field contained a line break; replaced by a space.", name)
        text = _LINE_BREAK.sub(" ", text)
    return text


def encode(
    data: object, *, event: str | None = None, id: int | str | None = None, retry: int | None = None
) -> bytes:
    r"""One SSE frame, UTF-8: ``id``, ``event``, ``retry``, then one ``data:`` line per line of ``data``.

    ``data`` is split on CRLF, CR and LF (the only line breaks SSE knows), so
    the client gets it back with LF between lines; SSE cannot carry a CR.
    ``event`` and ``id`` may not contain line breaks (replaced by spaces,
    logged); a NUL in ``id`` makes clients ignore it, so it is removed.

    Example:
        >>> encode("a\r\nb", event="tick", id=7)
        b'id: 7\nevent: tick\ndata: a\ndata: b\n\n'
    """
    parts: list[str] = []
    if id is not None:
        parts.append(f"id: {_field_value('id', id).replace(chr(0), '')}\n")
    if event is not None:
        parts.append(f"event: {_field_value('event', event)}\n")
    if retry is not None:
        parts.append(f"retry: {int(retry)}\n")
    text = data if isinstance(data, str) else str(data)
    for line in _LINE_BREAK.split(text):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8", "replace")


def comment(text: str = "") -> bytes:
    r"""A comment frame (``: text``), ignored by clients: a keep-alive through proxies.

    Example:
        >>> comment("keep-alive")
        b': keep-alive\n\n'
    """
    return f": {_field_value('comment', text)}\n\n".encode("utf-8", "replace")


def parse_last_event_id(headers: Mapping[str, object] | None) -> int | None:
    """The ``Last-Event-ID`` request header (any case) as a non-negative int; ``None`` if absent or invalid.

    Example:
        >>> parse_last_event_id({"last-event-id": "42"}), parse_last_event_id({"Last-Event-ID": "x"})
        (42, None)
    """
    raw = header_value(headers, "Last-Event-ID")
    if raw is None:
        return None
    value = raw.strip()
    if not _DIGITS.match(value):
        _logger.debug("Ignoring Last-Event-ID %r: not a non-negative integer.", raw[:40])
        return None
    return int(value)


def _retry_ms(retry_ms: int | None) -> int:
    if retry_ms is not None:
        if isinstance(retry_ms, bool) or not isinstance(retry_ms, int) or retry_ms < 0:
            raise ValueError(f"retry_ms must be a non-negative int, got {retry_ms!r}")
        return retry_ms
    from . import _env

    return _env.SSE_RETRY_MS.get()


ReplaySource = Callable[[int], Iterable[tuple[int, object] | tuple[int, object, str]]]
"""``replay(after_id)``: the stored events with an id above ``after_id``, as ``(id, data[, event])``."""


class EventStream:
    r"""One SSE connection: ``retry`` first, increasing ids, and the ``Last-Event-ID`` resume contract.

    * ``headers``: the request's headers, for ``Last-Event-ID``.
    * ``replay``: how to fetch stored events after an id; without it the
      response says ``X-SSE-Resume-Supported: false`` and the client
      deduplicates by id. Ids continue above the client's ``Last-Event-ID``
      either way, so they never go back.
    * An event whose id is not above every id already sent on this
      connection, or at or below ``Last-Event-ID``, is never sent (FR-081).

    Example:
        >>> stored = {1: "a", 2: "b", 3: "c"}
        >>> stream = EventStream(
        ...     headers={"Last-Event-ID": "1"},
        ...     replay=lambda after: [(i, d) for i, d in stored.items() if i > after],
        ... )
        >>> stream.response_headers["X-SSE-Resume-Supported"]
        'true'
        >>> [frame for frame in stream.start()][1:]
        [b'id: 2\ndata: b\n\n', b'id: 3\ndata: c\n\n']
        >>> stream.send("d")
        b'id: 4\ndata: d\n\n'
    """

    __slots__ = ("_last_sent", "_replay", "last_event_id", "retry_ms")

    def __init__(
        self,
        *,
        headers: Mapping[str, object] | None = None,
        retry_ms: int | None = None,
        replay: ReplaySource | None = None,
    ) -> None:
        self.retry_ms = _retry_ms(retry_ms)
        self.last_event_id = parse_last_event_id(headers)
        """What the client said it received last (``None`` on a first connection)."""
        self._replay = replay
        self._last_sent = self.last_event_id if self.last_event_id is not None else 0

    @property
    def resume_supported(self) -> bool:
        """Whether events after ``Last-Event-ID`` are replayed."""
        return self._replay is not None

    @property
    def last_sent_id(self) -> int:
        """The id of the last event sent (or the client's ``Last-Event-ID`` before any)."""
        return self._last_sent

    @property
    def response_headers(self) -> dict[str, str]:
        """The SSE response headers plus ``X-SSE-Resume-Supported`` (``true`` or ``false``)."""
        return {**RESPONSE_HEADERS, RESUME_HEADER: "true" if self.resume_supported else "false"}

    def start(self) -> Iterator[bytes]:
        """The first frames: ``retry:`` (always first, FR-088), then the replayed events, if any."""
        yield f"retry: {self.retry_ms}\n\n".encode()
        if self._replay is None or self.last_event_id is None:
            return
        for item in self._replay(self.last_event_id):
            frame = self.send(item[1], id=item[0], event=item[2] if len(item) > 2 else None)
            if frame is not None:
                yield frame

    def send(self, data: object, *, event: str | None = None, id: int | None = None) -> bytes | None:
        """Encode one event with the next id (or ``id``, which must be above the last one sent).

        Returns ``None``, with a logged reason, for an event that would break
        the order: its id is not above the last id sent (or ``Last-Event-ID``).
        """
        if id is None:
            next_id = self._last_sent + 1
        elif isinstance(id, bool) or not isinstance(id, int) or not 0 < id < _MAX_ID:
            _logger.warning("SSE event dropped: id %r is not a positive integer.", id)
            return None
        elif id <= self._last_sent:
            _logger.debug(
                "SSE event %d not sent: the client already has every id up to %d.", id, self._last_sent
            )
            return None
        else:
            next_id = id
        self._last_sent = next_id
        return encode(data, event=event, id=next_id)

    def comment(self, text: str = "") -> bytes:
        """A keep-alive comment frame (no id consumed)."""
        return comment(text)


def cors_headers(origin: str | None = None) -> dict[str, str]:
    """CORS response headers for an SSE endpoint (Function URL or API Gateway) with trace propagation.

    Example:
        >>> cors_headers("https://app.example")["Access-Control-Expose-Headers"]
        'x-amzn-trace-id, x-sse-resume-supported'
    """
    headers = {
        "Access-Control-Allow-Headers": ", ".join(CORS_ALLOW_HEADERS),
        "Access-Control-Expose-Headers": ", ".join(CORS_EXPOSE_HEADERS),
        "Access-Control-Allow-Methods": "GET, OPTIONS",
    }
    if origin:
        headers["Access-Control-Allow-Origin"] = _field_value("origin", origin)
        headers["Vary"] = "Origin"
    return headers


def session_annotations(
    headers: Mapping[str, object] | None = None, query: Mapping[str, object] | None = None
) -> dict[str, str | int]:
    """``session_id``, ``previous_trace_id`` and ``connection_sequence`` from the request, validated.

    Read from the ``X-SSE-*`` headers (any case), else from query parameters
    of the same names as the annotations. Each invalid value is dropped with a
    logged reason: ``session_id`` 1-128 of ``[A-Za-z0-9_.:-]``;
    ``previous_trace_id`` an X-Ray trace ID; ``connection_sequence`` an integer
    from 1. Pass the result to ``annotate_session`` (streaming) or
    ``annotate``.

    Example:
        >>> session_annotations(
        ...     {"x-sse-session-id": "s-1", "X-SSE-Connection-Sequence": "2"},
        ...     {"previous_trace_id": "1-5759e988-bd862e3fe1be46a994272793"},
        ... )
        {'session_id': 's-1', 'previous_trace_id': '1-5759e988-...', 'connection_sequence': 2}
    """
    found: dict[str, str | int] = {}
    for header, key in zip(
        SESSION_HEADERS, ("session_id", "previous_trace_id", "connection_sequence"), strict=True
    ):
        raw = header_value(headers, header)
        if raw is None:
            raw = header_value(query, key)
        if raw is None:
            continue
        value = raw.strip()
        if key == "session_id" and _SESSION_ID.match(value):
            found[key] = value
        elif key == "previous_trace_id" and TRACE_ID.match(value):
            found[key] = value.lower()
        elif key == "connection_sequence" and _DIGITS.match(value) and 1 <= int(value) <= 10**9:
            found[key] = int(value)
        else:
            _logger.warning("Ignoring SSE %s %r: invalid.", key, value[:64])
    return found


class SSEParser:
    r"""An incremental SSE parser per the WHATWG rules: feed chunks, get dispatched events.

    CR, LF and CRLF end lines (a CRLF split across chunks included); a chunk
    may end anywhere, also inside a UTF-8 character (:meth:`feed_bytes`).
    ``retry`` holds the last valid ``retry:`` value, ``last_event_id`` the id.

    Example:
        >>> parser = SSEParser()
        >>> parser.feed("retry: 3000\n\nid: 1\nda")
        []
        >>> parser.feed("ta: hi\n\n"), parser.retry
        ([Event(data='hi', event='message', id='1')], 3000)
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._data: list[str] = []
        self._event = ""
        self._started = False
        self._pending_cr = False
        self.last_event_id = ""
        self.retry: int | None = None

    def feed_bytes(self, chunk: bytes) -> list[Event]:
        """Feed raw bytes (UTF-8, split anywhere)."""
        return self.feed(self._decoder.decode(chunk))

    def feed(self, text: str) -> list[Event]:
        """Feed text; return the events completed by it."""
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = False
        buffer = self._buffer + text
        events: list[Event] = []
        lines = _LINE_BREAK.split(buffer)
        self._buffer = lines.pop()  # the unfinished line
        if buffer.endswith("\r") and self._buffer == "":
            self._pending_cr = True
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return Event("\n".join(data), event or "message", self.last_event_id)


def parse(text: str | bytes) -> list[Event]:
    r"""Every complete event in ``text`` (a whole stream), per the WHATWG rules.

    Example:
        >>> parse(b"data: a\r\ndata: b\r\n\r\n")
        [Event(data='a\nb', event='message', id='')]
    """
    parser = SSEParser()
    if isinstance(text, bytes):
        return parser.feed_bytes(text)
    return parser.feed(text)
