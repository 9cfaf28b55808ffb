"""The custom runtime against a plain ``http.client`` loop writing the same chunks to the same server.

Run: ``nox -s bench`` or ``python benchmarks/bench_runtime.py``. Reports time to first byte (from the
event being available to the first chunk arriving at the loopback Runtime API), the per-chunk cost for a
200-chunk stream measured where the chunks are produced (the time between two chunks pulled from the
generator: the previous chunk's encoding and send, and every layer in between; from the second chunk on, the
first being the time to first byte), and INIT time of
``python -m xray_exclusive.runtime`` (start to first ``next``).

The plain loop is what a careful hand-written client does: one keep-alive connection for ``next`` and the
response, each chunk sent as it comes. The Runtime API (LocalRuntimeAPI) runs in a process of its own, so
that its parsing does not compete with the client for the interpreter lock (``time.monotonic`` is the
same clock in both processes).

Fair to every arm: every invocation carries a trace header of its own, as in Lambda (the same header every
time would let the runtime reuse its parse); each measured invocation follows one of its own arm, as every
invocation of a Lambda environment follows one of the same runtime: an arm runs twice in a row and only the
second invocation counts, so none inherits the caches another arm's end of stream left (a rotation of a
fixed order does not do that: each arm kept the same predecessor, and the traced runtime always ran right
after the raw OpenTelemetry arm's export, worth tens of microseconds of time to first byte); the arms take
turns in a shuffled order (seeded) in each run; the OTLP receiver and the tracer's threads are up in every
arm. The figures are medians over ``BENCH_RUNS`` invocations per arm; on a busy machine, compare the ratios,
which come from interleaved runs, rather than the absolute times; the ``paired`` column is the median of
each run's own ratio (the arms of one run see the same load).
"""

from __future__ import annotations

import http.client
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHUNKS = 200
RUNS = int(os.environ.get("BENCH_RUNS", "31"))


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

    def per_chunk() -> float:
        """From the second chunk on: the first is time to first byte (the runtime opens its response only
        once it has the first chunk, the plain loop before; counting it would charge that to every chunk)."""
        return (stamps[-1] - stamps[1]) / (CHUNKS - 2)

    def produce() -> Any:
        for _ in range(CHUNKS):
            stamps.append(time.perf_counter())
            yield chunk

    def handler(event: Any, context: Any) -> Any:
        return produce()

    api = RemoteAPI()
    runtime = Runtime(RuntimeAPI(api.address), handler)

    invocations = iter(range(1, 1 << 30))

    def header() -> str:
        """A trace header of each invocation's own, as Lambda sends."""
        n = next(invocations)
        return f"Root=1-5759e988-{n:024x};Parent={n:016x};Sampled=1"

    def ours() -> tuple[float, float]:
        request_id = api.invoke(header())
        stamps.clear()
        started = time.monotonic()
        runtime.run_once()
        return api.first_chunk_at(request_id) - started, per_chunk()

    host, port = api.address.split(":")
    conn = http.client.HTTPConnection(host, int(port))

    def stream_response(request_id: str) -> None:
        """What a careful hand-written client does: the response opened, each chunk sent as it comes."""
        conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{request_id}/response")
        conn.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for data in produce():
            conn.send(b"%x\r\n%s\r\n" % (len(data), data))
        conn.send(b"0\r\n\r\n")
        conn.getresponse().read()

    def raw() -> tuple[float, float]:
        request_id = api.invoke(header())
        stamps.clear()
        started = time.monotonic()
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        conn.getresponse().read()
        stream_response(request_id)
        return api.first_chunk_at(request_id) - started, per_chunk()

    from opentelemetry import context as otel_context
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.propagators.aws import AwsXRayPropagator
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind, set_span_in_context

    raw_provider = TracerProvider()
    raw_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint)))
    raw_tracer = raw_provider.get_tracer("bench")
    propagator = AwsXRayPropagator()

    def raw_traced() -> tuple[float, float]:
        """The plain loop doing the same tracing job with raw OpenTelemetry: the invocation's parent from
        its trace header, one SERVER span current around the stream, flushed at the stream's end."""
        request_id = api.invoke(header())
        stamps.clear()
        started = time.monotonic()
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        response = conn.getresponse()
        response.read()
        parent = propagator.extract({"X-Amzn-Trace-Id": response.getheader("Lambda-Runtime-Trace-Id") or ""})
        span = raw_tracer.start_span("handler", context=parent, kind=SpanKind.SERVER)
        token = otel_context.attach(set_span_in_context(span))
        try:
            stream_response(request_id)
        finally:
            otel_context.detach(token)
            span.end()
        raw_provider.force_flush()
        return api.first_chunk_at(request_id) - started, per_chunk()

    from xray_exclusive.runtime import _loop

    traced = _loop._traced

    def untraced() -> tuple[float, float]:
        """The runtime's own cost: the stream not wrapped in traced_stream."""
        _loop._traced = lambda result, event: (result, None)
        try:
            return ours()
        finally:
            _loop._traced = traced

    arms = [ours, raw, untraced, raw_traced]
    samples: dict[Any, list[tuple[float, float]]] = {arm: [] for arm in arms}
    for arm in arms * 3:  # warm up
        arm()
    shuffle = random.Random(17).shuffle
    for _ in range(RUNS):
        order = list(arms)
        shuffle(order)
        for arm in order:
            arm()  # follows another arm's invocation: not counted
            samples[arm].append(arm())  # follows one of its own
    samples_ours, samples_raw, samples_untraced = samples[ours], samples[raw], samples[untraced]
    samples_raw_traced = samples[raw_traced]

    def paired(
        arm: list[tuple[float, float]], index: int, base: list[tuple[float, float]] | None = None
    ) -> float:
        """The median of the ratios of one run's arm to the raw loop of the same run (drift cancels)."""
        against = samples_raw if base is None else base
        return statistics.median(a[index] / r[index] for a, r in zip(arm, against, strict=True))

    ttfb_ours = statistics.median(s[0] for s in samples_ours) * 1000
    ttfb_raw = statistics.median(s[0] for s in samples_raw) * 1000
    per_ours = statistics.median(s[1] for s in samples_ours) * 1e6
    per_raw = statistics.median(s[1] for s in samples_raw) * 1e6
    ttfb_bare = statistics.median(s[0] for s in samples_untraced) * 1000
    per_bare = statistics.median(s[1] for s in samples_untraced) * 1e6
    ttfb_raw_traced = statistics.median(s[0] for s in samples_raw_traced) * 1000
    per_raw_traced = statistics.median(s[1] for s in samples_raw_traced) * 1e6

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
    raw_provider.shutdown()
    receiver.close()
    print(f"runtime benchmark ({RUNS} invocations of {CHUNKS} chunks of {len(chunk)} B, median)")
    print(f"{'':<46}{'runtime':>10}{'raw loop':>10}{'ratio':>8}{'paired':>8}")
    rows = [
        ("time to first byte (ms)", ttfb_ours, ttfb_raw, paired(samples_ours, 0)),
        ("per chunk at the producer (us), traced stream", per_ours, per_raw, paired(samples_ours, 1)),
        ("time to first byte (ms), stream not traced", ttfb_bare, ttfb_raw, paired(samples_untraced, 0)),
        ("per chunk at the producer (us), not traced", per_bare, per_raw, paired(samples_untraced, 1)),
        (
            "time to first byte (ms), loop + raw OTel",
            ttfb_raw_traced,
            ttfb_raw,
            paired(samples_raw_traced, 0),
        ),
    ]
    for label, mine, theirs, pair in rows:
        print(f"{label:<46}{mine:>10.2f}{theirs:>10.2f}{mine / theirs:>7.2f}x{pair:>7.2f}x")
    print(f"{'traced, against the loop + raw OpenTelemetry':<46}{'runtime':>10}{'raw+otel':>10}")
    traced_rows = [
        ("time to first byte (ms)", ttfb_ours, ttfb_raw_traced, paired(samples_ours, 0, samples_raw_traced)),
        (
            "per chunk at the producer (us)",
            per_ours,
            per_raw_traced,
            paired(samples_ours, 1, samples_raw_traced),
        ),
    ]
    for label, mine, theirs, pair in traced_rows:
        print(f"{label:<46}{mine:>10.2f}{theirs:>10.2f}{mine / theirs:>7.2f}x{pair:>7.2f}x")
    init, interpreter = statistics.median(inits), statistics.median(bare)
    print(f"INIT: start to first `next` {init:.0f} ms ({init - interpreter:.0f} ms above a bare interpreter)")
    return 0


if __name__ == "__main__":
    raise SystemExit(serve() if sys.argv[1:] == ["--serve"] else main())
