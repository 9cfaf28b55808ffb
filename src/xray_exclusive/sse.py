r"""Server-Sent Events, server side: frames, resume, headers and session correlation (pure).

The browser client uses ``fetch()`` + ``ReadableStream`` instead of
``EventSource`` (which cannot send ``X-Amzn-Trace-Id``), so the server must
give it everything ``EventSource`` relied on, per the WHATWG rules:

* :class:`EventStream`, one per connection: ``retry:`` first, an
  ``id:`` on every event, increasing across reconnections, ``Last-Event-ID``
  honoured or ``X-SSE-Resume-Supported: false`` said;
* :func:`encode`: one frame, multi-line ``data:`` split on CR, LF and CRLF, no
  field able to smuggle a line break;
* :data:`RESPONSE_HEADERS`, :func:`cors_headers`: ``text/event-stream``,
  ``no-cache``, ``X-Amzn-Trace-Id`` allowed and exposed to the browser by CORS;
* :func:`session_annotations`: ``session_id``, ``previous_trace_id``,
  ``connection_sequence`` from the request, validated, so one query finds every
  connection of a session;
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

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

from ._sse_parser import MAX_EVENT_SIZE, MAX_RETRY_MS, Event, SSEError, SSEParser
from ._wire import TRACE_ID, header_value

__all__ = [
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "DEFAULT_RETRY_MS",
    "MAX_EVENT_SIZE",
    "MAX_RETRY_MS",
    "RESPONSE_HEADERS",
    "RESUME_HEADER",
    "SESSION_HEADERS",
    "Event",
    "EventStream",
    "SSEError",
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
"""The reconnection delay sent first on every connection; ``SSE_RETRY_MS`` overrides it."""

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
"""``Access-Control-Allow-Headers`` for API Gateway and Function URLs: the trace header included."""

CORS_EXPOSE_HEADERS = ("x-amzn-trace-id", RESUME_HEADER.lower())
"""``Access-Control-Expose-Headers``: the browser may read the trace ID for ``previous_trace_id``."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SESSION_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}\Z")
_DIGITS = re.compile(r"[0-9]{1,18}\Z")
_MAX_ID = 10**18


def _field_value(name: str, value: object) -> str:
    """A single-line field value: line breaks (the only way to smuggle a field) become spaces."""
    if isinstance(value, str):
        text = value
    elif name == "id" and isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        raise TypeError(f"SSE {name} must be a str, not {type(value).__name__}")
    if "\r" in text or "\n" in text:
        _logger.warning("SSE %s field contained a line break; replaced by a space.", name)
        text = _LINE_BREAK.sub(" ", text)
    return text


def _data_text(data: object) -> str:
    """``data`` as the text of the frame: a str as is; dicts, lists, numbers, booleans, ``None`` as JSON."""
    if isinstance(data, str):
        return data
    if data is None or isinstance(data, (dict, list, tuple, int, float)):
        try:
            return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"SSE data is not JSON-serializable ({exc}); pass a str, or encode it yourself "
                "(json.dumps(data, default=...))"
            ) from None
    raise TypeError(
        f"SSE data must be a str or JSON-serializable (dict, list, number, bool, None), not "
        f"{type(data).__name__}; pass a str (for example json.dumps(...) or a decoded bytes value)"
    )


def encode(
    data: object, *, event: str | None = None, id: int | str | None = None, retry: int | None = None
) -> bytes:
    r"""One SSE frame, UTF-8: ``id``, ``event``, ``retry``, then one ``data:`` line per line of ``data``.

    ``data`` is a str, sent as is, or a dict, list, number, bool or ``None``,
    sent as compact JSON (never a Python ``repr``); anything else raises
    ``TypeError``. A str is split on CRLF, CR and LF (the only line breaks
    SSE knows), so the client gets it back with LF between lines; SSE cannot
    carry a CR. ``event`` and ``id`` may not contain line breaks (replaced by
    spaces, logged); a NUL in ``id`` makes clients ignore it, so it is removed.

    Example:
        >>> encode("a\r\nb", event="tick", id=7)
        b'id: 7\nevent: tick\ndata: a\ndata: b\n\n'
        >>> encode({"n": 1, "ok": True})
        b'data: {"n":1,"ok":true}\n\n'
    """
    parts: list[str] = []
    if id is not None:
        parts.append(f"id: {_field_value('id', id).replace(chr(0), '')}\n")
    if event is not None:
        parts.append(f"event: {_field_value('event', event)}\n")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise TypeError(f"SSE retry must be a non-negative int, not {retry!r}")
        parts.append(f"retry: {retry}\n")
    text = _data_text(data)
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
      connection, or at or below ``Last-Event-ID``, is never sent: the client
      never gets an event twice.

    Example:
        >>> stored = {1: "a", 2: "b", 3: "c"}
        >>> stream = EventStream(
        ...     headers={"Last-Event-ID": "1"},
        ...     replay=lambda after: [(i, d) for i, d in stored.items() if i > after],
        ... )
        >>> stream.response_headers["X-SSE-Resume-Supported"]
        'true'
        >>> list(stream.start())[1:]
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
        """The first frames: ``retry:`` (always first), then the replayed events, if any."""
        yield f"retry: {self.retry_ms}\n\n".encode()
        if self._replay is None or self.last_event_id is None:
            return
        for item in self._replay(self.last_event_id):
            frame = self.send(item[1], id=item[0], event=item[2] if len(item) > 2 else None)
            if frame is not None:
                yield frame

    def send(self, data: object, *, event: str | None = None, id: int | None = None) -> bytes | None:
        """Encode one event with the next id (or ``id``, which must be above the last one sent).

        ``data`` as in :func:`encode`: a str, or a dict, list, number, bool or
        ``None`` sent as JSON; anything else raises ``TypeError`` (no id used).

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
        frame = encode(data, event=event, id=next_id)  # raises TypeError before any id is used
        self._last_sent = next_id
        return frame

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
