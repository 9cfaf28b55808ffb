"""Examples run as subprocesses: each shows every path, span and metric it promises."""

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


def test_sse_stream_example_keeps_every_span_in_its_invocation_trace() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sse_stream.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = result.stdout
    assert out.count("invocation ") == 2
    assert "OTHER TRACE" not in out
    assert out.count("same trace") == 28
    assert out.count("DynamoDB.Query             ns=aws") == 6
    assert "spans delivered: 28, dropped: 0, lost in export: 0" in out
    assert "Traceback" not in result.stderr


def test_sendgrid_example_shows_one_remote_subsegment_per_call() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sendgrid_notification.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = result.stdout
    assert out.count("sendgrid ns=remote POST") == 4
    assert "status=202 ok" in out
    assert "status=429 error+throttle" in out
    assert "status=500 fault" in out
    assert "status=- fault" in out
    assert "SG.secret" not in out
    assert "Traceback" not in result.stderr
