"""render: every metric the library really emits has its alarm (walked from real EMF lines); the Terraform
JSON uses the AWS provider's argument names; the dashboard lists every alarm; the checker finds it clean."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import example_paths as paths
from xray_exclusive import ConfigurationError, FailurePath, _metrics, failure_path
from xray_exclusive import paths as paths_module
from xray_exclusive._env import CANARY_NAMESPACE
from xray_exclusive.canary._metrics import HEALTH_METRICS
from xray_exclusive.check import CheckConfig, check
from xray_exclusive.cli import main as cli_main
from xray_exclusive.render import (
    ALARMS_PER_WIDGET,
    Fleet,
    FleetError,
    FleetFunction,
    FleetPath,
    load_fleet,
    parse_fleet,
    render_terraform,
)
from xray_exclusive.render._catalogue import metric_table
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
            assert alarm["threshold"] == fleet.declared_paths[name].threshold
            assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
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
        assert metric.alarm is not None
        assert alarm["statistic"] == metric.alarm.statistic
        assert alarm["comparison_operator"] == metric.alarm.comparison


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
    declared = example_fleet().custom_metrics
    assert set(names) == {m.name for m in declared} and len(names) == 7
    assert (
        names["EventLatencyMs"]["extended_statistic"] == "p95"
        and names["EventLatencyMs"]["threshold"] == 3000
    )
    assert names["PollDurationMs"]["threshold"] == 1500
    assert names["StuckItems"]["statistic"] == "Maximum"
    # A fleet that declares no metrics of its own gets no application alarms: none are built in.
    bare = render_terraform(Fleet("dev", TOPIC, (FleetFunction("f", 30),)))
    spaces = {a["namespace"] for a in bare["resource"]["aws_cloudwatch_metric_alarm"].values()}
    assert spaces == {"AWS/Lambda", "AWS/Billing", CANARY_NAMESPACE.default}
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
                threshold = body["threshold"]
                assert isinstance(threshold, int | float) and not isinstance(threshold, bool), threshold
                assert math.isfinite(threshold), f"{name}: Terraform JSON has no {threshold}"
                assert isinstance(body["evaluation_periods"], int) and body["evaluation_periods"] >= 1
                assert all(isinstance(v, str) and v for v in body.get("dimensions", {}).values())


def test_terraform_json_uses_the_provider_argument_names() -> None:
    assert_provider_shape(render_terraform(example_fleet()))


def test_the_dashboard_lists_every_alarm_even_past_one_widget() -> None:
    functions = tuple(
        FleetFunction(f"fn-{i}", 60, i % 3 == 0, tuple(p.name for p in paths.ALL)) for i in range(20)
    )
    document = render_terraform(
        Fleet("prod", TOPIC, functions, failure_paths=tuple(FleetPath(p) for p in paths.ALL))
    )
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
            "functions[0].failure_paths: 'nope' is not declared",
        ),
        ({"functions": [{"name": "f", "timeout": 3}, {"name": "f", "timeout": 4}]}, "duplicate names ['f']"),
        ({"functions": [{"name": "f", "timeout": True}]}, "timeout must be a number, not True"),
        ({"functoins": []}, "unknown keys ['functoins']"),
        ({"production_sampling_rate": 2}, "between 0 and 1"),
        ({"custom_metrics": [{"name": "New", "namespace": "App"}]}, "`threshold` is required"),
        ({"custom_metrics": [{"name": "New", "threshold": 1}]}, "`namespace` is required"),
        (
            {"custom_metrics": [{"name": "N", "namespace": "A", "threshold": 1, "comparison": "Above"}]},
            "comparison must be one of",
        ),
        (
            {"custom_metrics": [{"name": "N", "namespace": "A", "threshold": 1}] * 2},
            "duplicate names ['N']",
        ),
        (
            {
                "custom_metrics": [
                    {
                        "name": "X",
                        "namespace": "A",
                        "threshold": 1,
                        "extended_statistic": "p95",
                        "statistic": "Sum",
                    }
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


# -- the fleet's own failure paths -----------------------------------------------------------------


def test_a_teams_own_failure_path_gets_its_alarm(tmp_path: Path) -> None:
    fleet_file = tmp_path / "xray-exclusive.toml"
    fleet_file.write_text(
        f'environment = "prod"\nalert_topic = "{TOPIC}"\n'
        '[[failure_paths]]\nname = "payment_capture"\ndimensions = { Provider = "stripe" }\nthreshold = 3\n'
        '[[failure_paths]]\nname = "receipt_email"\nnamespace = "Shop/Mail"\nmetric = "ReceiptErrors"\n'
        '[[functions]]\nname = "checkout"\ntimeout = 30\n'
        'failure_paths = ["payment_capture", "receipt_email"]\n'
    )
    index = alarm_index(render_terraform(load_fleet(fleet_file)))
    payment = index[
        (
            "XrayExclusive/FailurePaths",
            "PaymentCaptureFailure",
            (("Lambda", "checkout"), ("Provider", "stripe")),
        )
    ]
    assert (payment["threshold"], payment["statistic"]) == (3, "Sum")
    assert index[("Shop/Mail", "ReceiptErrors", (("Lambda", "checkout"),))]["threshold"] == 1
    # The application builds the very same paths from the file.
    declared = paths_module.load(fleet_file)
    assert list(declared) == ["payment_capture", "receipt_email"]
    assert declared["payment_capture"] == FailurePath("payment_capture", dimensions={"Provider": "stripe"})


@pytest.mark.parametrize(
    ("declarations", "message"),
    [
        (
            '[[failure_paths]]\nname = "a"\n[[failure_paths]]\nname = "a"\n',
            "failure_paths[1].name: 'a' is declared twice",
        ),
        ('[[failure_paths]]\nname = "a"\ncolour = "red"\n', "failure_paths[0]: unknown keys ['colour']"),
        ('[[failure_paths]]\nmetric = "M"\n', "failure_paths[0]: `name` is required"),
        ('[[failure_paths]]\nname = "a"\nnamespace = "AWS/Lambda"\n', "failure_paths[0]: namespace"),
        (
            '[[failure_paths]]\nname = "a"\nthreshold = "high"\n',
            "failure_paths[0].threshold must be a number",
        ),
        ('[[failure_paths]]\nname = "a"\nthreshold = 0\n', "failure_paths[0].threshold must be above 0"),
        ('[[failure_paths]]\nname = "a"\nmark = "fatal"\n', "failure_paths[0]: mark must be"),
        (
            '[[failure_paths]]\nname = "a"\ndimensions = { Lambda = "x" }\n',
            "failure_paths[0]: dimension name 'Lambda'",
        ),
        (
            '[[failure_paths]]\nname = "a"\ndimensions = { Op = 1 }\n',
            "failure_paths[0].dimensions must be a table",
        ),
        ('failure_paths = "a"\n', "failure_paths must be a list of tables"),
        ("", "functions[0].failure_paths: 'a' is not declared"),
    ],
)
def test_bad_failure_path_declarations_name_the_file_and_the_key(
    tmp_path: Path, declarations: str, message: str
) -> None:
    fleet_file = tmp_path / "xray-exclusive.toml"
    fleet_file.write_text(
        f'environment = "prod"\nalert_topic = "{TOPIC}"\n{declarations}'
        '[[functions]]\nname = "f"\ntimeout = 30\nfailure_paths = ["a"]\n'
    )
    with pytest.raises(FleetError) as error:
        load_fleet(fleet_file)
    assert str(fleet_file) in str(error.value) and message in str(error.value)


def test_paths_load_reads_pyproject_and_names_the_file(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[[tool.xray-exclusive.fleet.failure_paths]]\nname = "payment_capture"\n')
    assert paths_module.load(pyproject)["payment_capture"].metric == "PaymentCaptureFailure"
    with pytest.raises(ConfigurationError, match=r"missing\.toml"):
        paths_module.load(tmp_path / "missing.toml")
    assert paths_module.load(tmp_path / "pyproject.toml") == {
        "payment_capture": FailurePath("payment_capture")
    }


def test_a_fleet_built_in_code_refuses_an_undeclared_path() -> None:
    with pytest.raises(FleetError, match=r"\['nope'\] not declared"):
        Fleet("prod", TOPIC, (FleetFunction("f", 30, failure_paths=("nope",)),))


def test_the_docs_metric_table_is_the_catalogue() -> None:
    text = (ROOT / "docs" / "render.md").read_text()
    table = text.split("<!-- metric-table: start -->\n")[1].split("<!-- metric-table: end -->")[0]
    assert table == metric_table(), (
        "regenerate the table of docs/render.md from render._catalogue.metric_table()"
    )
    for metric in _metrics.CATALOGUE:
        assert metric is _metrics.FAILURE_PATH or f"`{metric.name}`" in table


def test_the_example_lambda_declares_the_paths_of_its_fleet_file() -> None:
    """examples/lambdas/ingestion.py declares its paths inline; they are the fleet file's, alarms included."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ingestion_example", ROOT / "examples" / "lambdas" / "ingestion.py"
    )
    assert spec is not None and spec.loader is not None
    ingestion = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ingestion)
    declared = paths_module.load(EXAMPLE / "xray-exclusive.toml")
    assert {p.name: p for p in ingestion.PATHS} == dict(declared)
    [function] = [f for f in example_fleet().functions if f.name == "sentiment-ingestion"]
    assert set(function.failure_paths) == set(declared)


def test_the_fleet_file_shown_in_the_docs_renders(tmp_path: Path) -> None:
    import re

    page = (Path(__file__).parent.parent / "docs" / "render.md").read_text()
    block = re.search(r"```toml\n(.*?)```", page, re.S)
    assert block is not None
    (tmp_path / "xray-exclusive.toml").write_text(block.group(1))
    fleet = load_fleet(tmp_path / "xray-exclusive.toml")
    assert [m.name for m in fleet.custom_metrics] == ["CheckoutLatencyMs"]
    assert [p.path.name for p in fleet.failure_paths] == ["payment_capture"]
    alarms = render_terraform(fleet)["resource"]["aws_cloudwatch_metric_alarm"].values()
    assert {("Shop", "CheckoutLatencyMs"), ("Shop/Reliability", "PaymentCaptureFailure")} <= {
        (a["namespace"], a["metric_name"]) for a in alarms
    }


# -- a function's own metrics namespace -----------------------------------------------------------


def _namespaced_fleet(tmp_path: Path, function_table: str) -> Fleet:
    fleet_file = tmp_path / "xray-exclusive.toml"
    fleet_file.write_text(
        f'environment = "prod"\nalert_topic = "{TOPIC}"\n'
        '[[failure_paths]]\nname = "payment_capture"\n'
        '[[failure_paths]]\nname = "audit_write"\nnamespace = "Shop/Compliance"\n'
        '[[functions]]\nname = "checkout"\ntimeout = 30\n'
        'failure_paths = ["payment_capture", "audit_write"]\n'
        f"{function_table}",
        encoding="utf-8",
    )
    return load_fleet(fleet_file)


@pytest.mark.parametrize("metrics_namespace", [None, "Shop"])
def test_a_path_without_a_namespace_is_alarmed_where_the_function_writes_it(
    xray: XRayDaemon,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    tmp_path: Path,
    metrics_namespace: str | None,
) -> None:
    """With POWERTOOLS_METRICS_NAMESPACE set on the function, failure_path() writes there: the fleet file's
    ``metrics_namespace`` makes the alarm watch the same namespace (a path's own namespace still wins)."""
    line = "" if metrics_namespace is None else f'metrics_namespace = "{metrics_namespace}"\n'
    fleet = _namespaced_fleet(tmp_path, line)
    index = alarm_index(render_terraform(fleet))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "checkout")
    if metrics_namespace is None:
        monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", metrics_namespace)
    written = set()
    for name in ("payment_capture", "audit_write"):
        with pytest.raises(RuntimeError), failure_path(fleet.declared_paths[name].path):
            raise RuntimeError("boom")
        [doc] = emf_lines(capsys.readouterr().out)
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        [names] = directive["Dimensions"]
        key = (
            directive["Namespace"],
            directive["Metrics"][0]["Name"],
            tuple(sorted((d, doc[d]) for d in names)),
        )
        assert key in index, f"{name} writes {key}, which no alarm watches"
        written.add(key[0])
    assert written == {metrics_namespace or _metrics.FAILURE_PATHS_NAMESPACE, "Shop/Compliance"}


def test_the_alarm_misses_a_namespace_the_fleet_file_does_not_declare(
    xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    """Why the key exists: POWERTOOLS_METRICS_NAMESPACE on the function, not in the fleet file, is missed."""
    index = alarm_index(render_terraform(_namespaced_fleet(tmp_path, "")))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "checkout")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    with pytest.raises(RuntimeError), failure_path(FailurePath("payment_capture")):
        raise RuntimeError("boom")
    [doc] = emf_lines(capsys.readouterr().out)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop"
    assert not any(namespace == "Shop" for namespace, _, _ in index)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'metrics_namespace = "Shop Orders"\n',
            "functions[0].metrics_namespace: namespace 'Shop Orders' has",
        ),
        ("metrics_namespace = 3\n", "functions[0].metrics_namespace must be"),
        (
            'metrics_namespace = ":Shop"\n',
            "functions[0].metrics_namespace: namespace ':Shop' starts with ':'",
        ),
    ],
)
def test_a_bad_metrics_namespace_is_refused_naming_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(FleetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _namespaced_fleet(tmp_path, table)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: FleetPath(FailurePath("a"), threshold=math.inf),
            "failure path 'a'.threshold must be a number",
        ),
        (lambda: FleetPath(FailurePath("a"), threshold=True), "failure path 'a'.threshold must be a number"),
        (lambda: FleetPath(FailurePath("a"), threshold=0), "failure path 'a'.threshold must be above 0"),
        (
            lambda: FleetFunction("f", 30, metrics_namespace=""),
            "function 'f'.metrics_namespace: namespace must",
        ),
    ],
)
def test_fleet_objects_built_in_python_are_checked_as_the_file_is(make: Any, message: str) -> None:
    with pytest.raises(FleetError, match=message):
        make()


def test_a_custom_metrics_namespace_is_checked(tmp_path: Path) -> None:
    table = {**GOOD, "custom_metrics": [{"name": "Depth", "namespace": "Shop Orders", "threshold": 1}]}
    with pytest.raises(FleetError, match=r"custom_metrics\[0\]\.namespace: namespace 'Shop Orders' has"):
        parse_fleet(table)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"billing_thresholds": (math.inf,)}, "billing_thresholds must be a list of positive amounts"),
        ({"billing_thresholds": (True,)}, "billing_thresholds must be a list of positive amounts"),
        ({"billing_thresholds": ()}, "billing_thresholds must be a list of positive amounts"),
        ({"canary_namespace": "bad ns"}, "canary_namespace: namespace 'bad ns' has"),
    ],
)
def test_a_fleet_built_in_python_is_checked_as_a_file_is(options: dict[str, Any], message: str) -> None:
    with pytest.raises(FleetError, match=message):
        Fleet("prod", TOPIC, (FleetFunction("f", 30),), **options)
