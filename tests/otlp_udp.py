"""A loopback UDP socket that plays the Lambda X-Ray daemon for OTLP-over-UDP datagrams, and their decoder."""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.otlp_receiver import ReceivedSpan, received_spans

HEADER = b'{"format":"json","version":1}\n'


def decode(datagram: bytes) -> tuple[str, bytes]:
    """``(prefix, protobuf bytes)`` of one datagram; asserts the daemon's header line."""
    assert datagram.startswith(HEADER), datagram[:60]
    body = datagram[len(HEADER) :]
    prefix, payload = body[:3].decode(), body[3:]
    assert prefix in ("T1S", "T1U"), body[:20]
    return prefix, base64.b64decode(payload, validate=True)


def spans_of(payload: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(payload)
    return received_spans(request)


@dataclass
class UdpDaemon:
    """Receives datagrams on 127.0.0.1 (port 0: a free one); ``address`` is ``host:port``."""

    raw: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def datagrams(self, wait: float = 0.2) -> list[bytes]:
        """Everything received so far; waits up to ``wait`` s for the first, then drains what is queued."""
        self.sock.settimeout(wait)
        while True:
            try:
                self.raw.append(self.sock.recv(70_000))
            except (TimeoutError, BlockingIOError):
                break
            self.sock.settimeout(0.05)
        return list(self.raw)

    def spans(self, wait: float = 0.2) -> list[ReceivedSpan]:
        return [span for data in self.datagrams(wait) for span in spans_of(decode(data)[1])]

    def one(self, name: str) -> ReceivedSpan:
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in self.spans()]}"
        return found[0]

    def clear(self) -> None:
        self.datagrams(wait=0.05)
        self.raw.clear()

    def close(self) -> None:
        self.sock.close()
