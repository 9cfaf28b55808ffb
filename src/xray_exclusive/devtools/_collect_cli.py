"""The ``collect`` command: a local X-Ray daemon and OTLP receiver until Ctrl-C, then the traces."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .._exit import CANNOT_RUN, EXIT_TABLE

__all__ = ["HELP", "add_arguments", "collect", "run"]

HELP = "a local X-Ray daemon + OTLP receiver, on loopback"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``collect``'s options."""
    parser.description = (
        "Receives X-Ray SDK segments (UDP) and OpenTelemetry spans (OTLP/HTTP) on 127.0.0.1, serves a live "
        "waterfall page, and prints the traces when you press Ctrl-C."
    )
    parser.epilog = (
        "examples:\n  xray-exclusive collect\n"
        "  AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000 python my_handler.py   # in another terminal\n"
        "  xray-exclusive collect --jsonl traces.jsonl --html traces.html\n\n" + EXIT_TABLE
    )
    parser.add_argument("--udp-port", type=int, default=2000, help="X-Ray daemon port (0: any free port)")
    parser.add_argument("--http-port", type=int, default=4318, help="OTLP/HTTP and live page port (0: any)")
    parser.add_argument("--jsonl", type=Path, help="append every document to this JSON lines file")
    parser.add_argument("--max-traces", type=int, default=1000, help="traces kept in memory (oldest evicted)")
    parser.add_argument("--html", type=Path, help="write the HTML page here on exit")


def run(args: argparse.Namespace) -> int:
    """Run ``collect`` with the parsed arguments; its exit status."""
    return collect(args.udp_port, args.http_port, args.jsonl, args.max_traces, args.html)


def collect(udp_port: int, http_port: int, jsonl: Path | None, max_traces: int, html: Path | None) -> int:
    """Listen until Ctrl-C; then print the traces (and write the page)."""
    from ._collector import Collector, CollectorError, TraceStore
    from ._view import render_html, render_text

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
