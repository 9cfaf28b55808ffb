"""The ``collect``, ``view`` and ``demo`` commands (called by ``cli.py``)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from .._exit import CANNOT_RUN
from ._collector import Collector, CollectorError, TraceStore
from ._demo import run_demo
from ._real import find_collector
from ._view import render_html, render_text

__all__ = ["collect", "demo", "view"]


def collect(udp_port: int, http_port: int, jsonl: Path | None, max_traces: int, html: Path | None) -> int:
    """Listen until Ctrl-C; then print the traces (and write the page)."""
    store = TraceStore(max_traces=max_traces, jsonl=jsonl)
    try:
        collector = Collector(
            udp_port=udp_port, http_port=http_port, store=store, page=lambda: render_html(store.traces())
        )
    except CollectorError as exc:
        print(f"xray-exclusive collect: {exc}", file=sys.stderr)
        return CANNOT_RUN
    print(
        f"X-Ray daemon (UDP): {collector.udp_address}   "
        f"export AWS_XRAY_DAEMON_ADDRESS={collector.udp_address}"
    )
    print(f"OTLP/HTTP:          {collector.otlp_endpoint}")
    print(f"live page:          {collector.http_address}/")
    print("Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        collector.close()
        store.close()
    traces = store.traces()
    render_text(traces, stream=sys.stdout)
    if html is not None:
        html.write_text(render_html(traces), encoding="utf-8")
        print(f"HTML waterfall: {html.resolve()}")
    print(f"{len(traces)} traces, {store.received} documents, {store.rejected} rejected")
    return 0


def view(source: Path, html: Path | None) -> int:
    """Render a JSON lines file written by ``collect --jsonl``."""
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


def demo(html: Path | None, collector: str | None = None) -> int:
    """The README's main job; ``collector``: a collector binary, ``""`` to find the local build, or None."""
    import importlib.util

    for module in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"):
        if importlib.util.find_spec(module) is None:  # say so before the demo prints anything
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    binary = None
    if collector is not None:
        try:
            binary = find_collector(collector or None)
        except CollectorError as exc:
            print(f"xray-exclusive demo: {exc}", file=sys.stderr)
            return CANNOT_RUN
    return run_demo(html, collector_binary=binary)
