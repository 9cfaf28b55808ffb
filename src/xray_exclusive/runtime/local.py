"""A loopback Lambda Runtime API, for local runs and tests: the documented endpoints, recording what arrives.

``GET /2018-06-01/runtime/invocation/next`` hands out queued events (and blocks when there is none);
``POST .../{id}/response`` is read buffered or, in streaming mode, chunk by chunk with a timestamp per
chunk and the trailers; ``POST .../{id}/error`` and ``POST .../init/error`` record the error documents.
``drop_after`` closes the connection after that many chunks, as a client that went away.

Example:
    >>> api = LocalRuntimeAPI()
    >>> api.address.startswith("127.0.0.1:")
    True
    >>> api.close()
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LocalRuntimeAPI", "Received"]


@dataclass
class Received:
    """What the runtime posted for one invocation."""

    request_id: str
    kind: str = ""  # response, error
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)


class LocalRuntimeAPI:
    """Serve the Runtime API on loopback; queue events with :meth:`invoke`, read answers with :meth:`wait`."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, dict[str, str], bytes]] = queue.Queue()
        self.received: dict[str, Received] = {}
        self.init_errors: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.drop_after: int | None = None
        self.next_calls = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if not self.path.endswith("/runtime/invocation/next"):
                    self._answer(404)
                    return
                api.next_calls += 1
                request_id, headers, body = api.events.get()
                api.received.setdefault(request_id, Received(request_id))
                self._answer(200, body, headers)

            def do_POST(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path.endswith("/runtime/init/error"):
                    body = self.rfile.read(int(headers.get("content-length", "0")))
                    api.init_errors.append((headers, json.loads(body)))
                    self._answer(202, b'{"status":"OK"}')
                    return
                parts = self.path.split("/")
                request_id, kind = parts[-2], parts[-1]
                record = api.received.setdefault(request_id, Received(request_id))
                record.kind, record.headers = kind, headers
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    if not self._read_chunked(record):
                        record.done.set()
                        return
                else:
                    record.body = self.rfile.read(int(headers.get("content-length", "0")))
                self._answer(202, b'{"status":"OK"}')
                record.done.set()

            def _read_chunked(self, record: Received) -> bool:
                while True:
                    size_line = self.rfile.readline()
                    if not size_line:
                        return False
                    size = int(size_line.strip().split(b";")[0], 16)
                    if size == 0:
                        break
                    data = self.rfile.read(size)
                    self.rfile.readline()
                    record.chunks.append((time.monotonic(), data))
                    record.body += data
                    if api.drop_after is not None and len(record.chunks) >= api.drop_after:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return False
                while True:
                    line = self.rfile.readline().decode()
                    if line in ("\r\n", "\n", ""):
                        return True
                    key, _, value = line.partition(":")
                    record.trailers[key.strip()] = value.strip()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event: Any, trace_id: str | None = None) -> str:
        """Queue one event (with ``Lambda-Runtime-Trace-Id`` if given); return its request id."""
        request_id = secrets.token_hex(8)
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + 60) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-west-1:123456789012:function:sse",
            "Content-Type": "application/json",
        }
        if trace_id:
            headers["Lambda-Runtime-Trace-Id"] = trace_id
        self.received[request_id] = Received(request_id)
        self.events.put((request_id, headers, json.dumps(event).encode()))
        return request_id

    def wait(self, request_id: str, timeout: float = 20) -> Received:
        """Wait for the runtime's answer to ``request_id``."""
        record = self.received[request_id]
        assert record.done.wait(timeout), f"no answer for {request_id}"
        return record

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
