"""The ``xray-exclusive`` command: argument parsing and dispatch only.

Example:
    >>> _parser().parse_args(["canary", "run", "--once", "--json"]).json
    True
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="xray-exclusive", description="AWS X-Ray as the only tracing system."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    canary = commands.add_parser("canary", help="the X-Ray and CloudWatch canary")
    canary_commands = canary.add_subparsers(dest="canary_command", required=True)
    run = canary_commands.add_parser(
        "run",
        help="run the canary now (exit 0 healthy, 1 degraded, 2 failed)",
        description="Configuration from the CANARY_* variables (docs/canary.md); these options win.",
    )
    run.add_argument("--once", action="store_true", help="one run, then exit (default: every --interval)")
    run.add_argument("--interval", type=float, default=300.0, help="seconds between runs without --once")
    run.add_argument("--traces", type=int, help="test traces per run (CANARY_TRACE_COUNT)")
    run.add_argument("--endpoint-url", help="AWS endpoint for every client (AWS_ENDPOINT_URL)")
    run.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "canary" and args.canary_command == "run":
        from .canary._cli import canary_run

        return canary_run(
            once=args.once,
            interval=args.interval,
            traces=args.traces,
            endpoint_url=args.endpoint_url,
            as_json=args.json,
        )
    return 2  # pragma: no cover - argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
