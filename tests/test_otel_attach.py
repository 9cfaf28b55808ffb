"""failure_path's OpenTelemetry backend on a provider someone else set: the application's, or AWS's layer's.

The AWS case runs the real ``opentelemetry-instrument`` with ``aws-opentelemetry-distro`` in a child
process, in the environment AWS's Lambda layer wrapper (``/opt/otel-instrument``) sets up; its spans
arrive, through AWS's own UDP exporter, at a loopback socket playing the Lambda X-Ray daemon.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
from botocore.exceptions import ClientError
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests import example_paths as paths
from tests.conftest import TRACE_PARENT, new_root, trace_header
from tests.otlp_udp import UdpDaemon, decode, spans_of
from xray_exclusive import failure_path
from xray_exclusive.streaming import _bootstrap, flush

ROOT = Path(__file__).resolve().parents[1]
STATUS_ERROR = 2


@pytest.fixture
def daemon() -> Iterator[UdpDaemon]:
    receiver = UdpDaemon()
    yield receiver
    receiver.close()


@pytest.fixture
def global_provider(streaming: Any) -> Iterator[None]:
    """Let the test set the global provider, and put OpenTelemetry's globals back afterwards.

    OpenTelemetry allows one ``set_tracer_provider`` per process; its own test utilities reset these two
    protected globals the same way (``opentelemetry.test.globals_test.reset_trace_globals``).
    """
    saved = trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE._done
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE._done = None, False
    yield
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE._done = saved


def throttled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "BatchWriteItem",
    )


def test_failure_paths_land_on_the_applications_provider(
    global_provider: None, daemon: UdpDaemon, streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The application's own provider, exporting with AWS's UDP exporter as AWS's layer configures it.
    app = TracerProvider()
    app.add_span_processor(BatchSpanProcessor(OTLPUdpSpanExporter(endpoint=daemon.address)))
    trace.set_tracer_provider(app)
    try:
        with failure_path(
            paths.TIMESERIES_FANOUT_BATCH_WRITE,
            annotations={"ticker-symbol": "AAPL", "batch size": 25},
            backend="otel",
        ):
            raise throttled()
    except ClientError:
        pass
    report = flush()  # flushes the application's provider; never builds ours for that
    assert _bootstrap._instance is None
    assert report.exported == 0 and report.seconds >= 0
    assert streaming.spans == []  # nothing went to the collector route
    [span] = daemon.spans()
    assert span.name == paths.TIMESERIES_FANOUT_BATCH_WRITE.name
    assert span.xray_trace_id == streaming.root and span.parent_span_id == TRACE_PARENT
    # X-Ray-safe keys, listed for the exporter to index.
    indexed = set(span.attributes["aws.xray.annotations"])
    assert {"ticker_symbol", "batch_size"} <= indexed
    assert span.attributes["ticker_symbol"] == "AAPL" and span.attributes["batch_size"] == 25
    assert all(key.replace("_", "").isalnum() for key in indexed)
    # The fault and its cause, as X-Ray shows them.
    assert span.status_code == STATUS_ERROR
    [(event, attributes)] = span.events
    assert event == "exception"
    assert attributes["exception.type"] == "ClientError"
    assert "ProvisionedThroughputExceededException" in attributes["exception.message"]
    assert span.attributes["http.response.status_code"] == 429
    app.shutdown()


def test_our_own_provider_left_global_is_not_mistaken_for_the_applications(
    global_provider: None, streaming: Any
) -> None:
    from xray_exclusive.streaming import get_streaming_tracer, reset_streaming_tracer

    first = get_streaming_tracer()
    assert trace.get_tracer_provider() is first.provider  # ours became the global one
    reset_streaming_tracer()  # the global stays (OpenTelemetry cannot unset it) but is shut down
    try:
        with failure_path(paths.AUDIT_TRAIL_PERSIST, backend="otel") as fp:
            fp.fail("audit table unavailable")
    finally:
        flush()
    assert _bootstrap._instance is not None and _bootstrap._instance is not first
    assert streaming.one(paths.AUDIT_TRAIL_PERSIST.name).xray_trace_id == streaming.root


CHILD = textwrap.dedent(
    """
    import json, sys
    from opentelemetry import trace
    from xray_exclusive import FailurePath, failure_path
    from xray_exclusive.streaming import _bootstrap

    try:
        with failure_path(FailurePath("self_healing_item_fetch"), annotations={"source-id": "newsapi#42"},
                          backend="otel"):
            raise TimeoutError("fetch timed out")
    except TimeoutError:
        pass
    provider = trace.get_tracer_provider()
    provider.force_flush()  # what the layer's wrapper does after the handler returns
    print(json.dumps({"provider": type(provider).__module__ + "." + type(provider).__name__,
                      "ours_built": _bootstrap._instance is not None}))
    """
)


def _aws_layer_environment(daemon: UdpDaemon, header: str) -> dict[str, str]:
    """What AWS's ``/opt/otel-instrument`` exports before it execs ``opentelemetry-instrument``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "XRAY_EXCLUSIVE_"))}
    env.update(
        AWS_LAMBDA_EXEC_WRAPPER="/opt/otel-instrument",
        AWS_LAMBDA_FUNCTION_NAME="ingestion",
        AWS_REGION="eu-west-1",
        AWS_XRAY_DAEMON_ADDRESS=daemon.address,
        LAMBDA_TASK_ROOT=str(ROOT),
        POWERTOOLS_METRICS_DISABLED="true",
        _X_AMZN_TRACE_ID=header,
        OTEL_SERVICE_NAME="ingestion",
        OTEL_PROPAGATORS="baggage,xray,tracecontext",
        OTEL_AWS_APPLICATION_SIGNALS_RUNTIME_ENABLED="false",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        AWS_LAMBDA_LITE_MODE="false",
        OTEL_AWS_APPLICATION_SIGNALS_ENABLED="true",
        OTEL_PYTHON_DISTRO="aws_distro",
        OTEL_PYTHON_CONFIGURATOR="aws_configurator",
        OTEL_RESOURCE_ATTRIBUTES="cloud.region=eu-west-1,cloud.platform=aws_lambda,faas.name=ingestion",
        # The layer's default list, abbreviated to what is installed here, plus aws-lambda as it adds.
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="requests,urllib3,urllib,threading,logging,system_metrics,"
        "sqlite3,jinja2,httpx,asgi,wsgi,aws-lambda",
    )
    return env


def _run_under_aws_layer(tmp_path: Path, daemon: UdpDaemon, header: str) -> dict[str, Any]:
    import json

    script = tmp_path / "handler.py"
    script.write_text(CHILD)
    instrument = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    assert instrument is not None
    out = subprocess.run(
        [instrument, sys.executable, str(script)],
        env=_aws_layer_environment(daemon, header),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_failure_paths_land_on_the_provider_of_aws_lambda_layer(tmp_path: Path, daemon: UdpDaemon) -> None:
    root = new_root()
    child = _run_under_aws_layer(tmp_path, daemon, trace_header(root, sampled=True))
    assert child == {"provider": "opentelemetry.sdk.trace.TracerProvider", "ours_built": False}
    datagrams = daemon.datagrams(wait=2.0)
    sent = [(decode(d)[0], span) for d in datagrams for span in spans_of(decode(d)[1])]
    [(prefix, span)] = [(p, s) for p, s in sent if s.name == paths.SELF_HEALING_ITEM_FETCH.name]
    assert prefix == "T1S"  # AWS's exporter, sampled invocation
    assert span.xray_trace_id == root and span.parent_span_id == TRACE_PARENT
    assert span.status_code == STATUS_ERROR
    assert span.events[0][0] == "exception" and span.events[0][1]["exception.type"] == "TimeoutError"
    assert "source_id" in span.attributes["aws.xray.annotations"]
    assert span.attributes["source_id"] == "newsapi#42"
    assert span.resource["service.name"] == "ingestion"


def test_unsampled_invocation_under_aws_layer_goes_out_unsampled(tmp_path: Path, daemon: UdpDaemon) -> None:
    root = new_root()
    child = _run_under_aws_layer(tmp_path, daemon, trace_header(root, sampled=False))
    assert child["ours_built"] is False
    sent = [(decode(d)[0], span) for d in daemon.datagrams(wait=2.0) for span in spans_of(decode(d)[1])]
    [(prefix, span)] = [(p, s) for p, s in sent if s.name == paths.SELF_HEALING_ITEM_FETCH.name]
    # AWS's layer records spans of unsampled invocations (Application Signals) and marks them T1U.
    assert prefix == "T1U"
    assert span.xray_trace_id == root
