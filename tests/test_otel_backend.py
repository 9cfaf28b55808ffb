"""failure_path on OpenTelemetry: the same subsegment as the X-Ray SDK backend, sent through OTLP."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests import example_paths as paths
from tests.conftest import TRACE_PARENT, XRayDaemon, trace_header
from xray_exclusive import failure_path
from xray_exclusive.streaming import flush, traced_stream

STATUS_ERROR = 2


def throttled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "BatchWriteItem",
    )


def _fail(backend: str | None, exc: BaseException) -> None:
    try:
        with failure_path(
            paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": "AAPL"}, backend=backend
        ):
            raise exc
    except type(exc):
        pass


@pytest.mark.parametrize(
    ("exc", "marks", "http_status"),
    [
        (throttled, {"error": True, "throttle": True}, 429),
        (lambda: ConnectionError("dynamodb unreachable"), {"fault": True}, None),
    ],
)
def test_same_subsegment_as_the_xray_backend(
    xray: XRayDaemon,
    streaming: Any,
    monkeypatch: pytest.MonkeyPatch,
    exc: Any,
    marks: dict[str, bool],
    http_status: int | None,
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(xray.root, sampled=True))
    _fail(None, exc())  # the default: X-Ray SDK
    _fail("otel", exc())
    assert flush().exported == 1

    sub = xray.one(paths.TIMESERIES_FANOUT_BATCH_WRITE.name)
    span = streaming.one(paths.TIMESERIES_FANOUT_BATCH_WRITE.name)
    # Same trace, same parent.
    assert span.xray_trace_id == sub["trace_id"] == xray.root
    assert span.parent_span_id == sub["parent_id"] == TRACE_PARENT
    # Marks: what the X-Ray SDK sets, and what the awsxray exporter derives from status + HTTP code.
    assert {k: sub[k] for k in ("error", "throttle", "fault") if k in sub} == marks
    assert span.status_code == STATUS_ERROR
    assert span.attributes.get("http.response.status_code") == http_status
    # Cause: same type and bounded message.
    [xray_exc] = sub["cause"]["exceptions"]
    [(event_name, event)] = span.events
    assert event_name == "exception"
    assert event["exception.type"] == xray_exc["type"]
    assert event["exception.message"] == xray_exc["message"]
    frames = [line for line in event["exception.stacktrace"].splitlines() if line.startswith('  File "')]
    assert len(frames) == len(xray_exc["stack"])
    # Annotations: the same keys, indexed.
    indexed = set(span.attributes["aws.xray.annotations"])
    assert indexed == set(sub["annotations"])
    assert {k: span.attributes[k] for k in indexed} == sub["annotations"]
    # Metadata: the same document.
    otel_meta = json.loads(span.attributes["aws.xray.metadata.xray_exclusive"])
    assert otel_meta == sub["metadata"]["xray_exclusive"]


def test_environment_selects_the_otel_backend(streaming: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", "otel")
    with failure_path(paths.AUDIT_TRAIL_PERSIST) as fp:
        fp.fail("audit table unavailable")
    flush()
    span = streaming.one(paths.AUDIT_TRAIL_PERSIST.name)
    assert span.attributes["http.response.status_code"] == 400  # fail() marks error, as on X-Ray
    assert span.events[0][1]["exception.type"] == paths.AUDIT_TRAIL_PERSIST.metric
    assert span.events[0][1]["exception.message"] == "audit table unavailable"
    assert span.xray_trace_id == streaming.root


def test_inside_a_traced_stream_failure_path_uses_opentelemetry(
    xray: XRayDaemon, streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(xray.root, sampled=True))

    def events() -> Generator[bytes, None, None]:
        try:
            with failure_path(paths.SELF_HEALING_ITEM_FETCH, annotations={"source_id": "n#1"}):
                raise TimeoutError("fetch")
        except TimeoutError:
            pass
        yield b"data: x\n\n"

    list(traced_stream(events()))
    assert xray.documents() == []  # FR-060: no X-Ray SDK during the streaming phase
    connection = streaming.one("sse_stream")
    span = streaming.one(paths.SELF_HEALING_ITEM_FETCH.name)
    assert span.parent_span_id == connection.span_id
    assert span.attributes["source_id"] == "n#1"


def test_unknown_backend_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown tracing backend 'jaeger'"):
        failure_path("x", namespace="A/B", backend="jaeger")
