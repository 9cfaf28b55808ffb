"""`xray-exclusive check` on a generated repository of 2,000 Python files, next to `ruff check` on it.

Run: ``nox -s bench`` or ``python benchmarks/bench_check.py``. Both run as fresh processes pinned to one
core (``taskset -c 0``; ruff's thread pool also set to one thread), median of ``BENCH_REPEATS`` runs,
interleaved. Ruff is the anchor for what users tolerate from a linter in CI and pre-commit. Then start-up
alone: both tools on an empty directory. Real repositories: ``benchmarks/bench_check_repos.py``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILES = int(os.environ.get("BENCH_CHECK_FILES", "2000"))
RUNS = int(os.environ.get("BENCH_REPEATS", "5"))

MODULE = '''"""Lambda {n}: reads items, scores them, writes results."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer

from xray_exclusive import failure_path, paths

tracer = Tracer()
logger = Logger()
TABLE = os.environ.get("TABLE", "items-{n}")
dynamodb = boto3.client("dynamodb")


@dataclass
class Item:
    id: str
    score: float
    tags: list[str]

    def to_json(self) -> str:
        return json.dumps({{"id": self.id, "score": self.score, "tags": self.tags}})


def load(keys: list[str]) -> list[Item]:
    items = []
    for key in keys:
        answer = dynamodb.get_item(TableName=TABLE, Key={{"id": {{"S": key}}}})
        raw = answer.get("Item") or {{}}
        tags = list(raw.get("tags", {{}}).get("SS", []))
        items.append(Item(key, float(raw.get("score", {{}}).get("N", 0)), tags))
    return items


def score(items: list[Item]) -> dict[str, float]:
    totals: dict[str, float] = {{}}
    for item in items:
        for tag in item.tags:
            totals[tag] = totals.get(tag, 0.0) + item.score
    return {{tag: round(total / max(len(items), 1), 3) for tag, total in sorted(totals.items())}}


class Writer:
    def __init__(self, table: str) -> None:
        self.table = table
        self.written = 0

    def write(self, scores: dict[str, float]) -> None:
        for tag, value in scores.items():
            with failure_path(paths.AUDIT_TRAIL):
                item = {{"tag": {{"S": tag}}, "v": {{"N": str(value)}}}}
                dynamodb.put_item(TableName=self.table, Item=item)
            self.written += 1


@tracer.capture_method
def process(keys: list[str]) -> int:
    writer = Writer(TABLE)
    writer.write(score(load(keys)))
    return writer.written


@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with tracer.provider.in_subsegment("batch") as subsegment:
        subsegment.put_annotation("item_count", len(event.get("keys", [])))
        written = process(event.get("keys", []))
    logger.info("done", extra={{"written": written}})
    return {{"statusCode": 200, "body": json.dumps({{"written": written}})}}
{pitfall}'''

PITFALL = """

def get_correlation_id(event: dict[str, Any]) -> str:
    import uuid

    return str(event.get("correlation_id") or uuid.uuid4())
"""

PLAIN = '''"""Module {n}: nothing a tracing rule reads (the pre-filter's case)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Row:
    key: str
    value: float

    def to_json(self) -> str:
        return json.dumps({{"key": self.key, "value": self.value}})


def total(rows: list[Row]) -> float:
    return sum(row.value for row in rows if row.key)


def parse(text: str) -> list[Row]:
    return [Row(str(k), float(v)) for k, v in json.loads(text).items()]
'''


def build(root: Path, template: str = MODULE) -> None:
    for n in range(FILES):
        directory = root / f"lambda_{n // 20:03d}"
        directory.mkdir(exist_ok=True)
        text = template.format(n=n, pitfall=PITFALL if n % 20 == 0 else "")
        (directory / f"module_{n:04d}.py").write_text(text)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, check=False)
    return time.perf_counter() - start, done.returncode


def main() -> int:
    """The two synthetic repositories, then start-up alone (an empty directory)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    env = {**os.environ, "RAYON_NUM_THREADS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a developer's machine keeps bytecode caches
    for title, template in (("Lambda modules", MODULE), ("modules importing nothing of interest", PLAIN)):
        run_one(title, template, ruff, pin, env)
    with tempfile.TemporaryDirectory() as empty:
        measure("start-up (an empty directory)", Path(empty), ruff, pin, env, files=0)
    return 0


def run_one(title: str, template: str, ruff: str | None, pin: list[str], env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "repo")
        root.mkdir()
        build(root, template)
        lines = sum(len(p.read_text().splitlines()) for p in root.rglob("*.py"))
        measure(f"{FILES} {title}, {lines:,} lines", root, ruff, pin, env, files=FILES)
        in_process(root)


def measure(
    title: str, root: Path, ruff: str | None, pin: list[str], env: dict[str, str], files: int
) -> None:
    """``check`` and ruff on ``root``, fresh processes, interleaved; medians, files/s, the ratio."""
    commands = {
        "xray-exclusive check": [
            *pin,
            sys.executable,
            "-m",
            "xray_exclusive.check",
            "--format",
            "json",
            str(root),
        ],
    }
    if ruff:
        commands["ruff check (defaults)"] = [
            *pin,
            ruff,
            "check",
            "--isolated",
            "--no-cache",
            "--quiet",
            str(root),
        ]
        commands["ruff check (E,F,W,B,UP,SIM)"] = [
            *pin,
            ruff,
            "check",
            "--isolated",
            "--no-cache",
            "--quiet",
            "--select",
            "E,F,W,B,UP,SIM",
            str(root),
        ]
    samples: dict[str, list[float]] = {name: [] for name in commands}
    codes: dict[str, int] = {}
    for _ in range(RUNS):
        for name, command in commands.items():
            seconds, codes[name] = timed(command, env)
            samples[name].append(seconds)
    print(f"check: {title}, {files:,} files, one core{' (taskset -c 0)' if pin else ''}")
    ours = statistics.median(samples["xray-exclusive check"])
    for name, values in samples.items():
        median = statistics.median(values)
        ratio = f"{median / ours:5.2f}x ours" if name != "xray-exclusive check" else "          "
        rate = files / median
        print(f"  {name:<28} {median * 1000:8.1f} ms  {rate:8,.0f} files/s  {ratio}  exit {codes[name]}")
    if not ruff:
        print("  ruff not installed: no anchor (pip install ruff)")


def in_process(root: Path) -> None:
    """Where our time goes: parsing (ast.parse) versus the rules, in this process."""
    import ast

    from xray_exclusive.check import CheckConfig, check

    files = sorted(root.rglob("*.py"))
    start = time.perf_counter()
    for path in files:
        ast.parse(path.read_text(), filename=str(path))
    parse = time.perf_counter() - start
    start = time.perf_counter()
    report = check([root], CheckConfig(root=root))
    total = time.perf_counter() - start
    print(
        f"  in process: check() {total * 1000:.0f} ms for {report.files} files ({len(report.findings)} "
        f"findings); ast.parse of every file would take {parse * 1000:.0f} ms: the pre-filter parses only "
        "the files a rule could fire on"
    )


if __name__ == "__main__":
    sys.exit(main())
