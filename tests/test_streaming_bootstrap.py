"""get_streaming_tracer(): one provider per process, settings precedence, and the guards."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from typing import Any

import pytest
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

from tests.conftest import REGION, SSE_FUNCTION, SSE_SERVICE
from xray_exclusive.streaming import (
    DEFAULT_ENDPOINT,
    ConfigurationError,
    get_streaming_tracer,
    poll_cycle,
    reset_streaming_tracer,
    traced_stream,
)


def _bsp_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "OtelBatchSpanRecordProcessor")


def test_built_once_even_when_many_threads_race(streaming: Any) -> None:
    before = _bsp_threads()
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def build() -> None:
        barrier.wait()
        results.append(get_streaming_tracer())

    threads = [threading.Thread(target=build) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1
    assert _bsp_threads() == before + 1
    st = results[0]
    assert st.provider._atexit_handler is None  # shutdown_on_exit=False (FR-077)
    assert isinstance(st.provider.id_generator, AwsXRayIdGenerator)
    assert "ParentBased{root:AlwaysOnSampler" in st.provider.sampler.get_description()
    assert "remoteParentNotSampled:AlwaysOffSampler" in st.provider.sampler.get_description()


def test_lambda_tuned_defaults(streaming: Any) -> None:
    settings = get_streaming_tracer().settings
    assert (settings.schedule_delay_millis, settings.max_queue_size, settings.max_export_batch_size) == (
        1000,
        1500,
        64,
    )
    assert settings.endpoint == streaming.endpoint
    assert settings.export_timeout_s == 0.5
    assert settings.flush_budget_ms == 5000
    assert settings.service_name == SSE_SERVICE
    batch = get_streaming_tracer().processor.processor._batch_processor
    assert (batch._schedule_delay_millis, batch._max_queue_size, batch._max_export_batch_size) == (
        1000,
        1500,
        64,
    )


def test_arguments_win_over_environment_which_wins_over_defaults(
    streaming: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "2000")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "250")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "not-a-number")
    settings = get_streaming_tracer(max_queue_size=3000).settings
    assert settings.max_queue_size == 3000  # argument
    assert settings.schedule_delay_millis == 250  # environment
    assert settings.max_export_batch_size == 64  # malformed environment: the default


def test_endpoint_precedence(streaming: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    assert get_streaming_tracer().settings.endpoint == DEFAULT_ENDPOINT
    reset_streaming_tracer()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert get_streaming_tracer().settings.endpoint == "http://collector:4318/v1/traces"
    reset_streaming_tracer()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom")
    assert get_streaming_tracer().settings.endpoint == "http://collector:4318/custom"


def test_later_calls_with_other_settings_warn(streaming: Any, caplog: pytest.LogCaptureFixture) -> None:
    first = get_streaming_tracer()
    with caplog.at_level(logging.WARNING, logger="xray_exclusive.streaming"):
        assert get_streaming_tracer(max_queue_size=10) is first
    assert "already built" in caplog.text and "max_queue_size" in caplog.text


def test_export_timeout_in_milliseconds_by_mistake_is_capped(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "10000")  # the spec's unit; Python reads seconds
    with caplog.at_level(logging.WARNING, logger="xray_exclusive.streaming"):
        settings = get_streaming_tracer().settings
    assert settings.export_timeout_s == 5.0
    assert "seconds, not milliseconds" in caplog.text


def test_batch_larger_than_queue_is_refused(streaming: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_export_batch_size"):
        get_streaming_tracer(max_queue_size=10, max_export_batch_size=64)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTEL_SERVICE_NAME": None}, "OTEL_SERVICE_NAME is not set"),
        ({"OTEL_SERVICE_NAME": "other"}, "differs from POWERTOOLS_SERVICE_NAME"),
        ({"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"}, "AWS_LAMBDA_EXEC_WRAPPER"),
        ({"OTEL_TRACES_SAMPLER": "always_on"}, "always_on"),
    ],
)
def test_guards_refuse_broken_setups(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None], message: str
) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        get_streaming_tracer()


@pytest.mark.parametrize("sampler", [ALWAYS_ON, ParentBased(ALWAYS_ON, remote_parent_not_sampled=ALWAYS_ON)])
def test_always_on_sampler_is_refused(streaming: Any, sampler: Any) -> None:
    with pytest.raises(ConfigurationError, match="creates spans for unsampled"):
        get_streaming_tracer(sampler=sampler)


def test_other_samplers_are_accepted(streaming: Any) -> None:
    st = get_streaming_tracer(sampler=ParentBased(TraceIdRatioBased(0.5)))
    assert "TraceIdRatioBased" in st.provider.sampler.get_description()


def test_otel_propagators_is_ignored_with_a_warning(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_PROPAGATORS", "tracecontext")
    with caplog.at_level(logging.WARNING, logger="xray_exclusive.streaming"):
        get_streaming_tracer()
    assert "OTEL_PROPAGATORS='tracecontext' is ignored" in caplog.text
    from opentelemetry.propagate import get_global_textmap
    from opentelemetry.propagators.aws import AwsXRayLambdaPropagator

    assert isinstance(get_global_textmap(), AwsXRayLambdaPropagator)


def test_botocore_instrumented_by_opentelemetry_is_refused(streaming: Any) -> None:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument()
    try:
        with pytest.raises(ConfigurationError, match="botocore is instrumented"):
            get_streaming_tracer()
    finally:
        instrumentor.uninstrument()
    assert get_streaming_tracer() is not None  # uninstrumented: accepted


_AUTO_PATCH_SCRIPT = """
import os
os.environ.update(LAMBDA_TASK_ROOT="/tmp", OTEL_SERVICE_NAME="svc", POWERTOOLS_SERVICE_NAME="svc")
from xray_exclusive.streaming import ConfigurationError, get_streaming_tracer, traced_stream
{setup}
try:
    {action}
except ConfigurationError as exc:
    print("REFUSED", exc)
else:
    print("ACCEPTED")
"""


@pytest.mark.parametrize(
    ("setup", "action", "expected"),
    [
        ("from aws_lambda_powertools import Tracer; Tracer()", "get_streaming_tracer()", "REFUSED"),
        (
            "from aws_lambda_powertools import Tracer; Tracer(auto_patch=False)",
            "get_streaming_tracer()",
            "ACCEPTED",
        ),
        (
            "get_streaming_tracer(); from aws_lambda_powertools import Tracer; Tracer()",
            "list(traced_stream(iter([b'x'])))",
            "REFUSED",
        ),
    ],
)
def test_powertools_auto_patch_of_requests_is_refused(setup: str, action: str, expected: str) -> None:
    # A subprocess: the X-Ray SDK cannot unpatch `requests`, and must not leak into other tests.
    script = _AUTO_PATCH_SCRIPT.format(setup=setup, action=action)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith(expected), result.stdout + result.stderr
    if expected == "REFUSED":
        assert "auto_patch=False" in result.stdout


def test_resource_names_the_service_and_the_function(streaming: Any) -> None:
    with poll_cycle():
        pass
    list(traced_stream(iter([b"x"])))
    span = streaming.wait_for(2)[0]
    assert span.resource["service.name"] == SSE_SERVICE
    assert span.resource["faas.name"] == SSE_FUNCTION
    assert span.resource["cloud.region"] == REGION
    assert span.resource["cloud.provider"] == "aws"
    assert span.resource["telemetry.sdk.language"] == "python"


def test_outside_lambda_the_resource_detector_is_skipped_quietly(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    monkeypatch.delenv("AWS_REGION")
    with caplog.at_level(logging.WARNING):
        st = get_streaming_tracer()
    assert "AwsLambdaResourceDetector failed" not in caplog.text
    assert st.provider.resource.attributes["service.name"] == SSE_SERVICE
    assert "faas.name" not in st.provider.resource.attributes


def test_the_propagators_warning_is_given_once_not_per_stream(
    streaming: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_PROPAGATORS", "xray")
    with caplog.at_level(logging.WARNING, logger="xray_exclusive.streaming"):
        for _ in range(3):
            list(traced_stream(iter([b"x"])))
    assert caplog.text.count("OTEL_PROPAGATORS") == 1
