"""OpenTelemetry spans to X-Ray segment documents, the way the collector's ``awsxray`` exporter does it.

A port of ``exporter/awsxrayexporter/internal/translator`` at v0.109.0
(``segment.go``; the ``http``, ``cause``, ``aws`` and ``sql`` blocks are in
``_xray_blocks``), held to the real exporter by ``tests/test_convert_parity.py``:
the trace ID ``1-{8 hex}-{24 hex}``, never validated nor rewritten; segment or
subsegment (a span with a parent that is not SERVER is a subsegment); the name
by the exporter's priority (``aws.local.service``, ``aws.remote.service``,
``peer.service``, ``aws.service``, ``db.name``, ``service.name`` for SERVER,
``rpc.service``, ``http.host``, ``net.peer.name``, then the span name cleaned
of the characters X-Ray forbids and cut at 200 bytes); namespace ``aws`` for
``rpc.system=aws-api`` and ``remote`` for other CLIENT spans;
``error``/``throttle`` from ``http.status_code`` (4xx, 429) and ``fault`` from
5xx or an ERROR status; ``exception`` events to ``cause`` (a Python stack is
parsed when the resource says ``telemetry.sdk.language=python``); attributes
listed in ``aws.xray.annotations`` to annotations, ``aws.xray.metadata.<ns>``
JSON to metadata ``<ns>``, the rest to metadata ``default``.

Deliberately left out: the ``aws.xray`` block (the SDK's name and version),
see "How close the local view is to X-Ray" in ``docs/devtools.md``.
"""

from __future__ import annotations

import base64
import json
import math
import unicodedata
from decimal import Decimal
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from ._xray_blocks import (
    CLIENT,
    CONSUMER,
    INTERNAL,
    PRODUCER,
    SERVER,
    attributes,
    aws_block,
    cause_block,
    http_block,
    sql_block,
    text,
)

__all__ = ["attributes", "span_to_document", "xray_trace_id"]

_NAME_SYMBOLS = frozenset(" 0123456789N_.:/%&#=+-@")
_MAX_NAME_BYTES = 200
_METADATA_PREFIX = "aws.xray.metadata."
_ORIGINS = {
    "aws_app_runner": "AWS::AppRunner::Service",
    "aws_eks": "AWS::EKS::Container",
    "aws_elastic_beanstalk": "AWS::ElasticBeanstalk::Environment",
    "aws_ec2": "AWS::EC2::Instance",
}
_ECS_ORIGINS = {"ec2": "AWS::ECS::EC2", "fargate": "AWS::ECS::Fargate"}


def xray_trace_id(trace_id: bytes) -> str:
    """OpenTelemetry's 16-byte trace ID in X-Ray's format.

    Like the exporter (whose ``skiptimestampvalidation`` gate is on by
    default), the first 4 bytes are kept whatever epoch they hold.

    Example:
        >>> xray_trace_id(bytes.fromhex("5759e988bd862e3fe1be46a994272793"))
        '1-5759e988-bd862e3fe1be46a994272793'
    """
    hex_id = trace_id.hex().rjust(32, "0")
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def _raw(value: Any) -> Any:
    """``pcommon.Value.AsRaw()`` as JSON writes it: bytes in base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list):
        return [_raw(v) for v in value]
    if isinstance(value, dict):
        return {k: _raw(v) for k, v in value.items()}
    return value


def _segment_name(name: str) -> str:
    """``fixSegmentName``: keep letters, ASCII digits, space and ``_.:/%&#=+-@``; at most 200 bytes."""
    kept = "".join(c for c in name if c in _NAME_SYMBOLS or unicodedata.category(c).startswith("L"))
    raw = kept.encode()
    if len(raw) > _MAX_NAME_BYTES:
        raw = raw[:_MAX_NAME_BYTES]
        for cut in range(4):  # Go's JSON encoder writes one U+FFFD per byte of a character cut in two
            try:
                return raw[: len(raw) - cut].decode() + "\ufffd" * cut
            except UnicodeDecodeError:
                continue
    return kept or "span"


def _annotation_key(key: str) -> str:
    """``fixAnnotationKey`` with the ``exporter.xray.allowDot`` gate on (its default): ``[A-Za-z0-9.]``."""
    return "".join(c if c.isascii() and (c.isalnum() or c == ".") else "_" for c in key)


def _annotation_value(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else None


def _name(span: Any, attrs: dict[str, Any], resource: dict[str, Any]) -> tuple[str, str]:
    """The segment name and namespace, in ``MakeSegment``'s order."""
    name = namespace = ""
    aws_sdk = text(attrs.get("rpc.system")) == "aws-api"
    if span.kind == SERVER or (span.kind == INTERNAL and text(attrs.get("aws.span.kind")) == "LOCAL_ROOT"):
        name = text(attrs.get("aws.local.service"))
    if span.kind in (CLIENT, PRODUCER, CONSUMER) and "aws.remote.service" in attrs:
        name = text(attrs["aws.remote.service"])
        if aws_sdk:
            name = (
                name.removeprefix("AWS.SDK.") if name.startswith("AWS.SDK.") else name.removeprefix("AWS::")
            )
    name = name or text(attrs.get("peer.service"))
    namespace = "aws" if aws_sdk else ""
    if not name and "aws.service" in attrs:
        name, namespace = text(attrs["aws.service"]), namespace or "aws"
    if not name and "db.name" in attrs:
        name = text(attrs["db.name"])
        if "db.connection_string" in attrs:
            netloc = urlsplit(text(attrs["db.connection_string"]).removeprefix("jdbc:")).netloc
            host = netloc.rpartition("@")[2]
            host = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
            name += f"@{host}" if host else ""
    if not name and span.kind == SERVER:
        name = text(resource.get("service.name"))
    for key in ("rpc.service", "http.host", "net.peer.name"):
        name = name or text(attrs.get(key))
    name = name or _segment_name(span.name)
    if not namespace and span.kind == CLIENT:
        namespace = "remote"
    return name, namespace


def _metadata_json(value: str) -> tuple[bool, Any]:
    """Go's ``json.Unmarshal`` into a map: (parsed, object or ``None``); numbers as float64 round them."""

    def number(literal: str) -> Any:
        parsed = int(literal)
        if abs(parsed) <= 2**53:
            return parsed
        rounded = float(parsed)  # a float64 in Go, written back without exponent below 1e21
        return int(Decimal(repr(rounded))) if abs(rounded) < 1e21 else rounded

    def real(literal: str) -> float:
        if not math.isfinite(parsed := float(literal)):
            raise ValueError(literal)
        return parsed

    def reject(literal: str) -> Any:
        raise ValueError(literal)

    try:
        parsed = json.loads(value, parse_int=number, parse_float=real, parse_constant=reject)
    except ValueError:
        return False, None
    return (True, parsed) if parsed is None or isinstance(parsed, dict) else (False, None)


def _annotations_and_metadata(
    attrs: dict[str, Any], resource: dict[str, Any], store_resource: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``makeXRayAttributes`` (no ``indexed_attributes`` configured, as ``examples/collector`` has it)."""
    annotations: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    default: dict[str, Any] = {}
    indexed: set[str] = set()
    listed = attrs.get("aws.xray.annotations")
    if isinstance(listed, list):
        indexed = {key for key in listed if isinstance(key, str)}
        attrs = {k: v for k, v in attrs.items() if k != "aws.xray.annotations"}
    if store_resource:
        for key, value in resource.items():
            key = f"otel.resource.{key}"
            if key in indexed and _annotation_value(value) is not None:
                annotations[_annotation_key(key)] = value
            elif value is not None:
                default[key] = _raw(value)
    for key, value in attrs.items():
        if key in indexed:
            if _annotation_value(value) is not None:
                annotations[_annotation_key(key)] = value
        elif key.startswith(_METADATA_PREFIX) and isinstance(value, str):
            namespace = key[len(_METADATA_PREFIX) :]
            parsed, document = _metadata_json(value)
            if not parsed:
                default[key] = value
            elif namespace.lower() == "default":
                default.update(document or {})
            else:
                metadata[namespace] = document
        elif value is not None:
            default[key] = _raw(value)
    if default:
        metadata["default"] = default
    return annotations, metadata


def _origin(resource: dict[str, Any]) -> str:
    """``determineAwsOrigin``."""
    if not resource or text(resource.get("cloud.provider", "aws")) != "aws":
        return ""
    platform = text(resource.get("cloud.platform"))
    if platform == "aws_ecs":
        return _ECS_ORIGINS.get(text(resource.get("aws.ecs.launchtype")), "AWS::ECS::Container")
    return _ORIGINS.get(platform, "")


def _links(span: Any) -> list[dict[str, Any]]:
    links = []
    for link in span.links:
        item: dict[str, Any] = {"trace_id": xray_trace_id(link.trace_id), "id": link.span_id.hex()}
        if link.attributes:
            item["attributes"] = {k: _raw(v) for k, v in attributes(link.attributes).items()}
        links.append(item)
    return links


def span_to_document(span: Any, resource: dict[str, Any]) -> dict[str, Any]:
    """One OTLP span (protobuf) as the X-Ray segment or subsegment document the exporter would write.

    ``resource`` is the span's resource attributes (:func:`attributes`).
    """
    attrs = attributes(span.attributes)
    span_id = span.span_id.hex()
    ids = count()
    parent = span.parent_span_id.hex() if span.parent_span_id else ""
    subsegment = span.kind != SERVER and bool(parent)
    rest, http = http_block(span, attrs)
    error, fault, throttle, rest, cause = cause_block(
        span, attrs, rest, resource, lambda: f"{span_id[:12]}{next(ids):04x}"
    )
    rest, aws = aws_block(rest, resource)
    rest, sql = sql_block(span, rest)
    user = text(rest.pop("enduser.id", None))
    annotations, metadata = _annotations_and_metadata(rest, resource, store_resource=not subsegment)
    name, namespace = _name(span, attrs, resource)
    document: dict[str, Any] = {
        "name": name,
        "id": span_id,
        "trace_id": xray_trace_id(span.trace_id),
        "start_time": span.start_time_unix_nano / 1e9,
        "end_time": span.end_time_unix_nano / 1e9,
        "fault": fault,
        "error": error,
        "throttle": throttle,
    }
    local_root = text(attrs.get("aws.span.kind")) == "LOCAL_ROOT" and span.kind in (SERVER, INTERNAL)
    if local_root:
        subsegment, namespace = False, ""
    elif (
        subsegment
        and not namespace
        and span.kind in (CLIENT, PRODUCER, CONSUMER)
        and "aws.remote.service" in attrs
    ):
        namespace = "remote"  # addNamespaceToSubsegmentWithRemoteService
    optional: dict[str, Any] = {
        "parent_id": parent,
        "type": "subsegment" if subsegment else "",
        "namespace": namespace,
        "origin": _origin(resource),
        "user": user,
        "http": http,
        "cause": cause,
        "aws": aws,
        "sql": sql,
        "annotations": annotations,
        "metadata": metadata,
        "links": _links(span),
    }
    version = resource.get("service.version", resource.get("container.image.tag"))
    if "service.version" in resource or "container.image.tag" in resource:
        optional["service"] = {"version": text(version)} if text(version) else {}
    document.update((k, v) for k, v in optional.items() if v or (k in ("cause", "service") and v is not None))
    return document
