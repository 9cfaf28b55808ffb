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
import select
import socket
import sys
from dataclasses import dataclass
from typing import Any

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


class RuntimeAPIError(RuntimeError):
    """The Runtime API answered a call with a status it does not document as success."""

    def __init__(self, call: str, status: int, body: bytes) -> None:
        super().__init__(f"Runtime API {call}: HTTP {status}: {body[:500]!r}")
        self.status = status
        self.body = body


class ResponseRejected(RuntimeAPIError):
    """The Runtime API refused a streamed response while it was being sent (``413``: too large)."""


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
                else:
                    connection.putrequest(method, path, skip_accept_encoding=True)
                    connection.putheader("Accept", "*/*")
                    for name, value in headers.items():
                        connection.putheader(name, value)
                    connection.putheader("User-Agent", self.user_agent)
                    if body is not None:
                        connection.putheader("Content-Length", str(len(body)))
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

    def next(self) -> Invocation:
        """Wait for the next event (the call blocks until there is one)."""
        status, body, headers = self._call("GET", f"/{VERSION}/runtime/invocation/next", None, {})
        if status != 200:
            raise RuntimeAPIError("next", status, body)
        return Invocation(
            request_id=headers.get("Lambda-Runtime-Aws-Request-Id", ""),
            deadline_ms=int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
            function_arn=headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            trace_id=headers.get("Lambda-Runtime-Trace-Id"),
            body=body,
            client_context=headers.get("Lambda-Runtime-Client-Context"),
            cognito_identity=headers.get("Lambda-Runtime-Cognito-Identity"),
            tenant_id=headers.get("Lambda-Runtime-Aws-Tenant-Id"),
            content_type=headers.get("Content-Type"),
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

    def stream(self, request_id: str, content_type: str = HTTP_INTEGRATION) -> ResponseStream:
        """Open a streamed response; write chunks to it, then :meth:`ResponseStream.finish`."""
        path = f"/{VERSION}/runtime/invocation/{request_id}/response"
        for attempt in range(2):
            try:
                return ResponseStream(self, path, content_type)
            except (ConnectionError, http.client.RemoteDisconnected):
                self.reset()
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class ResponseStream:
    """One streamed response: chunked encoding, each write sent at once, error trailers at the end."""

    def __init__(self, api: RuntimeAPI, path: str, content_type: str) -> None:
        self._api = api
        connection = api.connection()
        connection.putrequest("POST", path, skip_accept_encoding=True)
        connection.putheader("Accept", "*/*")
        connection.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Content-Type", content_type)
        connection.putheader("Trailer", f"{ERROR_TYPE_TRAILER}, {ERROR_BODY_TRAILER}")
        connection.putheader("User-Agent", api.user_agent)
        connection.endheaders()
        self._connection = connection
        sock = connection.sock
        assert isinstance(sock, socket.socket)
        self._sock = sock
        self.bytes_written = 0
        self._next_check = _CHECK_EVERY

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
            response = self._connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return
        finally:
            self._api.reset()  # the request was not finished: this connection cannot serve another
        raise ResponseRejected("streamed response", response.status, body)

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
            response = self._connection.getresponse()
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
