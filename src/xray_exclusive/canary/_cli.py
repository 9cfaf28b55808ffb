"""``xray-exclusive canary run``: the canary from a terminal, for operators and tests."""

from __future__ import annotations

import contextlib
import io
import json
import sys

from .._exit import CANNOT_RUN
from ._config import CanaryConfig, ConfigurationError, SystemClock
from ._progress import CountdownClock, Progress
from ._run import CanaryResult, run_canary

__all__ = ["canary_run", "summary"]


def summary(result: CanaryResult) -> str:
    """A few readable lines for a terminal.

    Example:
        >>> print(summary(CanaryResult(status="healthy")).splitlines()[0])
        canary: HEALTHY
    """
    x, cw = result.xray, result.cloudwatch
    lines = [
        f"canary: {result.status.upper()}",
        f"  X-Ray:      {x.found}/{x.submitted} traces found, {x.lost} lost ({x.loss_ratio:.0%}), "
        f"{x.partial} partial, {x.unprocessed} unprocessed" + (f"; {x.error}" if x.error else ""),
        "  CloudWatch: test datapoint "
        + (f"visible after {cw.seconds_to_visible:.0f} s" if cw.found else "NOT found")
        + (f"; {cw.error}" if cw.error else ""),
    ]
    if result.permanent_error:
        lines.append(f"  permanent error (no retry): {result.permanent_error}")
    if result.consecutive_failures is not None:
        lines.append(f"  consecutive failed runs: {result.consecutive_failures}")
    for alert in result.alerts:
        lines.append(f"  alert {alert.alert.reason}: {alert.channels or 'NO CHANNEL CONFIGURED'}")
    if result.report_error:
        lines.append(f"  health metrics not reported: {result.report_error}")
    lines.append(f"  {result.duration_s:.1f} s, {result.retries} retries")
    return "\n".join(lines)


def canary_run(
    *,
    once: bool,
    interval: float,
    traces: int | None,
    endpoint_url: str | None,
    as_json: bool,
    quiet: bool = False,
) -> int:
    """Run once (or every ``interval`` seconds); exit status of the last run. Phases go to stderr."""
    try:
        config = CanaryConfig.from_env(trace_count=traces, endpoint_url=endpoint_url)
    except ConfigurationError as exc:
        print(f"xray-exclusive canary: {exc}", file=sys.stderr)
        return CANNOT_RUN
    progress = Progress(quiet=quiet)
    clock = CountdownClock(SystemClock(), progress)
    while True:
        line = io.StringIO()
        with contextlib.redirect_stdout(line):  # the Lambda's result line; shown below instead
            result = run_canary(config, clock=clock, progress=progress)
        print(json.dumps(result.to_dict(), default=str) if as_json else summary(result), flush=True)
        if once:
            return result.exit_code
        progress.phase(f"next run in {interval:g} s (Ctrl-C to stop)")
        clock.sleep(interval)
