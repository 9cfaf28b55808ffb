"""The demo on the real collector: our collector build between the Lambdas and a local X-Ray stand-in.

``xray-exclusive demo --collector`` runs the OpenTelemetry collector built
from this repository's ``collector/`` module (``scripts/build-peers``): its
``awsxray`` receiver takes the X-Ray SDK's UDP datagrams, its OTLP receiver
the streaming tracer's spans, and its ``awsxray`` exporter sends
``PutTraceSegments`` to :class:`XRayStandIn`, a loopback HTTP server that
keeps what the exporter sent: exactly the documents X-Ray would store.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ._collector import CollectorError, TraceStore

__all__ = ["COLLECTOR_BINARY", "RealCollector", "XRayStandIn", "collector_config", "find_collector"]

_logger = logging.getLogger("xray_exclusive.devtools")

COLLECTOR_BINARY = "xray-exclusive-collector"
"""The collector's file name, as ``scripts/build-peers`` writes it under ``build/peers/``."""


def find_collector(path: str | None) -> Path:
    """The collector binary: ``path``, else ``./build/peers/`` or the ``PATH``; ``CollectorError`` if none.

    Example:
        >>> find_collector("/nonexistent/collector")
        Traceback (most recent call last):
        ...
        xray_exclusive.exceptions.CollectorError: no collector at /nonexistent/collector: ...
    """
    if path:
        candidate = Path(path)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise CollectorError(
            f"no collector at {path}: build it with scripts/build-peers collector (Go), "
            "or leave out --collector"
        )
    for found in (Path("build") / "peers" / COLLECTOR_BINARY, shutil.which(COLLECTOR_BINARY)):
        if found and Path(found).is_file() and os.access(found, os.X_OK):
            return Path(found)
    raise CollectorError(
        f"no {COLLECTOR_BINARY} in ./build/peers or on the PATH: run scripts/build-peers collector "
        "in a checkout of xray-exclusive (needs Go), or pass --collector PATH"
    )


class XRayStandIn:
    """X-Ray's ``PutTraceSegments`` on loopback: every document the exporter sends goes into ``store``.

    Answers like X-Ray (``{"UnprocessedTraceSegments": []}``); a document that
    is not JSON is returned as unprocessed, as X-Ray would.

    Example:
        >>> import urllib.request
        >>> stand_in = XRayStandIn(TraceStore())
        >>> body = {"TraceSegmentDocuments": [json.dumps(
        ...     {"id": "a", "name": "fn", "trace_id": "1-5759e988-bd862e3fe1be46a994272793"})]}
        >>> request = urllib.request.Request(stand_in.endpoint + "/TraceSegments", json.dumps(body).encode())
        >>> json.load(urllib.request.urlopen(request, timeout=5))
        {'UnprocessedTraceSegments': []}
        >>> stand_in.store.received
        1
        >>> stand_in.close()
    """

    def __init__(self, store: TraceStore) -> None:
        self.store = store
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                unprocessed = stand_in._put(body)
                answer = json.dumps({"UnprocessedTraceSegments": unprocessed}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="xray-stand-in", daemon=True).start()

    def _put(self, body: bytes) -> list[dict[str, str]]:
        try:
            documents = json.loads(body).get("TraceSegmentDocuments") or []
        except (ValueError, AttributeError):
            _logger.warning("X-Ray stand-in: a PutTraceSegments body that is not JSON was ignored")
            return []
        unprocessed = []
        for text in documents:
            try:
                document = json.loads(text)
            except (TypeError, ValueError):
                unprocessed.append({"ErrorCode": "InvalidDocument", "Message": "not JSON"})
                continue
            if isinstance(document, dict):
                self.store.add(document)
        return unprocessed

    def close(self) -> None:
        """Stop answering."""
        self._server.shutdown()
        self._server.server_close()


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RealCollector:
    """The collector binary on loopback ports, exporting to an :class:`XRayStandIn`; a context manager.

    Same face as the pure-Python :class:`~._collector.Collector` for the demo:
    ``udp_address``, ``otlp_endpoint`` and ``store``.
    """

    def __init__(self, binary: Path, store: TraceStore | None = None) -> None:
        self.binary = binary
        self.store = store or TraceStore()
        self.stand_in = XRayStandIn(self.store)
        udp_port, otlp_port, proxy_port = (
            _free_port(socket.SOCK_DGRAM),
            _free_port(socket.SOCK_STREAM),
            _free_port(socket.SOCK_STREAM),
        )
        self.udp_address = f"127.0.0.1:{udp_port}"
        self.otlp_endpoint = f"http://127.0.0.1:{otlp_port}/v1/traces"
        self._directory = tempfile.TemporaryDirectory(prefix="xray-exclusive-collector-")
        config = Path(self._directory.name) / "collector.yaml"
        config.write_text(
            collector_config(udp_port, otlp_port, proxy_port, self.stand_in.endpoint), encoding="utf-8"
        )
        self.log = Path(self._directory.name) / "collector.log"
        environment = {
            **os.environ,
            # The exporter signs every request; the stand-in accepts any signature. Never sent elsewhere.
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "ASIADEMODEMODEMODEMO"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "demo"),
        }
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [str(binary), "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=environment
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while "Everything is ready" not in self.log.read_text(errors="replace"):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self.log.read_text(errors="replace")[-2000:]
                self.close()
                raise CollectorError(f"the collector {self.binary} did not start; its log ends:\n{log}")
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the collector (it exports what it holds first), then the stand-in."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self.stand_in.close()
        self._directory.cleanup()

    def __enter__(self) -> RealCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def collector_config(
    udp_port: int,
    otlp_port: int,
    proxy_port: int,
    xray_endpoint: str,
    region: str = "eu-west-1",
    batch_timeout: str = "50ms",
) -> str:
    """The collector's configuration on loopback: OTLP/HTTP and X-Ray UDP in, ``xray_endpoint`` out.

    The pipeline of ``examples/collector/collector.yaml`` without ``decouple``
    (it needs the Lambda Extensions API) and with the ``awsxray`` receiver,
    which plays Lambda's X-Ray daemon.

    Example:
        >>> "endpoint: http://127.0.0.1:9" in collector_config(2000, 4318, 2001, "http://127.0.0.1:9")
        True
    """
    return f"""\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
  awsxray:
    endpoint: 127.0.0.1:{udp_port}
    transport: udp
    proxy_server:
      endpoint: 127.0.0.1:{proxy_port}
      aws_endpoint: {xray_endpoint}
      region: {region}
      local_mode: true
processors:
  batch:
    timeout: {batch_timeout}
exporters:
  awsxray:
    endpoint: {xray_endpoint}
    region: {region}
    local_mode: true
    indexed_attributes: []
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp, awsxray]
      processors: [batch]
      exporters: [awsxray]
"""
