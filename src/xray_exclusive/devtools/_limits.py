"""The local collector's bounds: what one socket may cost it, whatever it sends.

Every number here is documented in ``docs/devtools.md`` ("Limits"). Each
bound answers an attack that used to stop or swell ``xray-exclusive collect``:

* a body is at most :data:`MAX_BODY` bytes on the wire *and* once
  decompressed (a 1 MB gzip bomb used to become 1 GB);
* ``Content-Length`` must be a plain decimal number (``-1`` used to read to
  the end of the stream, past every cap);
* a JSON document nests at most :data:`MAX_DEPTH` levels (20,000 levels
  stopped all UDP intake), and its fields X-Ray types are typed (a text
  ``start_time`` broke the live page for good);
* at most :data:`MAX_DOCUMENTS_PER_TRACE` documents per trace,
  :data:`MAX_DOCUMENTS` and :data:`MAX_STORED_BYTES` in all (the oldest
  traces go first);
* at most :data:`MAX_CONNECTIONS` connections served at once, the others
  wait in a backlog of :data:`LISTEN_BACKLOG`; every request (its wait for
  data included) must be over in :data:`REQUEST_DEADLINE_S`, and every read
  gets data within :data:`READ_TIMEOUT_S`.

Example:
    >>> bounded_decompress(b"plain", "", 10)
    b'plain'
    >>> depth_within({"a": [{"b": 1}]}, 3), depth_within({"a": [{"b": 1}]}, 2)
    (True, False)
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
import zlib
from http.server import ThreadingHTTPServer
from typing import Any

from ..exceptions import DataError

__all__ = [
    "LISTEN_BACKLOG",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "MAX_DEPTH",
    "MAX_DOCUMENTS",
    "MAX_DOCUMENTS_PER_TRACE",
    "MAX_STORED_BYTES",
    "READ_TIMEOUT_S",
    "REQUEST_DEADLINE_S",
    "BodyTooLarge",
    "BoundedHTTPServer",
    "ConnectionGuard",
    "bounded_decompress",
    "check_document",
    "depth_within",
    "parse_content_length",
]

MAX_BODY = 16 * 1024 * 1024
"""Largest OTLP request body, on the wire and decompressed (16 MiB)."""

MAX_DEPTH = 64
"""Deepest nesting of a JSON document (an X-Ray segment nests a handful of levels)."""

MAX_DOCUMENTS_PER_TRACE = 10_000
"""Documents kept per trace; later ones are counted as rejected."""

MAX_DOCUMENTS = 100_000
"""Documents kept in all; past it (or :data:`MAX_STORED_BYTES`) the oldest traces are evicted."""

MAX_STORED_BYTES = 64 * 1024 * 1024
"""Encoded size of the documents kept in all (about 4-6 times that in Python objects)."""

MAX_CONNECTIONS = 64
"""HTTP connections served at once; more wait in the listen backlog."""

LISTEN_BACKLOG = 1024
"""Connections the kernel holds while all :data:`MAX_CONNECTIONS` are busy."""

READ_TIMEOUT_S = 10.0
"""The longest wait for the next bytes of a request (or for the next request on a kept-alive connection)."""

REQUEST_DEADLINE_S = 30.0
"""The longest one request may take, from the wait for its first byte to its answer."""


class BodyTooLarge(DataError, ValueError):
    """A body, or what it decompresses to, is larger than allowed (answered 413).

    Example:
        >>> isinstance(BodyTooLarge("x"), ValueError)
        True
    """


def bounded_decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decoded per ``Content-Encoding`` (``gzip``, ``deflate``, none), at most ``limit`` bytes.

    Raises :class:`BodyTooLarge` past the limit and ``ValueError`` for a corrupt stream; never allocates
    more than ``limit`` plus one chunk.
    """
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise ValueError(f"unsupported Content-Encoding {encoding[:40]!r} (use gzip or deflate)")
    out = bytearray()
    data = body
    while True:  # gzip allows several members, one after the other
        # gzip: its header; deflate: zlib's (RFC 1950); a raw deflate stream is tried if that fails.
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        try:
            out += decoder.decompress(data, limit + 1 - len(out))
            while decoder.unconsumed_tail and len(out) <= limit:
                out += decoder.decompress(decoder.unconsumed_tail, limit + 1 - len(out))
        except zlib.error as exc:
            if encoding == "deflate" and not out:
                return _raw_deflate(data, limit)
            raise ValueError(f"cannot decompress ({encoding}): {exc}") from None
        if len(out) > limit:
            raise BodyTooLarge(f"the body decompresses to more than {limit} bytes")
        if not decoder.eof:
            raise ValueError(f"cannot decompress ({encoding}): the stream is truncated")
        data = decoder.unused_data
        if encoding != "gzip" or not data.strip(b"\x00"):
            return bytes(out)


def _raw_deflate(data: bytes, limit: int) -> bytes:
    decoder = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"cannot decompress (deflate): {exc}") from None
    if len(out) > limit:
        raise BodyTooLarge(f"the body decompresses to more than {limit} bytes")
    return out


def parse_content_length(value: str | None) -> int | None:
    """``Content-Length`` as an int; ``None`` unless it is one plain decimal number (not ``-1``, ``1e3``)."""
    if value is None:
        return 0
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def depth_within(value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) nests at most ``limit`` levels; iterative, so any depth is safe."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_document(document: dict[str, Any]) -> str:
    """Why X-Ray would refuse ``document`` (and the live page could not draw it), or ``""``.

    ``start_time`` and ``end_time`` must be finite numbers when present, ``id`` and ``name``
    strings, ``subsegments`` a list of documents checked the same way; at most :data:`MAX_DEPTH`
    levels in all.
    """
    if not depth_within(document, MAX_DEPTH):
        return f"nested deeper than {MAX_DEPTH} levels"
    stack = [document]
    while stack:
        doc = stack.pop()
        for key in ("start_time", "end_time"):
            if key in doc and not _number(doc[key]):
                return f"{key} is not a number"
        for key in ("id", "name", "parent_id"):
            if key in doc and not isinstance(doc[key], str):
                return f"{key} is not a string"
        children = doc.get("subsegments")
        if children is None:
            continue
        if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
            return "subsegments is not a list of documents"
        stack.extend(children)
    return ""


class ConnectionGuard:
    """At most ``limit`` connections at once, each request within ``deadline_s``: a reaper closes late ones.

    ``acquire()`` blocks the accepting thread while ``limit`` connections are served (the kernel
    backlog holds the rest); ``start(sock)`` arms a request's deadline, ``finish(sock)`` disarms it;
    ``release()`` frees the slot. The reaper thread shuts down the socket of a request past its
    deadline, which ends the blocked read of a slow sender.

    Example:
        >>> guard = ConnectionGuard(limit=2, deadline_s=30)
        >>> guard.acquire(); guard.active
        1
        >>> guard.release(); guard.close()
    """

    def __init__(self, limit: int = MAX_CONNECTIONS, deadline_s: float = REQUEST_DEADLINE_S) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._deadline_s = deadline_s
        self._lock = threading.Lock()
        self._deadlines: dict[socket.socket, float] = {}
        self._stopped = threading.Event()
        self.active = 0
        self.reaped = 0
        self._reaper = threading.Thread(target=self._reap, name="xe-collect-reaper", daemon=True)
        self._reaper.start()

    def acquire(self) -> None:
        """Wait for a free slot."""
        self._slots.acquire()
        with self._lock:
            self.active += 1

    def acquire_unless_closed(self) -> bool:
        """Wait for a free slot; ``False`` when the guard is closed meanwhile (the collector stops)."""
        while not self._slots.acquire(timeout=0.2):
            if self._stopped.is_set():
                return False
        with self._lock:
            self.active += 1
        return True

    def release(self) -> None:
        """Free a slot."""
        with self._lock:
            self.active -= 1
        self._slots.release()

    def start(self, sock: socket.socket) -> None:
        """A request begins on ``sock`` (its wait for the first byte included)."""
        with self._lock:
            self._deadlines[sock] = time.monotonic() + self._deadline_s

    def finish(self, sock: socket.socket) -> None:
        """The request on ``sock`` is answered, or the connection is over."""
        with self._lock:
            self._deadlines.pop(sock, None)

    def _reap(self) -> None:
        while not self._stopped.wait(min(1.0, self._deadline_s / 4)):
            now = time.monotonic()
            with self._lock:
                late = [sock for sock, deadline in self._deadlines.items() if deadline <= now]
                for sock in late:
                    del self._deadlines[sock]
            for sock in late:
                self.reaped += 1
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop the reaper."""
        self._stopped.set()


class BoundedHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with a listen backlog of :data:`LISTEN_BACKLOG` and a :class:`ConnectionGuard`.

    Example:
        >>> from http.server import BaseHTTPRequestHandler
        >>> server = BoundedHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        >>> server.request_queue_size, server.guard.active
        (1024, 0)
        >>> server.server_close()
    """

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self.guard = ConnectionGuard()
        try:
            super().__init__(address, handler)
        except BaseException:
            self.guard.close()
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start the connection's thread once a slot is free (the kernel backlog holds the others)."""
        if not self.guard.acquire_unless_closed():
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.guard.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.guard.release()

    def server_close(self) -> None:
        """Close the socket and stop the guard's reaper."""
        self.guard.close()
        super().server_close()
