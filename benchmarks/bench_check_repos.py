"""`xray-exclusive check` and `ruff check` side by side over real repositories: files/s and the ratio.

Run: ``python benchmarks/bench_check_repos.py DIR [DIR ...]`` (each DIR a repository checkout, or a directory
of them with ``--each``). Both tools run as fresh processes pinned to one core (``taskset -c 0``; ruff's
thread pool set to one thread), median of ``--runs`` interleaved runs, bytecode caches allowed as on a
developer's machine. For each repository it prints:

- our files: every file of a kind we read (``.py``, ``.tf``, ``.tf.json``, Dockerfiles, YAML), whether the
  pre-filter let it through to a parser or not; ruff's files: the Python files ruff lints;
- the median wall time of each tool, files per second for each, and our time over ruff's;
- our exit status and the findings per rule (``--findings`` lists them all, for judging precision);
- with ``--floor``, the parse floor: a fresh interpreter that only reads the Python files holding findings
  and parses them with CPython's parser (no import of ours, no discovery, no rule, no output), timed the
  same way. Those files must be parsed for their findings to exist, so no run of ours can be faster; when
  the floor alone reaches ruff's time, ruff's files/s cannot be matched on that repository.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def _ruff() -> str | None:
    return shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def _our_files(directory: Path) -> int:
    from xray_exclusive.check import CheckConfig
    from xray_exclusive.check._run import discover

    return sum(1 for _ in discover([directory], CheckConfig(root=directory.resolve())))


def _ruff_files(ruff: str, directory: Path) -> int:
    done = subprocess.run(
        [ruff, "check", "--isolated", "--show-files", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(1 for line in done.stdout.splitlines() if line.strip())


# The floor's whole program: read and parse each listed file as ``ast.parse`` does (PyCF_ONLY_AST).
_FLOOR = (
    "import gc, sys\n"
    "gc.disable()\n"
    "for name in open(sys.argv[1], encoding='utf-8').read().splitlines():\n"
    "    with open(name, encoding='utf-8') as stream:\n"
    "        compile(stream.read(), name, 'exec', 1024, dont_inherit=True)\n"
)


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, done.returncode, done.stdout


def bench(directory: Path, runs: int, ruff: str | None, show: bool, floor: bool = False) -> dict[str, object]:
    """One repository: our run and ruff's (and the parse floor), timed; the findings of our last run."""
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    env = {**os.environ, "RAYON_NUM_THREADS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ours_command = [*pin, sys.executable, "-m", "xray_exclusive.check", "--format", "json", str(directory)]
    ruff_command = (
        [*pin, ruff, "check", "--isolated", "--no-cache", "--quiet", str(directory)] if ruff else []
    )
    warm = subprocess.run(ours_command, capture_output=True, text=True, env=env, check=False)  # caches
    floor_command: list[str] = []
    if floor:
        holding = sorted({item["path"] for item in json.loads(warm.stdout or "[]")})
        listing = Path(tempfile.mkdtemp()) / "files.txt"
        listing.write_text("\n".join(p for p in holding if p.endswith(".py")), encoding="utf-8")
        floor_command = [*pin, sys.executable, "-c", _FLOOR, str(listing)]
    ours: list[float] = []
    theirs: list[float] = []
    floors: list[float] = []
    status, output = 0, "[]"
    for _ in range(runs):
        seconds, status, output = _timed(ours_command, env)
        ours.append(seconds)
        if ruff_command:
            theirs.append(_timed(ruff_command, env)[0])
        if floor_command:
            floors.append(_timed(floor_command, env)[0])
    findings = json.loads(output or "[]")
    if show:
        for item in findings:
            print(f"    {item['path']}:{item['line']}: {item['code']} {item['message'][-110:]}")
    files = _our_files(directory)
    ruff_files = _ruff_files(ruff, directory) if ruff else 0
    ours_s = statistics.median(ours)
    ruff_s = statistics.median(theirs) if theirs else float("nan")
    return {
        "repository": directory.name,
        "files": files,
        "ruff_files": ruff_files,
        "ours_s": ours_s,
        "ruff_s": ruff_s,
        "ours_rate": files / ours_s,
        "ruff_rate": ruff_files / ruff_s if theirs else float("nan"),
        "ratio": ours_s / ruff_s if theirs else float("nan"),
        "floor_s": statistics.median(floors) if floors else float("nan"),
        "exit": status,
        "rules": dict(sorted(Counter(item["code"] for item in findings).items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", type=Path)
    parser.add_argument("--each", action="store_true", help="each directory holds repositories: bench each")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_REPEATS", "5")))
    parser.add_argument("--findings", action="store_true", help="list every finding (to judge precision)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time the parse floor (reading and parsing the files with findings)",
    )
    args = parser.parse_args(argv)
    ruff = _ruff()
    targets = [
        child
        for directory in args.directories
        for child in (sorted(p for p in directory.iterdir() if p.is_dir()) if args.each else [directory])
    ]
    results = []
    print(
        f"{'repository':<44} {'files':>6} {'ruff':>6} {'ours ms':>8} {'ruff ms':>8} "
        f"{'ours f/s':>9} {'ruff f/s':>9} {'ours/ruff':>9} {'floor ms':>8}  exit  findings per rule"
    )
    for directory in targets:
        result = bench(directory, args.runs, ruff, args.findings, args.floor)
        results.append(result)
        print(
            f"{result['repository']!s:<44} {result['files']:>6} {result['ruff_files']:>6} "
            f"{result['ours_s'] * 1000:>8.0f} {result['ruff_s'] * 1000:>8.0f} "  # type: ignore[operator]
            f"{result['ours_rate']:>9,.0f} {result['ruff_rate']:>9,.0f} {result['ratio']:>8.2f}x"
            f" {result['floor_s'] * 1000:>8.0f}"  # type: ignore[operator]
            f"  {result['exit']:>4}  {result['rules']}"
        )
    if not ruff:
        print("ruff not installed: no anchor (pip install ruff)")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
