"""The reference browser SSE client (examples/browser/sse-client.js): its Node test suite, and a real headless
Chromium against a cross-origin loopback SSE server built with ``xray_exclusive.sse``.

The server scripts four connections: a graceful close after ``retry: 400``; a replayed duplicate then a
dropped connection; a 503; a healthy stream the page closes. It records every
request's headers and the time it arrived, so delays are measured where the server sees them.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from xray_exclusive import sse
from xray_exclusive.devtools import Collector, browser_client_path

from .test_devtools import CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parent.parent
T1 = "1-5759e988-bd862e3fe1be46a994272793"
T2 = "1-5759e988-0000000000000000000000b2"
T4 = "1-5759e988-0000000000000000000000b4"
RETRY_MS = 400
BASE_MS = 300
RANDOM = 0.999999  # the page pins the jitter at the top of its window, so the backoff is measurable


def test_node_suite_on_the_shared_vectors() -> None:
    node = shutil.which("node")
    assert node, "Node.js is required: .ci/run installs Debian's nodejs package"
    out = subprocess.run(
        [node, "--test", str(ROOT / "tests" / "js")], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    vectors = json.loads((ROOT / "tests" / "data" / "sse_vectors.json").read_text("utf-8"))["vectors"]
    assert f"# pass {len(vectors) + 16}" in out.stdout  # every vector, and the sixteen other tests
    assert "# fail 0" in out.stdout


def test_the_collector_serves_the_packaged_client() -> None:
    with (
        Collector(udp_port=0, http_port=0) as collector,
        urllib.request.urlopen(collector.http_address + "/sse-client.js", timeout=5) as response,
    ):
        body = response.read()
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert body == browser_client_path().read_bytes()
    assert b"export class TracedEventSource" in body


# -- the SSE server the browser talks to --------------------------------------------------------------


@dataclass
class Connection:
    path: str
    arrived: float
    headers: dict[str, str]
    ended: float = 0.0
    client_closed: bool = False


@dataclass
class Script:
    connections: list[Connection] = field(default_factory=list)
    preflights: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _send(stream: sse.EventStream, data: str, event: str | None = None) -> bytes:
    frame = stream.send(data, event=event)
    assert frame is not None
    return frame


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class SSEHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _cors(self, expose: bool = True) -> dict[str, str]:
        headers = sse.cors_headers(self.headers.get("Origin"))
        if not expose:
            del headers["Access-Control-Expose-Headers"]
        return headers

    def do_OPTIONS(self) -> None:
        with self.script.lock:
            self.script.preflights.append(dict(self.headers.items()))
        self.send_response(204)
        for name, value in self._cors().items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _start(self, stream: sse.EventStream, trace_id: str, expose: bool = True) -> None:
        self.send_response(200)
        for name, value in {**stream.response_headers, **self._cors(expose)}.items():
            self.send_header(name, value)
        self.send_header("X-Amzn-Trace-Id", f"Root={trace_id};Parent=53995c3f42cd8ad8;Sampled=1")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()

    def _write(self, data: bytes, piece: int = 0) -> None:
        """Chunked, in pieces of ``piece`` bytes (split inside lines and UTF-8 characters), each flushed."""
        pieces = [data[i : i + piece] for i in range(0, len(data), piece)] if piece else [data]
        for part in pieces:
            self.wfile.write(_chunk(part))
            self.wfile.flush()
            if piece:
                time.sleep(0.01)

    def do_GET(self) -> None:
        connection = Connection(self.path, time.monotonic(), {k.lower(): v for k, v in self.headers.items()})
        with self.script.lock:
            self.script.connections.append(connection)
            number = sum(c.path == self.path for c in self.script.connections)
        if self.path == "/no-expose":
            self._no_expose(number, connection)
        else:
            self._main(number, connection)

    def _main(self, number: int, connection: Connection) -> None:
        stream = sse.EventStream(headers=dict(self.headers.items()), retry_ms=RETRY_MS)
        if number == 1:  # events split anywhere, then a graceful end: reconnect after `retry:`
            self._start(stream, T1)
            frames = b"".join(stream.start()) + _send(stream, "héllo €", event="sentiment")
            frames += _send(stream, "line one\nline two") + _send(stream, "𝄞 three")
            self._write(frames.replace(b"\n", b"\r\n", 3), piece=5)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        elif number == 2:  # a replayed duplicate (resume unsupported), a new event, then the connection drops
            self._start(stream, T2)
            self._write(b"".join(stream.start()) + sse.encode("𝄞 three", id=3) + _send(stream, "four"))
            time.sleep(0.05)
            self.connection.shutdown(socket.SHUT_RDWR)
        elif number == 3:  # overloaded: a 503 is retried like a network error, and the backoff doubles
            # (not a dropped socket: Chromium retries a GET that got no response byte once by itself)
            self.send_response(503)
            for name, value in self._cors().items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif number == 4:  # healthy: one event, then keep-alive comments until the page closes the source
            self._start(stream, T4)
            self._write(b"".join(stream.start()) + _send(stream, "five"))
            deadline = time.monotonic() + 10
            try:
                while time.monotonic() < deadline:
                    time.sleep(0.1)
                    self._write(stream.comment("keep-alive"))
            except OSError:
                connection.client_closed = True
        else:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        connection.ended = time.monotonic()
        self.close_connection = True

    def _no_expose(self, number: int, connection: Connection) -> None:
        """The same server without Access-Control-Expose-Headers: the page cannot read the trace header."""
        if number == 1:
            stream = sse.EventStream(retry_ms=100)
            self._start(stream, T1, expose=False)
            self._write(b"".join(stream.start()) + _send(stream, "hidden"))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_response(204)  # no content: the client stops for good
            for name, value in self._cors().items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        connection.ended = time.monotonic()
        self.close_connection = True


PAGE = """<!doctype html>
<meta charset="utf-8">
<title>sse-client.js in Chromium</title>
<script type="module">
import { TracedEventSource } from "/sse-client.js";

const SSE = "http://127.0.0.1:%(sse_port)d";
const epoch = Math.floor(Date.now() / 1000).toString(16).padStart(8, "0");
let n = 0;
const received = [], lifecycle = [], noExpose = [];
const source = new TracedEventSource(SSE + "/stream", {
  // What CloudWatch RUM would supply: a fresh header per request.
  traceHeader: () =>
    `Root=1-${epoch}-${(++n).toString(16).padStart(24, "0")};Parent=53995c3f42cd8ad8;Sampled=1`,
  backoff: { baseMs: %(base_ms)d, maxMs: 5000 },
  random: () => %(random)s,
});
const record = (e) => received.push({ type: e.type, id: e.lastEventId, data: e.data });
source.addEventListener("message", record);
source.addEventListener("sentiment", record);
for (const type of ["open", "error", "reconnecting"]) {
  source.addEventListener(type, (e) => lifecycle.push({ type, ...e.detail }));
}
const other = new TracedEventSource(SSE + "/no-expose");
other.addEventListener("message", (e) => noExpose.push(e.data));
other.addEventListener("error", (e) => noExpose.push(`error ${e.detail.status} fatal=${e.detail.fatal}`));

source.addEventListener("message", (e) => {
  if (e.data !== "five") return;
  source.close();
  const closedAt = performance.now();
  setTimeout(() => fetch("/report", {
    method: "POST",
    body: JSON.stringify({
      received, lifecycle, noExpose,
      readyState: source.readyState, sessionId: source.sessionId,
      otherSessionId: other.sessionId, otherState: other.readyState,
      eventsAfterClose: received.length - 5, waited: performance.now() - closedAt,
    }),
  }), 1500);
});
</script>
"""


class PageHandler(BaseHTTPRequestHandler):
    page: bytes
    reports: list[dict[str, Any]]
    reported: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/":
            body, content_type = self.page, "text/html; charset=utf-8"
        elif self.path == "/sse-client.js":
            body, content_type = browser_client_path().read_bytes(), "text/javascript; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.reports.append(json.loads(body))
        self.reported.set()
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def servers() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer, Script, PageHandler]]:
    script = Script()
    sse_server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (SSEHandler,), {"script": script}))
    page_handler = type(
        "P",
        (PageHandler,),
        {"page": b"", "reports": [], "reported": threading.Event()},
    )
    page_server = ThreadingHTTPServer(("127.0.0.1", 0), page_handler)
    page_handler.page = (
        PAGE % {"sse_port": sse_server.server_port, "base_ms": BASE_MS, "random": RANDOM}
    ).encode()
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (sse_server, page_server)]
    for thread in threads:
        thread.start()
    yield sse_server, page_server, script, page_handler  # type: ignore[misc]
    for server in (sse_server, page_server):
        server.shutdown()
        server.server_close()


TRACE_HEADER = re.compile(r"Root=1-[0-9a-f]{8}-([0-9a-f]{24});Parent=53995c3f42cd8ad8;Sampled=1\Z")


def test_in_headless_chromium(servers: Any, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is required: .ci/run installs Debian's chromium package"
    _, page_server, script, page = servers
    browser = subprocess.Popen(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"http://127.0.0.1:{page_server.server_port}/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reported = page.reported.wait(timeout=60)
    finally:
        browser.terminate()
        try:
            _, stderr = browser.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            browser.kill()
            _, stderr = browser.communicate()
    assert reported, f"the page never reported; Chromium said: {stderr[-3000:]}"
    [report] = page.reports
    assert "Uncaught" not in stderr

    # Events in order, split anywhere on the wire; the replayed id 3 was dropped; nothing after close().
    assert [(e["type"], e["id"], e["data"]) for e in report["received"]] == [
        ("sentiment", "1", "héllo €"),
        ("message", "2", "line one\nline two"),
        ("message", "3", "𝄞 three"),
        ("message", "4", "four"),
        ("message", "5", "five"),
    ]
    assert report["eventsAfterClose"] == 0 and report["readyState"] == 2

    main = [c for c in script.connections if c.path == "/stream"]
    assert len(main) == 4, [c.headers for c in main]  # no fifth attempt after close(): no timer left behind
    assert main[3].client_closed  # close() aborted the open request

    # Every connection: the app's trace header (a fresh one each time) and the session fields.
    traces = [TRACE_HEADER.match(c.headers.get("x-amzn-trace-id", "")) for c in main]
    assert all(traces), [c.headers.get("x-amzn-trace-id") for c in main]
    assert [int(t.group(1), 16) for t in traces if t] == [1, 2, 3, 4]
    assert {c.headers["x-sse-session-id"] for c in main} == {report["sessionId"]}
    assert re.fullmatch(r"[A-Za-z0-9_.:\-]{1,128}", report["sessionId"])
    assert [c.headers["x-sse-connection-sequence"] for c in main] == ["1", "2", "3", "4"]
    # The previous connection's response trace ID, readable because the server exposes the header.
    assert [c.headers.get("x-sse-previous-trace-id") for c in main] == [None, T1, T2, T2]
    assert [c.headers.get("last-event-id") for c in main] == [None, "3", "4", "4"]
    # What the server-side helper makes of them: the annotations of each connection's trace.
    assert sse.session_annotations(main[1].headers) == {
        "session_id": report["sessionId"],
        "previous_trace_id": T1,
        "connection_sequence": 2,
    }
    # The preflights asked for exactly what cors_headers() allows.
    asked = ",".join(p["Access-Control-Request-Headers"] for p in script.preflights)
    requested = {h.strip().lower() for h in asked.split(",")}
    assert {"x-amzn-trace-id", "x-sse-session-id", "x-sse-connection-sequence"} <= requested
    assert requested <= {h.lower() for h in sse.CORS_ALLOW_HEADERS}

    # Delays, measured at the server: retry after a graceful close, a doubling backoff after errors.
    graceful = (main[1].arrived - main[0].ended) * 1000
    first_error = (main[2].arrived - main[1].ended) * 1000
    second_error = (main[3].arrived - main[2].ended) * 1000
    backoff = [int(BASE_MS * RANDOM), int(2 * BASE_MS * RANDOM)]
    assert RETRY_MS * 0.9 <= graceful <= RETRY_MS + 1500, graceful
    assert backoff[0] * 0.9 <= first_error <= backoff[0] + 1500, first_error
    assert backoff[1] * 0.9 <= second_error <= backoff[1] + 1500, second_error
    assert second_error > first_error + BASE_MS / 2
    kinds = [(e["type"], e.get("cause") or e.get("reason")) for e in report["lifecycle"]]
    assert kinds == [
        ("open", None),
        ("reconnecting", "closed"),
        ("open", None),
        ("error", "network"),
        ("reconnecting", "error"),
        ("error", "http"),
        ("reconnecting", "error"),
        ("open", None),
    ]
    assert [e.get("status") for e in report["lifecycle"] if e["type"] == "error"] == [None, 503]
    assert [e["delayMs"] for e in report["lifecycle"] if e["type"] == "reconnecting"] == [RETRY_MS, *backoff]

    # Without Access-Control-Expose-Headers the browser hides the response's trace ID: no previous_trace_id.
    hidden = [c for c in script.connections if c.path == "/no-expose"]
    assert len(hidden) == 2
    assert "x-sse-previous-trace-id" not in hidden[1].headers
    assert hidden[1].headers["x-sse-connection-sequence"] == "2"
    assert report["noExpose"] == ["hidden", "error 204 fatal=true"] and report["otherState"] == 2
    assert report["otherSessionId"] != report["sessionId"]
