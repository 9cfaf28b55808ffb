"""The ``xray-exclusive`` command: argument parsing and dispatch only.

A missing extra, missing AWS configuration or a usage error is one line on
stderr that names the fix, and exit status 3 (see :mod:`._exit`), never a
traceback.

Example:
    >>> _parser().parse_args(["canary", "run", "--once", "--json"]).json
    True
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._exit import CANNOT_RUN, EXIT_TABLE, missing_extra

__all__ = ["main"]


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples' line breaks and shows every default."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit 3, apart from the commands' own outcomes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(CANNOT_RUN, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="xray-exclusive",
        description="Make AWS X-Ray the only tracing system of a Lambda fleet: run the local demo and "
        "collector, check a repository, render the fleet's alarms, run the canary.",
        epilog="examples:\n  xray-exclusive demo\n  xray-exclusive check src infra\n\n" + EXIT_TABLE,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    canary = commands.add_parser(
        "canary",
        help="the X-Ray and CloudWatch canary",
        description="The canary proves that X-Ray and CloudWatch accept and return data.",
    )
    canary_commands = canary.add_subparsers(dest="canary_command", required=True, parser_class=_Parser)
    run = canary_commands.add_parser(
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
    collect = commands.add_parser(
        "collect",
        help="a local X-Ray daemon + OTLP receiver, on loopback",
        description="Receives X-Ray SDK segments (UDP) and OpenTelemetry spans (OTLP/HTTP) on 127.0.0.1, "
        "serves a live waterfall page, and prints the traces when you press Ctrl-C.",
        epilog="examples:\n  xray-exclusive collect\n"
        "  AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000 python my_handler.py   # in another terminal\n"
        "  xray-exclusive collect --jsonl traces.jsonl --html traces.html\n\n" + EXIT_TABLE,
    )
    collect.add_argument("--udp-port", type=int, default=2000, help="X-Ray daemon port (0: any free port)")
    collect.add_argument("--http-port", type=int, default=4318, help="OTLP/HTTP and live page port (0: any)")
    collect.add_argument("--jsonl", type=Path, help="append every document to this JSON lines file")
    collect.add_argument(
        "--max-traces", type=int, default=1000, help="traces kept in memory (oldest evicted)"
    )
    collect.add_argument("--html", type=Path, help="write the HTML page here on exit")
    view = commands.add_parser(
        "view",
        help="render traces from a `collect --jsonl` file",
        description="Prints the traces a `collect --jsonl` file holds as trees, or writes them as one page.",
        epilog="examples:\n  xray-exclusive view traces.jsonl\n  xray-exclusive view traces.jsonl --html "
        "traces.html\n\n" + EXIT_TABLE,
    )
    view.add_argument("source", type=Path, help="a JSON lines file written by `collect --jsonl`")
    view.add_argument(
        "--html", type=Path, help="write one self-contained HTML page instead of the terminal tree"
    )
    demo = commands.add_parser(
        "demo",
        help="run the four example Lambdas locally and show their traces",
        description="Plays four example Lambdas (seven caught-and-continued failures, a SendGrid call, an "
        "SSE stream whose client goes away, DynamoDB and CloudWatch calls) in a simulated Lambda "
        "environment on loopback, then prints what X-Ray will show and the metric lines. Needs the "
        "[streaming] extra. No AWS account, no network.",
        epilog="examples:\n  xray-exclusive demo\n  xray-exclusive demo --html /tmp/demo.html\n"
        "  xray-exclusive demo --collector\n\n" + EXIT_TABLE,
    )
    demo.add_argument(
        "--html", type=Path, help="where to write the HTML page (default ./xray-exclusive-demo.html)"
    )
    demo.add_argument(
        "--collector",
        nargs="?",
        const="",
        metavar="PATH",
        help="send through a real OpenTelemetry collector build (xray-exclusive-collector) into a local "
        "X-Ray stand-in, and show what X-Ray stored; without PATH: ./build/peers/xray-exclusive-collector, "
        "else the one on the PATH",
    )
    check = commands.add_parser(
        "check",
        help="find X-Ray tracing pitfalls in Python, Terraform, Dockerfiles and collector YAML",
        description="Reads a repository and reports what would break or blind X-Ray tracing, one line per "
        "finding with its rule code. Configuration: [tool.xray-exclusive] in the nearest pyproject.toml. "
        "Needs the [check] extra for Terraform and YAML.",
        epilog="examples:\n  xray-exclusive check\n  xray-exclusive check src infra --format sarif > "
        "check.sarif\n  xray-exclusive check --list-rules\n\n" + EXIT_TABLE,
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
    render = commands.add_parser(
        "render",
        help="generate infrastructure from the fleet file",
        description="Generates infrastructure code from the fleet file (xray-exclusive.toml).",
    )
    render_commands = render.add_subparsers(dest="render_command", required=True, parser_class=_Parser)
    terraform = render_commands.add_parser(
        "terraform",
        help="alarms, sampling rules, error group, billing alarms and dashboard as Terraform JSON",
        description="Reads xray-exclusive.toml (or [tool.xray-exclusive.fleet] in pyproject.toml) and writes "
        "every alarm, the sampling rules, the error group, the billing alarms and the dashboard as one "
        "Terraform JSON file.",
        epilog="examples:\n  xray-exclusive render terraform\n  xray-exclusive render terraform --fleet "
        "fleet.toml --out infra/\n\n" + EXIT_TABLE,
    )
    terraform.add_argument("--fleet", type=Path, help="the fleet file (default: found here or above)")
    terraform.add_argument(
        "--out", type=Path, default=Path("."), help="directory or file (default ./xray-exclusive.tf.json)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    command = " ".join(
        part
        for part in (
            args.command,
            getattr(args, "canary_command", None),
            getattr(args, "render_command", None),
        )
        if part
    )
    try:
        return _dispatch(args)
    except ImportError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        print(
            f"xray-exclusive {command}: this needs the [{extra}] extra "
            f"(no module {exc.name!r}): pip install 'xray-exclusive[{extra}]'",
            file=sys.stderr,
        )
        return CANNOT_RUN
    except Exception as exc:
        fix = _aws_configuration_fix(exc)
        if fix is None:
            raise
        print(f"xray-exclusive {command}: {fix}", file=sys.stderr)
        return CANNOT_RUN


def _aws_configuration_fix(exc: Exception) -> str | None:
    """One line naming the fix for botocore's configuration errors (no region, no credentials)."""
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None:
        return None
    if isinstance(exc, botocore.NoRegionError):
        return (
            "no AWS region is configured: set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=eu-west-1"
        )
    if isinstance(exc, botocore.NoCredentialsError | botocore.PartialCredentialsError):
        return (
            "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, botocore.ProfileNotFound):
        return f"{exc}: check AWS_PROFILE and ~/.aws/config"
    return None


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "canary" and args.canary_command == "run":
        from .canary._cli import canary_run

        return canary_run(
            once=args.once,
            interval=args.interval,
            traces=args.traces,
            endpoint_url=args.endpoint_url,
            as_json=args.json,
            quiet=args.quiet,
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
