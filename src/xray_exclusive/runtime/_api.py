"""A small client of the Lambda Runtime API (``AWS_LAMBDA_RUNTIME_API``), streaming included.

Endpoints (version ``2018-06-01``): ``GET /runtime/invocation/next``;
``POST /runtime/invocation/{id}/response`` buffered, or streamed with
``Lambda-Runtime-Function-Response-Mode: streaming``, chunked transfer
encoding and the error trailers; ``POST /runtime/invocation/{id}/error``;
``POST /runtime/init/error``.

One keep-alive HTTP/1.1 connection serves the whole process, as in AWS's own runtime clients; it is opened
again (once per call) if the Runtime API closed it. Every answer's status is checked: ``next`` fails with
:class:`RuntimeAPIError`, and a refused response or error is logged with its status and body. A streamed
response the Runtime API refuses while it is being sent (``413``: over the size limit) raises
:class:`ResponseRejected` from :meth:`ResponseStream.write`, which is not a client disconnect.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import select
import socket
import sys
from dataclasses import dataclass
from typing import Any

from ..exceptions import XrayExclusiveError

__all__ = [
    "HTTP_INTEGRATION",
    "Invocation",
    "ResponseRejected",
    "ResponseStream",
    "RuntimeAPI",
    "RuntimeAPIError",
    "error_body",
]

VERSION = "2018-06-01"
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
"""Content type of a streamed Function URL response that starts with the metadata prelude."""
PRELUDE_DELIMITER = b"\x00" * 8
ERROR_TYPE_TRAILER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
_CHECK_EVERY = 1024 * 1024  # bytes streamed between two looks for an early answer (a 413)
_logger = logging.getLogger("xray_exclusive.runtime")


def _user_agent() -> str:
    from .. import __version__

    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"xray-exclusive/{__version__} python/{python}"


def error_body(
    exc: BaseException, error_type: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """The documented error document: ``errorMessage``, ``errorType``, ``requestId``, ``stackTrace``.

    Example:
        >>> sorted(error_body(ValueError("bad")))
        ['errorMessage', 'errorType', 'requestId', 'stackTrace']
    """
    from ._marshal import error_document

    return error_document(exc, request_id, error_type)[0]


class RuntimeAPIError(XrayExclusiveError, RuntimeError):
    """The Runtime API answered a call with a status it does not document as success."""

    def __init__(self, call: str, status: int, body: bytes) -> None:
        super().__init__(f"Runtime API {call}: HTTP {status}: {body[:500]!r}")
        self.status = status
        self.body = body


class ResponseRejected(RuntimeAPIError):
    """The Runtime API refused a streamed response while it was being sent (``413``: too large)."""

    bytes_written = 0
    """Bytes of the response body sent before the refusal was seen."""


@dataclass(frozen=True)
class Invocation:
    """One event from ``next``: its id, deadline, ARN, trace header, and raw body."""

    request_id: str
    deadline_ms: int
    function_arn: str
    trace_id: str | None
    body: bytes
    client_context: str | None = None
    cognito_identity: str | None = None
    tenant_id: str | None = None
    content_type: str | None = None


class RuntimeAPI:
    """Blocking HTTP calls to the Runtime API endpoint (``host:port``), on one keep-alive connection."""

    def __init__(self, address: str, timeout: float | None = None) -> None:
        host, _, port = address.rpartition(":")
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self.timeout = timeout
        self.connections_opened = 0
        self.user_agent = _user_agent()
        self._connection: http.client.HTTPConnection | None = None
        self._stream_heads: dict[str, bytes] = {}  # content type: a streamed response's head (_stream_head)
        self._heads: dict[tuple[str, str], bytes] = {}  # (method, path): a bare request's head (_bare_head)

    def connection(self) -> http.client.HTTPConnection:
        """The process's connection, opened now if it is not open."""
        if self._connection is None or self._connection.sock is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            connection.connect()
            self._connection = connection
            self.connections_opened += 1
        return self._connection

    def reset(self) -> None:
        """Close the connection; the next call opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _call(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str | bytes], plain: bool = False
    ) -> tuple[int, bytes, http.client.HTTPMessage]:
        for attempt in range(2):
            connection = self.connection()
            try:
                if plain:  # http.client's own headers, as awslambdaric sends its INIT error
                    connection.request(method, path, body=body, headers=headers)
                    response = connection.getresponse()
                else:
                    self._put_head(connection, method, path, headers, body)
                    connection.endheaders(body)
                    response = connection.getresponse()
                data = response.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.reset()  # a keep-alive connection the peer closed: once more on a new one
                if attempt:
                    raise
                continue
            if response.will_close:
                self.reset()
            return response.status, data, response.headers
        raise AssertionError("unreachable")  # pragma: no cover

    def _put_head(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        path: str,
        headers: dict[str, str | bytes],
        body: bytes | None,
    ) -> None:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.putheader("Accept", "*/*")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("User-Agent", self.user_agent)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))

    def _bare_head(self, method: str, path: str) -> bytes:
        """The head of a request without headers of its own or a body, as ``http.client`` builds it, once."""
        head = self._heads.get((method, path))
        if head is None:
            capture = _Capture(self.host, self.port)
            self._put_head(capture, method, path, {}, None)
            capture.endheaders()
            head = self._heads[method, path] = capture.head
        return head

    def _call_bare(self, method: str, path: str) -> tuple[int, bytes, dict[str, str]]:
        """A request without headers of its own or a body (``next``, before every invocation).

        Its head is built once (:meth:`_bare_head`) and its answer read by :func:`_read_bare`, past
        ``http.client``'s machinery; the connection is the process's, reopened once if the peer closed it.
        """
        for attempt in range(2):
            connection = self.connection()
            sock = connection.sock
            assert isinstance(sock, socket.socket)
            try:
                sock.sendall(self._bare_head(method, path))
                status, body, fields, closes = _read_bare(sock)
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.reset()  # a keep-alive connection the peer closed: once more on a new one
                if attempt:
                    raise
                continue
            if closes:
                self.reset()
            return status, body, fields
        raise AssertionError("unreachable")  # pragma: no cover

    def next(self) -> Invocation:
        """Wait for the next event (the call blocks until there is one)."""
        status, body, fields = self._call_bare("GET", f"/{VERSION}/runtime/invocation/next")
        if status != 200:
            raise RuntimeAPIError("next", status, body)
        get = fields.get
        return Invocation(
            request_id=get("lambda-runtime-aws-request-id", ""),
            deadline_ms=int(get("lambda-runtime-deadline-ms") or 0),
            function_arn=get("lambda-runtime-invoked-function-arn", ""),
            trace_id=get("lambda-runtime-trace-id"),
            body=body,
            client_context=get("lambda-runtime-client-context"),
            cognito_identity=get("lambda-runtime-cognito-identity"),
            tenant_id=get("lambda-runtime-aws-tenant-id"),
            content_type=get("content-type"),
        )

    def _checked(self, call: str, status: int, body: bytes) -> int:
        if not 200 <= status < 300:
            if status == 413:
                _logger.error("The Runtime API refused the %s as too large: HTTP 413: %r", call, body[:500])
            else:
                _logger.error("The Runtime API refused the %s: HTTP %d: %r", call, status, body[:500])
        return status

    def respond(self, request_id: str, body: bytes, content_type: str = "application/json") -> int:
        """A buffered response; return the Runtime API's status (anything but 2xx is logged as an error)."""
        path = f"/{VERSION}/runtime/invocation/{request_id}/response"
        status, answer, _ = self._call("POST", path, body, {"Content-Type": content_type})
        return self._checked("response", status, answer)

    def error(self, request_id: str, document: dict[str, Any], xray_cause: str = "") -> int:
        """An invocation error (before any byte of a response), with the X-Ray error cause header."""
        from ._marshal import to_json

        headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
        if xray_cause:
            headers[XRAY_CAUSE_HEADER] = xray_cause.encode("utf-8")
        path = f"/{VERSION}/runtime/invocation/{request_id}/error"
        status, answer, _ = self._call("POST", path, to_json(document).encode("utf-8"), headers)
        return self._checked("error", status, answer)

    def init_error(self, document: dict[str, Any]) -> int:
        """An error at INIT (the handler could not be loaded)."""
        from ._marshal import to_json

        headers: dict[str, str | bytes] = {
            ERROR_TYPE_TRAILER: str(document.get("errorType", "Runtime.Unknown"))
        }
        body = to_json(document).encode("utf-8")
        status, answer, _ = self._call("POST", f"/{VERSION}/runtime/init/error", body, headers, plain=True)
        return self._checked("INIT error", status, answer)

    def stream(
        self, request_id: str, content_type: str = HTTP_INTEGRATION, first: bytes = b""
    ) -> ResponseStream:
        """Open a streamed response; write chunks to it, then :meth:`ResponseStream.finish`.

        ``first``: the first chunk, sent with the request's head in one write (one system call, one wake-up
        of the Runtime API, on the way to the first byte).
        """
        path = f"/{VERSION}/runtime/invocation/{request_id}/response"
        for attempt in range(2):
            try:
                return ResponseStream(self, path, content_type, first)
            except (ConnectionError, http.client.RemoteDisconnected):
                self.reset()
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class _Capture(http.client.HTTPConnection):
    """A connection that keeps the request head ``http.client`` builds instead of sending it."""

    head = b""

    def send(self, data: Any) -> None:
        self.head = bytes(data)


_UNSAFE_PATH = re.compile(r"[\x00-\x20\x7f-\U0010ffff]")  # what http.client refuses in a path, and non-ASCII


def _stream_head(api: RuntimeAPI, content_type: str) -> bytes:
    """The streamed response's request head after its request line, built once per content type.

    ``http.client`` builds it, once (the bytes ``putrequest``, ``putheader`` and ``endheaders`` send): its
    header checks cost more than the rest of opening a stream, on the way to every stream's first byte.
    """
    heads = api._stream_heads
    head = heads.get(content_type)
    if head is None:
        capture = _Capture(api.host, api.port)
        fields: dict[str, str | bytes] = {
            "Lambda-Runtime-Function-Response-Mode": "streaming",
            "Transfer-Encoding": "chunked",
            "Content-Type": content_type,
            "Trailer": f"{ERROR_TYPE_TRAILER}, {ERROR_BODY_TRAILER}",
        }
        api._put_head(capture, "POST", "/", fields, None)
        capture.endheaders()
        head = heads[content_type] = capture.head[capture.head.index(b"\r\n") :]
    return head


_MAX_LINE = 65536  # http.client's limits
_MAX_HEADERS = 100


def _read_bare(sock: socket.socket) -> tuple[int, bytes, dict[str, str], bool]:
    r"""The answer to a request on ``sock``: status, body, header fields, whether the server closes.

    ``http.client`` hands a response's head to the ``email`` package's parser: about 27 us, 47 us with the
    caches the previous invocation's export left, on the way to every invocation's first byte. This reads the
    status line and one field a line (names lower-cased; the first of a repeated name kept, as
    ``HTTPMessage.get`` answers; a folded line continues the field before it), then the body: by
    ``Content-Length``, chunked, or up to the close. Interim (1xx) answers are skipped; ``http.client``'s
    limits hold (line length, number of fields) and its exceptions are raised.

    Example:
        >>> import socket
        >>> ours, server = socket.socketpair()
        >>> server.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\n"
        ...                b"Content-Length: 2\r\n\r\n{}")
        >>> _read_bare(ours)
        (200, b'{}', {'lambda-runtime-aws-request-id': 'r-1', 'content-length': '2'}, False)
        >>> ours.close(), server.close()
        (None, None)
    """
    fp = sock.makefile("rb")
    try:
        while True:
            line = fp.readline(_MAX_LINE + 1)
            if not line:
                raise http.client.RemoteDisconnected("Remote end closed connection without response")
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("status line")
            version, _, rest = line.decode("iso-8859-1").rstrip("\r\n").partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/") or not code.isdigit() or rest[3:4] not in ("", " "):
                raise http.client.BadStatusLine(repr(line))
            status = int(code)
            fields = _read_fields(fp)
            if not 100 <= status < 200:
                break
        connection = fields.get("connection", "").lower()
        closes = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        if "chunked" in fields.get("transfer-encoding", "").lower():
            body = _read_chunks(fp)
        elif "content-length" in fields:
            try:
                length = int(fields["content-length"])
            except ValueError:
                raise http.client.HTTPException(f"bad Content-Length {fields['content-length']!r}") from None
            body = fp.read(length) if length > 0 else b""
            if len(body) < length:
                raise http.client.IncompleteRead(body, length - len(body))
        elif status in (204, 304):
            body = b""
        else:  # no length: the body ends with the connection
            body, closes = fp.read(), True
    finally:
        fp.close()
    return status, body, fields, closes


def _read_fields(fp: Any) -> dict[str, str]:
    fields: dict[str, str] = {}
    last: str | None = (
        None  # the field a folded line continues (none after a repeated name: its first stands)
    )
    for _ in range(_MAX_HEADERS + 1):
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return fields
        text = line.decode("iso-8859-1")
        if text[0] in " \t":
            if last is not None:
                fields[last] = f"{fields[last]} {text.strip()}"
            continue
        name, colon, value = text.partition(":")
        name = name.strip().lower()
        if not colon or name in fields:
            last = None
        else:
            fields[name] = value.strip()
            last = name
    raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")


def _read_chunks(fp: Any) -> bytes:
    parts: list[bytes] = []
    while True:
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("chunk size")
        try:
            size = int(line.split(b";", 1)[0], 16)
        except ValueError:
            raise http.client.IncompleteRead(b"".join(parts)) from None
        if size == 0:
            break
        data = fp.read(size)
        if len(data) < size:
            raise http.client.IncompleteRead(b"".join(parts) + data, size - len(data))
        parts.append(data)
        fp.readline(_MAX_LINE + 1)  # the CRLF after the chunk
    _read_fields(fp)  # trailers, dropped as http.client drops them
    return b"".join(parts)


def _read_response(sock: socket.socket, method: str) -> http.client.HTTPResponse:
    """The answer to a request sent on ``sock`` past the connection's own machinery (which stays idle)."""
    response = http.client.HTTPResponse(sock, method=method)
    try:
        response.begin()
    except BaseException:
        response.close()
        raise
    return response


class ResponseStream:
    """One streamed response: chunked encoding, each write sent at once, error trailers at the end."""

    def __init__(self, api: RuntimeAPI, path: str, content_type: str, first: bytes = b"") -> None:
        self._api = api
        if _UNSAFE_PATH.search(path):
            raise http.client.InvalidURL(f"URL can't contain control characters. {path!r}")
        connection = api.connection()
        sock = connection.sock
        assert isinstance(sock, socket.socket)
        self._connection = connection
        self._sock = sock
        self.bytes_written = 0
        self._next_check = _CHECK_EVERY
        # The connection's own request machinery is left idle: the head is sent as is, the answer read below.
        head = b"POST " + path.encode("ascii") + b" HTTP/1.1" + _stream_head(api, content_type)
        if first:
            self._open(head, first)
        else:
            sock.sendall(head)

    def _response(self) -> http.client.HTTPResponse:
        return _read_response(self._sock, "POST")

    def write(self, data: bytes) -> None:
        """Send one chunk now (no buffering).

        Raises :class:`ResponseRejected` when the Runtime API has answered early (a response over its
        limit), ``OSError`` when the connection is gone.
        """
        if not data:
            return
        try:
            self._sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError:
            self._early_answer(wait=1.0)
            raise
        self.bytes_written += len(data)
        if self.bytes_written >= self._next_check:
            self._next_check = self.bytes_written + _CHECK_EVERY
            self._early_answer(wait=0)

    def _open(self, head: bytes, first: bytes) -> None:
        """Send the request's head and the first chunk in one write, then as :meth:`write` does."""
        try:
            self._sock.sendall(b"%s%x\r\n%s\r\n" % (head, len(first), first))
        except OSError:
            self._early_answer(wait=1.0)
            raise
        self.bytes_written = len(first)
        if self.bytes_written >= self._next_check:
            self._next_check = self.bytes_written + _CHECK_EVERY
            self._early_answer(wait=0)

    def _early_answer(self, wait: float) -> None:
        """Raise :class:`ResponseRejected` if the Runtime API has already answered this response."""
        try:
            readable, _, _ = select.select([self._sock], [], [], wait)
        except (OSError, ValueError):
            return
        if not readable:
            return
        try:
            self._sock.settimeout(max(wait, 1.0))
            response = self._response()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return
        finally:
            self._api.reset()  # the request was not finished: this connection cannot serve another
        rejected = ResponseRejected("streamed response", response.status, body)
        rejected.bytes_written = self.bytes_written
        raise rejected

    def finish(self, error: dict[str, Any] | None = None) -> int:
        """End the body (with the error trailers if ``error``); return the Runtime API's status."""
        trailer = b""
        if error is not None:
            import base64

            encoded = base64.b64encode(json.dumps(error).encode()).decode()
            trailer = (
                f"{ERROR_TYPE_TRAILER}: {error.get('errorType', 'Unhandled')}\r\n"
                f"{ERROR_BODY_TRAILER}: {encoded}\r\n"
            ).encode()
        try:
            self._sock.sendall(b"0\r\n" + trailer + b"\r\n")
            response = self._response()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self._api.reset()
            raise
        if response.will_close:
            self._api.reset()
        return self._api._checked("streamed response", response.status, body)

    def abort(self) -> None:
        """Close without finishing (the connection cannot be used for anything else now)."""
        self._api.reset()
