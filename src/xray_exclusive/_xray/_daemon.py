"""The X-Ray daemon's UDP wire: one lazily created socket per process, one datagram per document.

Each datagram is the daemon's header line followed by one segment document,
exactly what the X-Ray SDK's ``UDPEmitter`` sends. The address comes from
``AWS_XRAY_DAEMON_ADDRESS`` (``host:port``, or ``tcp:host:port udp:host:port``),
read at every send and parsed once per distinct value; default ``127.0.0.1:2000``.

Sending never raises: a full socket buffer, a refused datagram or a document
over 64 KB is a logged warning (the document is lost, never the caller's work).

Example:
    >>> parse_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001")
    ('127.0.0.2', 2001)
"""

from __future__ import annotations

import _thread  # the lock alone: `threading` costs half a millisecond at cold start
import os
from typing import Any

from .._fastenv import BYTES_ENVIRON as _ENVIRON
from ..bounded import DOCUMENT_LIMIT_BYTES, LazyLogger

__all__ = ["DAEMON_ADDRESS", "DEFAULT_ADDRESS", "PROTOCOL_HEADER", "parse_address", "send"]

_logger = LazyLogger("xray_exclusive")

PROTOCOL_HEADER = b'{"format":"json","version":1}\n'
"""The line the daemon expects before every document."""
DAEMON_ADDRESS = "AWS_XRAY_DAEMON_ADDRESS"
"""Set by Lambda when active tracing is on; read by the X-Ray SDK under the same name."""
DEFAULT_ADDRESS = "127.0.0.1:2000"

_lock = _thread.allocate_lock()
_socket: Any = None
_address: tuple[object, tuple[str, int]] = (None, ("127.0.0.1", 2000))


def parse_address(raw: str) -> tuple[str, int]:
    """The UDP ``(host, port)`` of a daemon address; ``ValueError`` when malformed (the SDK's two forms).

    Example:
        >>> parse_address("169.254.79.129:2000")
        ('169.254.79.129', 2000)
    """
    parts = raw.split()
    if len(parts) == 1:
        host, _, port = parts[0].rpartition(":")
    elif len(parts) == 2:
        forms = {p.split(":", 1)[0]: p.split(":", 1)[-1] for p in parts}
        if "udp" not in forms or "tcp" not in forms:
            raise ValueError(f"{raw!r} names no udp: and tcp: addresses")
        host, _, port = forms["udp"].rpartition(":")
    else:
        raise ValueError(f"{raw!r} is neither host:port nor 'tcp:host:port udp:host:port'")
    if not port.isdigit():
        raise ValueError(f"{raw!r} has no numeric port")
    number = int(port)
    if not host or not 0 < number < 65536:
        raise ValueError(f"{raw!r} has no host or no valid port")
    return host, number


def _target() -> tuple[str, int]:
    global _address
    raw = _ENVIRON.get(b"AWS_XRAY_DAEMON_ADDRESS") if _ENVIRON is not None else os.environ.get(DAEMON_ADDRESS)
    cached_raw, address = _address
    if raw == cached_raw:
        return address
    try:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        address = parse_address(text) if text else parse_address(DEFAULT_ADDRESS)
    except ValueError as exc:
        _logger.warning("Ignoring malformed %s (%s); sending to %s.", DAEMON_ADDRESS, exc, DEFAULT_ADDRESS)
        address = parse_address(DEFAULT_ADDRESS)
    _address = (raw, address)
    return address


def _get_socket() -> Any:
    global _socket
    sock = _socket
    if sock is None:
        with _lock:
            if _socket is None:
                from .._compat.cmodules import socket_module  # `_socket` alone: cold start

                module = socket_module()
                created = module.socket(module.AF_INET, module.SOCK_DGRAM)
                created.setblocking(False)
                _socket = created
            sock = _socket
    return sock


def send(document: str) -> bool:
    """Send one serialised segment document to the daemon; ``False`` (logged) when it could not be sent.

    Example:
        >>> send('{"name": "doc"}')  # nothing listens on 127.0.0.1:2000 here, and UDP does not care
        True
    """
    data = PROTOCOL_HEADER + document.encode("utf-8", "replace")
    if len(data) > DOCUMENT_LIMIT_BYTES:
        _logger.warning(
            "Not sending a %d-byte X-Ray document: the daemon drops datagrams over %d bytes.",
            len(data),
            DOCUMENT_LIMIT_BYTES,
        )
        return False
    try:
        _get_socket().sendto(data, _target())
    except OSError as exc:
        _logger.warning("Could not send an X-Ray document to the daemon: %s.", exc)
        return False
    return True


def reset() -> None:
    """Close the socket (the next send opens a new one): the documented hook for tests and forks."""
    global _socket
    with _lock:
        sock, _socket = _socket, None
    if sock is not None:
        sock.close()
