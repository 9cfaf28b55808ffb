"""A fleet file's alarm thresholds, one check for both tables: ``[[failure_paths]]`` (a finite number above
0) and ``[[custom_metrics]]`` (any finite number). Whatever TOML value is given, the result is a fleet whose
Terraform JSON is valid, or a ``FleetError`` naming the table, the index and the key."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.test_render import GOOD, TOPIC, alarm_index, assert_provider_shape
from xray_exclusive.render import Fleet, FleetError, load_fleet, parse_fleet, render_terraform

# The TOML text of a threshold, what it means, and whether each table takes it.
CASES = [
    ("inf", "not a finite number"),
    ("-inf", "not a finite number"),
    ("nan", "not a finite number"),
    ("true", "a bool (a Python int)"),
    ('"5"', "a string"),
    ("0", "zero"),
    ("-2.5", "negative"),
    ("3", "a count"),
]
NOT_A_NUMBER = {"inf", "-inf", "nan", "true", '"5"'}


def _path_fleet(threshold: str) -> str:
    return (
        f'environment = "prod"\nalert_topic = "{TOPIC}"\n'
        f'[[failure_paths]]\nname = "ok"\n[[failure_paths]]\nname = "a"\nthreshold = {threshold}\n'
        '[[functions]]\nname = "f"\ntimeout = 30\nfailure_paths = ["ok", "a"]\n'
    )


def _custom_fleet(threshold: str) -> str:
    return (
        f'environment = "prod"\nalert_topic = "{TOPIC}"\n'
        '[[functions]]\nname = "f"\ntimeout = 30\n'
        '[[custom_metrics]]\nname = "Ok"\nnamespace = "App"\nthreshold = 1\n'
        f'[[custom_metrics]]\nname = "Depth"\nnamespace = "App"\nthreshold = {threshold}\n'
        'comparison = "LessThanThreshold"\n'
    )


def _valid_terraform(fleet: Fleet) -> dict[str, Any]:
    document = render_terraform(fleet)
    assert_provider_shape(document)
    json.dumps(document, allow_nan=False)  # Terraform reads no Infinity nor NaN
    return document


@pytest.mark.parametrize(("threshold", "meaning"), CASES, ids=[c[0] for c in CASES])
def test_a_failure_paths_threshold_is_a_finite_number_above_zero(
    threshold: str, meaning: str, tmp_path: Path
) -> None:
    fleet_file = tmp_path / "xray-exclusive.toml"
    fleet_file.write_text(_path_fleet(threshold))
    if threshold == "3":
        fleet = load_fleet(fleet_file)
        assert fleet.declared_paths["a"].threshold == 3
        alarm = alarm_index(_valid_terraform(fleet))[
            ("XrayExclusive/FailurePaths", "AFailure", (("Lambda", "f"),))
        ]
        assert alarm["threshold"] == 3
        return
    with pytest.raises(FleetError) as error:
        load_fleet(fleet_file)
    message = str(error.value)
    assert message.startswith(f"{fleet_file}: failure_paths[1].threshold must be "), meaning
    if threshold in NOT_A_NUMBER:
        assert "must be a number, not " in message and "(an int or a float, finite)" in message
    else:
        assert "must be above 0" in message


@pytest.mark.parametrize(("threshold", "meaning"), CASES, ids=[c[0] for c in CASES])
def test_a_custom_metrics_threshold_is_any_finite_number(
    threshold: str, meaning: str, tmp_path: Path
) -> None:
    fleet_file = tmp_path / "xray-exclusive.toml"
    fleet_file.write_text(_custom_fleet(threshold))
    if threshold in NOT_A_NUMBER:
        with pytest.raises(FleetError) as error:
            load_fleet(fleet_file)
        assert str(error.value).startswith("custom_metrics[1].threshold must be a number, not "), meaning
        return
    fleet = load_fleet(fleet_file)  # 0 and below: a valid LessThanThreshold alarm
    [alarm] = [
        a
        for a in _valid_terraform(fleet)["resource"]["aws_cloudwatch_metric_alarm"].values()
        if a["metric_name"] == "Depth"
    ]
    assert alarm["threshold"] == float(threshold) and alarm["comparison_operator"] == "LessThanThreshold"


def test_billing_thresholds_are_finite_amounts_too() -> None:
    for amounts in ([10, math.inf], [True, 10], [10, math.nan], [10, "25"]):
        with pytest.raises(FleetError, match="billing_thresholds must be a list of positive amounts in USD"):
            parse_fleet({**GOOD, "billing_thresholds": amounts})
    assert parse_fleet({**GOOD, "billing_thresholds": [50, 12.5]}).billing_thresholds == (12.5, 50)


# Every value tomllib can give: strings, 64-bit integers, floats (inf and nan included), booleans, the four
# date and time kinds, arrays and inline tables.
TOML_VALUES = st.recursive(
    st.sampled_from([math.inf, -math.inf, math.nan, True, False, 0, 0.0, -0.0, -1, 1])
    | st.text(max_size=8)
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.datetimes(timezones=st.none() | st.just(datetime.UTC))
    | st.dates()
    | st.times(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _accepted(value: object, *, positive: bool) -> bool:
    """The oracle: an int or a float, not a bool, finite (and above 0 for a failure path)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return value > 0 or not positive


@settings(max_examples=300, deadline=None)
@given(TOML_VALUES)
@example(math.inf)
@example(-math.inf)
@example(math.nan)
@example(True)
@example("5")
@example(0)
@example(-1)
@example(2**63 - 1)
@example(5e-324)
def test_any_toml_value_as_a_threshold_gives_a_valid_alarm_or_a_fleet_error(value: object) -> None:
    tables = {
        "failure_paths": {
            **GOOD,
            "failure_paths": [{"name": "a", "threshold": value}],
            "functions": [{"name": "f", "timeout": 30, "failure_paths": ["a"]}],
        },
        "custom_metrics": {**GOOD, "custom_metrics": [{"name": "N", "namespace": "A", "threshold": value}]},
    }
    for key, table in tables.items():
        try:
            fleet = parse_fleet(table)
        except FleetError as error:
            assert not _accepted(value, positive=key == "failure_paths"), error
            assert str(error).startswith(
                (f"fleet: {key}[0].threshold must be ", f"{key}[0].threshold must be ")
            )
            continue
        assert _accepted(value, positive=key == "failure_paths")
        threshold = (
            fleet.failure_paths[0].threshold if key == "failure_paths" else fleet.custom_metrics[0].threshold
        )
        assert threshold == value
        _valid_terraform(fleet)
