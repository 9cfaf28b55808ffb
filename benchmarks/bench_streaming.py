"""The streaming tracer against the raw OpenTelemetry SDK doing the same job, side by side in one process.

Run: ``nox -s bench`` or ``python benchmarks/bench_streaming.py``. Prints microseconds per
operation (median of interleaved repeats) and the ratio ours / raw. Target from the issue:
a traced poll cycle (3 spans with attributes) <= 1.15x the raw SDK.

Both pipelines have the same shape (ParentBased sampler, AwsXRayIdGenerator, a
BatchSpanProcessor with the same settings) and export to the same place: a no-op
exporter for the per-span costs, a loopback OTLP/HTTP receiver for the flushes.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import REPEATS, interleaved, wall_ms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NUMBER = int(os.environ.get("BENCH_NUMBER", "1000"))


def _root() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def _header(sampled: bool) -> str:
    return f"Root={_root()};Parent=53995c3f42cd8ad8;Sampled={int(sampled)}"


def row(name: str, ours: float, theirs: float, unit: str = "us", target: float | None = None) -> None:
    ratio = ours / theirs if theirs else float("inf")
    verdict = (
        "" if target is None else (f"<= {target:.2f}x ok" if ratio <= target else f"<= {target:.2f}x MISSED")
    )
    print(f"{name:<58}{ours:>10.1f}{theirs:>10.1f} {unit:<3}{ratio:>7.2f}x  {verdict}")


def import_times(runs: int = 11) -> dict[str, float]:
    raw = (
        "import opentelemetry.sdk.trace, opentelemetry.sdk.trace.export, "
        "opentelemetry.exporter.otlp.proto.http.trace_exporter, opentelemetry.propagators.aws, "
        "opentelemetry.sdk.extension.aws.trace, opentelemetry.sdk.extension.aws.resource, "
        "opentelemetry.propagate"
    )
    build_raw = (
        raw + "\nfrom opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import BatchSpanProcessor\n"
        "from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter\n"
        "from opentelemetry.sdk.resources import Resource\n"
        "from opentelemetry.sdk.extension.aws.resource import AwsLambdaResourceDetector\n"
        "from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator\n"
        "from opentelemetry.propagate import set_global_textmap\n"
        "from opentelemetry.propagators.aws import AwsXRayLambdaPropagator\n"
        "p = TracerProvider(shutdown_on_exit=False, id_generator=AwsXRayIdGenerator(),"
        " resource=Resource.create().merge(AwsLambdaResourceDetector().detect()))\n"
        "p.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), 1500, 1000, 64))\n"
        "set_global_textmap(AwsXRayLambdaPropagator())"
    )
    statements = {
        "bare interpreter": "pass",
        "raw OTel packages": raw,
        "import xray_exclusive.streaming": "import xray_exclusive.streaming",
        "raw OTel: build provider + BSP + exporter + propagator": build_raw,
        "xray_exclusive.streaming: get_streaming_tracer()": (
            "from xray_exclusive.streaming import get_streaming_tracer; get_streaming_tracer()"
        ),
        "xray_exclusive.streaming: get_streaming_tracer(route='udp')": (
            "from xray_exclusive.streaming import get_streaming_tracer; get_streaming_tracer(route='udp')"
        ),
    }
    return wall_ms(statements, runs, _lambda_env())


def _lambda_env(**extra: str) -> dict[str, str]:
    """A Lambda function's environment (INIT: no trace header unless ``extra`` gives one)."""
    env = dict(
        os.environ,
        OTEL_SERVICE_NAME="bench",
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_REGION="eu-west-1",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="s",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        **extra,
    )
    env.pop("POWERTOOLS_SERVICE_NAME", None)
    return env


FIRST_BYTE_OURS = """
import time
from xray_exclusive.streaming import get_streaming_tracer, poll_cycle, traced_stream
get_streaming_tracer()  # INIT
def handler(event, context):
    for i in range(3):
        with poll_cycle(item_count=i):
            time.sleep(GAP)  # the poll's wait (DynamoDB, the next event)
        yield b"data: %d\\n\\n" % i
stream = traced_stream(handler({}, None))
next(stream)
first = time.time()
for _ in stream:
    pass
print(first, time.time())
"""

FIRST_BYTE_RAW = """
import time
from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import extract, set_global_textmap
from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
from opentelemetry.sdk.extension.aws.resource import AwsLambdaResourceDetector
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
p = TracerProvider(shutdown_on_exit=False, id_generator=AwsXRayIdGenerator(),
    resource=Resource.create().merge(AwsLambdaResourceDetector().detect()))
p.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(timeout=0.5), 1500, 1000, 64))
set_global_textmap(AwsXRayLambdaPropagator())
tracer = p.get_tracer("raw")
def handler(event, context_):
    span = tracer.start_span("sse_stream", context=extract({}))
    try:
        for i in range(3):
            token = context.attach(trace.set_span_in_context(span))
            try:
                with tracer.start_as_current_span("poll_cycle", attributes={"item_count": i}):
                    time.sleep(GAP)
            finally:
                context.detach(token)
            yield b"data: %d\\n\\n" % i
    finally:
        span.end()
        p.force_flush()
stream = handler({}, None)
next(stream)
first = time.time()
for _ in stream:
    pass
print(first, time.time())
"""


def first_byte_times(runs: int = 11, gap_s: float = 0.0) -> dict[str, tuple[float, float]]:
    """(time to first byte, time to the stream's end) of a cold invocation, ms after the process spawn.

    Each run is a fresh interpreter: import, INIT (the tracer built), then the handler's stream, whose
    first chunk is timed as it leaves ``traced_stream`` (raw: the hand-written equivalent), and whose end
    includes the flush to a loopback OTLP/HTTP receiver (the ADOT extension's role). Each poll of the
    stream waits ``gap_s`` (0: a stream that ends at once, the worst case for the deferred exporter).
    """
    import subprocess

    from tests.otlp_receiver import OTLPReceiver

    receiver = OTLPReceiver(keep=False)
    env = _lambda_env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint, _X_AMZN_TRACE_ID=_header(True))
    samples: dict[str, list[tuple[float, float]]] = {"ours": [], "raw": []}
    for _ in range(runs):
        for name, code in (("ours", FIRST_BYTE_OURS), ("raw", FIRST_BYTE_RAW)):
            started = time.time()
            out = subprocess.run(
                [sys.executable, "-c", f"GAP = {gap_s!r}\n" + code],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            first, end = (float(x) for x in out.stdout.split())
            samples[name].append(((first - started) * 1000, (end - started) * 1000))
    receiver.close()
    return {
        name: (statistics.median(s[0] for s in values), statistics.median(s[1] for s in values))
        for name, values in samples.items()
    }


def main() -> int:
    from opentelemetry import context as otel_context
    from opentelemetry.context import Context
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.trace import SpanKind
    from tests.otlp_receiver import OTLPReceiver, closed_port

    from xray_exclusive.streaming import (
        dispatch_span,
        dynamodb_span,
        get_streaming_tracer,
        invocation_context,
        poll_cycle,
        reset_streaming_tracer,
    )

    class NullSink:
        def write(self, line: str) -> None:
            pass

    class NullExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    os.environ.update(OTEL_SERVICE_NAME="bench", POWERTOOLS_METRICS_DISABLED="true")
    os.environ.pop("POWERTOOLS_SERVICE_NAME", None)
    os.environ["_X_AMZN_TRACE_ID"] = _header(True)

    # --- per-span cost -----------------------------------------------------------------------
    ours = get_streaming_tracer(exporter=NullExporter())
    raw_provider = TracerProvider(
        shutdown_on_exit=False, id_generator=AwsXRayIdGenerator(), resource=Resource.create()
    )
    raw_provider.add_span_processor(BatchSpanProcessor(NullExporter(), 1500, 1000, 64))
    raw = raw_provider.get_tracer("bench")
    propagator = AwsXRayLambdaPropagator()

    def raw_cycle() -> None:
        with raw.start_as_current_span("poll_cycle", attributes={"item_count": 3}):
            with raw.start_as_current_span(
                "DynamoDB.Query",
                kind=SpanKind.CLIENT,
                attributes={
                    "rpc.system": "aws-api",
                    "rpc.service": "DynamoDB",
                    "rpc.method": "Query",
                    "db.system": "dynamodb",
                    "aws.dynamodb.table_names": ["items"],
                },
            ):
                pass
            with raw.start_as_current_span("dispatch_event", attributes={"event_type": "sentiment"}):
                pass

    def ours_cycle() -> None:
        with poll_cycle(ours.tracer, item_count=3):
            with dynamodb_span("Query", "items", ours.tracer):
                pass
            with dispatch_span("sentiment", ours.tracer):
                pass

    def in_context(context: Context, func: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            token = otel_context.attach(context)
            try:
                func()
            finally:
                otel_context.detach(token)

        return run

    sampled = invocation_context()
    os.environ["_X_AMZN_TRACE_ID"] = _header(False)
    unsampled = invocation_context()
    raw_unsampled = propagator.extract({}, context=Context())
    for func in (raw_cycle, ours_cycle):
        in_context(sampled, func)()

    def settle() -> None:
        ours.provider.force_flush()
        raw_provider.force_flush()

    cycle = interleaved(
        {"raw": in_context(sampled, raw_cycle), "ours": in_context(sampled, ours_cycle)},
        NUMBER,
        settle=settle,
    )
    cycle_unsampled = interleaved(
        {"raw": in_context(raw_unsampled, raw_cycle), "ours": in_context(unsampled, ours_cycle)}, NUMBER
    )

    headers = [_header(True) for _ in range(64)]
    position = [0]

    def next_header() -> None:
        position[0] = (position[0] + 1) % 64
        os.environ["_X_AMZN_TRACE_ID"] = headers[position[0]]

    def raw_extract_new() -> None:
        next_header()
        propagator.extract({}, context=Context())

    def ours_extract_new() -> None:
        next_header()
        invocation_context()

    def raw_extract_same() -> None:
        propagator.extract({}, context=Context())

    extract_new = interleaved({"raw": raw_extract_new, "ours": ours_extract_new}, NUMBER)
    os.environ["_X_AMZN_TRACE_ID"] = headers[0]
    extract_same = interleaved({"raw": raw_extract_same, "ours": invocation_context}, NUMBER)

    print(f"streaming benchmark ({REPEATS * 3} x {NUMBER // 3} calls, median, interleaved)")
    print(f"{'case':<58}{'ours':>10}{'raw':>10}{'':4}{'ratio':>8}")
    row("poll cycle, 3 spans with attributes (sampled)", cycle["ours"], cycle["raw"], target=1.15)
    row("poll cycle, 3 spans (Sampled=0: non-recording)", cycle_unsampled["ours"], cycle_unsampled["raw"])
    row("invocation_context() vs propagator.extract, new header", extract_new["ours"], extract_new["raw"])
    row("invocation_context() vs propagator.extract, same header", extract_same["ours"], extract_same["raw"])
    reset_streaming_tracer()
    raw_provider.shutdown()

    # --- flushes against a real loopback receiver -----------------------------------------------
    receiver = OTLPReceiver(keep=False)
    ours = get_streaming_tracer(endpoint=receiver.endpoint, sink=NullSink())
    raw_provider = TracerProvider(
        shutdown_on_exit=False, id_generator=AwsXRayIdGenerator(), resource=Resource.create()
    )
    raw_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint), 1500, 1000, 64)
    )
    raw = raw_provider.get_tracer("bench")
    os.environ["_X_AMZN_TRACE_ID"] = _header(True)
    parent = invocation_context()

    def end_and_flush(tracer: Any, flush: Callable[[], Any]) -> float:
        for i in range(1500):
            tracer.start_span(f"s{i}", context=parent).end()
        started = time.perf_counter()
        flush()
        return (time.perf_counter() - started) * 1000

    flush_ours: list[float] = []
    flush_raw: list[float] = []
    for _ in range(5):
        flush_ours.append(end_and_flush(ours.tracer, ours.flush))
        flush_raw.append(end_and_flush(raw, raw_provider.force_flush))
    if ours.dropped_spans or ours.failed_spans:
        raise SystemExit("the benchmark lost spans: its figures would be meaningless")
    print()
    print("flush after ending 1,500 spans (5 runs, median ms; the worker exports during the loop)")
    row("flush to a loopback receiver", statistics.median(flush_ours), statistics.median(flush_raw), "ms")
    reset_streaming_tracer()
    raw_provider.shutdown()
    receiver.close()

    down = f"http://127.0.0.1:{closed_port()}/v1/traces"
    ours = get_streaming_tracer(endpoint=down, sink=NullSink())
    raw_provider = TracerProvider(shutdown_on_exit=False)
    raw_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=down), 1500, 1000, 64))
    raw = raw_provider.get_tracer("bench")
    import logging

    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)

    def down_flush(count: int) -> float:
        time.sleep(1.1)  # let the circuit close: the flush itself meets the refused connection
        for i in range(count):
            ours.tracer.start_span(f"s{i}", context=parent).end()
        started = time.perf_counter()
        ours.flush()
        return (time.perf_counter() - started) * 1000

    down_small = statistics.median(down_flush(20) for _ in range(5))
    down_large = statistics.median(down_flush(640) for _ in range(3))
    for i in range(20):
        raw.start_span(f"s{i}", context=parent).end()
    started = time.perf_counter()
    raw_provider.force_flush(5000)  # the SDK ignores this timeout
    down_raw = (time.perf_counter() - started) * 1000
    print("flush with the collector down (connection refused; ours: median of 3-5 runs, raw: 1 run)")
    row("flush of 20 spans (one batch), collector down", down_small, down_raw, "ms")
    row("flush of 640 spans (ten batches), collector down", down_large, down_raw, "ms")
    reset_streaming_tracer()
    raw_provider.shutdown()

    routes(parent, NullSink)

    # --- cold start ------------------------------------------------------------------------------
    print()
    times = import_times()
    bare = times.pop("bare interpreter")
    print("cold start (fresh interpreter, median wall ms above a bare interpreter)")
    row(
        "import xray_exclusive.streaming vs raw OTel packages",
        times["import xray_exclusive.streaming"] - bare,
        times["raw OTel packages"] - bare,
        "ms",
    )
    row(
        "import + get_streaming_tracer() vs raw import + build",
        times["xray_exclusive.streaming: get_streaming_tracer()"] - bare,
        times["raw OTel: build provider + BSP + exporter + propagator"] - bare,
        "ms",
    )
    row(
        "import + get_streaming_tracer(): route udp vs collector",
        times["xray_exclusive.streaming: get_streaming_tracer(route='udp')"] - bare,
        times["xray_exclusive.streaming: get_streaming_tracer()"] - bare,
        "ms",
    )
    print()
    print("cold streaming invocation (fresh process: import, INIT, first chunk; ms after the spawn, median)")
    first = first_byte_times()
    row("time to first byte: traced_stream vs raw OTel", first["ours"][0], first["raw"][0], "ms")
    row("end of a 3-chunk stream, flushed (polls of 0 ms)", first["ours"][1], first["raw"][1], "ms")
    polled = first_byte_times(gap_s=0.05)
    row("end of a 3-chunk stream, flushed (polls of 50 ms)", polled["ours"][1], polled["raw"][1], "ms")
    # Report, never fail: timings on a shared 2-core machine are noisy (no timed assertions).
    return 0


def routes(parent: Any, sink: Any) -> None:
    """Both export routes side by side: per-flush cost for a typical stream and a full queue.

    Collector route: OTLP/HTTP to a loopback receiver (the extension's role). UDP route: OTLP over UDP to
    a loopback socket drained by a thread (the Lambda X-Ray daemon's role).
    """
    import socket
    import threading

    from tests.otlp_receiver import OTLPReceiver

    from xray_exclusive.streaming import get_streaming_tracer, reset_streaming_tracer

    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    daemon.bind(("127.0.0.1", 0))
    received = [0]

    def drain() -> None:
        while True:
            try:
                received[0] += len(daemon.recv(70_000))
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    receiver = OTLPReceiver(keep=False)

    def measure(route: str, count: int, runs: int) -> float:
        endpoint = receiver.endpoint if route == "collector" else f"127.0.0.1:{daemon.getsockname()[1]}"
        tracer = get_streaming_tracer(route=route, endpoint=endpoint, sink=sink)
        samples = []
        for _ in range(runs):
            for i in range(count):
                span = tracer.tracer.start_span(f"s{i}", context=parent)
                span.set_attribute("item_count", i)
                span.end()
            started = time.perf_counter()
            report = tracer.flush()
            samples.append((time.perf_counter() - started) * 1000)
            if not report.complete:
                raise SystemExit(f"the {route} route lost spans: its figures would be meaningless")
        reset_streaming_tracer()
        return statistics.median(samples)

    print()
    print("routes side by side: flush at the end of a stream (median ms; ratio udp / collector)")
    print(f"{'case':<58}{'udp':>10}{'collector':>10}{'':4}{'ratio':>8}")
    for count, runs in ((20, 21), (200, 11), (1500, 5)):
        udp, collector = measure("udp", count, runs), measure("collector", count, runs)
        row(f"flush of {count} spans", udp, collector, "ms")
    receiver.close()
    daemon.close()


if __name__ == "__main__":
    raise SystemExit(main())
