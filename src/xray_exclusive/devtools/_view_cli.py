"""The ``view`` command: the traces of a ``collect --jsonl`` file, as trees or as one page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .._exit import CANNOT_RUN, EXIT_TABLE

__all__ = ["HELP", "add_arguments", "run", "view"]

HELP = "render traces from a `collect --jsonl` file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``view``'s options."""
    parser.description = (
        "Prints the traces a `collect --jsonl` file holds as trees, or writes them as one page."
    )
    parser.epilog = (
        "examples:\n  xray-exclusive view traces.jsonl\n  xray-exclusive view traces.jsonl --html "
        "traces.html\n\n" + EXIT_TABLE
    )
    parser.add_argument("source", type=Path, help="a JSON lines file written by `collect --jsonl`")
    parser.add_argument(
        "--html", type=Path, help="write one self-contained HTML page instead of the terminal tree"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``view`` with the parsed arguments; its exit status."""
    return view(args.source, args.html)


def view(source: Path, html: Path | None) -> int:
    """Render a JSON lines file written by ``collect --jsonl``."""
    from ._collector import TraceStore
    from ._view import render_html, render_text

    store = TraceStore(max_traces=100_000)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"xray-exclusive view: cannot read {source}: {exc.strerror}", file=sys.stderr)
        return CANNOT_RUN
    bad = 0
    for line in lines:
        try:
            document = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(document, dict):
            store.add(document)
    traces = store.traces()
    if html is not None:
        html.write_text(render_html(traces), encoding="utf-8")
        print(f"HTML waterfall: {html.resolve()}")
    else:
        render_text(traces, stream=sys.stdout)
    if bad:
        print(f"{bad} line(s) were not JSON and were skipped", file=sys.stderr)
    return 0
