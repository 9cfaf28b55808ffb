"""The EMF lines themselves: CloudWatch's documented structure, dimensions, namespaces, the disable switch."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests import emf_spec
from tests import example_paths as paths
from xray_exclusive import FailurePath, _metrics, failure_path
from xray_exclusive._emf import DEFAULT_NAMESPACE, emf_line, emit_failure, render_line
from xray_exclusive._env import CANARY_NAMESPACE


class ListSink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_LAMBDA_FUNCTION_NAME",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_METRICS_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("path", paths.ALL, ids=lambda p: p.name)
def test_every_catalogued_line_meets_the_emf_spec(path: FailurePath, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "analysis")
    now = int(time.time() * 1000)
    doc = json.loads(render_line(path, 1, now))
    emf_spec.validate(doc)
    assert doc["_aws"]["Timestamp"] == now
    assert doc["Lambda"] == "analysis"
    assert doc[path.metric] == 1
    assert "service" not in doc  # unlike Powertools' single_metric


def test_lambda_dimension_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    def lambda_value() -> str:
        return json.loads(render_line(paths.AUDIT_TRAIL_PERSIST, 1, int(time.time() * 1000)))["Lambda"]

    assert lambda_value() == "unknown"
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sentiment")
    assert lambda_value() == "sentiment"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ingestion-prod")
    assert lambda_value() == "ingestion-prod"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "   ")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sérvice\n")
    value = lambda_value()
    assert value == "s_rvice"  # CloudWatch dimension values are printable ASCII
    emf_spec.validate(json.loads(render_line(paths.AUDIT_TRAIL_PERSIST, 1, int(time.time() * 1000))))


def test_namespace_of_user_paths(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    path = FailurePath("payment_capture")

    def namespace() -> str:
        return json.loads(render_line(path, 1, int(time.time() * 1000)))["_aws"]["CloudWatchMetrics"][0][
            "Namespace"
        ]

    assert namespace() == DEFAULT_NAMESPACE
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    assert namespace() == "Shop"
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", ":bad")
    assert namespace() == DEFAULT_NAMESPACE
    assert "Ignoring POWERTOOLS_METRICS_NAMESPACE" in caplog.text
    # the catalogue ignores the env: its namespaces are fixed by the spec
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    line = json.loads(render_line(paths.CIRCUIT_BREAKER_LOAD, 1, int(time.time() * 1000)))
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SentimentAnalyzer/Reliability"


def test_an_invalid_env_namespace_is_warned_once_per_value(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import emf_lines

    path = FailurePath("payment_capture")

    def fail_twice() -> list[str]:
        caplog.clear()
        for _ in range(2):
            with pytest.raises(ConnectionError), failure_path(path, backend="native"):
                raise ConnectionError("down")
        lines = emf_lines(capsys.readouterr().out)
        assert [line[path.metric] for line in lines] == [1, 1]
        return [line["_aws"]["CloudWatchMetrics"][0]["Namespace"] for line in lines]

    def warnings() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if "Ignoring POWERTOOLS_METRICS_NAMESPACE" in r.getMessage()
        ]

    with caplog.at_level("WARNING", "xray_exclusive"):
        assert fail_twice() == [DEFAULT_NAMESPACE] * 2  # unset (the validation is redone at each change)
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", ":bad")
        assert fail_twice() == [DEFAULT_NAMESPACE] * 2
        assert len(warnings()) == 1  # not one per failure
        assert fail_twice() == [DEFAULT_NAMESPACE] * 2
        assert warnings() == []  # the same value: validated once
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "AWS/Lambda")  # another invalid value
        assert fail_twice() == [DEFAULT_NAMESPACE] * 2
        assert len(warnings()) == 1
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop/Payments")  # a valid one: used at once
        assert fail_twice() == ["Shop/Payments"] * 2
        assert warnings() == []
        monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
        assert fail_twice() == [DEFAULT_NAMESPACE] * 2
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", ":bad")  # set again after a change: warned again
        assert fail_twice() == [DEFAULT_NAMESPACE] * 2
        assert len(warnings()) == 1


def test_the_env_namespace_is_honoured_without_the_bytes_environ(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from xray_exclusive import _emf

    monkeypatch.setattr(_emf, "_ENVIRON", None)  # an interpreter without os.environ._data
    path = FailurePath("payment_capture")

    def namespace() -> str:
        return json.loads(render_line(path, 1, int(time.time() * 1000)))["_aws"]["CloudWatchMetrics"][0][
            "Namespace"
        ]

    with caplog.at_level("WARNING", "xray_exclusive"):
        assert namespace() == DEFAULT_NAMESPACE
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", ":bad")
        assert [namespace(), namespace()] == [DEFAULT_NAMESPACE] * 2
        assert caplog.text.count("Ignoring POWERTOOLS_METRICS_NAMESPACE") == 1
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
        assert namespace() == "Shop"


@pytest.mark.parametrize(("raw", "written"), [("true", 0), ("1", 0), ("false", 1), ("", 1), ("maybe", 1)])
def test_disable_switch(raw: str, written: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", raw)
    sink = ListSink()
    emit_failure(paths.CIRCUIT_BREAKER_LOAD, 1, sink)
    assert len(sink.lines) == written


def test_powertools_dev_alone_does_not_disable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    sink = ListSink()
    emit_failure(paths.CIRCUIT_BREAKER_LOAD, 1, sink)
    assert len(sink.lines) == 1


def test_values_and_special_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    path = FailurePath("quote_path", metric='Quote"Metric', namespace="A/B#c:d", dimensions={"K\\ey": 'v"al'})
    sink = ListSink()
    emit_failure(path, 2.5, sink)
    doc = json.loads(sink.lines[0])
    emf_spec.validate(doc)
    assert doc['Quote"Metric'] == 2.5
    assert doc["K\\ey"] == 'v"al'


def test_the_stdout_sink_writes_one_flushed_line(capfd: pytest.CaptureFixture[str]) -> None:
    from xray_exclusive._emf import StdoutSink

    emit_failure(paths.PARALLEL_FETCH_AGGREGATE, 4, StdoutSink())
    out = capfd.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out)["ParallelFetcherErrors"] == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty"),
        ({"name": "x" * 201}, "longer than 200"),
        ({"name": "a;b"}, "characters X-Ray removes"),
        ({"name": "ok", "metric": "é"}, "printable ASCII"),
        ({"name": "ok", "namespace": "AWS/Lambda"}, "reserved"),
        ({"name": "ok", "namespace": ":x"}, "starts with ':'"),
        ({"name": "ok", "dimensions": {"Op": ""}}, "1-1024"),
        ({"name": "ok", "dimensions": {f"d{i}": "v" for i in range(30)}}, "at most 29"),
        ({"name": "ok", "metric": "Op", "dimensions": {"Op": "x"}}, "collides"),
        ({"name": "ok", "mark": "warning"}, "mark must be"),
    ],
)
def test_failure_path_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FailurePath(**kwargs)  # type: ignore[arg-type]


def test_failure_path_is_immutable_hashable_and_picklable() -> None:
    import pickle

    path = FailurePath("x_y", dimensions={"A": "b"})
    assert path == FailurePath("x_y", "XYFailure", None, {"A": "b"})
    assert len({path, FailurePath("x_y", dimensions={"A": "b"})}) == 1
    assert pickle.loads(pickle.dumps(path)) == path
    with pytest.raises(AttributeError):
        path.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        path.dimensions["A"] = "c"  # type: ignore[index]


# -- every line the library writes is one the catalogue declares -------------------------------------


def test_failure_path_lines_match_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    """Each example path through the real ``failure_path`` and stdout sink, and a path of a team's own."""
    own = FailurePath("payment_capture", dimensions={"Provider": "stripe"})
    for path in (*paths.ALL, own):
        with pytest.raises(RuntimeError), failure_path(path):
            raise RuntimeError("boom")
        [doc] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        emf_spec.validate(doc)
        metric = emf_spec.catalogued(doc, [path])
        assert metric.namespace == (path.namespace or _metrics.FAILURE_PATHS_NAMESPACE)
        assert metric.unit == _metrics.FAILURE_PATH.unit and metric.source == "EMF"


def test_streaming_loss_lines_match_the_catalogue() -> None:
    from xray_exclusive.streaming._export import LossReporter

    sink = ListSink()
    reporter = LossReporter(sink=sink, interval_s=0)
    reporter.dropped("poll_cycle", queue_size=1500, total=1)
    reporter.unexported(3, "http://localhost:4318/v1/traces", "connection refused")
    docs = [json.loads(line) for line in sink.lines]
    for doc in docs:
        emf_spec.validate(doc)
    assert [emf_spec.catalogued(doc) for doc in docs] == [_metrics.DROPPED_SPANS, _metrics.UNEXPORTED_SPANS]
    assert docs[0]["span_queue_overflow"] is True and docs[1]["UnexportedSpans"] == 3


def test_the_writer_refuses_a_line_the_catalogue_does_not_declare() -> None:
    with pytest.raises(ValueError, match="not an EMF metric"):
        emf_line(_metrics.DROPPED_SPANS, 1, {"Lambda": "f", "Extra": "x"})
    with pytest.raises(ValueError, match="not an EMF metric"):
        emf_line(_metrics.CANARY_HEALTH, 1)


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.puts.append(kwargs)
        return {}

    def get_metric_statistics(self, **kwargs: Any) -> dict[str, Any]:
        return {"Datapoints": [{"SampleCount": 1.0}]}


def test_canary_datapoints_match_the_catalogue() -> None:
    """Every ``PutMetricData`` datum of a run (probe, health, destination) is a catalogued canary metric."""
    from xray_exclusive.canary import CanaryConfig
    from xray_exclusive.canary._probes import probe_cloudwatch
    from xray_exclusive.canary._run import CanaryClients, CanaryResult, _report
    from xray_exclusive.canary._taxonomy import Calls

    class Clock:
        def now(self) -> float:
            return time.time()

        def sleep(self, seconds: float) -> None:
            pass

    cloudwatch = RecordingCloudWatch()
    config = CanaryConfig()
    calls = Calls(Clock())
    assert probe_cloudwatch(cloudwatch, config, Clock(), calls).found
    _report(
        CanaryResult(status="healthy"),
        config,
        CanaryClients(None, cloudwatch, None, None),
        calls,
        False,
        False,
    )
    catalogue = {m.name: m for m in _metrics.CANARY}
    written = []
    for put in cloudwatch.puts:
        assert put["Namespace"] == _metrics.CANARY_NAMESPACE == CANARY_NAMESPACE.default
        for datum in put["MetricData"]:
            metric = catalogue[datum["MetricName"]]
            assert datum["Unit"] == metric.unit
            assert tuple(d["Name"] for d in datum.get("Dimensions", [])) == metric.dimensions
            written.append(metric)
    assert set(written) == set(_metrics.CANARY)  # and every catalogued canary metric is written


def test_one_spelling_of_each_namespace() -> None:
    from xray_exclusive.canary import CanaryConfig
    from xray_exclusive.render import Fleet, FleetFunction
    from xray_exclusive.streaming._export import METRIC_NAMESPACE

    assert CanaryConfig().namespace == CANARY_NAMESPACE.default == _metrics.CANARY_NAMESPACE
    assert Fleet("dev", "arn:aws:sns:eu-west-1:1:a", (FleetFunction("f", 3),)).canary_namespace == (
        _metrics.CANARY_NAMESPACE
    )
    assert (
        METRIC_NAMESPACE == _metrics.STREAMING_NAMESPACE
        and DEFAULT_NAMESPACE == _metrics.FAILURE_PATHS_NAMESPACE
    )
    assert {m.namespace.split("/")[0] for m in _metrics.CATALOGUE} == {"XrayExclusive"}
