"""The local collector survives anything a socket sends: each attack on a real socket, then a healthy request.

Memory is measured on a collector in its own process (``/proc/<pid>/status``), under the attacks the
bounds of ``devtools/_limits.py`` answer; the figures are documented in docs/devtools.md ("Limits").
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xray_exclusive.devtools import Collector, TraceStore, _limits
from xray_exclusive.devtools._collector import UDP_HEADER, parse_datagram
from xray_exclusive.devtools._view import render_html

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


def _segment(i: int = 0, trace: str = ROOT, **extra: Any) -> dict[str, Any]:
    return {
        "trace_id": trace,
        "id": f"{i:016x}",
        "name": f"s{i}",
        "start_time": 1.0,
        "end_time": 2.0,
        **extra,
    }


def _datagram(document: Any) -> bytes:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return UDP_HEADER + b"\n" + body


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector(udp_port=0, http_port=0, store=TraceStore(), page=lambda: "<p>live</p>") as running:
        yield running


# A gzip bomb: 1,024 gzip members of 1 MiB of zeros each, one after the other (gzip allows several
# members): about 1 MB on the wire, 1 GiB once decompressed.
_BOMB = gzip.compress(b"\x00" * (1024 * 1024), compresslevel=9) * 1024


def _send_udp(collector: Collector, *datagrams: bytes) -> None:
    host, port = collector.udp_address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            sock.sendto(data, (host, int(port)))


def _wait_for(predicate: Any, what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def _post(collector: Collector, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    host, port = collector.http_address.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.request("POST", "/v1/traces", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _get(collector: Collector, path: str) -> int:
    host, port = collector.http_address.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "hostile",
    [
        _datagram(_segment(1, subsegments=5)),  # used to kill the UDP thread (int is not iterable)
        _datagram(b"[" * 20_000 + b"]" * 20_000),  # RecursionError in json.loads
        _datagram(b'{"trace_id": "' + ROOT.encode() + b'", "a": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"),
        _datagram(_segment(2, start_time="soon")),  # used to break the live page for good
        _datagram(b'{"trace_id": "' + ROOT.encode() + b'", "id": "x", "start_time": NaN}'),
        _datagram(_segment(3, subsegments=[{"id": "c", "start_time": []}])),
        _datagram({"trace_id": 5}),
        b"\xff" * 60_000,
    ],
    ids=[
        "subsegments-int",
        "nested-20000",
        "nested-5000",
        "text-start-time",
        "nan",
        "bad-child",
        "trace-int",
        "junk",
    ],
)
def test_a_hostile_datagram_is_rejected_and_intake_goes_on(collector: Collector, hostile: bytes) -> None:
    _send_udp(collector, hostile, _datagram(_segment(9)))
    _wait_for(lambda: collector.store.received == 1, "the healthy datagram after the hostile one")
    assert collector.store.rejected >= 1
    assert [d["id"] for t in collector.store.traces() for d in t.documents.values()] == [f"{9:016x}"]
    assert _get(collector, "/") == 200 and _get(collector, "/traces.json") == 200
    render_html(collector.store.traces())


def test_a_gzip_bomb_is_refused_413_within_the_limit(collector: Collector) -> None:
    import tracemalloc

    bomb = _BOMB
    assert len(bomb) < 1_100_000  # about 1 MB on the wire
    tracemalloc.start()
    try:
        status, _ = _post(
            collector, bomb, {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413
    assert peak < 48 * 1024 * 1024, peak  # 16 MiB decompressed at most, plus the body and one chunk
    deflate = zlib.compress(b"\x00" * (64 * 1024 * 1024))
    status, _ = _post(
        collector, deflate, {"Content-Type": "application/x-protobuf", "Content-Encoding": "deflate"}
    )
    assert status == 413
    status, _ = _post(
        collector, gzip.compress(b""), {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    )
    assert status == 200  # an empty request, compressed, is still fine


@pytest.mark.parametrize("length", ["-1", "1e3", "+5", " 12abc", "99999999999999999999999"])
def test_a_content_length_that_is_not_a_number_is_refused_at_once(collector: Collector, length: str) -> None:
    host, port = collector.http_address.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(
            f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )  # and the connection stays open: the old collector read to its end, forever
        answer = sock.recv(4096)
    assert answer.split(b" ", 2)[1] in (b"400", b"413")
    assert _get(collector, "/traces.json") == 200


def test_a_chunked_body_is_refused_411(collector: Collector) -> None:
    host, port = collector.http_address.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n"
        )
        assert sock.recv(4096).split(b" ", 2)[1] == b"411"


def test_documents_per_trace_and_in_all_are_bounded() -> None:
    store = TraceStore(max_traces=100_000)
    for i in range(_limits.MAX_DOCUMENTS_PER_TRACE + 50):
        store.add(_segment(i))
    assert len(store.get(ROOT).documents) == _limits.MAX_DOCUMENTS_PER_TRACE  # type: ignore[union-attr]
    assert store.rejected == 50
    # Across traces: the oldest go first once MAX_DOCUMENTS are kept.
    for i in range(_limits.MAX_DOCUMENTS + 5_000):
        store.add(_segment(i, trace=f"1-5759e988-{i:024x}"))
    documents, stored = store.stored
    assert documents <= _limits.MAX_DOCUMENTS and stored <= _limits.MAX_STORED_BYTES
    assert store.get(ROOT) is None  # evicted, oldest first
    assert store.get(f"1-5759e988-{_limits.MAX_DOCUMENTS + 4_999:024x}") is not None
    assert sum(len(t.documents) for t in store.traces()) == documents


def test_stored_bytes_are_bounded() -> None:
    store = TraceStore()
    big = "x" * 60_000
    for i in range(1_500):  # 90 MB of documents
        store.add(_segment(i, trace=f"1-5759e988-{i:024x}", metadata={"default": {"blob": big}}))
    documents, stored = store.stored
    assert stored <= _limits.MAX_STORED_BYTES
    assert documents == len(store.traces()) < 1_500


def test_a_thousand_concurrent_posts_are_all_answered(collector: Collector) -> None:
    """All connect before any is served: the backlog (1,024) holds what the 64 workers cannot take yet."""
    host, port = collector.http_address.removeprefix("http://").rsplit(":", 1)
    request = (
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    sockets = []
    try:
        for _ in range(1_000):
            sock = socket.create_connection((host, int(port)), timeout=60)
            sock.sendall(request)
            sockets.append(sock)
        statuses = []
        for sock in sockets:
            statuses.append(sock.recv(64).split(b" ", 2)[1])
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [b"200"] * 1_000


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5.0

    def handle_one_request(self) -> None:
        guard = self.server.guard  # type: ignore[attr-defined]
        guard.start(self.connection)
        try:
            super().handle_one_request()
        except OSError:
            self.close_connection = True
        finally:
            guard.finish(self.connection)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_slow_senders_are_cut_at_the_deadline_and_never_hold_every_worker() -> None:
    """The collector's own server class and guard, with a short deadline instead of 30 s."""
    server = _limits.BoundedHTTPServer(("127.0.0.1", 0), _Echo)
    server.guard.close()
    server.guard = _limits.ConnectionGuard(limit=4, deadline_s=0.5)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        slow = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(8)]
        for sock in slow:
            sock.sendall(b"GET / HTTP/1.1\r\n")  # ... and never the rest
        # Every slow connection is closed by the reaper (EOF), twice the slots' worth of them.
        for sock in slow:
            while sock.recv(4096):  # until EOF: the reaper shut the connection down
                pass
            sock.close()
        assert server.guard.reaped >= 8
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"ok"
        connection.close()
        assert server.guard.active <= 4
    finally:
        server.shutdown()
        server.server_close()


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)
documents = st.fixed_dictionaries(
    {"trace_id": st.sampled_from([ROOT, "1-5759e988-bd862e3fe1be46a994272794"])},
    optional={
        "id": json_values,
        "name": json_values,
        "start_time": json_values,
        "end_time": json_values,
        "parent_id": json_values,
        "subsegments": json_values
        | st.lists(st.dictionaries(st.sampled_from(["id", "start_time", "name"]), json_values)),
        "http": json_values,
        "annotations": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(documents, max_size=6))
def test_whatever_documents_arrive_the_store_and_the_page_keep_working(docs: list[dict[str, Any]]) -> None:
    store = TraceStore()
    for doc in docs:
        parsed = parse_datagram(_datagram(json.dumps(doc).encode()))
        if parsed is not None:
            store.add(parsed)
    assert store.received + store.rejected >= len([d for d in docs if d])
    render_html(store.traces())
    json.dumps([list(t.documents.values()) for t in store.traces()], default=str)


# -- memory under the attacks, measured on a collector in its own process ---------------------------

_SERVER = """
import sys, time
from xray_exclusive.devtools import Collector, TraceStore
collector = Collector(udp_port=0, http_port=0, store=TraceStore(max_traces=1_000_000))
print(collector.udp_address, collector.http_address, flush=True)
sys.stdin.read()
print(collector.store.received, collector.store.rejected, *collector.store.stored, flush=True)
"""


def _rss_kib(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


@pytest.mark.slow
def test_memory_stays_bounded_under_the_attacks(record_property: Any) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert process.stdout is not None
        udp, http_address = process.stdout.readline().split()
        start, _ = _rss_kib(process.pid)
        host, port = udp.rsplit(":", 1)
        # 400,000 documents, 1 KB each, in one trace then across 400,000 traces (used to reach 505 MB).
        filler = "y" * 900
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(400_000):
                trace = ROOT if i < 200_000 else f"1-5759e988-{i:024x}"
                sock.sendto(_datagram(_segment(i, trace=trace, annotations={"f": filler})), (host, int(port)))
                if i % 2_000 == 0:
                    time.sleep(
                        0.002
                    )  # let the receiver keep up: loopback UDP drops what overflows its buffer
        fake = type("C", (), {"http_address": http_address})()
        bomb = _BOMB
        for _ in range(3):
            status, _ = _post(
                fake, bomb, {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
            )  # type: ignore[arg-type]
            assert status == 413
        time.sleep(1.0)
        end, peak = _rss_kib(process.pid)
        record_property("collector_rss_kib", {"start": start, "end": end, "peak": peak})
        print(
            f"\ncollector RSS: start {start // 1024} MiB, after the attacks {end // 1024} MiB, "
            f"peak {peak // 1024} MiB"
        )
        assert peak < 400 * 1024, peak  # documented: under 400 MiB whatever arrives
        process.stdin.close()  # type: ignore[union-attr]
        received, rejected, documents, stored = map(int, process.stdout.readline().split())
        print(f"received {received}, rejected {rejected}, kept {documents} documents, {stored // 1024} KiB")
        assert received > 100_000  # the attack did reach past the bounds
        assert documents <= 100_000 and stored <= 64 * 1024 * 1024
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=20)
