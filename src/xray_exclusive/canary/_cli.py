"""``xray-exclusive canary run``: the canary from a terminal, for operators and tests.

The command's declaration (``HELP``, :func:`add_arguments`, :func:`run`) for ``cli.py``, and the run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys

from .._exit import CANNOT_RUN, EXIT_TABLE
from ._config import CanaryConfig, ConfigurationError, SystemClock
from ._progress import CountdownClock, Progress
from ._run import CanaryResult, run_canary

__all__ = ["HELP", "add_arguments", "canary_run", "run", "summary"]

HELP = "the X-Ray and CloudWatch canary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``canary`` and its ``run`` subcommand."""
    parser.description = "The canary proves that X-Ray and CloudWatch accept and return data."
    commands = parser.add_subparsers(dest="canary_command", required=True, parser_class=type(parser))
    run = commands.add_parser(
        "run",
        help="run the canary now (exit 0 healthy, 1 degraded, 2 failed)",
        description="Writes test traces to X-Ray and a test datapoint to CloudWatch, reads them back and "
        "alerts out of band when they do not come back. Configured by the CANARY_* environment variables "
        "(see the canary page of the documentation); these options win. Needs the [canary] extra and AWS "
        "credentials with a region.",
        epilog="examples:\n  AWS_REGION=eu-west-1 xray-exclusive canary run --once\n"
        "  xray-exclusive canary run --interval 600 --json\n\n" + EXIT_TABLE,
    )
    run.add_argument("--once", action="store_true", help="one run, then exit (default: every --interval)")
    run.add_argument("--interval", type=float, default=300.0, help="seconds between runs without --once")
    run.add_argument("--traces", type=int, help="test traces per run (CANARY_TRACE_COUNT)")
    run.add_argument("--endpoint-url", help="AWS endpoint for every client (AWS_ENDPOINT_URL)")
    run.add_argument("--json", action="store_true", help="print the result as one JSON object")
    run.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (warnings and the result only)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``canary run`` with the parsed arguments; its exit status."""
    return canary_run(
        once=args.once,
        interval=args.interval,
        traces=args.traces,
        endpoint_url=args.endpoint_url,
        as_json=args.json,
        quiet=args.quiet,
    )


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
