"""Correlation, HTTP subsegments, SSE and trace headers against the raw tools doing the same job.

Run: ``nox -s bench`` or ``python benchmarks/bench_correlation.py``. Microseconds per call,
medians of interleaved runs, ratio ours / raw. No targets in the issue: these are reported
so a regression shows.

* ``current_trace_id()`` vs the line Powertools' formatter runs for every record;
* a JSON log line (``JsonFormatter`` + ``TraceIdFilter``) vs Powertools' formatter;
* ``http_subsegment`` vs the same subsegment written by hand with the X-Ray SDK (sampled,
  sent to a loopback UDP daemon);
* ``EventStream.send`` vs an f-string frame; ``trace_header.parse`` vs the propagator's extract.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import socket
import statistics
import sys
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
NUMBER = int(os.environ.get("BENCH_NUMBER", "2000"))


def interleaved(cases: dict[str, Callable[[], Any]]) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    runs, chunk = REPEATS * 3, max(NUMBER // 3, 1)
    for _ in range(runs):
        for name, func in cases.items():
            samples[name].append(timeit.timeit(func, number=chunk) / chunk * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def row(name: str, result: dict[str, float]) -> None:
    ours, raw = result["ours"], result["raw"]
    print(f"{name:<62}{ours:>9.2f}{raw:>9.2f} us{ours / raw:>7.2f}x")


def main() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    header = f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1"
    os.environ.update(
        LAMBDA_TASK_ROOT=os.getcwd(),
        AWS_LAMBDA_FUNCTION_NAME="bench",
        POWERTOOLS_SERVICE_NAME="bench",
        AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{sock.getsockname()[1]}",
        _X_AMZN_TRACE_ID=header,
    )

    def drain() -> None:
        while True:
            try:
                sock.recv(70_000)
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()

    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
    from aws_lambda_powertools.tracing import Tracer
    from opentelemetry.context import Context
    from opentelemetry.propagators.aws import AwsXRayPropagator

    from xray_exclusive import current_trace_id, http_subsegment, trace_header
    from xray_exclusive.logging import JsonFormatter, TraceIdFilter
    from xray_exclusive.sse import EventStream

    def powertools_trace_id() -> str | None:
        value = os.getenv("_X_AMZN_TRACE_ID")
        return value.split(";")[0].replace("Root=", "") if value else None

    ours_formatter, trace_filter = JsonFormatter(), TraceIdFilter()
    powertools_formatter = LambdaPowertoolsFormatter(service="bench")
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "order %s processed", ("o-1",), None)
    record.order_id = "o-1"

    def ours_log() -> None:
        record.__dict__.pop("xray_trace_id", None)
        record.__dict__.pop("correlation_id", None)
        trace_filter.filter(record)
        ours_formatter.format(record)

    def raw_log() -> None:
        powertools_formatter.format(record)

    provider = Tracer(auto_patch=False).provider

    def ours_http() -> None:
        with http_subsegment(
            "sendgrid", method="POST", url="https://api.sendgrid.com/v3/mail/send?k=1"
        ) as call:
            call.annotate(recipient_count=3)
            call.status(202)

    def raw_http() -> None:
        subsegment = provider.begin_subsegment("sendgrid", "remote")
        try:
            subsegment.put_http_meta("method", "POST")
            subsegment.put_http_meta("url", "https://api.sendgrid.com/v3/mail/send")
            subsegment.put_annotation("recipient_count", 3)
            subsegment.put_http_meta("status", 202)
        finally:
            provider.end_subsegment()

    stream = EventStream(retry_ms=3000)
    counter = [0]

    def ours_sse() -> None:
        stream.send("line one\nline two", event="sentiment")

    def raw_sse() -> None:
        counter[0] += 1
        data = "line one\nline two"
        lines = "".join(f"data: {line}\n" for line in data.split("\n"))
        f"id: {counter[0]}\nevent: sentiment\n{lines}\n".encode()

    propagator = AwsXRayPropagator()

    def ours_parse() -> None:
        trace_header.parse(header)

    def raw_parse() -> None:
        propagator.extract({"X-Amzn-Trace-Id": header}, context=Context())

    ours_http()
    raw_http()
    devnull = io.StringIO()
    logging.getLogger("xray_exclusive").addHandler(logging.StreamHandler(devnull))
    print(f"correlation benchmark ({REPEATS * 3} x {max(NUMBER // 3, 1)} calls, median, interleaved)")
    print(f"{'case':<62}{'ours':>9}{'raw':>9}{'':3}{'ratio':>8}")
    row(
        "current_trace_id() vs Powertools' env split",
        interleaved({"ours": current_trace_id, "raw": powertools_trace_id}),
    )
    row(
        "JSON log line with trace IDs vs Powertools formatter",
        interleaved({"ours": ours_log, "raw": raw_log}),
    )
    row(
        "http_subsegment vs X-Ray SDK subsegment by hand (sent)",
        interleaved({"ours": ours_http, "raw": raw_http}),
    )
    row("EventStream.send vs f-string frame", interleaved({"ours": ours_sse, "raw": raw_sse}))
    row(
        "trace_header.parse vs AwsXRayPropagator.extract", interleaved({"ours": ours_parse, "raw": raw_parse})
    )
    sock.close()
    # Report, never fail: timings on a shared 2-core machine are noisy (no timed assertions).
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
