"""A loopback Lambda Runtime API, for local runs and tests: the documented endpoints, recording what arrives.

``GET /2018-06-01/runtime/invocation/next`` hands out queued events (and blocks when there is none);
``POST .../{id}/response`` is read buffered or, in streaming mode, chunk by chunk with a timestamp per
chunk and the trailers; ``POST .../{id}/error`` and ``POST .../init/error`` record the error documents.
Every request is kept in :attr:`LocalRuntimeAPI.requests` (method, path, headers, body, connection), and
:attr:`LocalRuntimeAPI.connections` counts the TCP connections the runtime opened.

It is modelled on the real service, not on a runtime's assumptions:

* **Deadline**: each invocation has ``AWS_LAMBDA_FUNCTION_TIMEOUT`` seconds (300 if unset; or ``timeout_s``
  given to :meth:`~LocalRuntimeAPI.invoke`) from the moment ``next`` hands it out. An invocation still
  unanswered then is ``timed_out``: its caller gets ``Sandbox.Timedout``, and what the runtime sends later is
  not recorded.
* **Limits**: a buffered response over 6 MiB + 100 bytes gets ``413`` (the caller a
  ``Function.ResponseSizeTooLarge`` error); a streamed response over ``stream_limit`` bytes (200 MiB, the
  documented limit) gets ``413`` at once, while the runtime is still sending, and the rest is read and
  dropped.
* **A client that leaves** (``client_leaves_after`` chunks) does not close the runtime's connection: Lambda
  keeps reading the response until the function ends it or the deadline passes. ``drop_after`` is a
  different fault, the Runtime API connection itself breaking.
* **A runtime that exits** mid-invocation (its connection closes with the invocation unanswered) is answered
  ``Runtime.ExitError``.

It also behaves as AWS's Runtime Interface Emulator does where a caller can tell (the emulator tests run
both): request ids are UUIDs, the ARN names ``AWS_LAMBDA_FUNCTION_NAME`` (``test_function`` if unset), and
after an INIT error every invocation, queued or later, is answered with the INIT error document and status
502.

Example:
    >>> api = LocalRuntimeAPI()
    >>> api.address.startswith("127.0.0.1:")
    True
    >>> api.close()
"""

from __future__ import annotations

import json
import os
import queue
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MAX_PAYLOAD_SIZE", "MAX_STREAM_SIZE", "LocalRuntimeAPI", "Received", "Request"]

MAX_PAYLOAD_SIZE = 6 * 1024 * 1024 + 100
"""The largest buffered response the Runtime API accepts (the emulator's limit: 6 MiB + 100 bytes)."""
MAX_STREAM_SIZE = 200 * 1024 * 1024
"""The largest streamed response Lambda documents (200 MiB)."""
_ACCEPTED = b'{"status":"OK"}'


@dataclass
class Request:
    """One request the runtime sent, as it arrived."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    trailers: dict[str, str]
    connection: int


@dataclass
class Received:
    """What the runtime posted for one invocation."""

    request_id: str
    kind: str = ""  # response, error
    status: int = 0  # what the invoke endpoint answers the caller: 200, or 502 when INIT failed
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    answered: int = 0  # the status the Runtime API gave the runtime (202, 413)
    deadline_ms: int = 0
    timed_out: bool = False
    client_left: bool = False  # the caller went away; the runtime was not told
    delivered: bytes = b""  # what the caller received before it left (or all of it)


class LocalRuntimeAPI:
    """Serve the Runtime API on loopback; queue events with :meth:`invoke`, read answers with :meth:`wait`."""

    def __init__(self, stream_limit: int = MAX_STREAM_SIZE) -> None:
        self.events: queue.Queue[tuple[str, dict[str, str], bytes, float | None]] = queue.Queue()
        self.received: dict[str, Received] = {}
        self.requests: list[Request] = []
        self.init_errors: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.drop_after: int | None = None
        self.client_leaves_after: int | None = None
        self.stream_limit = stream_limit
        self.next_calls = 0
        self.connections = 0
        self.init_failure: tuple[dict[str, str], bytes] | None = None
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            pending: str | None = None
            number = 0

            def setup(self) -> None:
                super().setup()
                # As Lambda's Runtime API (a Go server): no Nagle delay on a keep-alive connection.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with api._lock:
                    api.connections += 1
                    self.number = api.connections

            def finish(self) -> None:
                super().finish()
                if self.pending is not None:
                    api._runtime_exited(self.pending)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _record(self, body: bytes, trailers: dict[str, str] | None = None) -> None:
                with api._lock:
                    api.requests.append(
                        Request(
                            self.command,
                            self.path,
                            list(self.headers.items()),
                            body,
                            trailers or {},
                            self.number,
                        )
                    )

            def _gone(self) -> bool:
                readable, _, _ = select.select([self.connection], [], [], 0)
                if not readable:
                    return False
                try:
                    return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
                except OSError:
                    return True

            def do_GET(self) -> None:
                self._record(b"")
                if not self.path.endswith("/runtime/invocation/next"):
                    self._answer(404)
                    return
                api.next_calls += 1
                while True:  # a runtime that went away while waiting must not take the next event
                    try:
                        request_id, headers, body, timeout_s = api.events.get(timeout=0.05)
                        break
                    except queue.Empty:
                        if self._gone():
                            self.close_connection = True
                            return
                if self._gone():
                    api._requeue((request_id, headers, body, timeout_s))
                    self.close_connection = True
                    return
                record = api.received[request_id]
                seconds = timeout_s if timeout_s is not None else _function_timeout()
                record.deadline_ms = int((time.time() + seconds) * 1000)
                headers = {**headers, "Lambda-Runtime-Deadline-Ms": str(record.deadline_ms)}
                timer = threading.Timer(seconds, api._deadline_passed, (request_id,))
                timer.daemon = True
                timer.start()
                self.pending = request_id
                self._answer(200, body, headers)

            def do_POST(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path.endswith("/runtime/init/error"):
                    body = self.rfile.read(int(headers.get("content-length", "0")))
                    self._record(body)
                    api.init_errors.append((headers, json.loads(body)))
                    self._answer(202, _ACCEPTED)
                    api._init_failed(headers, body)
                    return
                parts = self.path.split("/")
                request_id, kind = parts[-2], parts[-1]
                if request_id == self.pending:
                    self.pending = None
                record = api.received.setdefault(request_id, Received(request_id))
                if record.timed_out:  # Lambda stopped the function at its deadline: nothing more is read
                    self.close_connection = True
                    return
                record.kind, record.headers = kind, headers
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    if not self._read_chunked(record):
                        record.done.set()
                        return
                    if record.answered:  # refused early (over the streaming limit)
                        record.done.set()
                        return
                else:
                    record.body = self.rfile.read(int(headers.get("content-length", "0")))
                    record.delivered = record.body
                    self._record(record.body)
                record.status = 200
                if kind == "response" and len(record.body) > MAX_PAYLOAD_SIZE and not record.chunks:
                    # As the emulator: the runtime gets 413, the caller a Function.ResponseSizeTooLarge error.
                    record.kind = "error"
                    record.body = _too_large_for_caller(MAX_PAYLOAD_SIZE)
                    record.answered = 413
                    self._answer(413, _too_large_for_runtime(MAX_PAYLOAD_SIZE))
                else:
                    record.answered = 202
                    self._answer(202, _ACCEPTED)
                record.done.set()

            def _read_chunked(self, record: Received) -> bool:
                received = 0
                while True:
                    size_line = self.rfile.readline()
                    if not size_line:
                        _settle(record, api.client_leaves_after)
                        self._record(record.body)
                        return False
                    size = int(size_line.strip().split(b";")[0], 16)
                    if size == 0:
                        break
                    data = self.rfile.read(size)
                    self.rfile.readline()
                    received += size
                    if record.answered or record.timed_out:
                        continue  # refused, or past the deadline: read and dropped
                    if received > api.stream_limit:
                        record.answered = 413
                        record.kind, record.status = "error", 200
                        record.body = _too_large_for_caller(api.stream_limit)
                        self._answer(413, _too_large_for_runtime(api.stream_limit))
                        continue
                    record.chunks.append((time.monotonic(), data))
                    leaves = api.client_leaves_after
                    if leaves is not None and len(record.chunks) > leaves:
                        record.client_left = True
                    if api.drop_after is not None and len(record.chunks) >= api.drop_after:
                        _settle(record, leaves)
                        self._record(record.body)
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return False
                while True:
                    line = self.rfile.readline().decode()
                    if line in ("\r\n", "\n", ""):
                        break
                    key, _, value = line.partition(":")
                    record.trailers[key.strip()] = value.strip()
                _settle(record, api.client_leaves_after)
                self._record(record.body, dict(record.trailers))
                return True

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def invoke(
        self,
        event: Any,
        trace_id: str | None = None,
        *,
        timeout_s: float | None = None,
        client_context: dict[str, Any] | None = None,
        cognito_identity: dict[str, Any] | None = None,
        tenant_id: str | None = None,
        content_type: str = "application/json",
    ) -> str:
        """Queue one event (with ``Lambda-Runtime-Trace-Id`` if given); return its request id.

        ``event`` is sent as JSON, or as it is when it is ``bytes``. ``client_context`` and
        ``cognito_identity`` become the JSON headers Lambda sends for mobile SDK calls. After an INIT error
        the invocation is answered at once with the INIT error document (status 502), as Lambda answers it.
        """
        request_id = str(uuid.uuid4())
        function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "test_function"
        arn = f"arn:aws:lambda:us-east-1:012345678912:function:{function_name}"
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Invoked-Function-Arn": arn,
            "Content-Type": content_type,
        }
        if trace_id:
            headers["Lambda-Runtime-Trace-Id"] = trace_id
        if client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = json.dumps(client_context)
        if cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(cognito_identity)
        if tenant_id is not None:
            headers["Lambda-Runtime-Aws-Tenant-Id"] = tenant_id
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        record = self.received[request_id] = Received(request_id)
        with self._lock:
            failure = self.init_failure
            if failure is None:
                self.events.put((request_id, headers, body, timeout_s))
                return request_id
        self._answer_init_failure(record, failure)
        return request_id

    def _requeue(self, item: tuple[str, dict[str, str], bytes, float | None]) -> None:
        with self._lock:
            rest = []
            while not self.events.empty():
                rest.append(self.events.get_nowait())
            for entry in (item, *rest):
                self.events.put(entry)

    def _deadline_passed(self, request_id: str) -> None:
        record = self.received[request_id]
        if record.done.is_set():
            return
        record.timed_out = True
        if not record.chunks:
            record.kind, record.status = "error", 200
            record.body = _compact(
                {
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out",
                    "errorType": "Sandbox.Timedout",
                }
            )
        record.done.set()

    def _runtime_exited(self, request_id: str) -> None:
        record = self.received.get(request_id)
        if record is None or record.done.is_set() or record.kind:
            return
        record.kind, record.status = "error", 200
        record.body = _compact(
            {
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited without providing a reason",
                "errorType": "Runtime.ExitError",
            }
        )
        record.done.set()

    def _init_failed(self, headers: dict[str, str], body: bytes) -> None:
        """INIT failed: the runtime is gone, so every queued invocation gets the INIT error."""
        with self._lock:
            self.init_failure = (headers, body)
            queued = []
            while not self.events.empty():
                queued.append(self.events.get_nowait()[0])
        for request_id in queued:
            self._answer_init_failure(self.received[request_id], (headers, body))

    @staticmethod
    def _answer_init_failure(record: Received, failure: tuple[dict[str, str], bytes]) -> None:
        record.headers, record.body = failure
        record.kind, record.status = "error", 502
        record.done.set()

    def wait(self, request_id: str, timeout: float = 20) -> Received:
        """Wait for the runtime's answer to ``request_id``."""
        record = self.received[request_id]
        assert record.done.wait(timeout), f"no answer for {request_id}"
        return record

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def _settle(record: Received, leaves: int | None) -> None:
    """The streamed body, and what the caller received of it, from the chunks (joined once, not per chunk)."""
    if record.answered:  # refused: the body is the error the caller gets
        return
    record.body = b"".join(data for _, data in record.chunks)
    kept = record.chunks if leaves is None else record.chunks[:leaves]
    record.delivered = b"".join(data for _, data in kept)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A runtime that went away mid-request is part of the model, not a server error."""


def _function_timeout() -> float:
    return float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 300)


def _compact(document: dict[str, str]) -> bytes:
    """An error document as the service writes it: compact JSON, keys in the service's order."""
    return json.dumps(document, separators=(",", ":")).encode()


def _too_large_for_caller(limit: int) -> bytes:
    return _compact(
        {
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
        }
    )


def _too_large_for_runtime(limit: int) -> bytes:
    return _compact(
        {
            "errorMessage": f"Exceeded maximum allowed payload size ({limit} bytes).",
            "errorType": "RequestEntityTooLarge",
        }
    )
