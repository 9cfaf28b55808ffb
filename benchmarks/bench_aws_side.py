"""The real collector build against the local pure-Python collector: spans per second, end to end.

Run: ``nox -s bench`` or ``python benchmarks/bench_aws_side.py`` (needs ``scripts/build-peers collector``).
The same 64-span OTLP requests (the streaming tracer's batch size) go through the real ``OTLPSpanExporter``
to (a) our collector build: OTLP receiver, ``batch``, ``awsxray`` exporter, ``PutTraceSegments`` to the
loopback X-Ray stand-in of ``xray-exclusive demo --collector``; (b) ``xray-exclusive collect``'s pure-Python
receiver and converter. A span counts when its X-Ray document is stored. Then the same for X-Ray SDK datagrams
over UDP, paced at most 200 in flight (the real collector stores in 50 ms batches, so its paced UDP
figure is bound by that latency, and its receiver drops datagrams in bursts the local one takes). The
sender runs in this process; the machine has 2 cores.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = int(os.environ.get("BENCH_OTLP_REQUESTS", "160"))
DATAGRAMS = int(os.environ.get("BENCH_DATAGRAMS", "5000"))


def _spans() -> list[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from xray_exclusive.streaming._semconv import dynamodb_span  # the library's own span shapes

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for i in range(64):
        with tracer.start_as_current_span("poll_cycle") as span:
            span.set_attribute("aws.xray.annotations", ["item_count"])
            span.set_attribute("item_count", i)
            with dynamodb_span("Query", "sentiment-items", tracer=tracer):
                pass
    return list(memory.get_finished_spans())[:64]


def _wait(counter: Any, target: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while counter() < target and time.monotonic() < deadline:
        time.sleep(0.002)


def _otlp_rate(endpoint: str, received: Any, spans: list[Any]) -> float:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(endpoint=endpoint)
    before = received()
    started = time.perf_counter()
    for _ in range(REQUESTS):
        exporter.export(spans)
    _wait(received, before + REQUESTS * len(spans))
    elapsed = time.perf_counter() - started
    exporter.shutdown()
    return (received() - before) / elapsed


def _udp_rate(address: str, received: Any) -> tuple[float, int]:
    host, port = address.rsplit(":", 1)
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    datagrams = [
        b'{"format":"json","version":1}\n'
        + json.dumps(
            {
                "name": "circuit_breaker_load",
                "id": f"{i:016x}",
                "trace_id": root,
                "parent_id": "53995c3f42cd8ad8",
                "type": "subsegment",
                "start_time": time.time() - 1,
                "end_time": time.time(),
                "annotations": {"failure_path": "circuit_breaker_load"},
            }
        ).encode()
        for i in range(DATAGRAMS)
    ]
    before = received()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        started = time.perf_counter()
        for sent, data in enumerate(datagrams, start=1):
            sender.sendto(data, (host, int(port)))
            if sent % 50 == 0:  # paced (at most 200 in flight): we measure ingest, not the kernel's drops
                _wait(lambda: received() - before, sent - 200, timeout=0.5)
        _wait(received, before + DATAGRAMS, timeout=5)
        elapsed = time.perf_counter() - started
    stored = received() - before
    return stored / elapsed, DATAGRAMS - stored


def main() -> int:
    from xray_exclusive.devtools import Collector, TraceStore
    from xray_exclusive.devtools._collector import CollectorError
    from xray_exclusive.devtools._real import RealCollector, find_collector

    try:
        binary = find_collector(str(ROOT / "build" / "peers" / "xray-exclusive-collector"))
    except CollectorError as exc:
        print(f"bench_aws_side: {exc}")
        return 2
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    spans = _spans()
    results: dict[str, tuple[float, tuple[float, int]]] = {}
    with RealCollector(binary, TraceStore(max_traces=50)) as real:
        results["real collector"] = (
            _otlp_rate(real.otlp_endpoint, lambda: real.store.received, spans),
            _udp_rate(real.udp_address, lambda: real.store.received),
        )
    with Collector(udp_port=0, http_port=0, store=TraceStore(max_traces=50)) as local:
        results["local collector"] = (
            _otlp_rate(local.otlp_endpoint, lambda: local.store.received, spans),
            _udp_rate(local.udp_address, lambda: local.store.received),
        )
    print("end to end on loopback: sent until the X-Ray document is stored")
    for name, (otlp, (udp, lost)) in results.items():
        print(f"  {name:<16} OTLP {otlp:>9,.0f} spans/s   X-Ray UDP {udp:>9,.0f} datagrams/s ({lost} lost)")
    real_otlp, (real_udp, _) = results["real collector"]
    local_otlp, (local_udp, _) = results["local collector"]
    print(f"  local / real:    OTLP {local_otlp / real_otlp:.2f}x   UDP {local_udp / real_udp:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
