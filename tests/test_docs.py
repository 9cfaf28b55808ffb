"""Every Python code block of the README and the documentation runs, as written, in a Lambda-like environment.

Each ```python block runs in a fresh interpreter with the Lambda variables a function has (a sampled trace
header, the function's name, a region, fake credentials), a loopback X-Ray daemon
(``AWS_XRAY_DAEMON_ADDRESS``) and a loopback OTLP receiver (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``).
It must exit 0.

Two markers, HTML comments on the line just above a block (invisible on the site):

* ``<!-- doc-test: continue -->`` runs the block after the previous block of the same page, as one program;
* ``<!-- doc-test: skip REASON -->`` leaves out a fragment that cannot run alone (the reason is required).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# check-rules.md is generated from the checker's bad and good example files, which the checker's own tests run
# the checker on; they are source to be read, not programs.
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "check-rules.md")]
_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```\s*$", re.M | re.S)
_MARKER = re.compile(r"<!--\s*doc-test:\s*(?P<verb>continue|skip)(?P<reason>[^>]*)-->\s*$")


@dataclass
class Block:
    page: Path
    line: int
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found: list[Block] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        previous: Block | None = None
        for match in _FENCE.finditer(text):
            if match["info"].strip().split(" ")[0] not in ("python", "py"):
                continue
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = _MARKER.search(before)
            indent = len(match["indent"])
            code = "\n".join(row[indent:] for row in match["body"].splitlines())
            if marker and marker["verb"] == "continue" and previous is not None:
                previous.code += "\n" + code
                continue
            skip = None
            if marker and marker["verb"] == "skip":
                skip = marker["reason"].strip()
                assert skip, f"{page.name}:{line}: a doc-test skip needs a reason"
            previous = Block(page, line, code, skip)
            found.append(previous)
    return found


BLOCKS = blocks()


@pytest.fixture(scope="module")
def daemon() -> object:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def receiver() -> object:
    from tests.otlp_receiver import OTLPReceiver

    otlp = OTLPReceiver()
    yield otlp
    otlp.close()


def test_the_docs_have_runnable_blocks() -> None:
    runnable = [b for b in BLOCKS if b.skip is None]
    assert len(runnable) >= 15, [b.id for b in runnable]


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.skip is None], ids=lambda b: b.id)
def test_doc_block_runs(block: Block, daemon: socket.socket, receiver: object, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "AWS_LAMBDA_FUNCTION_NAME": "docs-example",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint,  # type: ignore[attr-defined]
        "OTEL_SERVICE_NAME": "docs-example",
        "POWERTOOLS_SERVICE_NAME": "docs-example",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("POWERTOOLS_TRACE_DISABLED", "AWS_XRAY_SDK_ENABLED", "AWS_LAMBDA_EXEC_WRAPPER"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", block.code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, (
        f"{block.id} failed:\n{block.code}\n--- stderr ---\n{result.stderr[-3000:]}"
    )
