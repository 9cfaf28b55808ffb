"""Shared fixtures: a real X-Ray daemon on loopback UDP and a Lambda-like environment.

The X-Ray SDK sends each closed subsegment as one UDP datagram
(``{"format":"json","version":1}\\n{...}``); :class:`XRayDaemon` receives
them on 127.0.0.1 and parses the JSON, so tests assert on exactly what AWS
would receive.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Handler modules the runtime tests import in a subprocess (LAMBDA_TASK_ROOT); not test modules.
collect_ignore = ["runtime_handlers.py", "runtime_broken_handler.py", "streaming_runtime_handlers.py"]
# Deliberately broken Lambda code for the checker's tests; never imported.
collect_ignore_glob = ["fixtures/*"]

PROTOCOL_HEADER = b'{"format":"json","version":1}\n'
TRACE_PARENT = "53995c3f42cd8ad8"
FUNCTION_NAME = "ingestion"


def new_root() -> str:
    """A fresh X-Ray trace ID, epoch first, as AwsXRayIdGenerator makes them."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def trace_header(root: str, sampled: bool) -> str:
    return f"Root={root};Parent={TRACE_PARENT};Sampled={1 if sampled else 0}"


SAMPLED_HEADER = trace_header("1-5759e988-bd862e3fe1be46a994272793", True)
NOT_SAMPLED_HEADER = trace_header("1-5759e988-bd862e3fe1be46a994272793", False)


class XRayDaemon:
    """A UDP listener that plays the X-Ray daemon; ``documents()`` returns what arrived, parsed."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.raw: list[bytes] = []
        self.root = new_root()

    def datagrams(self, wait: float = 0.05) -> list[bytes]:
        """Every datagram received so far, waiting up to ``wait`` seconds for stragglers."""
        self.sock.settimeout(wait)
        while True:
            try:
                data = self.sock.recv(65535 + 1024)
            except (TimeoutError, BlockingIOError):
                break
            self.raw.append(data)
            self.sock.settimeout(0.05)
        return list(self.raw)

    def documents(self, wait: float = 0.05) -> list[dict[str, Any]]:
        docs = []
        for data in self.datagrams(wait):
            assert data.startswith(PROTOCOL_HEADER), data[:80]
            docs.append(json.loads(data[len(PROTOCOL_HEADER) :]))
        return docs

    def one(self, name: str) -> dict[str, Any]:
        matches = [d for d in self.documents() if d.get("name") == name]
        assert len(matches) == 1, (
            f"expected one subsegment {name!r}, got {[d.get('name') for d in self.documents()]}"
        )
        return matches[0]

    def clear(self) -> None:
        self.datagrams(wait=0.05)
        self.raw.clear()

    def close(self) -> None:
        self.sock.close()


def _reset_tracing() -> None:
    """The documented reset hooks: Powertools' shared Tracer config, the X-Ray SDK switch, our backend."""
    import aws_xray_sdk
    from aws_lambda_powertools.tracing import Tracer

    from xray_exclusive import set_default_backend

    Tracer._reset_config()
    aws_xray_sdk.global_sdk_config.set_sdk_enabled(True)
    set_default_backend(None)


@pytest.fixture
def xray(monkeypatch: pytest.MonkeyPatch) -> Iterator[XRayDaemon]:
    """A Lambda-like environment (sampled trace) whose X-Ray daemon is a loopback UDP listener."""
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

    daemon = XRayDaemon()
    for name in (
        "POWERTOOLS_TRACE_DISABLED",
        "AWS_XRAY_SDK_ENABLED",
        "POWERTOOLS_METRICS_DISABLED",
        "AWS_SAM_LOCAL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", os.getcwd())
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(daemon.root, sampled=True))
    _reset_tracing()
    xray_recorder.configure(daemon_address=daemon.address, context=LambdaContext(), streaming_threshold=0)
    yield daemon
    daemon.close()
    _reset_tracing()


@pytest.fixture
def unsampled(xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch) -> XRayDaemon:
    """The same Lambda environment, but X-Ray did not sample this request (``Sampled=0``)."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(xray.root, sampled=False))
    return xray


@pytest.fixture
def outside_lambda(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Lambda at all: a laptop or a CI job (Powertools disables tracing)."""
    for name in (
        "LAMBDA_TASK_ROOT",
        "_X_AMZN_TRACE_ID",
        "AWS_LAMBDA_FUNCTION_NAME",
        "POWERTOOLS_METRICS_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    _reset_tracing()
    yield
    _reset_tracing()


def emf_lines(text: str) -> list[dict[str, Any]]:
    """Every EMF document in captured stdout, each checked to be a line the metric catalogue declares."""
    from tests import emf_spec

    docs = []
    for line in text.splitlines():
        if line.startswith('{"_aws"'):
            docs.append(json.loads(line))
            emf_spec.catalogued(docs[-1])
    return docs


# ------------------------------------------------------------------------------- streaming

SSE_SERVICE = "sse-streaming"
SSE_FUNCTION = "sse-streaming-fn"
REGION = "eu-west-1"

_STREAMING_VARS_TO_CLEAR = (
    "AWS_LAMBDA_EXEC_WRAPPER",
    "OTEL_PROPAGATORS",
    "OTEL_TRACES_SAMPLER",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "XRAY_EXCLUSIVE_BACKEND",
    "XRAY_EXCLUSIVE_FLUSH_BUDGET_MS",
    "OTEL_SDK_DISABLED",
)


@pytest.fixture
def otlp() -> Iterator[Any]:
    """An OTLP/HTTP receiver on loopback (the ADOT extension's role), decoding with opentelemetry-proto."""
    from tests.otlp_receiver import OTLPReceiver

    receiver = OTLPReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def streaming(otlp: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A streaming Lambda's environment, sampled trace in ``_X_AMZN_TRACE_ID``, exporting to ``otlp``."""
    from xray_exclusive.streaming import reset_streaming_tracer

    for name in _STREAMING_VARS_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_SERVICE_NAME", SSE_SERVICE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SSE_SERVICE)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", SSE_FUNCTION)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    monkeypatch.setenv("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]abc")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otlp.endpoint)
    otlp.root = new_root()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(otlp.root, sampled=True))
    reset_streaming_tracer()
    _reset_tracing()
    yield otlp
    reset_streaming_tracer()
    _reset_tracing()


# ------------------------------------------------------------------------------- every backend


@dataclass(frozen=True)
class Recorded:
    """One subsegment as it reached X-Ray's side: a UDP document, or an OTLP span the collector converts."""

    name: str
    id: str
    parent_id: str
    trace_id: str
    annotations: dict[str, Any]


class Backend:
    """One backend of ``failure_path``, behind the same questions: what was recorded, in which trace."""

    def __init__(self, name: str, daemon: XRayDaemon | None, otlp: Any) -> None:
        self.name = name
        self.daemon = daemon
        self.otlp = otlp

    @property
    def root(self) -> str:
        return self.daemon.root if self.daemon is not None else str(self.otlp.root)

    def clear(self) -> None:
        if self.daemon is not None:
            self.daemon.clear()
        else:
            from xray_exclusive.streaming import flush

            flush()
            self.otlp.clear()

    def recorded(self) -> list[Recorded]:
        """Everything sent since the last ``clear()``."""
        if self.daemon is not None:
            return [
                Recorded(d["name"], d["id"], d["parent_id"], d["trace_id"], d.get("annotations", {}))
                for d in self.daemon.documents()
            ]
        from xray_exclusive.streaming import flush

        flush()
        out = []
        for span in list(self.otlp.spans):
            keys = span.attributes.get("aws.xray.annotations", ())
            out.append(
                Recorded(
                    span.name,
                    span.span_id,
                    span.parent_span_id,
                    span.xray_trace_id,
                    {k: span.attributes[k] for k in keys if k in span.attributes},
                )
            )
        return out


@pytest.fixture(params=["native", "xray-sdk", "otel"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """A sampled Lambda invocation with ``failure_path``'s default backend set to each of the three in turn.

    ``native`` and ``xray-sdk`` send to the ``xray`` fixture's daemon, ``otel`` to the ``streaming``
    fixture's OTLP receiver. Metric lines are written to stdout in all three.
    """
    from xray_exclusive import set_default_backend

    name = str(request.param)
    if name == "otel":
        otlp = request.getfixturevalue("streaming")
        monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
        result = Backend(name, None, otlp)
    else:
        result = Backend(name, request.getfixturevalue("xray"), None)
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", name)
    set_default_backend(None)
    return result


# ------------------------------------------------------------------------------- the real AWS side


@pytest.fixture(scope="module")
def moto_xray() -> Iterator[Any]:
    """moto's X-Ray API in server mode on loopback (``tests/aws_side.py``), one per test module."""
    from tests.aws_side import MotoXRay

    server = MotoXRay()
    yield server
    server.close()


@pytest.fixture(scope="module")
def aws_collector(moto_xray: Any) -> Iterator[Any]:
    """Our collector build (``scripts/build-peers``) exporting to ``moto_xray``, one per test module."""
    from tests.aws_side import Collector

    process = Collector(xray_endpoint=moto_xray.endpoint)
    yield process
    process.stop()
