"""Assembled traces as the X-Ray console would show them: a terminal tree, or one self-contained HTML page."""

from __future__ import annotations

import html
import json
import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from ._collector import Trace

__all__ = ["render_html", "render_text", "tree"]


def tree(trace: Trace) -> list[tuple[int, dict[str, Any]]]:
    """``(depth, document)`` in display order: roots first, children by start time."""
    documents = trace.documents
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for doc in documents.values():
        parent = doc.get("parent_id")
        if parent and parent in documents:
            children.setdefault(parent, []).append(doc)
        else:
            roots.append(doc)
    ordered: list[tuple[int, dict[str, Any]]] = []

    def key(doc: dict[str, Any]) -> float:
        return float(doc.get("start_time") or 0)

    stack = [(0, doc) for doc in sorted(roots, key=key, reverse=True)]
    seen: set[int] = set()
    while stack:
        depth, doc = stack.pop()
        if id(doc) in seen:
            continue
        seen.add(id(doc))
        ordered.append((depth, doc))
        for child in sorted(children.get(str(doc.get("id")), []), key=key, reverse=True):
            stack.append((depth + 1, child))
    return ordered


def _marks(doc: dict[str, Any]) -> str:
    return "+".join(k for k in ("error", "throttle", "fault") if doc.get(k))


def _duration_ms(doc: dict[str, Any]) -> float | None:
    start, end = doc.get("start_time"), doc.get("end_time")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return (end - start) * 1000
    return None


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def render_text(traces: Iterable[Trace], stream: TextIO | None = None, colour: bool | None = None) -> str:
    """One tree per trace: name, namespace, duration, marks, annotations, the first exception."""
    out = stream or sys.stdout
    paint = _use_colour(out) if colour is None else colour
    red, yellow, magenta, green, dim, reset = (
        ("\033[31m", "\033[33m", "\033[35m", "\033[32m", "\033[2m", "\033[0m") if paint else ("",) * 6
    )
    lines = []
    for trace in traces:
        lines.append(f"trace {trace.trace_id}")
        for depth, doc in tree(trace):
            marks = _marks(doc)
            colour_code = (
                red if doc.get("fault") else magenta if doc.get("throttle") else yellow if marks else green
            )
            duration = _duration_ms(doc)
            parts = [
                "  " * (depth + 1) + f"{colour_code}{doc.get('name', '?')}{reset}",
                f"{dim}[{doc.get('namespace') or ('segment' if doc.get('type') != 'subsegment' else 'local')}]{reset}",
                f"{duration:.1f} ms" if duration is not None else "in progress",
            ]
            if marks:
                parts.append(f"{colour_code}{marks}{reset}")
            status = (doc.get("http") or {}).get("response", {}).get("status")
            if status:
                parts.append(f"HTTP {status}")
            if doc.get("annotations"):
                parts.append(
                    f"annotations={json.dumps(doc['annotations'], separators=(',', ':'), default=str)}"
                )
            lines.append(" ".join(parts))
            exceptions = (
                (doc.get("cause") or {}).get("exceptions") if isinstance(doc.get("cause"), dict) else None
            )
            if exceptions:
                first = exceptions[0]
                lines.append(
                    "  " * (depth + 2)
                    + f"{dim}cause: {first.get('type', '')}: {first.get('message', '')}{reset}"
                )
        lines.append("")
    text = "\n".join(lines)
    if stream is not None:
        stream.write(text + "\n")
    return text


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>xray-exclusive: local traces</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#16191f;background:#fff}
h1{font-size:18px} h2{font-size:14px;margin:20px 0 6px;font-family:monospace}
.row{display:grid;grid-template-columns:minmax(380px,42%) 1fr 90px;align-items:center;cursor:pointer;border-bottom:1px solid #eee;min-height:22px}
.row:hover{background:#f4f8fb}
.label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-family:monospace}
.track{position:relative;height:14px;background:#fafafa}
.bar{position:absolute;top:2px;height:10px;background:#2e7d32;border-radius:2px;min-width:2px}
.bar.error{background:#f9a825}.bar.throttle{background:#7b1fa2}.bar.fault{background:#c62828}
.row:focus{outline:2px solid #0972d3;outline-offset:-2px}
.cause{color:#c62828;font-size:11px;margin-left:8px}
.legend{display:flex;gap:14px;flex-wrap:wrap;margin:6px 0 10px;font-size:12px}
.legend span::before{content:"";display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px;background:var(--c)}
.ns{color:#687078;font-size:11px;margin-left:6px}
.dur{text-align:right;font-family:monospace}
.details{display:none;white-space:pre-wrap;font-family:monospace;font-size:12px;background:#f7f7f7;padding:6px 10px;margin:0 0 4px}
.details.open{display:block}
.mark{font-weight:bold;margin-left:6px}.mark.fault{color:#c62828}.mark.error{color:#b26a00}.mark.throttle{color:#7b1fa2}
</style></head>
<body><h1>Local traces (what the X-Ray console will show)</h1>
<p id="summary"></p>
<div class="legend" aria-label="legend">
<span style="--c:#2e7d32">OK</span><span style="--c:#f9a825">error (the caller's side, HTTP 4xx)</span>
<span style="--c:#7b1fa2">throttle (error + throttle, HTTP 429 or an AWS throttling code)</span>
<span style="--c:#c62828">fault (the server's side, HTTP 5xx, timeouts)</span>
<span>Click a row, or focus it and press Enter, for its annotations, metadata and cause.</span>
</div>
<div id="traces"></div>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const traces = JSON.parse(document.getElementById("data").textContent);
const root = document.getElementById("traces");
document.getElementById("summary").textContent = traces.length + " trace(s)";
for (const t of traces) {
  const h = document.createElement("h2"); h.textContent = "trace " + t.trace_id; root.appendChild(h);
  const starts = t.rows.map(r => r.start), ends = t.rows.map(r => r.end ?? r.start);
  const t0 = Math.min(...starts), span = Math.max(1e-6, Math.max(...ends) - t0);
  for (const r of t.rows) {
    const row = document.createElement("div"); row.className = "row"; row.dataset.id = r.id;
    const label = document.createElement("div"); label.className = "label";
    label.style.paddingLeft = (r.depth * 14) + "px"; label.textContent = r.name;
    const ns = document.createElement("span"); ns.className = "ns"; ns.textContent = r.namespace; label.appendChild(ns);
    const kind = r.fault ? "fault" : r.throttle ? "throttle" : r.marks ? "error" : "";
    if (r.marks) { const m = document.createElement("span"); m.className = "mark " + kind; m.textContent = r.marks; label.appendChild(m); }
    if (r.cause) { const c = document.createElement("span"); c.className = "cause"; c.textContent = r.cause; label.appendChild(c); label.title = r.name + " \u2014 " + r.cause; }
    const track = document.createElement("div"); track.className = "track";
    const bar = document.createElement("div"); bar.className = "bar" + (kind ? " " + kind : "");
    bar.style.left = ((r.start - t0) / span * 100) + "%";
    bar.style.width = (((r.end ?? r.start) - r.start) / span * 100) + "%";
    track.appendChild(bar);
    const dur = document.createElement("div"); dur.className = "dur";
    dur.textContent = r.end == null ? "open" : ((r.end - r.start) * 1000).toFixed(1) + " ms";
    row.append(label, track, dur);
    const details = document.createElement("div"); details.className = "details";
    details.textContent = JSON.stringify(r.details, null, 2);
    row.tabIndex = 0; row.setAttribute("role", "button"); row.setAttribute("aria-expanded", "false");
    const toggle = () => row.setAttribute("aria-expanded", String(details.classList.toggle("open")));
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    root.append(row, details);
  }
}
</script></body></html>
"""


def _first_cause(doc: dict[str, Any]) -> str:
    """``Type: message`` of the first exception, at most 160 characters, for the row itself."""
    cause = doc.get("cause")
    exceptions = cause.get("exceptions") if isinstance(cause, dict) else None
    if not isinstance(exceptions, list) or not exceptions or not isinstance(exceptions[0], dict):
        return ""
    first = exceptions[0]
    text = ": ".join(str(part) for part in (first.get("type"), first.get("message")) if part)
    return text if len(text) <= 160 else text[:159] + "\u2026"


def _rows(trace: Trace) -> list[dict[str, Any]]:
    rows = []
    for depth, doc in tree(trace):
        start = float(doc.get("start_time") or 0)
        end = doc.get("end_time")
        details = {
            k: doc[k] for k in ("annotations", "metadata", "cause", "http", "aws", "namespace") if k in doc
        }
        rows.append(
            {
                "id": str(doc.get("id")),
                "depth": depth,
                "name": str(doc.get("name", "?")),
                "namespace": str(
                    doc.get("namespace") or ("segment" if doc.get("type") != "subsegment" else "")
                ),
                "start": start,
                "end": float(end) if isinstance(end, (int, float)) else None,
                "marks": _marks(doc),
                "fault": bool(doc.get("fault")),
                "throttle": bool(doc.get("throttle")),
                "cause": _first_cause(doc),
                "details": details,
            }
        )
    return rows


def render_html(traces: Iterable[Trace]) -> str:
    """One self-contained page (no CDN, no network): a waterfall per trace; click a row for its details."""
    data = [{"trace_id": t.trace_id, "rows": _rows(t)} for t in traces]
    payload = json.dumps(data, separators=(",", ":"), default=str)
    # Inside <script type="application/json">: only "</" could end the element early.
    payload = payload.replace("</", "<\\/")
    return _PAGE.replace("__DATA__", payload).replace("__TITLE__", html.escape("traces"))
