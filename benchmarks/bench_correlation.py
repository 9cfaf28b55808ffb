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
import sys
from pathlib import Path

from _common import REPEATS, interleaved, lambda_environment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NUMBER = int(os.environ.get("BENCH_NUMBER", "2000"))


def row(name: str, result: dict[str, float]) -> None:
    ours, raw = result["ours"], result["raw"]
    print(f"{name:<62}{ours:>9.2f}{raw:>9.2f} us{ours / raw:>7.2f}x")


def main() -> int:
    sock = lambda_environment()
    header = os.environ["_X_AMZN_TRACE_ID"]

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
        interleaved({"ours": current_trace_id, "raw": powertools_trace_id}, NUMBER),
    )
    row(
        "JSON log line with trace IDs vs Powertools formatter",
        interleaved({"ours": ours_log, "raw": raw_log}, NUMBER),
    )
    row(
        "http_subsegment vs X-Ray SDK subsegment by hand (sent)",
        interleaved({"ours": ours_http, "raw": raw_http}, NUMBER),
    )
    row("EventStream.send vs f-string frame", interleaved({"ours": ours_sse, "raw": raw_sse}, NUMBER))
    row(
        "trace_header.parse vs AwsXRayPropagator.extract",
        interleaved({"ours": ours_parse, "raw": raw_parse}, NUMBER),
    )
    sock.close()
    # Report, never fail: timings on a shared 2-core machine are noisy (no timed assertions).
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
