"""The ``xray-exclusive`` command: argument parsing and dispatch only.

Example:
    >>> _parser().parse_args(["canary", "run", "--once", "--json"]).json
    True
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

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
    collect = commands.add_parser("collect", help="a local X-Ray daemon + OTLP receiver, on loopback")
    collect.add_argument("--udp-port", type=int, default=2000, help="X-Ray daemon port (0: any free port)")
    collect.add_argument("--http-port", type=int, default=4318, help="OTLP/HTTP and live page port (0: any)")
    collect.add_argument("--jsonl", type=Path, help="append every document to this JSON lines file")
    collect.add_argument(
        "--max-traces", type=int, default=1000, help="traces kept in memory (oldest evicted)"
    )
    collect.add_argument("--html", type=Path, help="write the HTML page here on exit")
    view = commands.add_parser("view", help="render traces from a `collect --jsonl` file")
    view.add_argument("source", type=Path)
    view.add_argument(
        "--html", type=Path, help="write one self-contained HTML page instead of the terminal tree"
    )
    demo = commands.add_parser("demo", help="run the four example Lambdas locally and show their traces")
    demo.add_argument(
        "--html", type=Path, help="where to write the HTML page (default ./xray-exclusive-demo.html)"
    )
    demo.add_argument(
        "--collector",
        nargs="?",
        const="",
        metavar="PATH",
        help="send through the real OpenTelemetry collector built from this repository's collector/ "
        "(scripts/build-peers) into a local X-Ray stand-in, and show what X-Ray stored; without PATH, "
        "./build/peers/xray-exclusive-collector or the PATH",
    )
    check = commands.add_parser(
        "check",
        help="find the spec's tracing pitfalls in Python, Terraform, Dockerfiles and collector YAML",
        description="Exit 0 clean, 1 findings, 2 usage or parse errors. Configuration: "
        "[tool.xray-exclusive] in the nearest pyproject.toml (docs/checker.md).",
    )
    check.add_argument("paths", nargs="*", help="files or directories (default: .)")
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text", dest="output_format")
    check.add_argument(
        "--select", action="append", default=[], metavar="CODE", help="only these codes/prefixes"
    )
    check.add_argument(
        "--ignore", action="append", default=[], metavar="CODE", help="skip these codes/prefixes"
    )
    check.add_argument(
        "--streaming", action="append", default=[], metavar="GLOB", help="files of streaming Lambdas"
    )
    check.add_argument("--config", help="a pyproject.toml (default: the nearest one above the first path)")
    check.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    check.add_argument("--rules-markdown", action="store_true", help=argparse.SUPPRESS)
    render = commands.add_parser("render", help="generate infrastructure from the fleet file")
    render_commands = render.add_subparsers(dest="render_command", required=True)
    terraform = render_commands.add_parser(
        "terraform",
        help="alarms, sampling rules, error group, billing alarms and dashboard as Terraform JSON",
        description="Reads xray-exclusive.toml or [tool.xray-exclusive.fleet] (docs/render.md).",
    )
    terraform.add_argument("--fleet", type=Path, help="the fleet file (default: found here or above)")
    terraform.add_argument(
        "--out", type=Path, default=Path("."), help="directory or file (default ./xray-exclusive.tf.json)"
    )
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
    if args.command == "check":
        from .check._cli import run_check

        return run_check(
            args.paths,
            output_format=args.output_format,
            select=[c for value in args.select for c in value.split(",") if c],
            ignore=[c for value in args.ignore for c in value.split(",") if c],
            streaming=args.streaming,
            config=args.config,
            list_rules=args.list_rules,
            markdown=args.rules_markdown,
        )
    if args.command == "render":
        from .render._cli import render_terraform_command

        return render_terraform_command(args.fleet, args.out)
    from .devtools import _commands

    if args.command == "collect":
        return _commands.collect(args.udp_port, args.http_port, args.jsonl, args.max_traces, args.html)
    if args.command == "view":
        return _commands.view(args.source, args.html)
    if args.command == "demo":
        return _commands.demo(args.html, args.collector)
    return 2  # pragma: no cover - argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
