"""Ingest rate of the local collector on loopback: X-Ray UDP datagrams and OTLP spans per second.

Run: ``nox -s bench`` or ``python benchmarks/bench_collector.py``. The fleet's peak load for comparison:
about 45 spans per second per streaming Lambda, and 2,600 segments per second per region. The sender
runs in the same process (one core each, at best, on this 2-core machine), so the figures are a floor.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COUNT = int(os.environ.get("BENCH_DATAGRAMS", "20000"))


def main() -> int:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from xray_exclusive.devtools import Collector, TraceStore

    with Collector(udp_port=0, http_port=0, store=TraceStore(max_traces=200)) as collector:
        host, port = collector.udp_address.rsplit(":", 1)
        # A trace keeps at most MAX_DOCUMENTS_PER_TRACE documents: spread the datagrams over several traces.
        roots = [f"1-{int(time.time()):08x}-{secrets.token_hex(12)}" for _ in range(COUNT // 5000 + 1)]
        datagrams = []
        for i in range(COUNT):
            doc = {
                "name": "s",
                "id": f"{i:016x}",
                "trace_id": roots[i // 5000],
                "parent_id": "53995c3f42cd8ad8",
                "type": "subsegment",
                "start_time": 1.0,
                "end_time": 1.1,
                "annotations": {"i": i},
            }
            datagrams.append(b'{"format":"json","version":1}\n' + json.dumps(doc).encode())
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        started = time.perf_counter()
        for sent, data in enumerate(datagrams, start=1):
            sender.sendto(data, (host, int(port)))
            if sent % 200 == 0:  # pace so the receive buffer never overflows: we measure ingest, not drops
                paced = time.perf_counter() + 5  # never forever: a lost datagram must not stall the run
                while collector.store.received < sent - 400 and time.perf_counter() < paced:
                    time.sleep(0.0005)
        while collector.store.received < COUNT and time.perf_counter() - started < 60:
            time.sleep(0.001)
        udp_rate = collector.store.received / (time.perf_counter() - started)
        sender.close()

        memory = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        tracer = provider.get_tracer("bench")
        for i in range(512):
            with tracer.start_as_current_span("parent"), tracer.start_as_current_span(f"child{i}") as span:
                span.set_attribute("aws.xray.annotations", ["i"])
                span.set_attribute("i", i)
        spans = memory.get_finished_spans()
        exporter = OTLPSpanExporter(endpoint=collector.otlp_endpoint)
        before = collector.store.received
        started = time.perf_counter()
        batches = 0
        for _ in range(20):
            for offset in range(0, len(spans), 64):
                exporter.export(spans[offset : offset + 64])
                batches += 1
        elapsed = time.perf_counter() - started
        otlp_spans = collector.store.received - before
        otlp_rate = otlp_spans / elapsed
        exporter.shutdown()

    print("collector ingest on loopback (sender in the same process)")
    lost = COUNT - min(COUNT, collector.store.received)
    print(f"  X-Ray UDP datagrams: {udp_rate:>9,.0f} /s   ({COUNT:,} datagrams, {lost} lost)")
    print(
        f"  OTLP spans:          {otlp_rate:>9,.0f} /s   ({otlp_spans:,} spans in {batches} requests of 64)"
    )
    print(
        f"  vs the fleet's peak loads: {udp_rate / 2600:.1f}x one region's 2,600 segments/s; "
        f"{otlp_rate / 45:.0f}x one streaming Lambda's 45 spans/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
