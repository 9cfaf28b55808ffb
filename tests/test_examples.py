"""The README's main command: the seven-paths example runs and shows every path and metric."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from xray_exclusive import paths

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_seven_paths_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "seven_paths.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = result.stdout
    for path in paths.ALL:
        assert path.name in out
        assert path.metric in out
    assert out.count("\n  self_healing_item_fetch ") == 3  # one subsegment per item
    assert "error+throttle" in out
    assert "Traceback" not in result.stderr
