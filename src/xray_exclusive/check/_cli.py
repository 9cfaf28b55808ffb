"""The ``check`` command: configuration, the run, the chosen output, the exit status."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ._config import ConfigError, find_pyproject, load_config, with_overrides
from ._report import as_json, rule_list, rules_markdown, sarif, text
from ._run import check


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
    from .. import __version__
    from .._exit import CANNOT_RUN

    out = out or sys.stdout
    if list_rules or markdown:
        out.write(rules_markdown() if markdown else rule_list() + "\n")
        return 0
    targets = [Path(p) for p in (paths or ["."])]
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        print(f"xray-exclusive check: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return CANNOT_RUN
    try:
        pyproject = Path(config) if config else find_pyproject(targets[0])
        if config and not Path(config).is_file():
            raise ConfigError(f"no such configuration file: {config}")
        settings = with_overrides(load_config(pyproject), select=select, ignore=ignore, streaming=streaming)
    except ConfigError as error:
        print(f"xray-exclusive check: {error}", file=sys.stderr)
        return CANNOT_RUN
    report = check(targets, settings)
    if output_format == "json":
        out.write(as_json(report.findings, report.errors) + "\n")
    elif output_format == "sarif":
        out.write(sarif(report.findings, report.errors, __version__, report.notes) + "\n")
    else:
        out.write(text(report.findings, report.errors, report.files, report.notes) + "\n")
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xray_exclusive.check [ARGS]``: ``xray-exclusive check [ARGS]``."""
    from ..cli import main as cli_main

    return cli_main(["check", *(sys.argv[1:] if argv is None else argv)])
