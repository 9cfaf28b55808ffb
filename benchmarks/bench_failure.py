"""failure_path() against the raw dependencies doing the same job, side by side in one process.

Run: ``nox -s bench`` or ``python benchmarks/bench_failure.py``. Prints microseconds per
operation (median of repeats) and the ratio ours / theirs. Targets from the issue:

* success path  <= 1.10x a bare ``tracer.provider.in_subsegment``
* failure path  <= 0.80x the hand-written Powertools subsegment + ``single_metric``
* ``import xray_exclusive`` < 30 ms above a bare interpreter

The environment is a sampled Lambda invocation whose X-Ray daemon is a loopback UDP
socket drained by a thread, so every subsegment is really serialised and sent.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from _common import REPEATS, interleaved, lambda_environment, wall_ms

NUMBER = int(os.environ.get("BENCH_NUMBER", "2000"))


class Unbuffered:
    """stdout as the Lambda runtime presents it: awslambdaric wraps it so every write is flushed."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, data: str) -> int:
        written = self.stream.write(data)
        self.stream.flush()
        return int(written)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def import_times(runs: int = 15) -> dict[str, float]:
    """Median wall time of a fresh interpreter for each statement, in ms."""
    statements = {
        "bare interpreter": "pass",
        "import xray_exclusive": "import xray_exclusive",
        "from xray_exclusive import failure_path, paths": "from xray_exclusive import failure_path, paths",
        "import aws_lambda_powertools": "import aws_lambda_powertools",
        "from aws_lambda_powertools import Tracer": "from aws_lambda_powertools import Tracer",
        "json + logging (what the Lambda runtime already loaded)": "import json, logging",
    }
    return wall_ms(statements, runs)


def main() -> int:
    sock = lambda_environment()
    from aws_lambda_powertools import single_metric
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.tracing import Tracer
    from botocore.exceptions import ClientError

    from xray_exclusive import failure_path, paths

    tracer = Tracer(auto_patch=False)
    provider = tracer.provider
    path = paths.CIRCUIT_BREAKER_LOAD
    response: Any = {
        "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }

    def bare_success() -> None:
        with provider.in_subsegment("circuit_breaker_load"):
            pass

    def ours_success() -> None:
        with failure_path(path):
            pass

    def hand_written_failure() -> None:
        # The task file's pattern: Powertools subsegment, then a metric on the exception.
        try:
            with provider.in_subsegment("circuit_breaker_load"):
                raise ClientError(response, "GetItem")
        except ClientError:
            with single_metric(
                name="CircuitBreakerPersistenceFailure",
                unit=MetricUnit.Count,
                value=1,
                namespace="SentimentAnalyzer/Reliability",
                default_dimensions={"Lambda": "bench", "Operation": "load"},
            ):
                pass

    def ours_failure() -> None:
        try:
            with failure_path(path):
                raise ClientError(response, "GetItem")
        except ClientError:
            pass

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(Unbuffered(devnull)):  # type: ignore[type-var]
        for func in (bare_success, ours_success, hand_written_failure, ours_failure):
            func()  # warm-up: lazy imports, templates
        success = interleaved({"bare": bare_success, "ours": ours_success}, NUMBER)
        failure = interleaved({"hand": hand_written_failure, "ours": ours_failure}, NUMBER)
    sock.close()

    print(f"failure_path benchmark ({REPEATS * 3} x {NUMBER // 3} calls, median, microseconds per call)")
    print(f"{'case':<62}{'ours':>9}{'theirs':>9}{'ratio':>8}  target")
    rows = [
        (
            "success: failure_path vs bare tracer.provider.in_subsegment",
            success["ours"],
            success["bare"],
            1.10,
        ),
        (
            "failure: failure_path vs Powertools subsegment + single_metric",
            failure["ours"],
            failure["hand"],
            0.80,
        ),
    ]
    for name, ours, theirs, target in rows:
        ratio = ours / theirs
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"{name:<62}{ours:>9.1f}{theirs:>9.1f}{ratio:>7.2f}x  <= {target:.2f}x {verdict}")

    print()
    times = import_times()
    bare = times["bare interpreter"]
    print("import time (fresh interpreter, median wall ms; 'above bare' subtracts the bare interpreter)")
    for name, ms in times.items():
        print(f"  {name:<58}{ms:>8.1f} ms   above bare {ms - bare:>6.1f} ms")
    above = times["import xray_exclusive"] - bare
    ratio = (times["from xray_exclusive import failure_path, paths"] - bare) / (
        times["import aws_lambda_powertools"] - bare
    )
    verdict = "ok" if above < 30 else "MISSED"
    print(f"  import xray_exclusive above bare: {above:.1f} ms (target < 30 ms) {verdict}")
    print(f"  failure_path import vs aws_lambda_powertools import (above bare): {ratio:.2f}x")
    # Report, never fail: timings on a shared 2-core machine are noisy (no timed assertions).
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
