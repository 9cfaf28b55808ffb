r"""The ``udp`` route: OTLP over UDP to the Lambda X-Ray daemon, as AWS's own Lambda layer sends it.

Wire format, read from ``aws-opentelemetry-distro`` (``amazon/opentelemetry/distro/otlp_udp_exporter.py``,
``OTLPUdpSpanExporter``) and held to it byte for byte by ``tests/test_streaming_udp.py``: one datagram is
the daemon's header line ``{"format":"json","version":1}\n``, then ``T1S`` (sampled spans) or ``T1U``
(unsampled spans), then the base64 of an OTLP ``ExportTraceServiceRequest`` as
``encode_spans(spans).SerializeToString()`` makes it. The daemon forwards it to X-Ray; no collector
extension is involved.

Where this route differs from AWS's exporter, on purpose:

* **Batches are split to fit a datagram.** AWS's exporter sends each batch as one datagram and relies on
  a batch size of 10 on Lambda; a larger datagram fails in ``sendto`` and the whole batch is lost. Here a
  batch whose datagram exceeds :data:`MAX_DATAGRAM_BYTES` is halved until each part fits; a single span
  that cannot fit is dropped alone and counted.
* **Sampled and unsampled spans are marked per span**, not per exporter: consecutive spans with the same
  sampled flag share a datagram. (The streaming tracer's sampler records nothing for ``Sampled=0``, so in
  practice every datagram is ``T1S``.)
* **Every loss is counted**: a span too large for any datagram, a ``sendto`` error. The flush costs a
  ``sendto`` per datagram and nothing else: no connection, no retry, no back-off.

UDP is fire and forget: a datagram that left the socket is counted as exported, whether or not a daemon
listened.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .. import _env
from .._xray._daemon import DEFAULT_ADDRESS, PROTOCOL_HEADER, parse_address
from ._export import FailFastExporter

if TYPE_CHECKING:
    from ._bootstrap import StreamingSettings

__all__ = [
    "DEFAULT_DAEMON_ADDRESS",
    "MAX_DATAGRAM_BYTES",
    "PROTOCOL_HEADER",
    "ROUTES",
    "SAMPLED_PREFIX",
    "UNSAMPLED_PREFIX",
    "OTLPUdpExporter",
    "UdpRouteExporter",
    "UdpSendResult",
    "daemon_endpoint",
    "describe_route",
    "encode_datagram",
    "parse_daemon_address",
    "resolve_route",
]

_logger = logging.getLogger("xray_exclusive.streaming")

SAMPLED_PREFIX = b"T1S"
"""Marks a datagram of sampled spans (``FORMAT_OTEL_SAMPLED_TRACES_BINARY_PREFIX`` in AWS's exporter)."""
UNSAMPLED_PREFIX = b"T1U"
"""Marks a datagram of unsampled spans (``FORMAT_OTEL_UNSAMPLED_TRACES_BINARY_PREFIX``)."""
DEFAULT_DAEMON_ADDRESS = DEFAULT_ADDRESS
"""Where the daemon listens when ``AWS_XRAY_DAEMON_ADDRESS`` is unset (AWS's exporter's default too)."""
MAX_DATAGRAM_BYTES = 65_507
"""The most an IPv4 UDP datagram carries; ``sendto`` refuses more (``EMSGSIZE``)."""

ROUTE_COLLECTOR = "collector"
ROUTE_UDP = "udp"
ROUTES = (ROUTE_COLLECTOR, ROUTE_UDP)
"""The streaming tracer's export routes: OTLP/HTTP to a collector, or OTLP over UDP to the daemon."""

_OVERHEAD = len(PROTOCOL_HEADER) + len(SAMPLED_PREFIX)


def resolve_route(route: str | None) -> str:
    """The route: the argument, else ``XRAY_EXCLUSIVE_STREAMING_ROUTE``, else ``collector``.

    An invalid argument raises ``ValueError``; a malformed environment value gives the default (logged).

    Example:
        >>> resolve_route("udp"), resolve_route(None)
        ('udp', 'collector')
    """
    if route is None:
        return _env.XRAY_EXCLUSIVE_STREAMING_ROUTE.get()
    value = route.strip().lower()
    if value not in ROUTES:
        raise ValueError(f"route must be 'collector' or 'udp' (got {route!r})")
    return value


def parse_daemon_address(value: str) -> tuple[str, int]:
    """``host:port`` from ``AWS_XRAY_DAEMON_ADDRESS``'s forms (``h:p``, ``tcp:h:p udp:h:p``) or ``udp://h:p``.

    Raises ``ValueError`` for anything else.

    Example:
        >>> parse_daemon_address("169.254.79.129:2000")
        ('169.254.79.129', 2000)
        >>> parse_daemon_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001")
        ('127.0.0.2', 2001)
    """
    text = value.strip()
    if text.lower().startswith("udp://"):  # this exporter's own endpoint form
        text = text[len("udp://") :]
    try:
        host, port = parse_address(text)  # the X-Ray daemon's forms, read as the X-Ray SDK reads them
    except ValueError:
        raise ValueError(f"not a daemon address (host:port): {value!r}") from None
    return host.strip("[]"), port


def daemon_endpoint(endpoint: str | None) -> str:
    """``udp://host:port``: the argument, else ``AWS_XRAY_DAEMON_ADDRESS``, else ``127.0.0.1:2000``.

    A malformed ``AWS_XRAY_DAEMON_ADDRESS`` gives the default with a warning; a malformed argument raises.

    Example:
        >>> daemon_endpoint("127.0.0.1:2999")
        'udp://127.0.0.1:2999'
    """
    if endpoint is not None:
        host, port = parse_daemon_address(endpoint)
        return f"udp://{host}:{port}"
    # Read as the X-Ray SDK reads it (docs/configuration.md lists it with the SDK's variables).
    raw = os.environ.get("AWS_XRAY_DAEMON_ADDRESS") or DEFAULT_DAEMON_ADDRESS
    try:
        host, port = parse_daemon_address(raw)
    except ValueError:
        _logger.warning(
            "Ignoring malformed AWS_XRAY_DAEMON_ADDRESS=%r; sending to %s.", raw, DEFAULT_DAEMON_ADDRESS
        )
        host, port = parse_daemon_address(DEFAULT_DAEMON_ADDRESS)
    return f"udp://{host}:{port}"


def describe_route(settings: StreamingSettings) -> str:
    """The line ``get_streaming_tracer()`` logs at INIT: which route, to where.

    Example:
        >>> from xray_exclusive.streaming import StreamingSettings
        >>> describe_route(StreamingSettings("sse", "udp://127.0.0.1:2000", 1000, 1500, 64, 0.5, 5000, "udp"))
        'Streaming tracer route: udp, OTLP over UDP to the X-Ray daemon at 127.0.0.1:2000 (no collector).'
    """
    if getattr(settings, "route", ROUTE_COLLECTOR) == ROUTE_UDP:
        return (
            f"Streaming tracer route: udp, OTLP over UDP to the X-Ray daemon at "
            f"{settings.endpoint.removeprefix('udp://')} (no collector)."
        )
    return f"Streaming tracer route: collector, OTLP/HTTP to {settings.endpoint}."


def encode_datagram(payload: bytes, sampled: bool) -> bytes:
    r"""One daemon datagram for an OTLP ``ExportTraceServiceRequest`` already serialised.

    Example:
        >>> encode_datagram(b"\x0a\x00", sampled=True)
        b'{"format":"json","version":1}\nT1SCgA='
    """
    prefix = SAMPLED_PREFIX if sampled else UNSAMPLED_PREFIX
    return PROTOCOL_HEADER + prefix + base64.b64encode(payload)


class UdpSendResult(NamedTuple):
    """What one :meth:`OTLPUdpExporter.send` did: spans sent, spans lost, datagrams, why the loss.

    Example:
        >>> UdpSendResult(sent=3, lost=0, datagrams=1, reason="").lost
        0
    """

    sent: int
    lost: int
    datagrams: int
    reason: str


def _is_sampled(span: ReadableSpan) -> bool:
    context = span.context
    return bool(context is not None and context.trace_flags.sampled)


class OTLPUdpExporter(SpanExporter):
    """Sends spans to the X-Ray daemon as AWS's ``OTLPUdpSpanExporter`` does, split to fit a datagram.

    ``endpoint`` is ``host:port`` (or ``udp://host:port``); default ``AWS_XRAY_DAEMON_ADDRESS``, then
    ``127.0.0.1:2000``. ``send`` says exactly how many spans left; ``export`` is the SDK's interface
    (``FAILURE`` when any span was lost).

    Example:
        >>> exporter = OTLPUdpExporter("127.0.0.1:9")
        >>> exporter.export([])
        <SpanExportResult.SUCCESS: 0>
        >>> exporter.shutdown()

    Limitations:
        UDP gives no delivery receipt: a datagram sent to an address where nothing listens counts as sent.
        IPv4 only, as AWS's exporter.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        max_datagram_bytes: int = MAX_DATAGRAM_BYTES,
        encoder: Callable[[Sequence[ReadableSpan]], bytes] | None = None,
    ) -> None:
        if not _OVERHEAD + 4 <= max_datagram_bytes <= MAX_DATAGRAM_BYTES:
            raise ValueError(
                f"max_datagram_bytes must be between {_OVERHEAD + 4} and {MAX_DATAGRAM_BYTES} "
                f"(got {max_datagram_bytes!r})"
            )
        self.endpoint = daemon_endpoint(endpoint)
        self.address = parse_daemon_address(self.endpoint)
        self.max_datagram_bytes = max_datagram_bytes
        self._encode = encoder or _encode_spans
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._lock = threading.Lock()
        self.datagrams = 0
        """Datagrams that left the socket."""
        self.too_large = 0
        """Spans dropped because even alone they did not fit in one datagram."""
        self.send_errors = 0
        """Spans lost because ``sendto`` raised."""

    def send(self, spans: Sequence[ReadableSpan]) -> UdpSendResult:
        """Send ``spans`` in as few datagrams as fit; never raises for a send error, counts it."""
        sent = lost = datagrams = 0
        reasons: list[str] = []
        start = 0
        while start < len(spans):  # runs of consecutive spans with the same sampled flag
            sampled = _is_sampled(spans[start])
            end = start + 1
            while end < len(spans) and _is_sampled(spans[end]) == sampled:
                end += 1
            pending = [spans[start:end]]
            while pending:
                part = pending.pop()
                datagram = encode_datagram(self._encode(part), sampled)
                if len(datagram) > self.max_datagram_bytes:
                    if len(part) > 1:
                        half = len(part) // 2
                        pending.extend((part[half:], part[:half]))  # the first half is sent first
                        continue
                    lost += 1
                    with self._lock:
                        self.too_large += 1
                    reasons.append(
                        f"span {part[0].name!r} is {len(datagram)} bytes as a datagram, over the "
                        f"{self.max_datagram_bytes}-byte limit"
                    )
                    continue
                try:
                    self._socket.sendto(datagram, self.address)
                except OSError as exc:
                    lost += len(part)
                    with self._lock:
                        self.send_errors += len(part)
                    reasons.append(f"sendto {self.endpoint} failed: {exc}")
                    continue
                sent += len(part)
                datagrams += 1
            start = end
        with self._lock:
            self.datagrams += datagrams
        return UdpSendResult(sent, lost, datagrams, "; ".join(dict.fromkeys(reasons)))

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Send ``spans``; ``FAILURE`` if any was lost (see :meth:`send` for the counts)."""
        result = self.send(spans)
        if result.lost:
            _logger.error("OTLP over UDP: %d span(s) not sent: %s", result.lost, result.reason)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Close the socket."""
        self._socket.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here: every export is sent at once."""
        return True


def _encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return encode_spans(spans).SerializeToString()  # type: ignore[no-any-return]


class UdpRouteExporter(FailFastExporter):
    """The streaming tracer's exporter on the ``udp`` route: exact accounting, no circuit.

    A failed ``sendto`` says nothing about the next one (no connection to wait for), so there is no
    cooldown; the flush budget still stops exports that would start after it. ``exported`` and
    ``failed`` count spans exactly, also when only part of a batch was lost.

    Example:
        >>> exporter = UdpRouteExporter(OTLPUdpExporter("127.0.0.1:9"))
        >>> exporter.export([]), exporter.failed
        (<SpanExportResult.SUCCESS: 0>, 0)
        >>> exporter.shutdown()
    """

    def __init__(self, exporter: OTLPUdpExporter, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(exporter, endpoint=exporter.endpoint, clock=clock)
        self.udp = exporter
        self._udp_clock = clock
        self._udp_deadline: float | None = None

    def set_deadline(self, deadline: float | None) -> None:
        """No export starts after ``deadline`` (a ``clock()`` value); ``None`` lifts it."""
        super().set_deadline(deadline)
        self._udp_deadline = deadline

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Send ``spans`` unless the flush budget is spent; count what was sent and what was lost."""
        deadline = self._udp_deadline
        if deadline is not None and self._udp_clock() >= deadline:
            self._count(0, len(spans), "flush budget spent")
            return SpanExportResult.FAILURE
        result = self.udp.send(spans)
        self._count(result.sent, result.lost, result.reason)
        return SpanExportResult.FAILURE if result.lost else SpanExportResult.SUCCESS
