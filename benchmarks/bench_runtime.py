"""The custom runtime against a plain ``http.client`` loop writing the same chunks to the same server.

Run: ``nox -s bench`` or ``python benchmarks/bench_runtime.py``. Reports time to first byte (from the
event being available to the first chunk arriving at the loopback Runtime API), the per-chunk overhead
for a 200-chunk stream, and INIT time of ``python -m xray_exclusive.runtime`` (start to first ``next``).
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


def main() -> int:
    os.environ.update(OTEL_SERVICE_NAME="bench", POWERTOOLS_METRICS_DISABLED="true")
    os.environ.pop("POWERTOOLS_SERVICE_NAME", None)
    from tests.otlp_receiver import OTLPReceiver

    from xray_exclusive.runtime import Runtime, RuntimeAPI
    from xray_exclusive.runtime.local import LocalRuntimeAPI
    from xray_exclusive.streaming import get_streaming_tracer

    receiver = OTLPReceiver(keep=False)
    get_streaming_tracer(endpoint=receiver.endpoint)
    chunk = b"id: 1\nevent: sentiment\ndata: " + b"x" * 200 + b"\n\n"

    def handler(event: Any, context: Any) -> Any:
        for _ in range(CHUNKS):
            yield chunk

    api = LocalRuntimeAPI()
    runtime = Runtime(RuntimeAPI(api.address), handler)

    def ours() -> tuple[float, float]:
        request_id = api.invoke(
            {}, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        )
        started = time.monotonic()
        runtime.run_once()
        record = api.wait(request_id)
        return record.chunks[0][0] - started, (record.chunks[-1][0] - record.chunks[0][0]) / (CHUNKS - 1)

    host, port = api.address.split(":")

    def raw() -> tuple[float, float]:
        request_id = api.invoke({})
        started = time.monotonic()
        conn = http.client.HTTPConnection(host, int(port))
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        conn.getresponse().read()
        conn.close()
        conn = http.client.HTTPConnection(host, int(port))
        conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{request_id}/response")
        conn.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for _ in range(CHUNKS):
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
        conn.getresponse().read()
        conn.close()
        record = api.wait(request_id)
        return record.chunks[0][0] - started, (record.chunks[-1][0] - record.chunks[0][0]) / (CHUNKS - 1)

    ours()
    raw()
    samples_ours, samples_raw = [], []
    for _ in range(RUNS):
        samples_ours.append(ours())
        samples_raw.append(raw())
    ttfb_ours = statistics.median(s[0] for s in samples_ours) * 1000
    ttfb_raw = statistics.median(s[0] for s in samples_raw) * 1000
    per_ours = statistics.median(s[1] for s in samples_ours) * 1e6
    per_raw = statistics.median(s[1] for s in samples_raw) * 1e6

    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "_HANDLER": "json.dumps"}
    inits = []
    for _ in range(5):
        before = api.next_calls
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "xray_exclusive.runtime"], env=env)
        while api.next_calls == before and time.monotonic() - started < 30:
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
    label = "per chunk (us), traced stream included"
    print(f"{label:<46}{per_ours:>10.1f}{per_raw:>10.1f}{per_ours / per_raw:>7.2f}x")
    init, interpreter = statistics.median(inits), statistics.median(bare)
    print(f"INIT: start to first `next` {init:.0f} ms ({init - interpreter:.0f} ms above a bare interpreter)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
