"""CloudWatch's Embedded Metric Format specification, as executable checks.

Rules from the AWS documentation "Specification: Embedded metric format":
the root has ``_aws`` with ``Timestamp`` (epoch milliseconds) and
``CloudWatchMetrics`` (an array of MetricDirective); each directive has a
string ``Namespace``, ``Dimensions`` (an array of DimensionSets, each an array
of at most 30 strings naming root members whose values are strings) and
``Metrics`` (at most 100 MetricDefinitions with a ``Name`` naming a root
member whose value is a number or an array of at most 100 numbers, an
optional ``Unit`` from CloudWatch's list and ``StorageResolution`` 1 or 60).
Dimension values: 1-1024 ASCII characters, not only whitespace, no control
characters (CloudWatch ``Dimension``). Names of metrics: 1-255 characters.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from typing import Any

from xray_exclusive import _metrics
from xray_exclusive._metrics import Metric
from xray_exclusive.paths import FailurePath

UNITS = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
}


def _is_number(value: Any) -> bool:
    """A JSON number CloudWatch stores: finite, within ±2^360 (PutMetricData's range)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= 2.0**360
    )


def validate(doc: dict[str, Any]) -> None:
    """Raise AssertionError naming the first rule ``doc`` breaks."""
    assert isinstance(doc, dict), "root must be an object"
    meta = doc.get("_aws")
    assert isinstance(meta, dict), "_aws must be an object"
    ts = meta.get("Timestamp")
    assert isinstance(ts, int) and not isinstance(ts, bool), "Timestamp must be integer epoch milliseconds"
    now = time.time() * 1000
    assert now - 14 * 86400 * 1000 < ts < now + 2 * 3600 * 1000, (
        "Timestamp outside CloudWatch's accepted window"
    )
    directives = meta.get("CloudWatchMetrics")
    assert isinstance(directives, list) and directives, "CloudWatchMetrics must be a non-empty array"
    for directive in directives:
        assert set(directive) <= {"Namespace", "Dimensions", "Metrics"}, f"extra members in {directive}"
        ns = directive.get("Namespace")
        assert isinstance(ns, str) and 1 <= len(ns) <= 255 and not ns.startswith(":"), f"bad Namespace {ns!r}"
        # aws-embedded-metrics' VALID_NAMESPACE_REGEX (Constants.ts / validator.py): ^[a-zA-Z0-9._#:/-]+$
        assert re.fullmatch(r"[a-zA-Z0-9._#:/\-]+", ns), f"Namespace {ns!r} has characters CloudWatch refuses"
        dimension_sets = directive.get("Dimensions")
        assert isinstance(dimension_sets, list), "Dimensions must be an array"
        for dimension_set in dimension_sets:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30, (
                "a DimensionSet has <= 30 names"
            )
            for name in dimension_set:
                assert isinstance(name, str) and 1 <= len(name) <= 250 and name.strip(), (
                    f"bad dimension name {name!r}"
                )
                value = doc.get(name)
                assert isinstance(value, str), f"dimension {name!r} must reference a string root member"
                assert 1 <= len(value) <= 1024 and value.isascii() and value.strip(), f"bad value {value!r}"
                assert all(c.isprintable() for c in value), f"control characters in {value!r}"
        metrics = directive.get("Metrics")
        assert isinstance(metrics, list) and 1 <= len(metrics) <= 100, "Metrics: 1 to 100 definitions"
        for metric in metrics:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}, f"extra members in {metric}"
            name = metric.get("Name")
            assert isinstance(name, str) and 1 <= len(name) <= 255, f"bad metric name {name!r}"
            if "Unit" in metric:
                assert metric["Unit"] in UNITS, f"unknown unit {metric['Unit']!r}"
            if "StorageResolution" in metric:
                assert metric["StorageResolution"] in (1, 60)
            value = doc.get(name)
            if isinstance(value, list):
                assert 1 <= len(value) <= 100 and all(_is_number(v) for v in value), f"bad values {value!r}"
            else:
                assert _is_number(value), f"metric {name!r} must reference a number, got {value!r}"


def catalogued(doc: dict[str, Any], paths: Iterable[FailurePath] = ()) -> Metric:
    """The catalogue entry (``xray_exclusive._metrics``) of an EMF line: namespace, name, unit, dimensions.

    A failure path's line matches the ``FAILURE_PATH`` family (unit, ``Lambda`` first) and, when ``paths``
    are given, one of them exactly (metric, dimensions, and its namespace when it names one). Raises
    AssertionError for a line the catalogue does not declare.
    """
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    [definition] = directive["Metrics"]
    [dimensions] = directive["Dimensions"]
    seen = (directive["Namespace"], definition["Name"], definition.get("Unit"), tuple(dimensions))
    for metric in _metrics.CATALOGUE:
        if metric.source == "EMF" and (metric.namespace, metric.name, metric.unit, metric.dimensions) == seen:
            return metric
    family = _metrics.FAILURE_PATH
    assert seen[2] == family.unit and seen[3][:1] == (_metrics.LAMBDA_DIMENSION,), f"not catalogued: {seen}"
    given = list(paths)
    if not given:
        return _metrics.failure_path_metric(seen[1], seen[0], seen[3][1:])
    for path in given:
        if (path.metric, (_metrics.LAMBDA_DIMENSION, *path.dimensions)) == seen[1::2] and (
            path.namespace in (None, seen[0])
        ):
            return _metrics.failure_path_metric(path.metric, seen[0], tuple(path.dimensions))
    raise AssertionError(f"{seen} is none of the failure paths {[p.name for p in given]}")
