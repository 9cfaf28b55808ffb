"""The ``render terraform`` command: find the fleet file, render, write ``xray-exclusive.tf.json``.

The command's declaration (``HELP``, :func:`add_arguments`, :func:`run`) for ``cli.py``, and the run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .._exit import CANNOT_RUN, EXIT_TABLE
from ._fleet import FleetError, load_fleet
from ._terraform import render_terraform

OUTPUT_NAME = "xray-exclusive.tf.json"

HELP = "generate infrastructure from the fleet file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``render`` and its ``terraform`` subcommand."""
    parser.description = "Generates infrastructure code from the fleet file (xray-exclusive.toml)."
    commands = parser.add_subparsers(dest="render_command", required=True, parser_class=type(parser))
    terraform = commands.add_parser(
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


def run(args: argparse.Namespace) -> int:
    """Run ``render terraform`` with the parsed arguments; its exit status."""
    return render_terraform_command(args.fleet, args.out)


def _find_fleet(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        for name in ("xray-exclusive.toml", "pyproject.toml"):
            candidate = directory / name
            if candidate.is_file() and (
                name != "pyproject.toml" or "xray-exclusive.fleet" in candidate.read_text()
            ):
                return candidate
    return None


def render_terraform_command(fleet_file: Path | None, out: Path) -> int:
    """Write the Terraform JSON; 0 on success, 3 (could not run) on a missing or invalid fleet file."""
    source = fleet_file or _find_fleet(Path.cwd().resolve())
    if source is None:
        print(
            "xray-exclusive render: no fleet file (xray-exclusive.toml, or [tool.xray-exclusive.fleet] in "
            "pyproject.toml) here or above; pass --fleet FILE",
            file=sys.stderr,
        )
        return CANNOT_RUN
    try:
        fleet = load_fleet(source)
    except FleetError as error:
        print(f"xray-exclusive render: {error}", file=sys.stderr)
        return CANNOT_RUN
    document = render_terraform(fleet)
    target = out / OUTPUT_NAME if out.is_dir() or not out.suffix else out
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    resources = document["resource"]
    print(
        f"{target}: {len(resources['aws_cloudwatch_metric_alarm'])} alarms for {len(fleet.functions)} "
        f"functions, sampling {fleet.sampling_rate:g} ({fleet.environment}), error group, dashboard "
        f"(from {source})"
    )
    return 0
