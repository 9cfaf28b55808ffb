"""OTLP over UDP on the daemon's port: what AWS's Lambda layer and the streaming tracer's ``udp`` route send.

A datagram is the daemon's header line, then ``T1S`` (sampled spans) or ``T1U`` (unsampled), then the
base64 of an OTLP ``ExportTraceServiceRequest``. ``xray-exclusive collect`` receives these next to the
X-Ray SDK's segment documents on the same UDP port, converts the spans as the ``awsxray`` exporter would
(``_convert``) and files them by trace ID with everything else.

Unsampled spans (``T1U``) are what AWS's layer sends for invocations X-Ray did not sample, for
Application Signals; X-Ray does not show them as traces, so the collector counts them
(``TraceStore.unsampled_spans``) and does not store them.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any

from .._xray._daemon import PROTOCOL_HEADER

__all__ = ["OTLP_PREFIXES", "receive_otlp_datagram", "split_otlp_datagram"]

_logger = logging.getLogger("xray_exclusive.devtools")

_HEADER = PROTOCOL_HEADER.rstrip(b"\n")
OTLP_PREFIXES = (b"T1S", b"T1U")
"""Sampled and unsampled spans, as AWS's ``OTLPUdpSpanExporter`` marks them."""


def split_otlp_datagram(data: bytes) -> tuple[bool, bytes] | None:
    r"""``(sampled, OTLP protobuf bytes)`` of an OTLP-over-UDP datagram, or ``None`` if it is not one.

    Example:
        >>> split_otlp_datagram(b'{"format":"json","version":1}\nT1SCgA=')
        (True, b'\n\x00')
        >>> split_otlp_datagram(b'{"format":"json","version":1}\n{"name": "segment"}') is None
        True
    """
    header, newline, body = data.partition(b"\n")
    if not newline or header.strip() != _HEADER or body[:3] not in OTLP_PREFIXES:
        return None
    try:
        payload = base64.b64decode(body[3:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return body[:3] == b"T1S", payload


def receive_otlp_datagram(
    data: bytes, store: Any, decode: Callable[[bytes, str, str], list[dict[str, Any]]]
) -> bool:
    """File the spans of one OTLP-over-UDP datagram in ``store``; ``False`` when ``data`` is not one.

    ``decode`` is the collector's OTLP decoder (body, content type, encoding) → X-Ray documents. A
    datagram with the right prefix but an undecodable body counts as rejected (and is logged).

    Example:
        >>> from xray_exclusive.devtools._collector import TraceStore, decode_otlp
        >>> receive_otlp_datagram(b"not ours", TraceStore(), decode_otlp)
        False
    """
    split = split_otlp_datagram(data)
    if split is None:
        return False
    sampled, payload = split
    try:
        documents = decode(payload, "application/x-protobuf", "")
    except ValueError as exc:
        store.rejected += 1
        _logger.warning("Ignoring an OTLP-over-UDP datagram of %d bytes: %s", len(data), exc)
        return True
    if not sampled:
        store.unsampled_spans = getattr(store, "unsampled_spans", 0) + len(documents)
        return True
    for document in documents:
        store.add(document)
    return True
