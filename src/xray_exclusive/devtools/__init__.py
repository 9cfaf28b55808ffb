"""Local developer tools: a collector (X-Ray UDP + OTLP/HTTP), a trace viewer, and the demo.

Example:
    >>> from xray_exclusive.devtools import Collector
    >>> with Collector(udp_port=0, http_port=0) as collector:
    ...     collector.store.traces()
    []
"""

from __future__ import annotations

from ._assets import browser_client_path
from ._collector import Collector, CollectorError, Trace, TraceStore, decode_otlp, parse_datagram
from ._convert import span_to_document, xray_trace_id
from ._demo import run_demo
from ._view import render_html, render_text, tree

__all__ = [
    "Collector",
    "CollectorError",
    "Trace",
    "TraceStore",
    "browser_client_path",
    "decode_otlp",
    "parse_datagram",
    "render_html",
    "render_text",
    "run_demo",
    "span_to_document",
    "tree",
    "xray_trace_id",
]
