"""current_trace_id and the logging helpers, on real X-Ray, OpenTelemetry and Powertools output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import XRayDaemon, new_root, trace_header
from xray_exclusive import current_trace_id, failure_path
from xray_exclusive.logging import JsonFormatter, TraceIdFilter


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TraceIdFilter())
    logger = logging.getLogger("tests.correlation")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, out
    logger.removeHandler(handler)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_from_the_open_xray_subsegment(xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    with failure_path("lookup", namespace="Tests/Correlation"):
        monkeypatch.delenv("_X_AMZN_TRACE_ID")  # the open subsegment alone must answer
        seen.append(current_trace_id())
    assert seen == [xray.root]


def test_from_the_environment_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = new_root(), new_root()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(first, sampled=False))
    assert current_trace_id() == first  # unsampled requests still have a trace ID to correlate by
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(second, sampled=True))
    assert current_trace_id() == second


def test_from_the_active_opentelemetry_span(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.trace import TracerProvider

    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    tracer = TracerProvider(id_generator=AwsXRayIdGenerator()).get_tracer("t")
    with tracer.start_as_current_span("stream") as span:
        hex_id = f"{span.get_span_context().trace_id:032x}"
        assert current_trace_id() == f"1-{hex_id[:8]}-{hex_id[8:]}"
    assert current_trace_id() is None


def test_none_outside_any_trace(outside_lambda: None) -> None:
    assert current_trace_id() is None


@given(st.text(max_size=300))
def test_never_raises_never_invents(raw: str) -> None:
    import os

    saved = os.environ.get("_X_AMZN_TRACE_ID")
    try:
        if "\0" in raw:
            return
        os.environ["_X_AMZN_TRACE_ID"] = raw
        found = current_trace_id()
    finally:
        if saved is None:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        else:
            os.environ["_X_AMZN_TRACE_ID"] = saved
    assert found is None or found.lower() in raw.lower()


def test_stdlib_json_lines_carry_the_trace_id(
    json_log: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, out = json_log
    roots = [new_root(), new_root()]
    for root in roots:  # two warm invocations
        monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(root, sampled=True))
        logger.info("order processed", extra={"order_id": "o-1"})
    try:
        raise TimeoutError("x" * 5000)
    except TimeoutError:
        logger.exception("fetch failed")
    first, second, failed = lines(out)
    assert (first["xray_trace_id"], first["correlation_id"]) == (roots[0], roots[0])
    assert (second["xray_trace_id"], second["correlation_id"]) == (roots[1], roots[1])
    assert first["order_id"] == "o-1"
    assert first["level"] == "INFO" and first["logger"] == "tests.correlation"
    assert failed["exception_type"] == "TimeoutError"
    assert len(failed["exception"]) <= 2048
    assert failed["xray_trace_id"] == roots[1]


def test_text_format_with_the_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    root = new_root()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(root, sampled=True))
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(xray_trace_id)s %(message)s"))
    handler.addFilter(TraceIdFilter())
    logger = logging.getLogger("tests.correlation.text")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("hi")
    logger.removeHandler(handler)
    assert out.getvalue() == f"WARNING {root} hi\n"


def test_an_explicit_correlation_id_is_kept(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = json_log
    logger.info("x", extra={"correlation_id": "from-caller"})
    assert lines(out)[0]["correlation_id"] == "from-caller"


def test_powertools_logger_one_line_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools import Logger

    root = new_root()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header(root, sampled=True))
    out = io.StringIO()
    logger = Logger(service="correlation-test", logger_handler=logging.StreamHandler(out))
    logger.addFilter(TraceIdFilter())  # the one line
    logger.info("operational event")
    [line] = [json.loads(text) for text in out.getvalue().splitlines()]
    assert line["xray_trace_id"] == root  # Powertools' own field, from _X_AMZN_TRACE_ID
    assert line["correlation_id"] == root  # added by the filter


def test_logs_inside_a_traced_stream_carry_the_stream_trace(
    streaming: Any, json_log: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xray_exclusive.streaming import traced_stream

    logger, out = json_log
    monkeypatch.delenv("_X_AMZN_TRACE_ID")  # Lambda Web Adapter: the trace arrives as a header only
    root = new_root()

    def events() -> Iterator[bytes]:
        logger.info("polling")
        yield b"x"

    list(traced_stream(events(), headers={"x-amzn-trace-id": trace_header(root, sampled=True)}))
    assert lines(out)[0]["correlation_id"] == root
