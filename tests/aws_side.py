"""The real AWS side on loopback: our collector build and moto's X-Ray API, read back with ``BatchGetTraces``.

``scripts/build-peers`` builds the collector from its pinned Go modules
(``collector/``: OTLP and ``awsxray`` receivers, ``batch``, ``awsxray``
exporter), reusing the binary when its inputs did not change. moto runs in
server mode as a subprocess and plays the X-Ray API; the collector's
``awsxray`` exporter sends ``PutTraceSegments`` to it with real SigV4
credentials from the environment. Tests read what X-Ray stored with the real
``boto3`` client.

Not a test module: the fixtures in ``tests/test_aws_side.py`` and
``tests/test_convert_parity.py`` use it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from xray_exclusive.devtools._real import collector_config

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@cache
def peer_binary(name: str) -> Path:
    """The path of a built peer (``collector`` or ``rie``), built now if its inputs changed."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-peers"), name],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, f"scripts/build-peers {name} failed:\n{result.stdout}\n{result.stderr}"
    path = Path(result.stdout.split()[-1])
    assert path.is_file(), result.stdout
    return path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port free right now (TCP by default, ``socket.SOCK_DGRAM`` for UDP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{what} exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class MotoXRay:
    """moto in server mode on a loopback port: the X-Ray API the exporter writes to."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"moto-{self.port}.log"
        moto = Path(sys.executable).with_name("moto_server")
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS},
        )
        _wait_for_port(self.port, self.process, "moto_server")
        import boto3

        self.client = boto3.client(
            "xray",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def documents(self, trace_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Every segment document X-Ray stored for these traces (``BatchGetTraces``), parsed."""
        ids = list(trace_ids)
        documents: list[dict[str, Any]] = []
        for start in range(0, len(ids), 5):  # BatchGetTraces takes at most 5 IDs per call
            response = self.client.batch_get_traces(TraceIds=ids[start : start + 5])
            for trace in response["Traces"]:
                documents.extend(json.loads(segment["Document"]) for segment in trace["Segments"])
        return documents

    def wait_for(
        self, trace_ids: Iterable[str], count: int, timeout: float = 15.0, settle: float = 0.3
    ) -> list[dict[str, Any]]:
        """The stored documents once at least ``count`` arrived and no more came for ``settle`` seconds."""
        ids = list(trace_ids)
        deadline = time.monotonic() + timeout
        documents = self.documents(ids)
        while time.monotonic() < deadline:
            if len(documents) >= count:
                time.sleep(settle)
                again = self.documents(ids)
                if len(again) == len(documents):
                    return documents
                documents = again
                continue
            time.sleep(0.1)
            documents = self.documents(ids)
        return documents

    def close(self) -> None:
        _stop(self.process)
        self._log_file.close()


@dataclass
class Collector:
    """Our collector build, configured for loopback: OTLP/HTTP and X-Ray UDP in, moto's X-Ray out.

    ``stop()``/``start()`` restart it on the same ports; ``pause()``/``resume()``
    freeze it (SIGSTOP), the way a collector that cannot keep up looks from the
    function.
    """

    xray_endpoint: str
    batch_timeout: str = "50ms"
    otlp_port: int = field(default_factory=free_port)
    udp_port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    proxy_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.binary = peer_binary("collector")
        directory = Path(os.environ.get("TMPDIR", "/tmp"))
        self.config = directory / f"xray-exclusive-collector-{self.otlp_port}.yaml"
        self.log = directory / f"xray-exclusive-collector-{self.otlp_port}.log"
        self.config.write_text(self.config_yaml())
        self.start()

    @property
    def otlp_endpoint(self) -> str:
        """Where the streaming tracer posts spans (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)."""
        return f"http://127.0.0.1:{self.otlp_port}/v1/traces"

    @property
    def daemon_address(self) -> str:
        """Where the X-Ray SDK sends UDP datagrams (``AWS_XRAY_DAEMON_ADDRESS``)."""
        return f"127.0.0.1:{self.udp_port}"

    def config_yaml(self) -> str:
        """The demo's configuration (the production pipeline less ``decouple``), exporting to moto."""
        return collector_config(
            self.udp_port, self.otlp_port, self.proxy_port, self.xray_endpoint, REGION, self.batch_timeout
        )

    def start(self) -> None:
        """Start the collector and wait until every receiver listens ("Everything is ready")."""
        ready_before = self._ready_count()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **CREDENTIALS, "AWS_REGION": REGION},
            )
        _wait_for_port(self.otlp_port, self.process, f"the collector (log: {self.log})")
        deadline = time.monotonic() + 15
        while self._ready_count() == ready_before:
            assert time.monotonic() < deadline, f"the collector never got ready; its log:\n{self.log_text()}"
            time.sleep(0.05)

    def _ready_count(self) -> int:
        return self.log_text().count("Everything is ready") if self.log.exists() else 0

    def stop(self) -> None:
        """Stop the collector (SIGTERM, then SIGKILL after 10 s)."""
        _stop(self.process)
        self.process = None

    def pause(self) -> None:
        """Freeze the collector: connections are accepted by the kernel, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused collector run again."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def send_udp(self, document: dict[str, Any]) -> None:
        """One X-Ray daemon datagram, as the X-Ray SDK sends it."""
        payload = b'{"format":"json","version":1}\n' + json.dumps(document).encode()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(payload, ("127.0.0.1", self.udp_port))

    def log_text(self) -> str:
        """What the collector logged so far."""
        return self.log.read_text(errors="replace")
