"""A small client of the Lambda Runtime API (``AWS_LAMBDA_RUNTIME_API``), streaming included.

Endpoints (version ``2018-06-01``): ``GET /runtime/invocation/next``;
``POST /runtime/invocation/{id}/response`` buffered, or streamed with
``Lambda-Runtime-Function-Response-Mode: streaming``, chunked transfer
encoding and the error trailers; ``POST /runtime/invocation/{id}/error``;
``POST /runtime/init/error``.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["HTTP_INTEGRATION", "Invocation", "ResponseStream", "RuntimeAPI", "error_body"]

VERSION = "2018-06-01"
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
"""Content type of a streamed Function URL response that starts with the metadata prelude."""
PRELUDE_DELIMITER = b"\x00" * 8
ERROR_TYPE_TRAILER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"


def error_body(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """The documented error document: ``errorMessage``, ``errorType``, ``stackTrace`` (bounded)."""
    import traceback

    from ..bounded import truncate_message

    frames = traceback.format_tb(exc.__traceback__)[-10:]
    return {
        "errorMessage": truncate_message(exc, 4096),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": [line.rstrip("\n") for line in frames],
    }


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


class RuntimeAPI:
    """Blocking HTTP calls to the Runtime API endpoint (``host:port``)."""

    def __init__(self, address: str, timeout: float | None = None) -> None:
        host, _, port = address.rpartition(":")
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def next(self) -> Invocation:
        """Wait for the next event (the call blocks until there is one)."""
        connection = self._connection()
        try:
            connection.request("GET", f"/{VERSION}/runtime/invocation/next")
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"Runtime API next: HTTP {response.status}: {body[:200]!r}")
            headers = response.headers
            return Invocation(
                request_id=headers.get("Lambda-Runtime-Aws-Request-Id", ""),
                deadline_ms=int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
                function_arn=headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
                trace_id=headers.get("Lambda-Runtime-Trace-Id"),
                body=body,
                client_context=headers.get("Lambda-Runtime-Client-Context"),
                cognito_identity=headers.get("Lambda-Runtime-Cognito-Identity"),
            )
        finally:
            connection.close()

    def _post(self, path: str, body: bytes, headers: Mapping[str, str]) -> int:
        connection = self._connection()
        try:
            connection.request("POST", path, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read()
            return int(response.status)
        finally:
            connection.close()

    def respond(self, request_id: str, body: bytes) -> int:
        """A buffered response."""
        return self._post(f"/{VERSION}/runtime/invocation/{request_id}/response", body, {})

    def error(self, request_id: str, document: dict[str, Any]) -> int:
        """An invocation error (before any byte of a response)."""
        headers = {
            ERROR_TYPE_TRAILER: str(document.get("errorType", "Unhandled")),
            "Content-Type": "application/json",
        }
        body = json.dumps(document).encode()
        return self._post(f"/{VERSION}/runtime/invocation/{request_id}/error", body, headers)

    def init_error(self, document: dict[str, Any]) -> int:
        """An error at INIT (the handler could not be imported)."""
        headers = {ERROR_TYPE_TRAILER: str(document.get("errorType", "Runtime.InitError"))}
        return self._post(f"/{VERSION}/runtime/init/error", json.dumps(document).encode(), headers)

    def stream(self, request_id: str, content_type: str = HTTP_INTEGRATION) -> ResponseStream:
        """Open a streamed response; write chunks to it, then :meth:`ResponseStream.finish`."""
        return ResponseStream(
            self._connection(), f"/{VERSION}/runtime/invocation/{request_id}/response", content_type
        )


class ResponseStream:
    """One streamed response: chunked encoding, each write sent at once, error trailers at the end."""

    def __init__(self, connection: http.client.HTTPConnection, path: str, content_type: str) -> None:
        self._connection = connection
        connection.putrequest("POST", path, skip_accept_encoding=True)
        connection.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Content-Type", content_type)
        connection.putheader("Trailer", f"{ERROR_TYPE_TRAILER}, {ERROR_BODY_TRAILER}")
        connection.endheaders()
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        """Send one chunk now (no buffering); a peer that left raises ``BrokenPipeError`` or a reset."""
        if not data:
            return
        self._connection.send(b"%x\r\n%s\r\n" % (len(data), data))
        self.bytes_written += len(data)

    def finish(self, error: dict[str, Any] | None = None) -> int:
        """End the body (with the error trailers if ``error``); return the Runtime API's status."""
        trailer = b""
        if error is not None:
            encoded = base64.b64encode(json.dumps(error).encode()).decode()
            trailer = (
                f"{ERROR_TYPE_TRAILER}: {error.get('errorType', 'Unhandled')}\r\n"
                f"{ERROR_BODY_TRAILER}: {encoded}\r\n"
            ).encode()
        try:
            self._connection.send(b"0\r\n" + trailer + b"\r\n")
            response = self._connection.getresponse()
            response.read()
            return int(response.status)
        finally:
            self._connection.close()

    def abort(self) -> None:
        """Close without finishing (the peer is gone)."""
        self._connection.close()
