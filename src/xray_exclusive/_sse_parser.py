r"""The Server-Sent Events parser behind :class:`xray_exclusive.sse.SSEParser`, per the WHATWG rules.

Linear in the size of the stream whatever the chunking: each chunk is
scanned once, an unfinished line is kept as a list of pieces and joined
once, when its line break arrives. A line, and the data of one event, are
bounded by ``max_event_size`` characters (:data:`MAX_EVENT_SIZE` by
default): past it the parser skips that event, keeps parsing the stream,
and :meth:`SSEParser.feed` raises :class:`SSEError` carrying the events the
same chunk completed.

Example:
    >>> parser = SSEParser(max_event_size=8)
    >>> try:
    ...     parser.feed("data: far too long\n\ndata: ok\n\n")
    ... except SSEError as exc:
    ...     print(exc.events)
    [Event(data='ok', event='message', id='')]
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from .exceptions import DataError

__all__ = ["MAX_EVENT_SIZE", "MAX_RETRY_MS", "Event", "SSEError", "SSEParser"]

MAX_EVENT_SIZE = 4 * 1024 * 1024
"""Longest line, and longest ``data`` of one event, in characters (4 MiB); larger events are skipped."""

MAX_RETRY_MS = 2**31 - 1
"""``retry:`` values above this (about 24.8 days) are read as this: the most a browser timer can wait."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_RETRY_DIGITS = len(str(MAX_RETRY_MS))


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


class SSEError(DataError, ValueError):
    """A line or an event went past the parser's size limit; it was skipped, the stream goes on.

    ``events`` holds the events the same chunk completed, so none is lost.

    Example:
        >>> SSEError("too long", [Event("x")]).events
        [Event(data='x', event='message', id='')]
    """

    def __init__(self, message: str, events: list[Event]) -> None:
        super().__init__(message)
        self.events = events


def _retry_value(value: str) -> int | None:
    """A ``retry:`` value: ASCII digits only, any number of them, clamped to :data:`MAX_RETRY_MS`."""
    if not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0")
    if len(digits) > _RETRY_DIGITS:  # never int() a huge string: CPython refuses above 4,300 digits
        return MAX_RETRY_MS
    return min(int(digits or "0"), MAX_RETRY_MS)


class SSEParser:
    r"""An incremental SSE parser per the WHATWG rules: feed chunks, get dispatched events.

    CR, LF and CRLF end lines (a CRLF split across chunks included, also
    with empty chunks between); a chunk may end anywhere, also inside a
    UTF-8 character (:meth:`feed_bytes`). A leading byte order mark is
    skipped, a second one is kept. ``retry`` holds the last valid ``retry:``
    value (clamped to :data:`MAX_RETRY_MS`); ``last_event_id`` the id buffer;
    ``dispatched_id`` the id a client resends as ``Last-Event-ID`` (set at
    every blank line, with or without data).

    Limitations: a line or an event's data longer than ``max_event_size``
    characters is skipped, and :meth:`feed` raises :class:`SSEError` (its
    ``events`` are the chunk's complete events); feeding may continue.

    Example:
        >>> parser = SSEParser()
        >>> parser.feed("retry: 3000\n\nid: 1\nda")
        []
        >>> parser.feed("ta: hi\n\n"), parser.retry
        ([Event(data='hi', event='message', id='1')], 3000)
    """

    def __init__(self, last_event_id: str = "", *, max_event_size: int = MAX_EVENT_SIZE) -> None:
        if isinstance(max_event_size, bool) or not isinstance(max_event_size, int) or max_event_size < 1:
            raise ValueError(f"max_event_size must be a positive int, got {max_event_size!r}")
        self.max_event_size = max_event_size
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pieces: list[str] = []
        self._line_size = 0
        self._skip_line = False
        self._skip_event = False
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._started = False
        self._pending_cr = False
        self._error = ""
        self.last_event_id = last_event_id
        self.dispatched_id = last_event_id
        self.retry: int | None = None

    def feed_bytes(self, chunk: bytes) -> list[Event]:
        """Feed raw bytes (UTF-8, split anywhere)."""
        return self.feed(self._decoder.decode(chunk))

    def feed(self, text: str) -> list[Event]:
        """Feed text; return the events completed by it (:class:`SSEError` past the size limit)."""
        if not text:
            return []  # an empty chunk changes nothing, not even a CR waiting for its LF
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]  # the LF of a CRLF split across chunks
        events: list[Event] = []
        position = 0
        for match in _LINE_BREAK.finditer(text):
            event = self._end_line(text[position : match.start()])
            if event is not None:
                events.append(event)
            position = match.end()
            if position == len(text) and match.group() == "\r":
                self._pending_cr = True
        self._keep(text[position:])
        if self._error:
            message, self._error = self._error, ""
            raise SSEError(message, events)
        return events

    def _keep(self, rest: str) -> None:
        if not rest or self._skip_line:
            return
        if self._line_size + len(rest) > self.max_event_size:
            self._oversize("a line", (self._pieces[0] if self._pieces else rest)[0] == ":")
            return
        self._pieces.append(rest)
        self._line_size += len(rest)

    def _oversize(self, what: str, comment: bool = False) -> None:
        """Skip the rest of the line (or the event's data); a long comment costs no event."""
        self._pieces, self._line_size = [], 0
        self._skip_line = what == "a line"
        if not comment:
            self._data, self._data_size = [], 0
            self._skip_event = True
        self._error = (
            f"SSE {what} went past {self.max_event_size} characters; that event was skipped "
            "(raise max_event_size if the server sends events that large)"
        )

    def _end_line(self, piece: str) -> Event | None:
        if self._skip_line:
            self._skip_line = False
            return None
        if self._pieces:
            if self._line_size + len(piece) > self.max_event_size:
                self._oversize("a line", self._pieces[0][0] == ":")
                self._skip_line = False  # its end is here
                return None
            self._pieces.append(piece)
            piece = "".join(self._pieces)
            self._pieces, self._line_size = [], 0
        elif len(piece) > self.max_event_size:
            self._oversize("a line", piece[0] == ":")
            self._skip_line = False
            return None
        return self._line(piece)

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            if not self._skip_event:
                self._data_size += len(value) + 1
                if self._data_size > self.max_event_size + 1:
                    self._oversize("an event's data")
                else:
                    self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            retry = _retry_value(value)
            if retry is not None:
                self.retry = retry
        return None

    def _dispatch(self) -> Event | None:
        self.dispatched_id = self.last_event_id
        data, event, skipped = self._data, self._event, self._skip_event
        self._data, self._data_size, self._event, self._skip_event = [], 0, "", False
        if not data or skipped:
            return None
        return Event("\n".join(data), event or "message", self.last_event_id)
