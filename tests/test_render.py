"""render: every metric the library really emits has its alarm (walked from real EMF lines); the Terraform
JSON uses the AWS provider's argument names; the dashboard lists every alarm; the checker finds it clean."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xray_exclusive import failure_path, paths
from xray_exclusive._env import CANARY_NAMESPACE
from xray_exclusive.canary._metrics import HEALTH_METRICS
from xray_exclusive.check import CheckConfig, check
from xray_exclusive.cli import main as cli_main
from xray_exclusive.render import (
    ALARMS_PER_WIDGET,
    DEFAULT_CUSTOM_METRICS,
    Fleet,
    FleetError,
    FleetFunction,
    load_fleet,
    parse_fleet,
    render_terraform,
)
from xray_exclusive.streaming._export import METRIC_NAMESPACE, LossReporter

from .conftest import XRayDaemon, emf_lines

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fleet"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts"

# The AWS provider's argument names (registry docs of hashicorp/aws 5.x): required, then optional.
SCHEMA: dict[str, tuple[set[str], set[str]]] = {
    "aws_cloudwatch_metric_alarm": (
        {"alarm_name", "comparison_operator", "evaluation_periods"},
        {
            "metric_name", "namespace", "period", "statistic", "extended_statistic", "threshold",
            "dimensions", "alarm_description", "alarm_actions", "ok_actions", "insufficient_data_actions",
            "actions_enabled",
            "datapoints_to_alarm", "treat_missing_data", "unit", "threshold_metric_id", "metric_query",
            "evaluate_low_sample_count_percentiles", "tags", "provider",
        },
    ),
    "aws_xray_sampling_rule": (
        {
            "rule_name", "priority", "reservoir_size", "fixed_rate", "resource_arn", "service_name",
            "service_type", "host", "http_method", "url_path", "version",
        },
        {"attributes", "tags", "provider"},
    ),
    "aws_xray_group": ({"group_name", "filter_expression"}, {"insights_configuration", "tags", "provider"}),
    "aws_cloudwatch_dashboard": ({"dashboard_name", "dashboard_body"}, {"provider"}),
    "aws_sns_topic": (set(), {"name", "provider", "tags", "kms_master_key_id"}),
}  # fmt: skip
STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
}


def example_fleet() -> Fleet:
    return load_fleet(EXAMPLE / "xray-exclusive.toml")


def alarm_index(
    document: dict[str, Any],
) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Any]]:
    """Alarms by what they watch: namespace, metric and the exact dimension set."""
    return {
        (a["namespace"], a["metric_name"], tuple(sorted(a.get("dimensions", {}).items()))): a
        for a in document["resource"]["aws_cloudwatch_metric_alarm"].values()
    }


# -- every emitted metric has its alarm -----------------------------------------------------------


def test_every_failure_path_metric_really_emitted_has_its_alarm(
    xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Run each declared path for real in its function's environment and match the EMF line to an alarm."""
    fleet = example_fleet()
    index = alarm_index(render_terraform(fleet))
    failure_alarms = {k for k in index if k[0].startswith("SentimentAnalyzer/") and "Lambda" in dict(k[2])}
    matched = set()
    for function in fleet.functions:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", function.name)
        for name in function.failure_paths:
            path = next(p for p in paths.ALL if p.name == name)
            with pytest.raises(RuntimeError), failure_path(path):
                raise RuntimeError("boom")
            [doc] = emf_lines(capsys.readouterr().out)
            [directive] = doc["_aws"]["CloudWatchMetrics"]
            [dimension_names] = directive["Dimensions"]
            key = (
                directive["Namespace"],
                directive["Metrics"][0]["Name"],
                tuple(sorted((d, doc[d]) for d in dimension_names)),
            )
            assert key in index, f"{function.name}/{name} emits {key} without an alarm"
            alarm = index[key]
            assert alarm["statistic"] == "Sum" and alarm["treat_missing_data"] == "notBreaching"
            assert alarm["threshold"] == 1 and alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
            matched.add(key)
    assert matched == failure_alarms  # and no failure-path alarm watches a metric nobody emits
    assert len(matched) == len(paths.ALL)  # the example's ingestion declares all seven


def test_streaming_loss_metrics_have_their_alarms() -> None:
    fleet = example_fleet()
    index = alarm_index(render_terraform(fleet))
    [streaming] = [f for f in fleet.functions if f.streaming]
    lines: list[str] = []

    class Sink:
        def write(self, line: str) -> None:
            lines.append(line)

    reporter = LossReporter(sink=Sink(), interval_s=0)
    reporter.dropped("poll_cycle", queue_size=1500, total=1)
    reporter.unexported(3, "http://localhost:4318/v1/traces", "connection refused")
    for line in lines:
        doc = json.loads(line)
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == METRIC_NAMESPACE
        key = (METRIC_NAMESPACE, directive["Metrics"][0]["Name"], (("Lambda", streaming.name),))
        assert key in index, key
    assert len(lines) == 2


def test_canary_health_metrics_breach_when_missing() -> None:
    index = alarm_index(render_terraform(example_fleet()))
    for metric in HEALTH_METRICS:
        alarm = index[(CANARY_NAMESPACE.default, metric.name, ())]
        assert alarm["treat_missing_data"] == "breaching" and alarm["evaluation_periods"] == 2
        assert alarm["statistic"] == metric.statistic and alarm["comparison_operator"] == metric.comparison


def test_lambda_errors_and_p95_duration_at_85_percent_of_the_timeout() -> None:
    fleet = example_fleet()
    index = alarm_index(render_terraform(fleet))
    for function in fleet.functions:
        dims = (("FunctionName", function.name),)
        errors = index[("AWS/Lambda", "Errors", dims)]
        assert errors["statistic"] == "Sum" and errors["treat_missing_data"] == "notBreaching"
        duration = index[("AWS/Lambda", "Duration", dims)]
        assert duration["extended_statistic"] == "p95" and "statistic" not in duration
        assert 0.8 <= duration["threshold"] / (function.timeout * 1000) <= 0.9


def test_custom_metrics_of_fr_042_and_billing_alarms() -> None:
    document = render_terraform(example_fleet())
    alarms = document["resource"]["aws_cloudwatch_metric_alarm"]
    names = {a["metric_name"]: a for a in alarms.values() if a["namespace"] == "SentimentAnalyzer"}
    assert set(names) == {m.name for m in DEFAULT_CUSTOM_METRICS} and len(names) == 7
    assert (
        names["EventLatencyMs"]["extended_statistic"] == "p95"
        and names["EventLatencyMs"]["threshold"] == 3000
    )
    assert names["PollDurationMs"]["threshold"] == 1500  # the fleet file's override
    billing = sorted(
        (a["threshold"], a["provider"], a["dimensions"]["ServiceName"])
        for a in alarms.values()
        if a["namespace"] == "AWS/Billing"
    )
    assert billing == [
        (10, "aws.us_east_1", "AWSXRay"),
        (25, "aws.us_east_1", "AWSXRay"),
        (50, "aws.us_east_1", "AWSXRay"),
    ]
    billing_actions = {a["alarm_actions"][0] for a in alarms.values() if a["namespace"] == "AWS/Billing"}
    assert billing_actions == {"${aws_sns_topic.xray_billing_alerts.arn}"}
    assert document["resource"]["aws_sns_topic"]["xray_billing_alerts"]["provider"] == "aws.us_east_1"
    assert document["provider"]["aws"] == [{"alias": "us_east_1", "region": "us-east-1"}]


@pytest.mark.parametrize(("environment", "rate"), [("dev", 1.0), ("preprod", 1.0), ("prod", 0.05)])
def test_sampling_rule_per_environment_and_the_error_group(environment: str, rate: float) -> None:
    fleet = Fleet(environment, TOPIC, (FleetFunction("f", 30),))  # type: ignore[arg-type]
    resources = render_terraform(fleet)["resource"]
    rule = resources["aws_xray_sampling_rule"]["all"]
    assert (rule["reservoir_size"], rule["fixed_rate"]) == (1, rate)
    assert len(rule["rule_name"]) <= 32
    group = resources["aws_xray_group"]["errors"]
    assert group["filter_expression"] == "fault = true OR error = true"
    assert group["insights_configuration"] == {"insights_enabled": True, "notifications_enabled": True}


# -- the document's shape ------------------------------------------------------------------------


def assert_provider_shape(document: dict[str, Any]) -> None:
    for kind, resources in document["resource"].items():
        required, optional = SCHEMA[kind]
        for name, body in resources.items():
            assert name[:1].isalpha() and name.replace("_", "").isalnum(), name
            assert required <= set(body), (kind, name, required - set(body))
            assert set(body) <= required | optional, (kind, name, set(body) - required - optional)
            if kind == "aws_cloudwatch_metric_alarm":
                assert ("statistic" in body) != ("extended_statistic" in body)
                assert body.get("statistic", "Sum") in STATISTICS
                assert body["comparison_operator"] in COMPARISONS
                assert body["treat_missing_data"] in {"breaching", "notBreaching", "ignore", "missing"}
                assert 1 <= len(body["alarm_name"]) <= 255
                assert body["period"] in (10, 30) or body["period"] % 60 == 0
                assert isinstance(body["threshold"], int | float) and body["threshold"] == body["threshold"]
                assert isinstance(body["evaluation_periods"], int) and body["evaluation_periods"] >= 1
                assert all(isinstance(v, str) and v for v in body.get("dimensions", {}).values())


def test_terraform_json_uses_the_provider_argument_names() -> None:
    assert_provider_shape(render_terraform(example_fleet()))


def test_the_dashboard_lists_every_alarm_even_past_one_widget() -> None:
    functions = tuple(
        FleetFunction(f"fn-{i}", 60, i % 3 == 0, tuple(p.name for p in paths.ALL)) for i in range(20)
    )
    document = render_terraform(Fleet("prod", TOPIC, functions))
    alarms = document["resource"]["aws_cloudwatch_metric_alarm"]
    assert len(alarms) > 2 * ALARMS_PER_WIDGET
    body = json.loads(document["resource"]["aws_cloudwatch_dashboard"]["alarms"]["dashboard_body"])
    listed = [arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]]
    assert all(
        len(w["properties"]["alarms"]) <= ALARMS_PER_WIDGET for w in body["widgets"] if w["type"] == "alarm"
    )
    assert listed == [f"${{aws_cloudwatch_metric_alarm.{key}.arn}}" for key in alarms]
    assert_provider_shape(document)


# -- the checker on the output, and the committed example ------------------------------------------


def test_rendered_terraform_next_to_the_functions_is_clean_for_the_checker(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE / "lambdas.tf", tmp_path / "lambdas.tf")
    document = render_terraform(example_fleet())
    (tmp_path / "alarms.tf.json").write_text(json.dumps(document, indent=2))
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert (report.findings, report.errors) == ([], [])
    # The checker really looks: without the ingestion Errors alarm it says so.
    del document["resource"]["aws_cloudwatch_metric_alarm"]["sentiment_ingestion_errors"]
    (tmp_path / "alarms.tf.json").write_text(json.dumps(document, indent=2))
    assert [f.code for f in check([tmp_path], CheckConfig(root=tmp_path)).findings] == ["XE027"]


def test_the_committed_example_output_is_current(tmp_path: Path, capsys: Any) -> None:
    fleet_file = EXAMPLE / "xray-exclusive.toml"
    assert cli_main(["render", "terraform", "--fleet", str(fleet_file), "--out", str(tmp_path)]) == 0
    assert "36 alarms for 6 functions" in capsys.readouterr().out
    fresh = (tmp_path / "xray-exclusive.tf.json").read_text()
    assert fresh == (EXAMPLE / "xray-exclusive.tf.json").read_text(), (
        "regenerate: xray-exclusive render terraform --fleet examples/fleet/xray-exclusive.toml "
        "--out examples/fleet"
    )


def test_fleet_in_pyproject_and_discovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.xray-exclusive.fleet]\nenvironment = "dev"\n'
        f'alert_topic = "{TOPIC}"\n\n[[tool.xray-exclusive.fleet.functions]]\nname = "f"\ntimeout = 10\n'
    )
    monkeypatch.chdir(tmp_path)
    assert cli_main(["render", "terraform"]) == 0
    document = json.loads((tmp_path / "xray-exclusive.tf.json").read_text())
    assert document["resource"]["aws_xray_sampling_rule"]["all"]["fixed_rate"] == 1.0
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert cli_main(["render", "terraform"]) == 3  # could not run
    assert "no fleet file" in capsys.readouterr().err


# -- bad fleet files: a clear error, never a crash --------------------------------------------------

GOOD = {"environment": "prod", "alert_topic": TOPIC, "functions": [{"name": "f", "timeout": 30}]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"environment": "staging"}, "environment must be dev, preprod or prod"),
        ({"alert_topic": "alerts"}, "alert_topic must be an SNS topic ARN"),
        ({"functions": []}, "list at least one function"),
        ({"functions": [{"name": "f"}]}, "`timeout` is required"),
        ({"functions": [{"name": "f", "timeout": 901}]}, "timeout must be 1-900"),
        (
            {"functions": [{"name": "f", "timeout": 3, "failure_paths": ["nope"]}]},
            "'nope' is not in the catalogue",
        ),
        ({"functions": [{"name": "f", "timeout": 3}, {"name": "f", "timeout": 4}]}, "duplicate names ['f']"),
        ({"functions": [{"name": "f", "timeout": True}]}, "timeout must be a number, not True"),
        ({"functoins": []}, "unknown keys ['functoins']"),
        ({"production_sampling_rate": 2}, "between 0 and 1"),
        ({"custom_metrics": [{"name": "New"}]}, "`threshold` is required"),
        ({"custom_metrics": [{"name": "StuckItems", "comparison": "Above"}]}, "comparison must be one of"),
        (
            {
                "custom_metrics": [
                    {"name": "X", "threshold": 1, "extended_statistic": "p95", "statistic": "Sum"}
                ]
            },
            "not both",
        ),
        ({"billing_thresholds": [10, -1]}, "positive amounts"),
    ],
)
def test_invalid_fleet_names_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(FleetError) as error:
        parse_fleet({**GOOD, **change})
    assert message in str(error.value)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 1000) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["environment", "alert_topic", "functions", "service", "production_sampling_rate", "canary",
     "billing_thresholds", "custom_metrics", "name", "timeout", "streaming", "failure_paths", "threshold"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, JSONISH, max_size=6), st.booleans())
def test_any_fleet_table_gives_a_fleet_or_a_fleet_error(extra: dict[str, Any], over_good: bool) -> None:
    table = {**GOOD, **extra} if over_good else extra
    try:
        fleet = parse_fleet(table)
    except FleetError:
        return
    assert_provider_shape(render_terraform(fleet))
