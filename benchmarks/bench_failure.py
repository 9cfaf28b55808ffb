"""failure_path() against the raw dependencies doing the same job: warm in one process, cold in fresh ones.

Run: ``nox -s bench`` or ``python benchmarks/bench_failure.py``. Targets (issue 16):

* warm, in one process (microseconds per call, median of interleaved repeats), for both X-Ray
  backends (``native``, and ``xray-sdk``, the automatic choice once the SDK is imported):
  success path <= 1.0x a bare ``tracer.provider.in_subsegment``; failure path <= 0.5x the
  hand-written Powertools subsegment + ``single_metric``;
* cold, whole fresh interpreters (median wall ms): the first ``failure_path`` failure with the
  X-Ray SDK not imported <= 40 ms above a bare interpreter, and <= 0.25x (above bare) the
  hand-written Powertools ``Tracer`` + ``single_metric`` equivalent;
* ``import xray_exclusive`` < 30 ms above a bare interpreter.

The environment is a sampled Lambda invocation whose X-Ray daemon is a loopback UDP socket
drained by a thread, so every subsegment is really serialised and sent. Fresh interpreters run
with bytecode caches (``.pyc``) written beforehand, as a deployment package built by pip has them.
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


COLD_OURS = """
from xray_exclusive import FailurePath, failure_path
CIRCUIT_BREAKER_LOAD = FailurePath("circuit_breaker_load", "CircuitBreakerPersistenceFailure",
                                   "SentimentAnalyzer/Reliability", {"Operation": "load"})
try:
    with failure_path(CIRCUIT_BREAKER_LOAD):
        raise ConnectionError("dynamodb unreachable")
except ConnectionError:
    pass
import sys
assert "aws_xray_sdk" not in sys.modules and "aws_lambda_powertools" not in sys.modules
"""

COLD_POWERTOOLS = """
from aws_lambda_powertools import Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit
tracer = Tracer(auto_patch=False)
try:
    with tracer.provider.in_subsegment("circuit_breaker_load"):
        raise ConnectionError("dynamodb unreachable")
except ConnectionError:
    with single_metric(name="CircuitBreakerPersistenceFailure", unit=MetricUnit.Count, value=1,
                       namespace="SentimentAnalyzer/Reliability",
                       default_dimensions={"Lambda": "bench", "Operation": "load"}):
        pass
"""


def cold_start(runs: int = 21) -> dict[str, float]:
    """Median wall ms of a fresh interpreter (sampled Lambda environment) for the first failure."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("XRAY_EXCLUSIVE_BACKEND", None)
    quiet = "import os, sys\nsys.stdout = open(os.devnull, 'w')\n"  # the metric lines: not on our terminal
    statements = {
        "bare interpreter": quiet,
        "json + logging (the Lambda runtime has them loaded)": quiet + "import json, logging",
        "first failure_path failure (native, no SDK imported)": quiet + COLD_OURS,
        "hand-written Powertools Tracer + single_metric": quiet + COLD_POWERTOOLS,
    }
    wall_ms(statements, 2, env)  # writes the bytecode caches, warms the page cache
    return wall_ms(statements, runs, env)


def import_times(runs: int = 15) -> dict[str, float]:
    """Median wall time of a fresh interpreter for each statement, in ms."""
    statements = {
        "bare interpreter": "pass",
        "import xray_exclusive": "import xray_exclusive",
        "from xray_exclusive import FailurePath, failure_path": (
            "from xray_exclusive import FailurePath, failure_path"
        ),
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

    from xray_exclusive import FailurePath, failure_path

    tracer = Tracer(auto_patch=False)
    provider = tracer.provider
    path = FailurePath(
        "circuit_breaker_load",
        "CircuitBreakerPersistenceFailure",
        "SentimentAnalyzer/Reliability",
        {"Operation": "load"},
    )
    response: Any = {
        "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }

    def bare_success() -> None:
        with provider.in_subsegment("circuit_breaker_load"):
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

    def ours(backend: str) -> tuple[Any, Any]:
        def success() -> None:
            with failure_path(path, backend=backend):
                pass

        def failure() -> None:
            try:
                with failure_path(path, backend=backend):
                    raise ClientError(response, "GetItem")
            except ClientError:
                pass

        return success, failure

    native_success, native_failure = ours("native")
    sdk_success, sdk_failure = ours("xray-sdk")
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(Unbuffered(devnull)):  # type: ignore[type-var]
        for func in (
            bare_success,
            hand_written_failure,
            native_success,
            native_failure,
            sdk_success,
            sdk_failure,
        ):
            func()  # warm-up: lazy imports, templates
        success = interleaved({"bare": bare_success, "native": native_success, "sdk": sdk_success}, NUMBER)
        failure = interleaved(
            {"hand": hand_written_failure, "native": native_failure, "sdk": sdk_failure}, NUMBER
        )

    print(f"failure_path benchmark ({REPEATS * 3} x {NUMBER // 3} calls, median, microseconds per call)")
    print(f"{'case':<66}{'ours':>9}{'theirs':>9}{'ratio':>8}  target")
    rows = [
        ("success, native: vs bare tracer.provider.in_subsegment", success["native"], success["bare"], 1.0),
        ("success, xray-sdk: vs bare tracer.provider.in_subsegment", success["sdk"], success["bare"], 1.0),
        (
            "failure, native: vs Powertools subsegment + single_metric",
            failure["native"],
            failure["hand"],
            0.5,
        ),
        ("failure, xray-sdk: vs Powertools subsegment + single_metric", failure["sdk"], failure["hand"], 0.5),
    ]
    for name, mine, theirs, target in rows:
        ratio = mine / theirs
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"{name:<66}{mine:>9.1f}{theirs:>9.1f}{ratio:>7.2f}x  <= {target:.2f}x {verdict}")

    print()
    cold = cold_start()
    bare = cold["bare interpreter"]
    print("cold start (fresh interpreter, sampled Lambda environment, median wall ms)")
    for name, ms in cold.items():
        print(f"  {name:<58}{ms:>8.1f} ms   above bare {ms - bare:>6.1f} ms")
    first = cold["first failure_path failure (native, no SDK imported)"] - bare
    theirs_cold = cold["hand-written Powertools Tracer + single_metric"] - bare
    print(f"  first failure above bare: {first:.1f} ms (target <= 40 ms) {'ok' if first <= 40 else 'MISSED'}")
    ratio = first / theirs_cold
    print(
        f"  first failure vs hand-written Powertools (above bare): {ratio:.2f}x (target <= 0.25x) "
        f"{'ok' if ratio <= 0.25 else 'MISSED'}"
    )
    runtime = cold["json + logging (the Lambda runtime has them loaded)"]
    print(
        f"  the same above what the Lambda runtime already loaded: ours {first + bare - runtime:.1f} ms, "
        f"Powertools {theirs_cold + bare - runtime:.1f} ms"
    )

    print()
    times = import_times()
    bare = times["bare interpreter"]
    print("import time (fresh interpreter, median wall ms; 'above bare' subtracts the bare interpreter)")
    for name, ms in times.items():
        print(f"  {name:<58}{ms:>8.1f} ms   above bare {ms - bare:>6.1f} ms")
    above = times["import xray_exclusive"] - bare
    verdict = "ok" if above < 30 else "MISSED"
    print(f"  import xray_exclusive above bare: {above:.1f} ms (target < 30 ms) {verdict}")
    sock.close()
    # Report, never fail: timings on a shared 2-core machine are noisy (no timed assertions).
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
