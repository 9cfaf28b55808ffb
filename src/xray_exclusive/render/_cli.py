"""The ``render terraform`` command: find the fleet file, render, write ``xray-exclusive.tf.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .._exit import CANNOT_RUN
from ._fleet import FleetError, load_fleet
from ._terraform import render_terraform

OUTPUT_NAME = "xray-exclusive.tf.json"


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
