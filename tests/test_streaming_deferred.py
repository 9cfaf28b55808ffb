"""What the streaming tracer defers off the cold start: the OTLP/HTTP exporter and the Lambda resource."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.extension.aws.resource._lambda import AwsLambdaResourceDetector
from opentelemetry.sdk.trace.export import SpanExportResult

from xray_exclusive.streaming._deferred import DeferredOTLPExporter, lambda_resource

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_LAMBDA_FUNCTION_NAME": "sse",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]abc",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
}


@pytest.mark.parametrize("missing", [None, "AWS_REGION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
def test_lambda_resource_is_the_detectors(monkeypatch: pytest.MonkeyPatch, missing: str | None) -> None:
    for name, value in LAMBDA_ENV.items():
        monkeypatch.setenv(name, value)
    if missing is not None:
        monkeypatch.delenv(missing)
    ours, theirs = lambda_resource(), AwsLambdaResourceDetector().detect()
    assert dict(ours.attributes) == dict(theirs.attributes)
    assert ours.schema_url == theirs.schema_url
    assert bool(ours.attributes) is (missing is None)


def test_the_exporter_is_built_once_on_first_use(otlp: Any) -> None:
    exporter = DeferredOTLPExporter(otlp.endpoint, timeout=0.5)
    assert not exporter.built
    exporter.warm()
    inner = exporter.get()  # waits for the warm-up thread's build, if it is still under way
    assert exporter.built and exporter.get() is inner
    assert type(inner).__name__ == "OTLPSpanExporter"
    assert exporter.export([]) is SpanExportResult.SUCCESS
    exporter.shutdown()


def test_shutdown_before_first_use_builds_nothing(otlp: Any) -> None:
    exporter = DeferredOTLPExporter(otlp.endpoint, timeout=0.5)
    exporter.shutdown()
    exporter.warm()
    assert not exporter.built
    assert exporter.force_flush()


SCRIPT = """
import json, sys
from xray_exclusive.streaming import get_streaming_tracer, poll_cycle, traced_stream
MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
seen = {"after_init": MODULE in sys.modules}
st = get_streaming_tracer()
seen["after_build"] = MODULE in sys.modules
def events():
    for i in range(3):
        with poll_cycle(item_count=i):
            pass
        yield b"data: %d\\n\\n" % i
stream = traced_stream(events())
seen["first_chunk"] = next(stream).decode()
seen["after_first_chunk"] = "requests" in sys.modules or MODULE in sys.modules
seen["rest"] = len(list(stream))
seen["after_stream"] = MODULE in sys.modules
seen["exported"] = st.exported_spans
print(json.dumps(seen))
"""


def test_a_cold_stream_imports_the_exporter_only_after_its_first_chunk(otlp: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "POWERTOOLS_", "AWS_", "_X_"))}
    env.update(
        LAMBDA_ENV,
        OTEL_SERVICE_NAME="sse",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=otlp.endpoint,
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        PYTHONPATH=str(ROOT / "src"),
    )
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen == {
        "after_init": False,
        "after_build": False,
        "first_chunk": "data: 0\n\n",
        "after_first_chunk": False,
        "rest": 2,
        "after_stream": True,
        "exported": 4,
    }
    assert len(otlp.spans) == 4
    assert {s.resource["faas.name"] for s in otlp.spans} == {"sse"}


def _session_of(exporter: DeferredOTLPExporter) -> Any:
    return exporter.get()._session  # type: ignore[attr-defined]


def test_a_loopback_collector_is_reached_directly_whatever_the_proxy_variables(
    otlp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests re-reads the proxy variables and .netrc on every export of a session that trusts the
    # environment; a proxy cannot reach the function's own loopback anyway.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nobody listens there
    monkeypatch.setenv("NO_PROXY", "")
    exporter = DeferredOTLPExporter(otlp.endpoint, timeout=0.5)
    assert _session_of(exporter).trust_env is False
    assert exporter.export([]) is SpanExportResult.SUCCESS
    exporter.shutdown()


@pytest.mark.parametrize(
    "endpoint",
    ["http://collector.internal:4318/v1/traces", "https://127.0.0.1:4318/v1/traces", "http://10.0.0.8:4318/"],
)
def test_any_other_collector_keeps_the_environments_settings(endpoint: str) -> None:
    exporter = DeferredOTLPExporter(endpoint, timeout=0.5)
    assert _session_of(exporter).trust_env is True  # proxies, .netrc and the CA bundle variables apply
    exporter.shutdown()


def test_a_credential_providers_session_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from xray_exclusive.streaming._deferred import direct_session

    assert direct_session("http://127.0.0.1:4318/v1/traces") is not None
    monkeypatch.setenv("OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER", "mine")
    assert direct_session("http://127.0.0.1:4318/v1/traces") is None  # the exporter loads the provider's
