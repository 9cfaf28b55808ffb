"""CloudWatch names and values, canary and batch-processor settings, loss accounting under threads.

Reference cases restated as data (never their code):

* awslabs/aws-embedded-metrics-python ``tests/logger/test_metrics_context.py``
  (``test_add_invalid_dimensions_raises_exception``, ``test_put_invalid_metric_raises_exception``) and its
  ``aws_embedded_metrics/validator.py`` rules;
* awslabs/aws-embedded-metrics-node ``Constants`` (``MAX_DIMENSION_NAME_LENGTH = 250``,
  ``MAX_METRIC_VALUE`` = 2^360, ``VALID_NAMESPACE_REGEX = '^[a-zA-Z0-9._#:/-]+$'``) and its MetricsContext
  tests ("setNamespace with invalid namespace", "setNamespace with valid namespace");
* CloudWatch's "Specification: Embedded metric format" (the document structure ``tests/emf_spec.py`` checks).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests import emf_spec
from tests import example_paths as paths
from xray_exclusive import _cw_names, _env
from xray_exclusive._emf import DEFAULT_NAMESPACE, render_line
from xray_exclusive.canary import CanaryConfig, ConfigurationError
from xray_exclusive.paths import FailurePath
from xray_exclusive.streaming._export import AccountingSpanProcessor

NOW = int(time.time() * 1000)

# test_add_invalid_dimensions_raises_exception: (name, value) pairs every EMF library refuses.
INVALID_DIMENSIONS = [
    (None, "value"),
    ("", "value"),
    (" ", "value"),
    ("a" * 251, "value"),  # MAX_DIMENSION_NAME_LENGTH + 1
    ("ḓɨɱɛɳʂɨøɳ", "value"),
    (":dim", "value"),
    ("dim", ""),
    ("dim", " "),
    ("dim", "a" * 1025),  # MAX_DIMENSION_VALUE_LENGTH + 1
    ("dim", "ṽɑɭʊɛ"),
]


@pytest.mark.parametrize(("name", "value"), INVALID_DIMENSIONS)
def test_the_emf_library_invalid_dimensions_are_refused_at_construction(name: Any, value: Any) -> None:
    with pytest.raises(ValueError, match="dimension"):
        FailurePath("ok", dimensions={name: value})


def test_dimension_names_of_250_characters_are_fine_and_the_line_is_valid() -> None:
    path = FailurePath("ok", namespace="Tests/Limits", dimensions={"d" * 250: "v" * 1024})
    emf_spec.validate(json.loads(render_line(path, 1, NOW)))


# aws-embedded-metrics-node MetricsContext tests: setNamespace with invalid namespace ...
INVALID_NAMESPACES = [
    "",
    " ",
    "a" * 257,
    "àẁş/ćļốṹḓⱳầƭḉⱨ",
    "namespace ",
    "Shop\x07Data",
    ":Shop",
    "AWS/Lambda",
]
# ... and with a valid one.
VALID_NAMESPACE = "1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_/#:"


@pytest.mark.parametrize("namespace", INVALID_NAMESPACES)
def test_the_emf_library_invalid_namespaces_are_refused(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="namespace"):
        FailurePath("ok", namespace=namespace)
    if namespace != "namespace ":  # variables are stripped of surrounding spaces: that one is fine there
        with pytest.raises(ConfigurationError, match="CANARY_NAMESPACE"):
            CanaryConfig.from_env({"CANARY_NAMESPACE": namespace or "\x01"})
    # POWERTOOLS_METRICS_NAMESPACE cannot raise (it is read at every failure): the default, with a warning.
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", namespace or "\x01")
    doc = json.loads(render_line(FailurePath("ok"), 1, NOW))
    emf_spec.validate(doc)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] in (DEFAULT_NAMESPACE, namespace.strip())


def test_the_emf_library_valid_namespace_is_accepted() -> None:
    path = FailurePath("ok", namespace=VALID_NAMESPACE)
    emf_spec.validate(json.loads(render_line(path, 1, NOW)))
    assert CanaryConfig.from_env({"CANARY_NAMESPACE": VALID_NAMESPACE}).namespace == VALID_NAMESPACE


def test_the_largest_value_is_the_emf_library_constant() -> None:
    assert _cw_names.MAX_METRIC_VALUE == 2.3485425827738332e108  # Constants.MAX_METRIC_VALUE


# test_put_invalid_metric_raises_exception's values: the library refuses them; a failure count must never be
# lost, so here the line is written with a value CloudWatch accepts, and a WARNING says why.
@pytest.mark.parametrize(
    ("count", "written"),
    [
        (float("inf"), 1),
        (float("-inf"), 1),
        (float("nan"), 1),
        (math.inf, 1),
        (10**400, 2.0**360),  # would be written as 401 digits CloudWatch cannot store
        (10**5000, 2.0**360),  # repr() of it raises in CPython (more than 4,300 digits)
        (1e300, 2.0**360),
        (-(10**400), -(2.0**360)),
        (7, 7),
        (2.5, 2.5),
        (True, 1),
    ],
    ids=["inf", "-inf", "nan", "math.inf", "10**400", "10**5000", "1e300", "-10**400", "7", "2.5", "True"],
)
def test_fail_count_is_always_written_within_cloudwatch_range(
    count: Any, written: float, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="xray_exclusive.metrics"):
        line = render_line(paths.AUDIT_TRAIL_PERSIST, count, NOW)
    doc = json.loads(line)
    emf_spec.validate(doc)
    assert doc["AuditEventPersistenceFailure"] == written
    assert ("AuditEventPersistenceFailure" in caplog.text) == (written != count or count is True)


@given(
    st.text(max_size=300),
    st.dictionaries(st.text(max_size=260), st.text(max_size=1030), max_size=3),
    st.one_of(st.integers(), st.floats(), st.just(10**4400)),
)
def test_anything_a_failure_path_accepts_gives_a_line_cloudwatch_extracts(
    namespace: str, dimensions: dict[str, str], count: Any
) -> None:
    try:
        path = FailurePath("hostile", namespace=namespace, dimensions=dimensions)
    except ValueError:
        return
    emf_spec.validate(json.loads(render_line(path, count, NOW)))


# -- canary: values that could only fail later are refused at start-up -----------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CANARY_METRIC_DELAY", "1e300"),  # time.sleep(1e300) overflows at run time
        ("CANARY_METRIC_DELAY", "nan"),
        ("CANARY_METRIC_DELAY", "901"),  # longer than any invocation
        ("CANARY_METRIC_WINDOW", "0"),
        ("CANARY_METRIC_WINDOW", "inf"),
        ("CANARY_RETRIEVAL_DELAYS", "30,1e300"),
        ("CANARY_NAMESPACE", "Canary\x07Bell"),
        ("CANARY_NAMESPACE", ":Canary"),
        ("CANARY_WEBHOOK_URL", "http://alerts.example.com/hook"),
        ("CANARY_WEBHOOK_URL", "https://"),
        ("CANARY_SNS_TOPIC_ARN", "alerts"),
        ("CANARY_SNS_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:alerts"),
        ("CANARY_SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:1234:alerts"),
    ],
)
def test_canary_values_that_can_only_fail_later_are_refused_naming_the_variable(
    variable: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"^{variable}="):
        CanaryConfig.from_env({variable: value})


def test_canary_accepts_what_will_work() -> None:
    config = CanaryConfig.from_env(
        {
            "CANARY_METRIC_DELAY": "0",
            "CANARY_METRIC_WINDOW": "900",
            "CANARY_SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:xray-canary-alerts",
            "CANARY_WEBHOOK_URL": "https://events.pagerduty.com/v2/enqueue",
        }
    )
    assert config.metric_window == 900
    assert CanaryConfig(webhook_url="http://127.0.0.1:9/hook").webhook_url  # a local receiver
    assert CanaryConfig(sns_topic_arn="arn:aws-cn:sns:cn-north-1:123456789012:a.fifo").sns_topic_arn
    with pytest.raises(ConfigurationError, match="metric_delay"):
        CanaryConfig(metric_delay=1e300)  # explicit arguments too


# -- the batch span processor's settings ---------------------------------------------------------


def test_bsp_values_out_of_range_fall_back_and_explicit_ones_raise(caplog: pytest.LogCaptureFixture) -> None:
    env = {"OTEL_BSP_SCHEDULE_DELAY": "99999999999999", "OTEL_BSP_MAX_QUEUE_SIZE": "0"}
    with caplog.at_level(logging.WARNING, logger="xray_exclusive"):
        assert _env.OTEL_BSP_SCHEDULE_DELAY.get(env) is None  # the default (1000 ms)
        assert _env.OTEL_BSP_MAX_QUEUE_SIZE.get(env) is None
    assert "OTEL_BSP_SCHEDULE_DELAY" in caplog.text
    with pytest.raises(ValueError, match="OTEL_BSP_SCHEDULE_DELAY='99999999999999' is invalid"):
        _env.OTEL_BSP_SCHEDULE_DELAY.require(env)
    assert _env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE.get({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "9" * 5000}) is None
    # The largest accepted delay still runs the SDK's worker (a larger one raised OverflowError in it).
    assert threading.TIMEOUT_MAX > 3_600_000 / 1000
    processor = BatchSpanProcessor(InMemorySpanExporter(), schedule_delay_millis=3_600_000)
    try:
        assert processor._batch_processor._worker_thread.is_alive()
    finally:
        processor.shutdown()


def test_explicit_bsp_arguments_out_of_range_raise(streaming: Any) -> None:
    from xray_exclusive.streaming import ConfigurationError as StreamingConfigurationError
    from xray_exclusive.streaming import get_streaming_tracer

    with pytest.raises(StreamingConfigurationError, match="schedule_delay_millis must be an int from 1"):
        get_streaming_tracer(schedule_delay_millis=99999999999999)


# -- loss accounting under threads ----------------------------------------------------------------


class _SlowExporter(InMemorySpanExporter):
    """A real in-memory exporter that takes a little time, so the queue overflows while it works."""

    def export(self, spans: Any) -> Any:
        time.sleep(0.001)
        return super().export(spans)


@pytest.mark.slow
def test_spans_created_equal_received_plus_reported_lost_under_eight_threads() -> None:
    exporter = _SlowExporter()
    batch = BatchSpanProcessor(exporter, max_queue_size=64, max_export_batch_size=16, schedule_delay_millis=1)
    processor = AccountingSpanProcessor(batch)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("accounting")
    per_thread, threads = 5_000, 8

    def work() -> None:
        for _ in range(per_thread):
            tracer.start_span("s").end()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    processor.force_flush()
    created = per_thread * threads
    received = len(exporter.get_finished_spans())
    assert processor.ended == created
    assert processor.dropped > 0  # the test did overflow the queue
    assert received + processor.dropped == created, (received, processor.dropped)
    provider.shutdown()


# -- sanitize_url never raises ----------------------------------------------------------------------


class _Raises:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class _OddStr(str):
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __hash__(self) -> int:
        raise RuntimeError("no hash")


@given(st.one_of(st.text(max_size=300), st.binary(max_size=50), st.integers(), st.none()))
def test_sanitize_url_never_raises(value: object) -> None:
    from xray_exclusive.http import sanitize_url

    assert isinstance(sanitize_url(value), str)


def test_sanitize_url_survives_objects_whose_text_raises() -> None:
    from xray_exclusive.http import sanitize_url

    assert sanitize_url(_Raises()) == "<unparseable URL>"
    assert sanitize_url(_OddStr("https://user:pw@api.example/v3/send?key=1")) == "https://api.example/v3/send"
