"""A local collector: the X-Ray daemon's UDP protocol and an OTLP/HTTP receiver, on loopback only.

Everything that arrives is assembled by X-Ray trace ID into a bounded
in-memory store (oldest trace evicted first), optionally appended to a JSON
lines file. Malformed input is answered (OTLP: 400, 413, 415) and logged;
the collector keeps running.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from .._xray._daemon import PROTOCOL_HEADER
from ..exceptions import CollectorError
from . import _limits
from ._assets import browser_client_path
from ._convert import attributes, span_to_document
from ._otlp_udp import receive_otlp_datagram

__all__ = ["Collector", "CollectorError", "Trace", "TraceStore"]

_logger = logging.getLogger("xray_exclusive.devtools")

UDP_HEADER = PROTOCOL_HEADER.rstrip(b"\n")
MAX_DATAGRAM = 65_535
MAX_OTLP_BODY = 16 * 1024 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Trace:
    """One trace: its documents (segments and subsegments) by id, in arrival order."""

    trace_id: str
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, document: dict[str, Any]) -> int:
        """Add or replace a document; embedded subsegments become documents of their own.

        Returns how many documents are new; past ``MAX_DOCUMENTS_PER_TRACE`` new ones are left out.
        """
        added = 0
        stack = [(document, document.get("parent_id"))]
        while stack:
            doc, parent = stack.pop()
            doc = dict(doc)
            children = doc.pop("subsegments", None)
            if not isinstance(children, list):
                children = []
            if parent and "parent_id" not in doc:
                doc["parent_id"] = parent
            doc.setdefault("trace_id", self.trace_id)
            identifier = str(doc.get("id") or f"anon-{len(self.documents)}")
            if identifier not in self.documents:
                if len(self.documents) >= _limits.MAX_DOCUMENTS_PER_TRACE:
                    continue
                added += 1
            self.documents[identifier] = doc
            stack.extend((child, identifier) for child in children if isinstance(child, dict))
        return added

    @property
    def start(self) -> float:
        """The earliest start time (documents without a numeric one count as 0)."""
        starts = (d.get("start_time") for d in self.documents.values())
        return min(
            (float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else 0.0 for t in starts),
            default=0.0,
        )


class TraceStore:
    """Traces by X-Ray trace ID, at most ``max_traces`` (the oldest evicted), thread-safe.

    Example:
        >>> store = TraceStore(max_traces=1)
        >>> store.add({"id": "a", "trace_id": "1-5759e988-bd862e3fe1be46a994272793", "name": "x"})
        >>> store.add({"id": "b", "trace_id": "1-5759e989-bd862e3fe1be46a994272793", "name": "y"})
        >>> [t.trace_id for t in store.traces()]
        ['1-5759e989-bd862e3fe1be46a994272793']
    """

    def __init__(self, max_traces: int = 1000, jsonl: Path | None = None) -> None:
        self._traces: collections.OrderedDict[str, Trace] = collections.OrderedDict()
        self._max = max_traces
        self._lock = threading.Lock()
        self._jsonl = jsonl.open("a", encoding="utf-8") if jsonl else None
        self.received = 0
        self.rejected = 0
        self._sizes: dict[str, tuple[int, int]] = {}
        self._documents = 0
        self._bytes = 0

    def add(self, document: dict[str, Any], size: int | None = None) -> None:
        """Add one X-Ray segment or subsegment document (``size``: its encoded size, if known).

        A document X-Ray would refuse (a text ``start_time``, nesting past the limit) is rejected
        and logged; the store keeps at most ``MAX_DOCUMENTS`` documents and ``MAX_STORED_BYTES``,
        evicting the oldest traces first (see ``devtools/_limits.py``).
        """
        trace_id = document.get("trace_id") if isinstance(document, dict) else None
        if not isinstance(trace_id, str) or not trace_id or len(trace_id) > 128:
            self.rejected += 1
            _logger.warning("Ignoring a document without a trace_id: %.200s", _preview(document))
            return
        problem = _limits.check_document(document)
        if problem:
            self.rejected += 1
            _logger.warning("Ignoring a document of trace %.40s: %s.", trace_id, problem)
            return
        if size is None:
            size = len(json.dumps(document, default=str))
        with self._lock:
            if not self._make_room(trace_id, size):
                self.rejected += 1
                _logger.warning("Ignoring a document of %d bytes: the store is full.", size)
                return
            trace = self._traces.get(trace_id)
            if trace is None:
                trace = self._traces[trace_id] = Trace(trace_id)
                while len(self._traces) > self._max:
                    self._forget(next(iter(self._traces)))
            added = trace.add(document)
            if not added and len(trace.documents) >= _limits.MAX_DOCUMENTS_PER_TRACE:
                self.rejected += 1
                return
            documents, stored = self._sizes.get(trace_id, (0, 0))
            self._sizes[trace_id] = (documents + added, stored + size)
            self._documents += added
            self._bytes += size
            self.received += 1
            if self._jsonl is not None:
                self._jsonl.write(json.dumps(document, separators=(",", ":"), default=str) + "\n")
                self._jsonl.flush()

    def _make_room(self, trace_id: str, size: int) -> bool:
        """Evict the oldest other traces until one more document of ``size`` fits; ``False`` if it cannot."""
        if size > _limits.MAX_STORED_BYTES:
            return False
        while self._documents + 1 > _limits.MAX_DOCUMENTS or self._bytes + size > _limits.MAX_STORED_BYTES:
            oldest = next((t for t in self._traces if t != trace_id), None)
            if oldest is None:
                return False
            self._forget(oldest)
        return True

    def _forget(self, trace_id: str) -> None:
        self._traces.pop(trace_id, None)
        documents, stored = self._sizes.pop(trace_id, (0, 0))
        self._documents -= documents
        self._bytes -= stored

    @property
    def stored(self) -> tuple[int, int]:
        """(documents, encoded bytes) kept now."""
        with self._lock:
            return self._documents, self._bytes

    def traces(self) -> list[Trace]:
        """A snapshot of every trace, oldest first."""
        with self._lock:
            return [Trace(t.trace_id, dict(t.documents)) for t in self._traces.values()]

    def get(self, trace_id: str) -> Trace | None:
        """One trace, or ``None``."""
        with self._lock:
            trace = self._traces.get(trace_id)
            return None if trace is None else Trace(trace.trace_id, dict(trace.documents))

    def close(self) -> None:
        """Close the JSON lines file."""
        if self._jsonl is not None:
            self._jsonl.close()


def parse_datagram(data: bytes) -> dict[str, Any] | None:
    """One X-Ray daemon datagram (header line + JSON document), or ``None`` if malformed."""
    header, newline, body = data.partition(b"\n")
    if not newline or header.strip() != UDP_HEADER:
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(document, dict) or not _limits.depth_within(document, _limits.MAX_DEPTH):
        return None
    return document


def _preview(document: object) -> str:
    try:
        return json.dumps(document, default=str)[:200]
    except (ValueError, TypeError, RecursionError):
        return type(document).__name__


_ID_FIELDS = {
    "traceId": 16,
    "trace_id": 16,
    "spanId": 8,
    "span_id": 8,
    "parentSpanId": 8,
    "parent_span_id": 8,
}


def _ids_to_base64(message: Any) -> Any:
    """OTLP/JSON as the specification writes it, for protobuf's JSON parser: hex span and trace IDs to base64.

    The OTLP specification encodes ``traceId``, ``spanId`` and ``parentSpanId``
    (of spans and their links) as hex, where protobuf's canonical JSON mapping
    expects base64. An ID of exactly twice its byte length in hex digits is
    hex; anything else is left for the parser (base64 from
    ``json_format.MessageToJson`` keeps working). Enum values as integers and
    64-bit integers as strings are protobuf JSON already.

    Example:
        >>> _ids_to_base64({"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "53995c3f42cd8ad8"}]}]}]})
        {'resourceSpans': [{'scopeSpans': [{'spans': [{'spanId': 'U5lcP0LNitg='}]}]}]}
    """
    if isinstance(message, list):
        return [_ids_to_base64(item) for item in message]
    if not isinstance(message, dict):
        return message
    converted = {}
    for key, value in message.items():
        size = _ID_FIELDS.get(key)
        if size and isinstance(value, str) and len(value) == 2 * size:
            with contextlib.suppress(ValueError):  # not hex: base64, or invalid (the parser says which)
                value = base64.b64encode(bytes.fromhex(value)).decode()
        else:
            value = _ids_to_base64(value)
        converted[key] = value
    return converted


def decode_otlp(body: bytes, content_type: str, encoding: str) -> list[dict[str, Any]]:
    """An OTLP/HTTP traces request body to X-Ray documents; ``ValueError`` when it cannot be decoded."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    body = _limits.bounded_decompress(body, encoding, MAX_OTLP_BODY)  # BodyTooLarge past 16 MiB
    request = ExportTraceServiceRequest()
    try:
        if content_type.startswith("application/json"):
            message = json.loads(body)
            if not isinstance(message, dict):
                raise ValueError("the JSON body is not an object")
            if not _limits.depth_within(message, _limits.MAX_DEPTH):
                raise ValueError(f"the JSON body nests deeper than {_limits.MAX_DEPTH} levels")
            json_format.ParseDict(_ids_to_base64(message), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError(f"not an OTLP traces request: {exc}") from None
    except RecursionError:
        raise ValueError("not an OTLP traces request: nested too deep") from None
    documents = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(span.trace_id) != 16 or len(span.span_id) != 8:
                    raise ValueError("a span has an invalid trace or span id")
                documents.append(span_to_document(span, resource))
    return documents


class Collector:
    """UDP (X-Ray daemon) and OTLP/HTTP listeners feeding one :class:`TraceStore`.

    Port 0 picks a free port; :attr:`udp_address` and :attr:`otlp_endpoint`
    say which. ``page`` (a callable returning HTML) is served at ``GET /``.

    Example:
        >>> with Collector(udp_port=0, http_port=0) as collector:
        ...     collector.otlp_endpoint.endswith("/v1/traces")
        True
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        udp_port: int = 2000,
        http_port: int = 4318,
        store: TraceStore | None = None,
        page: Any = None,
    ) -> None:
        if host not in _LOOPBACK:
            raise CollectorError(f"the local collector listens on loopback only, not on {host!r}")
        self.store = store or TraceStore()
        self._page = page
        try:
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            self._udp.bind((host, udp_port))
        except OSError as exc:
            self._udp.close()
            raise CollectorError(
                f"UDP {host}:{udp_port} is not available ({exc.strerror}): an X-Ray daemon may already be "
                "running there; pass --udp-port 0 for a free port"
            ) from None
        try:
            self._http = _limits.BoundedHTTPServer((host, http_port), self._handler())
        except OSError as exc:
            self._udp.close()
            raise CollectorError(
                f"TCP {host}:{http_port} is not available ({exc.strerror}): another collector may run there; "
                "pass --http-port 0 for a free port"
            ) from None
        self._http.daemon_threads = True
        self.udp_address = f"{host}:{self._udp.getsockname()[1]}"
        self.http_address = f"http://{host}:{self._http.server_address[1]}"
        self.otlp_endpoint = f"{self.http_address}/v1/traces"
        self._threads = [
            threading.Thread(target=self._serve_udp, name="xe-collect-udp", daemon=True),
            threading.Thread(target=self._http.serve_forever, name="xe-collect-http", daemon=True),
        ]
        self._stopped = threading.Event()
        for thread in self._threads:
            thread.start()

    def _serve_udp(self) -> None:
        while not self._stopped.is_set():
            try:
                data = self._udp.recv(MAX_DATAGRAM + 1024)
            except OSError:
                return
            if not data:
                continue
            try:
                self._datagram(data)
            except Exception:  # one datagram, whatever it holds, never stops the intake
                self.store.rejected += 1
                _logger.exception("Ignoring a datagram of %d bytes that could not be filed.", len(data))

    def _datagram(self, data: bytes) -> None:
        document = parse_datagram(data)
        if document is None and receive_otlp_datagram(data, self.store, decode_otlp):
            return  # OTLP over UDP (T1S/T1U), as AWS's Lambda layer sends spans
        if document is None:
            self.store.rejected += 1
            _logger.warning("Ignoring a malformed X-Ray datagram of %d bytes.", len(data))
            return
        self.store.add(document, size=len(data))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = _limits.READ_TIMEOUT_S  # a read that gets nothing for this long ends the connection

            def handle_one_request(self) -> None:
                guard = getattr(self.server, "guard", None)
                if guard is not None:
                    guard.start(self.connection)  # the reaper closes it past REQUEST_DEADLINE_S
                try:
                    super().handle_one_request()
                except OSError:  # reaped, reset or timed out: the connection is over
                    self.close_connection = True
                finally:
                    if guard is not None:
                        guard.finish(self.connection)

            def _answer(
                self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path in ("/", "/index.html") and collector._page is not None:
                    try:
                        page = collector._page().encode()
                    except Exception:  # the next request tries again; the collector keeps serving
                        _logger.exception("Could not render the live page.")
                        self._answer(500, b"the page could not be rendered; see the collector's log")
                        return
                    self._answer(200, page, "text/html; charset=utf-8")
                elif self.path == "/sse-client.js":
                    # The reference browser client, for pages served next to the live view.
                    body = browser_client_path().read_bytes()
                    self._answer(200, body, "text/javascript; charset=utf-8")
                elif self.path == "/traces.json":
                    data = [
                        {"trace_id": t.trace_id, "documents": list(t.documents.values())}
                        for t in collector.store.traces()
                    ]
                    self._answer(200, json.dumps(data, default=str).encode(), "application/json")
                else:
                    self._answer(404, b"not found")

            def do_POST(self) -> None:
                if self.headers.get("Transfer-Encoding"):
                    self.close_connection = True
                    collector.store.rejected += 1
                    self._answer(411, b"send a Content-Length (chunked bodies are not read)")
                    return
                length = _limits.parse_content_length(self.headers.get("Content-Length"))
                if length is None:
                    self.close_connection = True
                    collector.store.rejected += 1
                    self._answer(400, b"Content-Length is not a decimal number of bytes")
                    return
                if length > MAX_OTLP_BODY:
                    self.close_connection = True
                    self._answer(413, b"body too large")
                    collector.store.rejected += 1
                    return
                body = self.rfile.read(length)
                if len(body) < length:  # the sender went away, or the request ran past its deadline
                    self.close_connection = True
                    return
                if self.path != "/v1/traces":
                    self._answer(404, b"only /v1/traces is served")
                    return
                content_type = (self.headers.get("Content-Type") or "").lower()
                if not content_type.startswith(("application/x-protobuf", "application/json")):
                    collector.store.rejected += 1
                    self._answer(415, b"use application/x-protobuf or application/json")
                    return
                try:
                    documents = decode_otlp(
                        body, content_type, (self.headers.get("Content-Encoding") or "").lower()
                    )
                except _limits.BodyTooLarge as exc:
                    collector.store.rejected += 1
                    self.close_connection = True
                    self._answer(413, str(exc).encode()[:500])
                    return
                except ValueError as exc:
                    collector.store.rejected += 1
                    _logger.warning("Rejecting an OTLP request: %s", exc)
                    self._answer(400, str(exc).encode()[:500])
                    return
                share = len(body) // max(1, len(documents)) + 1
                for document in documents:
                    collector.store.add(document, size=share)
                if content_type.startswith("application/json"):
                    self._answer(200, b"{}", "application/json")
                else:
                    self._answer(200, b"", "application/x-protobuf")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        """Stop both listeners (idempotent)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._http.shutdown()
        self._http.server_close()
        self._udp.close()

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
