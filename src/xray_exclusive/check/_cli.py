"""The ``check`` command: its options, then configuration, the run, the chosen output, the exit status.

Cheap to import (``argparse`` only): the checker itself is imported by :func:`run`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .._exit import EXIT_TABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import TextIO

__all__ = ["HELP", "add_arguments", "run", "run_check"]

HELP = "find X-Ray tracing pitfalls in Python, Terraform, Dockerfiles and collector YAML"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``check``'s options on its parser."""
    from argparse import SUPPRESS

    parser.description = (
        "Reads a repository and reports what would break or blind X-Ray tracing, one line per finding with "
        "its rule code. Configuration: [tool.xray-exclusive] in the nearest pyproject.toml. Needs the "
        "[check] extra for Terraform and YAML."
    )
    parser.epilog = (
        "examples:\n  xray-exclusive check\n  xray-exclusive check src infra --format sarif > "
        "check.sarif\n  xray-exclusive check --list-rules\n\n" + EXIT_TABLE
    )
    parser.add_argument("paths", nargs="*", help="files or directories (default: .)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text", dest="output_format")
    parser.add_argument(
        "--select", action="append", default=[], metavar="CODE", help="only these codes/prefixes"
    )
    parser.add_argument(
        "--ignore", action="append", default=[], metavar="CODE", help="skip these codes/prefixes"
    )
    parser.add_argument(
        "--streaming", action="append", default=[], metavar="GLOB", help="files of streaming Lambdas"
    )
    parser.add_argument("--config", help="a pyproject.toml (default: the nearest one above the first path)")
    parser.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    parser.add_argument("--rules-markdown", action="store_true", help=SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Run ``check`` with the parsed arguments; its exit status."""
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


def run_check(
    paths: Sequence[str],
    *,
    output_format: str = "text",
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    streaming: Sequence[str] = (),
    config: str | None = None,
    list_rules: bool = False,
    markdown: bool = False,
    out: TextIO | None = None,
) -> int:
    """Run the checker as the command line does; returns its exit status.

    0 clean, 1 findings, 2 a file could not be parsed, 3 the check could not run (a missing path, an
    invalid configuration).
    """
    from pathlib import Path

    from .._exit import CANNOT_RUN

    out = out or sys.stdout
    if list_rules or markdown:
        from ._report import rule_list, rules_markdown

        out.write(rules_markdown() if markdown else rule_list() + "\n")
        return 0
    targets = [Path(p) for p in (paths or ["."])]
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        print(f"xray-exclusive check: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return CANNOT_RUN
    from ._config import ConfigError, find_pyproject, load_config, with_overrides

    try:
        pyproject = Path(config) if config else find_pyproject(targets[0])
        if config and not Path(config).is_file():
            raise ConfigError(f"no such configuration file: {config}")
        settings = with_overrides(load_config(pyproject), select=select, ignore=ignore, streaming=streaming)
    except ConfigError as error:
        print(f"xray-exclusive check: {error}", file=sys.stderr)
        return CANNOT_RUN
    from ._run import check

    report = check(targets, settings)
    from . import _report

    if output_format == "json":
        out.write(_report.as_json(report.findings, report.errors) + "\n")
    elif output_format == "sarif":
        from .. import __version__

        out.write(_report.sarif(report.findings, report.errors, __version__, report.notes) + "\n")
    else:
        out.write(_report.text(report.findings, report.errors, report.files, report.notes) + "\n")
    return report.exit_code
