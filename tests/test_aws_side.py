"""End to end on the real AWS side: the library → our collector build → moto's X-Ray API → ``BatchGetTraces``.

Two routes, as a fleet runs them:

* the streaming tracer (OpenTelemetry) → OTLP/HTTP → the collector's OTLP
  receiver → ``batch`` → the ``awsxray`` exporter → ``PutTraceSegments``;
* ``failure_path`` on the X-Ray SDK → UDP datagrams → the collector's
  ``awsxray`` receiver (the X-Ray daemon's protocol) → the same exporter.

Every assertion is on the segment documents X-Ray stored, read back with the
real ``boto3`` client. The collector and moto are real processes on loopback.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests import example_paths as paths
from tests.aws_side import Collector, MotoXRay
from tests.conftest import FUNCTION_NAME, TRACE_PARENT, _reset_tracing, new_root, trace_header
from tests.test_failure import client_error
from xray_exclusive import failure_path
from xray_exclusive.bounded import MESSAGE_LIMIT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def collector(aws_collector: Collector) -> Collector:
    return aws_collector


class _CollectorOTLP:
    """What the conftest's ``streaming`` fixture needs of an OTLP receiver: here, the real collector's."""

    def __init__(self, collector: Collector) -> None:
        self.endpoint = collector.otlp_endpoint
        self.root = ""


@pytest.fixture
def otlp(collector: Collector) -> _CollectorOTLP:
    """Overrides the loopback receiver: the streaming tracer exports to the real collector."""
    return _CollectorOTLP(collector)


@pytest.fixture
def sdk_lambda(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Lambda-like environment whose X-Ray daemon is the collector's awsxray receiver; yields the root."""
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

    root = new_root()
    for name in ("POWERTOOLS_TRACE_DISABLED", "AWS_XRAY_SDK_ENABLED", "POWERTOOLS_METRICS_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", os.getcwd())
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", collector.daemon_address)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(root, sampled=True))
    _reset_tracing()
    xray_recorder.configure(
        daemon_address=collector.daemon_address, context=LambdaContext(), streaming_threshold=0
    )
    yield root
    _reset_tracing()


def by_name(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    named: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        named.setdefault(document["name"], []).append(document)
    return named


# ----------------------------------------------------------------------------- the X-Ray SDK route


def test_sdk_failure_path_is_stored_by_xray(sdk_lambda: str, moto_xray: MotoXRay) -> None:
    error = client_error("InternalServerError", 500, message="the table is on fire " * 200)
    with pytest.raises(ClientError), failure_path(paths.CIRCUIT_BREAKER_LOAD, annotations={"ticker": "AMZN"}):
        raise error
    documents = moto_xray.wait_for([sdk_lambda], count=1)
    (document,) = by_name(documents)["circuit_breaker_load"]
    assert document["trace_id"] == sdk_lambda
    assert document["parent_id"] == TRACE_PARENT
    assert document["type"] == "subsegment"
    assert document["fault"] is True
    assert document["annotations"]["failure_path"] == "circuit_breaker_load"
    assert document["annotations"]["ticker"] == "AMZN"
    (exception,) = document["cause"]["exceptions"]
    assert exception["type"] == "ClientError"
    assert "InternalServerError" in exception["message"]
    assert len(exception["message"]) <= MESSAGE_LIMIT


# ----------------------------------------------------------------------------- the streaming route


def test_stream_is_stored_by_xray(streaming: Any, moto_xray: MotoXRay) -> None:
    from xray_exclusive.streaming import (
        annotate_poll,
        cloudwatch_span,
        dispatch_span,
        dynamodb_span,
        poll_cycle,
        traced_stream,
    )

    def events() -> Generator[bytes, None, None]:
        for poll in range(3):
            with poll_cycle() as cycle:
                with dynamodb_span("Query", "sentiment-items"):
                    pass
                annotate_poll(cycle, item_count=1, changed_count=1)
                with dispatch_span("positive"):
                    pass
                try:
                    with failure_path("metrics_emit", namespace="Test/Streaming"), cloudwatch_span():
                        if poll == 1:
                            raise TimeoutError("PutMetricData timed out")
                except TimeoutError:
                    pass
            yield b"data: x\n\n"

    stream = traced_stream(events(), name="sse_stream")
    next(stream)
    next(stream)
    with pytest.raises(BrokenPipeError):
        stream.throw(BrokenPipeError(32, "Broken pipe"))
    documents = moto_xray.wait_for([streaming.root], count=11)
    named = by_name(documents)
    assert sorted((name, len(docs)) for name, docs in named.items()) == [
        ("CloudWatch", 2),
        ("DynamoDB", 2),
        ("dispatch_event", 2),
        ("metrics_emit", 2),
        ("poll_cycle", 2),  # the third poll never ran: the client had gone
        ("sse_stream", 1),
    ]
    assert {d["trace_id"] for d in documents} == {streaming.root}
    assert all(d["type"] == "subsegment" for d in documents)
    ids = {d["id"]: d for d in documents}
    (stream,) = named["sse_stream"]
    assert stream["parent_id"] == TRACE_PARENT  # the Lambda's own segment, from _X_AMZN_TRACE_ID
    assert stream["annotations"]["client.disconnected"] is True  # indexed: searchable in X-Ray
    assert not (stream["fault"] or stream["error"]), "a client going away is not a fault"
    for poll in named["poll_cycle"]:
        assert poll["parent_id"] == stream["id"]
        assert poll["annotations"] == {"item_count": 1, "changed_count": 1}
    for dynamodb in named["DynamoDB"]:
        assert dynamodb["namespace"] == "aws"
        assert dynamodb["aws"]["operation"] == "Query"
        assert dynamodb["aws"]["table_name"] == "sentiment-items"
        assert ids[dynamodb["parent_id"]]["name"] == "poll_cycle"
    for cloudwatch in named["CloudWatch"]:
        assert cloudwatch["namespace"] == "aws"
        assert cloudwatch["aws"]["operation"] == "PutMetricData"
        assert ids[cloudwatch["parent_id"]]["name"] == "metrics_emit"
    assert [d["annotations"]["event_type"] for d in named["dispatch_event"]] == ["positive", "positive"]
    clean, failed = sorted(named["metrics_emit"], key=lambda d: d["start_time"])
    assert not clean["fault"] and "cause" not in clean
    assert failed["fault"] is True and not failed["error"] and not failed["throttle"]
    assert failed["annotations"]["failure_path"] == "metrics_emit"
    (exception,) = failed["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("TimeoutError", "PutMetricData timed out")
    assert exception["stack"][0]["path"].endswith("test_aws_side.py")
    assert failed["metadata"]["xray_exclusive"]["failure"]["classification"] == "fault"


# ----------------------------------------------------------------------------- one failure, two routes

FAILURES = {
    "fault": client_error("InternalServerError", 500, message="the table is on fire"),
    "error": client_error("AccessDeniedException", 403, message="not allowed"),
    "throttle": client_error("ProvisionedThroughputExceededException", 400, message="slow down"),
}


def _otel_failure(kind: str, collector: Collector, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same failure on the OpenTelemetry backend, exported through the collector; returns its root."""
    from xray_exclusive.streaming import flush, get_streaming_tracer, reset_streaming_tracer

    root = new_root()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(root, sampled=True))
    monkeypatch.setenv("OTEL_SERVICE_NAME", FUNCTION_NAME)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", FUNCTION_NAME)
    reset_streaming_tracer()
    get_streaming_tracer(endpoint=collector.otlp_endpoint)
    try:
        with (
            pytest.raises(ClientError),
            failure_path(paths.AUDIT_TRAIL_PERSIST, annotations={"ticker": "AMZN"}, backend="otel"),
        ):
            raise FAILURES[kind]
        assert flush().complete
    finally:
        reset_streaming_tracer()
    return root


# What each route stores for the three classifications: (fault, error, throttle). The OpenTelemetry
# route keeps all three. The collector's awsxray receiver ignores a subsegment's error/throttle/fault
# flags and derives the status from its cause, so without an HTTP block every failure is a fault there;
# Lambda's own X-Ray daemon forwards the SDK's document unchanged (error and throttle kept), which the
# UDP tests of test_failure.py assert on the datagrams themselves.
MARKS = {
    "otel": {"fault": (True, False, False), "error": (False, True, False), "throttle": (False, True, True)},
    "sdk-through-awsxray-receiver": {
        "fault": (True, False, False),
        "error": (True, False, False),
        "throttle": (True, False, False),
    },
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_both_backends_store_the_same_subsegment(
    kind: str, sdk_lambda: str, collector: Collector, moto_xray: MotoXRay, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ClientError), failure_path(paths.AUDIT_TRAIL_PERSIST, annotations={"ticker": "AMZN"}):
        raise FAILURES[kind]
    otel_root = _otel_failure(kind, collector, monkeypatch)
    stored = {d["trace_id"]: d for d in moto_xray.wait_for([sdk_lambda, otel_root], count=2)}
    sdk, otel = stored[sdk_lambda], stored[otel_root]

    for document in (sdk, otel):
        assert document["name"] == "audit_trail_persist"
        assert document["type"] == "subsegment"
        assert document["parent_id"] == TRACE_PARENT
    assert (
        sdk["annotations"] == otel["annotations"] == {"failure_path": "audit_trail_persist", "ticker": "AMZN"}
    )
    assert sdk["metadata"]["xray_exclusive"] == otel["metadata"]["xray_exclusive"]
    assert sdk["metadata"]["xray_exclusive"]["failure"]["classification"] == kind
    (sdk_exception,) = sdk["cause"]["exceptions"]
    (otel_exception,) = otel["cause"]["exceptions"]
    for field in ("type", "message"):
        assert sdk_exception[field] == otel_exception[field]
    assert otel_exception["message"].startswith(
        f"An error occurred ({FAILURES[kind].response['Error']['Code']})"
    )

    marks = lambda d: (d["fault"], d["error"], d["throttle"])  # noqa: E731
    assert marks(otel) == MARKS["otel"][kind]
    assert marks(sdk) == MARKS["sdk-through-awsxray-receiver"][kind]
    if kind != "fault":
        assert otel["http"]["response"]["status"] == (429 if kind == "throttle" else 403)


# ----------------------------------------------------------------------------- losses, counted exactly


def _invocation(streaming: Any, monkeypatch: pytest.MonkeyPatch, polls: int) -> tuple[str, Any]:
    """One streamed invocation of ``polls`` polls (each a poll_cycle and a DynamoDB span) on a new trace."""
    from xray_exclusive.streaming import dynamodb_span, get_streaming_tracer, poll_cycle, traced_stream

    root = new_root()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(root, sampled=True))
    tracer = get_streaming_tracer()
    before = (tracer.exported_spans, tracer.failed_spans, tracer.dropped_spans)

    def events() -> Generator[bytes, None, None]:
        for _ in range(polls):
            with poll_cycle(), dynamodb_span("Query", "sentiment-items"):
                pass
            yield b"data: x\n\n"

    assert len(list(traced_stream(events(), name="sse_stream"))) == polls
    after = (tracer.exported_spans, tracer.failed_spans, tracer.dropped_spans)
    return root, tuple(a - b for a, b in zip(after, before, strict=True))


def test_losses_counted_equal_what_xray_is_missing(
    streaming: Any, collector: Collector, moto_xray: MotoXRay, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls = 5
    spans = 1 + 2 * polls  # sse_stream, then a poll_cycle and a DynamoDB span per poll
    roots: dict[str, tuple[str, Any]] = {}
    roots["up"] = _invocation(streaming, monkeypatch, polls)
    collector.stop()
    try:
        roots["stopped"] = _invocation(streaming, monkeypatch, polls)
    finally:
        collector.start()
    roots["restarted"] = _invocation(streaming, monkeypatch, polls)
    collector.pause()
    try:
        roots["frozen"] = _invocation(streaming, monkeypatch, polls)
    finally:
        collector.resume()
    roots["resumed"] = _invocation(streaming, monkeypatch, polls)

    for phase, (root, (exported, failed, dropped)) in roots.items():
        stored = len(moto_xray.wait_for([root], count=spans if exported else 1, timeout=3 if failed else 15))
        assert exported + failed + dropped == spans, phase
        assert stored == exported, f"{phase}: the library counted {exported} exported, X-Ray has {stored}"
        assert spans - stored == failed + dropped, (
            f"{phase}: {spans - stored} missing, {failed + dropped} counted"
        )
    assert roots["stopped"][1][1] == spans  # every span of the stream while the collector was down
    assert roots["frozen"][1][1] == spans


# ----------------------------------------------------------------------------- the demo on the real collector


def test_demo_through_the_real_collector(tmp_path: Any) -> None:
    import subprocess
    import sys

    from tests.aws_side import peer_binary

    binary = peer_binary("collector")
    result = subprocess.run(
        [sys.executable, "-m", "xray_exclusive.cli", "demo", "--collector", str(binary)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"collector: {binary} (the real build)" in out
    assert "4 traces in" in out
    # What the real exporter stored: the stream's disconnect indexed, DynamoDB in the aws namespace, the
    # SendGrid 429 as error+throttle (it has an HTTP status), the breaker's load failure with its cause.
    assert '"client.disconnected":true' in out
    assert "DynamoDB [aws]" in out
    assert "sendgrid [remote]" in out and "error+throttle HTTP 429" in out
    assert "circuit_breaker_load [local]" in out
    assert "cause: ClientError: An error occurred (ProvisionedThroughputExceededException)" in out
    assert "awsxray receiver" in out  # the note on marks that only Lambda's own daemon keeps
    assert (tmp_path / "xray-exclusive-demo.html").is_file()


def test_demo_without_a_built_collector_says_how_to_build_one(tmp_path: Any) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "xray_exclusive.cli", "demo", "--collector"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PATH": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 3  # could not run
    assert "scripts/build-peers collector" in result.stderr
    assert "Traceback" not in result.stderr
