"""What the benchmarks share: interleaved timing, fresh-interpreter wall times, a Lambda-like X-Ray setup.

Each ``bench_*.py`` runs as a script, so this directory is on ``sys.path`` and ``import _common`` works.
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import timeit
from collections.abc import Callable, Mapping
from typing import Any

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))


def interleaved(
    cases: dict[str, Callable[[], Any]], number: int, settle: Callable[[], Any] | None = None
) -> dict[str, float]:
    """Microseconds per call, the cases measured alternately (3 x REPEATS short runs): noise hits them alike.

    ``settle`` runs before each timed run, outside the timing (the streaming benchmark empties both span
    queues there, so neither pipeline's export thread works while the other one is measured).
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    runs, chunk = REPEATS * 3, max(number // 3, 1)
    for _ in range(runs):
        for name, func in cases.items():
            if settle is not None:
                settle()
            samples[name].append(timeit.timeit(func, number=chunk) / chunk * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def wall_ms(
    statements: Mapping[str, str], runs: int, env: Mapping[str, str] | None = None
) -> dict[str, float]:
    """Median wall time (ms) of a fresh interpreter running each statement, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(runs):
        for name, code in statements.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=None if env is None else dict(env))
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def lambda_environment() -> socket.socket:
    """A sampled Lambda invocation whose X-Ray daemon is a loopback UDP socket drained by a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{sock.getsockname()[1]}"
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    os.environ.update(
        LAMBDA_TASK_ROOT=os.getcwd(),
        AWS_LAMBDA_FUNCTION_NAME="bench",
        POWERTOOLS_SERVICE_NAME="bench",
        AWS_XRAY_DAEMON_ADDRESS=address,
        _X_AMZN_TRACE_ID=f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1",
    )

    def drain() -> None:
        while True:
            try:
                sock.recv(70_000)
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    return sock
