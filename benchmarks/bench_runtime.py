"""The custom runtime against a plain ``http.client`` loop writing the same chunks to the same server.

Run: ``nox -s bench`` or ``python benchmarks/bench_runtime.py``. Reports time to first byte (from the
event being available to the first chunk arriving at the loopback Runtime API), the per-chunk cost for a
200-chunk stream measured where the chunks are produced (the time between two chunks pulled from the
generator: the previous chunk's encoding and send, and every layer in between), and INIT time of
``python -m xray_exclusive.runtime`` (start to first ``next``).

The plain loop is what a careful hand-written client does: one keep-alive connection for ``next`` and the
response, each chunk sent as it comes. The Runtime API (LocalRuntimeAPI) runs in a process of its own, so
that its parsing does not compete with the client for the interpreter lock (``time.monotonic`` is the
same clock in both processes).
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHUNKS = 200
RUNS = int(os.environ.get("BENCH_RUNS", "15"))


class RemoteAPI:
    """LocalRuntimeAPI in a subprocess: ``invoke`` and ``wait`` over its stdin/stdout."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._in, self._out = self.process.stdin, self.process.stdout
        self.address = self._out.readline().strip()

    def _ask(self, line: str) -> str:
        self._in.write(line + "\n")
        self._in.flush()
        return self._out.readline().strip()

    def invoke(self, trace_id: str = "") -> str:
        return self._ask(f"invoke {trace_id}".strip())

    def first_chunk_at(self, request_id: str) -> float:
        return float(self._ask(f"wait {request_id}"))

    def next_calls(self) -> int:
        return int(self._ask("next_calls"))

    def close(self) -> None:
        self._in.close()
        self.process.wait(timeout=30)


def serve() -> int:
    from xray_exclusive.runtime.local import LocalRuntimeAPI

    api = LocalRuntimeAPI()
    print(api.address, flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "invoke":
            print(api.invoke({}, argument or None), flush=True)
        elif command == "wait":
            record = api.wait(argument)
            print(record.chunks[0][0], flush=True)
        elif command == "next_calls":
            print(api.next_calls, flush=True)
    api.close()
    return 0


def main() -> int:
    os.environ.update(OTEL_SERVICE_NAME="bench", POWERTOOLS_METRICS_DISABLED="true")
    os.environ.pop("POWERTOOLS_SERVICE_NAME", None)
    from tests.otlp_receiver import OTLPReceiver

    from xray_exclusive.runtime import Runtime, RuntimeAPI
    from xray_exclusive.streaming import get_streaming_tracer

    receiver = OTLPReceiver(keep=False)
    get_streaming_tracer(endpoint=receiver.endpoint)
    chunk = b"id: 1\nevent: sentiment\ndata: " + b"x" * 200 + b"\n\n"

    stamps: list[float] = []

    def produce() -> Any:
        for _ in range(CHUNKS):
            stamps.append(time.perf_counter())
            yield chunk

    def handler(event: Any, context: Any) -> Any:
        return produce()

    api = RemoteAPI()
    runtime = Runtime(RuntimeAPI(api.address), handler)

    def ours() -> tuple[float, float]:
        request_id = api.invoke("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        stamps.clear()
        started = time.monotonic()
        runtime.run_once()
        return api.first_chunk_at(request_id) - started, (stamps[-1] - stamps[0]) / (CHUNKS - 1)

    host, port = api.address.split(":")
    conn = http.client.HTTPConnection(host, int(port))

    def raw() -> tuple[float, float]:
        request_id = api.invoke()
        stamps.clear()
        started = time.monotonic()
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        conn.getresponse().read()
        conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{request_id}/response")
        conn.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for data in produce():
            conn.send(b"%x\r\n%s\r\n" % (len(data), data))
        conn.send(b"0\r\n\r\n")
        conn.getresponse().read()
        return api.first_chunk_at(request_id) - started, (stamps[-1] - stamps[0]) / (CHUNKS - 1)

    from xray_exclusive.runtime import _loop

    traced = _loop._already_traced

    def untraced() -> tuple[float, float]:
        """The runtime's own cost: the stream not wrapped in traced_stream (as if it already were)."""
        _loop._already_traced = lambda result: True  # type: ignore[assignment]
        try:
            return ours()
        finally:
            _loop._already_traced = traced  # type: ignore[assignment]

    ours()
    raw()
    untraced()
    samples_ours, samples_raw, samples_untraced = [], [], []
    for _ in range(RUNS):
        samples_ours.append(ours())
        samples_raw.append(raw())
        samples_untraced.append(untraced())
    ttfb_ours = statistics.median(s[0] for s in samples_ours) * 1000
    ttfb_raw = statistics.median(s[0] for s in samples_raw) * 1000
    per_ours = statistics.median(s[1] for s in samples_ours) * 1e6
    per_raw = statistics.median(s[1] for s in samples_raw) * 1e6
    ttfb_bare = statistics.median(s[0] for s in samples_untraced) * 1000
    per_bare = statistics.median(s[1] for s in samples_untraced) * 1e6

    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "_HANDLER": "json.dumps"}
    inits = []
    for _ in range(5):
        before = api.next_calls()
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "xray_exclusive.runtime"], env=env)
        while api.next_calls() == before and time.monotonic() - started < 30:
            time.sleep(0.002)
        inits.append((time.monotonic() - started) * 1000)
        process.kill()
        process.wait()
    bare = []
    for _ in range(5):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append((time.monotonic() - started) * 1000)
    api.close()
    receiver.close()
    print(f"runtime benchmark ({RUNS} invocations of {CHUNKS} chunks of {len(chunk)} B, median)")
    print(f"{'':<46}{'runtime':>10}{'raw loop':>10}{'ratio':>8}")
    print(f"{'time to first byte (ms)':<46}{ttfb_ours:>10.2f}{ttfb_raw:>10.2f}{ttfb_ours / ttfb_raw:>7.2f}x")
    label = "per chunk at the producer (us), traced stream"
    print(f"{label:<46}{per_ours:>10.1f}{per_raw:>10.1f}{per_ours / per_raw:>7.2f}x")
    label = "time to first byte (ms), stream not traced"
    print(f"{label:<46}{ttfb_bare:>10.2f}{ttfb_raw:>10.2f}{ttfb_bare / ttfb_raw:>7.2f}x")
    label = "per chunk at the producer (us), not traced"
    print(f"{label:<46}{per_bare:>10.1f}{per_raw:>10.1f}{per_bare / per_raw:>7.2f}x")
    init, interpreter = statistics.median(inits), statistics.median(bare)
    print(f"INIT: start to first `next` {init:.0f} ms ({init - interpreter:.0f} ms above a bare interpreter)")
    return 0


if __name__ == "__main__":
    raise SystemExit(serve() if sys.argv[1:] == ["--serve"] else main())
