"""OpenTelemetry spans to X-Ray segment documents, the way the collector's ``awsxray`` exporter does it.

A faithful subset of ``exporter/awsxrayexporter/internal/translator`` (see
FACTS.md §14 and Appendix A), enough to show locally what X-Ray will show:
the trace ID ``1-{8 hex}-{24 hex}``; segment or subsegment (a span with a
parent that is not SERVER is a subsegment); the name by the exporter's
priority (``aws.remote.service``, ``peer.service``, ``aws.service``,
``db.name``, ``service.name`` for SERVER, ``rpc.service``, ``http.host``,
``net.peer.name``, the span name); namespace ``aws`` for ``rpc.system=aws-api``
and ``remote`` for other CLIENT spans; error/throttle/fault from the HTTP
status or an ERROR status; ``exception`` events to ``cause`` (Python stack
text parsed); attributes listed in ``aws.xray.annotations`` to annotations
(keys sanitised), ``aws.xray.metadata.<ns>`` JSON to metadata, the rest to
metadata ``default``.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["span_to_document", "xray_trace_id"]

_SPAN_KIND_SERVER, _SPAN_KIND_CLIENT, _SPAN_KIND_PRODUCER = 2, 3, 4
_STATUS_ERROR = 2
_INVALID_NAME = re.compile(r"[^ 0-9\w_.:/%&#=+\-@]", re.UNICODE)
_INVALID_KEY = re.compile(r"[^A-Za-z0-9_]")
_PY_FRAME = re.compile(r'\s*File "(?P<path>[^"]*)", line (?P<line>\d+), in (?P<label>.*)$')


def xray_trace_id(trace_id: bytes) -> str:
    """OpenTelemetry's 16-byte trace ID in X-Ray's format.

    Example:
        >>> xray_trace_id(bytes.fromhex("5759e988bd862e3fe1be46a994272793"))
        '1-5759e988-bd862e3fe1be46a994272793'
    """
    hex_id = trace_id.hex().rjust(32, "0")
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


def attributes(items: Any) -> dict[str, Any]:
    """Protobuf ``KeyValue`` list to a dict."""
    return {kv.key: _value(kv.value) for kv in items}


def _name(span: Any, attrs: dict[str, Any], resource: dict[str, Any]) -> str:
    for key in ("aws.remote.service", "peer.service", "aws.service"):
        if isinstance(attrs.get(key), str) and attrs[key]:
            return str(attrs[key])
    if isinstance(attrs.get("db.name"), str):
        host = attrs.get("net.peer.name")
        return f"{attrs['db.name']}@{host}" if host else str(attrs["db.name"])
    if span.kind == _SPAN_KIND_SERVER and resource.get("service.name"):
        return str(resource["service.name"])
    for key in ("rpc.service", "http.host", "net.peer.name"):
        if isinstance(attrs.get(key), str) and attrs[key]:
            return str(attrs[key])
    name = _INVALID_NAME.sub("", span.name)[:200]
    return name or "span"


def _python_cause(type_name: str, message: str, stack: str, remote: bool, span_id: str) -> dict[str, Any]:
    frames = []
    for line in reversed(stack.splitlines()):
        match = _PY_FRAME.match(line)
        if match:
            frames.append({"path": match["path"], "line": int(match["line"]), "label": match["label"]})
    exception: dict[str, Any] = {"id": span_id, "type": type_name, "message": message, "remote": remote}
    if frames:
        exception["stack"] = frames
    return exception


def span_to_document(span: Any, resource: dict[str, Any]) -> dict[str, Any]:
    """One OTLP span (protobuf) as the X-Ray segment or subsegment document the exporter would write."""
    attrs = attributes(span.attributes)
    span_id = span.span_id.hex()
    document: dict[str, Any] = {
        "name": _name(span, attrs, resource),
        "id": span_id,
        "trace_id": xray_trace_id(span.trace_id),
        "start_time": span.start_time_unix_nano / 1e9,
        "end_time": span.end_time_unix_nano / 1e9,
    }
    parent = span.parent_span_id.hex() if span.parent_span_id else ""
    if parent:
        document["parent_id"] = parent
    if parent and span.kind != _SPAN_KIND_SERVER:
        document["type"] = "subsegment"
    namespace = None
    if attrs.get("rpc.system") == "aws-api" or "aws.service" in attrs:
        namespace = "aws"
    elif span.kind == _SPAN_KIND_CLIENT:
        namespace = "remote"
    if namespace and document.get("type") == "subsegment":
        document["namespace"] = namespace
    status = attrs.get("http.response.status_code", attrs.get("http.status_code"))
    if isinstance(status, int) and 400 <= status <= 499:
        document["error"] = True
        if status == 429:
            document["throttle"] = True
    elif (isinstance(status, int) and 500 <= status <= 599) or span.status.code == _STATUS_ERROR:
        document["fault"] = True
    remote = span.kind in (_SPAN_KIND_CLIENT, _SPAN_KIND_PRODUCER)
    exceptions: list[dict[str, Any]] = []
    for event in span.events:
        if event.name == "exception":
            values = attributes(event.attributes)
            exceptions.append(
                _python_cause(
                    str(values.get("exception.type", "")),
                    str(values.get("exception.message", "")),
                    str(values.get("exception.stacktrace", "")),
                    remote,
                    f"{len(exceptions):016x}",
                )
            )
    if not exceptions and span.status.code == _STATUS_ERROR and span.status.message:
        exceptions.append({"id": "0" * 16, "message": span.status.message})
    if exceptions:
        document["cause"] = {"exceptions": exceptions}
    http: dict[str, Any] = {}
    method = attrs.get("http.request.method", attrs.get("http.method"))
    url = attrs.get("url.full", attrs.get("http.url"))
    if method or url:
        http["request"] = {k: v for k, v in (("method", method), ("url", url)) if v}
    if isinstance(status, int):
        http["response"] = {"status": status}
    if http:
        document["http"] = http
    if namespace == "aws":
        aws: dict[str, Any] = {}
        if "rpc.method" in attrs:
            aws["operation"] = attrs["rpc.method"]
        tables = attrs.get("aws.dynamodb.table_names")
        if isinstance(tables, list):
            aws["table_name" if len(tables) == 1 else "table_names"] = (
                tables[0] if len(tables) == 1 else tables
            )
        if aws:
            document["aws"] = aws
    indexed = attrs.pop("aws.xray.annotations", None)
    indexed_keys = {k for k in indexed if isinstance(k, str)} if isinstance(indexed, list) else set()
    annotations: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    default: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in indexed_keys:
            if isinstance(value, (str, int, float, bool)):
                annotations[_INVALID_KEY.sub("_", key) if "." not in key else key] = value
        elif key.startswith("aws.xray.metadata.") and isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                default[key] = value
                continue
            namespace_key = key[len("aws.xray.metadata.") :]
            if isinstance(parsed, dict):
                if namespace_key == "default":
                    default.update(parsed)
                else:
                    metadata[namespace_key] = parsed
            else:
                default[key] = value
        else:
            default[key] = value
    if document.get("type") != "subsegment":
        for key, value in resource.items():
            default[f"otel.resource.{key}"] = value
    if default:
        metadata["default"] = default
    if annotations:
        document["annotations"] = annotations
    if metadata:
        document["metadata"] = metadata
    return document
