"""The ``demo`` command: the four example Lambdas on loopback, and what X-Ray will show."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._exit import CANNOT_RUN, EXIT_TABLE

__all__ = ["HELP", "add_arguments", "demo", "run"]

HELP = "run the four example Lambdas locally and show their traces"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``demo``'s options."""
    parser.description = (
        "Plays four example Lambdas (seven caught-and-continued failures, a SendGrid call, an SSE stream "
        "whose client goes away, DynamoDB and CloudWatch calls) in a simulated Lambda environment on "
        "loopback, then prints what X-Ray will show and the metric lines. Needs the [streaming] extra. No "
        "AWS account, no network."
    )
    parser.epilog = (
        "examples:\n  xray-exclusive demo\n  xray-exclusive demo --html /tmp/demo.html\n"
        "  xray-exclusive demo --collector\n\n" + EXIT_TABLE
    )
    parser.add_argument(
        "--html", type=Path, help="where to write the HTML page (default ./xray-exclusive-demo.html)"
    )
    parser.add_argument(
        "--collector",
        nargs="?",
        const="",
        metavar="PATH",
        help="send through a real OpenTelemetry collector build (xray-exclusive-collector) into a local "
        "X-Ray stand-in, and show what X-Ray stored; without PATH: ./build/peers/xray-exclusive-collector, "
        "else the one on the PATH",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``demo`` with the parsed arguments; its exit status."""
    return demo(args.html, args.collector)


def demo(html: Path | None, collector: str | None = None) -> int:
    """The README's main job; ``collector``: a collector binary, ``""`` to find the local build, or None."""
    import importlib.util

    from ._collector import CollectorError
    from ._demo import run_demo
    from ._real import find_collector

    for module in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"):
        if importlib.util.find_spec(module) is None:  # say so before the demo prints anything
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    binary = None
    if collector is not None:
        try:
            binary = find_collector(collector or None)
        except CollectorError as exc:
            print(f"xray-exclusive demo: {exc}", file=sys.stderr)
            return CANNOT_RUN
    return run_demo(html, collector_binary=binary)
