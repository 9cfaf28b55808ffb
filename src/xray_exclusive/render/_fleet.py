"""The fleet description: ``xray-exclusive.toml`` or ``[tool.xray-exclusive.fleet]`` in ``pyproject.toml``.

The file declares the fleet's own failure paths (``[[failure_paths]]``, read by ``paths.declare``, the
same code as ``xray_exclusive.paths.load``) and each function names the ones it runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard

from .. import _cw_names, _metrics, paths
from ..exceptions import ConfigurationError
from ..paths import FailurePath

Environment = Literal["dev", "preprod", "prod"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum"})
_PERCENTILE = re.compile(r"p(\d{1,2}(\.\d{1,2})?|100)\Z")
_COMPARISONS = frozenset(
    {
        "GreaterThanOrEqualToThreshold",
        "GreaterThanThreshold",
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
    }
)
_TREAT = frozenset({"breaching", "notBreaching", "ignore", "missing"})


FleetError = ConfigurationError
"""``render``'s older name of :class:`xray_exclusive.ConfigurationError`: the fleet description is invalid."""


@dataclass(frozen=True)
class FleetPath:
    """A failure path the fleet declares, and the count in one 5-minute period that raises its alarm.

    Example:
        >>> FleetPath(FailurePath("payment_capture", namespace="Shop/Reliability"), threshold=3).threshold
        3
    """

    path: FailurePath
    threshold: float = _metrics.FAILURE_PATH_ALARM.threshold

    def __post_init__(self) -> None:
        _threshold(self.threshold, f"failure path {self.path.name!r}", positive=True)


@dataclass(frozen=True)
class FleetFunction:
    """One Lambda of the fleet; ``failure_paths`` names paths the fleet declares.

    ``metrics_namespace`` is the function's ``POWERTOOLS_METRICS_NAMESPACE``, when it sets one: a failure
    path that names no namespace writes its metric there, so its alarm watches that namespace.

    Example:
        >>> FleetFunction("ingestion", timeout=60, failure_paths=("payment_capture",)).timeout
        60
    """

    name: str
    timeout: int
    streaming: bool = False
    failure_paths: tuple[str, ...] = ()
    metrics_namespace: str | None = None

    def __post_init__(self) -> None:
        if self.metrics_namespace is not None:
            _namespace(self.metrics_namespace, f"function {self.name!r}.metrics_namespace")


@dataclass(frozen=True)
class CustomMetric:
    """An application metric of your own that needs an alarm: a ``[[custom_metrics]]`` table of the fleet.

    Example:
        >>> metric = CustomMetric("QueueDepth", 100, "orders waiting", "Orders", statistic="Maximum")
        >>> metric.namespace, metric.comparison
        ('Orders', 'GreaterThanOrEqualToThreshold')
    """

    name: str
    threshold: float
    description: str
    namespace: str
    statistic: str | None = "Sum"
    extended_statistic: str | None = None
    comparison: str = "GreaterThanOrEqualToThreshold"
    period: int = 300
    evaluation_periods: int = 1
    treat_missing_data: str = "notBreaching"
    dimensions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _threshold(self.threshold, f"custom metric {self.name!r}", positive=False)
        _namespace(self.namespace, f"custom metric {self.name!r}.namespace")


PRODUCTION_SAMPLING_RATE = 0.05
"""Fixed rate of the production sampling rule when the fleet gives none: 5% after one trace per second.

The reservoir (one trace a second) dominates the cost at moderate traffic: docs/render.md works an example.
Failure-path metrics are written for every occurrence, so what is not sampled is still counted and alarmed.
"""


@dataclass(frozen=True)
class Fleet:
    """Everything ``render_terraform`` needs.

    Every name in a function's ``failure_paths`` must be declared in ``failure_paths`` (``FleetError``).

    Example:
        >>> fleet = Fleet("dev", "arn:aws:sns:eu-west-1:123456789012:alerts", (FleetFunction("f", 30),))
        >>> fleet.sampling_rate, fleet.prefix
        (1.0, 'fleet-dev')
    """

    environment: Environment
    alert_topic: str
    functions: tuple[FleetFunction, ...]
    service: str = "fleet"
    production_sampling_rate: float = PRODUCTION_SAMPLING_RATE
    canary: bool = True
    canary_namespace: str = _metrics.CANARY_NAMESPACE
    billing_thresholds: tuple[float, ...] = (10, 25, 50)
    billing_service_name: str = "AWSXRay"
    custom_metrics: tuple[CustomMetric, ...] = ()
    failure_paths: tuple[FleetPath, ...] = ()

    def __post_init__(self) -> None:
        declared = self.declared_paths
        for function in self.functions:
            unknown = [name for name in function.failure_paths if name not in declared]
            if unknown:
                raise FleetError(
                    f"function {function.name}: failure path(s) {unknown} not declared; declare each in "
                    f"[[failure_paths]] (declared: {sorted(declared)})"
                )
        _namespace(self.canary_namespace, "canary_namespace")
        _billing_thresholds(self.billing_thresholds, "billing_thresholds")

    @property
    def declared_paths(self) -> dict[str, FleetPath]:
        """The declared failure paths by name."""
        return {declared.path.name: declared for declared in self.failure_paths}

    @property
    def prefix(self) -> str:
        """``{service}-{environment}``: the start of every generated name."""
        return f"{self.service}-{self.environment}"

    @property
    def sampling_rate(self) -> float:
        """100% in dev and preprod, the production rate in prod."""
        return 1.0 if self.environment in ("dev", "preprod") else self.production_sampling_rate


def _expect(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise FleetError(f"{where}.{key} must be a number, not {value!r}")
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise FleetError(f"{where}.{key} must be a {names}, not {value!r}")
    return value


def _finite_number(value: object) -> TypeGuard[int | float]:
    """An int or a float, finite: what an alarm can compare against.

    TOML's ``true`` is not one (a Python bool is an int), nor ``inf`` or ``nan`` (``json.dumps`` would write
    ``Infinity`` or ``NaN``, which Terraform cannot read).

    Example:
        >>> [_finite_number(v) for v in (3, -0.5, True, float("inf"), float("nan"), "5")]
        [True, True, False, False, False, False]
    """
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _threshold(value: object, where: str, *, positive: bool) -> float:
    """``value`` as the ``threshold`` of the table at ``where``; ``positive``: it must also be above 0.

    The one check of a fleet file's alarm thresholds: a failure path's (a count of failures, so above 0)
    and a custom metric's (any finite number: ``LessThanThreshold`` 0 is a valid alarm).

    Example:
        >>> _threshold(-1.5, "custom_metrics[0]", positive=False)
        -1.5
        >>> try:
        ...     _threshold(float("inf"), "custom_metrics[0]", positive=False)
        ... except FleetError as error:
        ...     print(error)
        custom_metrics[0].threshold must be a number, not inf (an int or a float, finite)
    """
    if not _finite_number(value):
        raise FleetError(f"{where}.threshold must be a number, not {value!r} (an int or a float, finite)")
    if positive and value <= 0:
        raise FleetError(f"{where}.threshold must be above 0, not {value!r}")
    return value


def _billing_thresholds(amounts: Sequence[object], where: str) -> None:
    """The billing alarms' amounts (USD a month): at least one, each a finite number above 0."""
    if not amounts or not all(_finite_number(t) and t > 0 for t in amounts):
        raise FleetError(f"{where} must be a list of positive amounts in USD")


def _namespace(value: object, where: str) -> str:
    """``value`` as a CloudWatch namespace (``where`` names the key in the error); else ``FleetError``.

    Example:
        >>> try:
        ...     _namespace("Shop Reliability", "custom_metrics[0].namespace")
        ... except FleetError as error:
        ...     print(str(error)[:76])
        custom_metrics[0].namespace: namespace 'Shop Reliability' has characters Clo
    """
    try:
        _cw_names.check_namespace(value)
    except ValueError as error:
        raise FleetError(f"{where}: {error}") from None
    return value  # type: ignore[return-value]  # check_namespace refuses anything but a str


def _unknown(table: Mapping[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise FleetError(f"{where}: unknown keys {extra}; known: {sorted(known)}")


def _function(
    table: Mapping[str, Any], index: int, declared: Mapping[str, FailurePath], file: str
) -> FleetFunction:
    where = f"{file}: functions[{index}]"
    if not isinstance(table, Mapping):
        raise FleetError(f"{where} must be a table")
    _unknown(table, {"name", "timeout", "streaming", "failure_paths", "metrics_namespace"}, where)
    for key in ("name", "timeout"):
        if key not in table:
            raise FleetError(f"{where}: `{key}` is required")
    name = _expect(table, "name", str, where)
    if not _NAME.match(name):
        raise FleetError(f"{where}.name {name!r} is not a Lambda function name ([A-Za-z0-9_.-], 1-64)")
    timeout = _expect(table, "timeout", int, where)
    if not 1 <= timeout <= 900:
        raise FleetError(f"{where}.timeout must be 1-900 seconds, not {timeout}")
    streaming = _expect(table, "streaming", bool, where) if "streaming" in table else False
    chosen = _expect(table, "failure_paths", list, where) if "failure_paths" in table else []
    for path in chosen:
        if path not in declared:
            raise FleetError(
                f"{where}.failure_paths: {path!r} is not declared; add a [[failure_paths]] table with "
                f"name = {path!r} (declared: {sorted(declared)})"
            )
    namespace = None
    if "metrics_namespace" in table:
        namespace = _namespace(_expect(table, "metrics_namespace", str, where), f"{where}.metrics_namespace")
    return FleetFunction(name, timeout, streaming, tuple(dict.fromkeys(chosen)), namespace)


def _unique(names: list[str], where: str) -> None:
    """Refuse a name given twice: each becomes a Terraform resource key."""
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise FleetError(f"{where}: duplicate names {twice}")


def _custom(table: Mapping[str, Any], index: int) -> CustomMetric:
    where = f"custom_metrics[{index}]"
    known = set(CustomMetric.__dataclass_fields__)
    if not isinstance(table, Mapping):
        raise FleetError(f"{where} must be a table")
    _unknown(table, known, where)
    if "name" not in table:
        raise FleetError(f"{where}: `name` is required")
    for key in ("threshold", "namespace"):
        if key not in table:
            raise FleetError(f"{where}: `{key}` is required")
    values = dict(table)
    if "extended_statistic" in values and "statistic" not in values:
        values["statistic"] = None
    if "dimensions" in values:
        values["dimensions"] = dict(_expect(table, "dimensions", Mapping, where))
    _threshold(values["threshold"], where, positive=False)
    for key in ("period", "evaluation_periods"):
        if key in values:
            _expect(values, key, int, where)
    for key in ("name", "namespace", "description", "comparison", "treat_missing_data"):
        if key in values:
            _expect(values, key, str, where)
    _namespace(values["namespace"], f"{where}.namespace")
    if not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in values.get("dimensions", {}).items()
    ):
        raise FleetError(f"{where}.dimensions must map names to non-empty strings")
    metric = CustomMetric(**{"description": "", **values})
    bad_period = metric.period not in (10, 30) and (metric.period < 60 or metric.period % 60 != 0)
    if bad_period or metric.evaluation_periods < 1:
        raise FleetError(f"{where}: period must be 10, 30 or a multiple of 60; evaluation_periods at least 1")
    if (metric.statistic is None) == (metric.extended_statistic is None):
        raise FleetError(f"{where}: give `statistic` or `extended_statistic`, not both")
    if metric.statistic is not None and metric.statistic not in _STATISTICS:
        raise FleetError(f"{where}.statistic must be one of {sorted(_STATISTICS)}")
    if metric.extended_statistic is not None and not _PERCENTILE.match(metric.extended_statistic):
        raise FleetError(f"{where}.extended_statistic must look like p95 or p99.9")
    if metric.comparison not in _COMPARISONS:
        raise FleetError(f"{where}.comparison must be one of {sorted(_COMPARISONS)}")
    if metric.treat_missing_data not in _TREAT:
        raise FleetError(f"{where}.treat_missing_data must be one of {sorted(_TREAT)}")
    return metric


def _fleet_paths(tables: object, where: str) -> tuple[FleetPath, ...]:
    declared = paths.declare(tables, where)
    found = []
    for index, path in enumerate(declared.values()):
        table = tables[index] if isinstance(tables, list) else {}
        threshold = table.get("threshold", FleetPath.threshold)
        found.append(
            FleetPath(path, _threshold(threshold, f"{where}: failure_paths[{index}]", positive=True))
        )
    return tuple(found)


def parse_fleet(table: Mapping[str, Any], where: str = "fleet") -> Fleet:
    """Validate a fleet table (already read from TOML); raises ``FleetError`` naming the bad key.

    Example:
        >>> parse_fleet({"environment": "prod", "alert_topic": "arn:aws:sns:eu-west-1:1:a",
        ...              "functions": [{"name": "ingestion", "timeout": 60}]}).sampling_rate
        0.05
    """
    known = {
        "environment", "alert_topic", "functions", "service", "production_sampling_rate", "canary",
        "canary_namespace", "billing_thresholds", "billing_service_name", "custom_metrics", "failure_paths",
    }  # fmt: skip
    _unknown(table, known, where)
    for key in ("environment", "alert_topic", "functions"):
        if key not in table:
            raise FleetError(f"{where}: `{key}` is required")
    environment = table["environment"]
    if environment not in ("dev", "preprod", "prod"):
        raise FleetError(f"{where}.environment must be dev, preprod or prod, not {environment!r}")
    alert_topic = _expect(table, "alert_topic", str, where)
    if not (alert_topic.startswith("arn:aws") or alert_topic.startswith("${")):
        raise FleetError(f"{where}.alert_topic must be an SNS topic ARN or a Terraform reference ${{...}}")
    fleet_paths = _fleet_paths(table.get("failure_paths", []), where)
    declared = {p.path.name: p.path for p in fleet_paths}
    functions = tuple(
        _function(f, i, declared, where) for i, f in enumerate(_expect(table, "functions", list, where))
    )
    if not functions:
        raise FleetError(f"{where}.functions: list at least one function")
    _unique([f.name for f in functions], f"{where}.functions")
    options: dict[str, Any] = {}
    if "service" in table:
        service = _expect(table, "service", str, where)
        if not re.fullmatch(r"[A-Za-z0-9-]{1,24}", service):
            raise FleetError(f"{where}.service must be 1-24 of [A-Za-z0-9-]")
        options["service"] = service
    if "production_sampling_rate" in table:
        rate = float(_expect(table, "production_sampling_rate", (int, float), where))
        if not 0 <= rate <= 1:
            raise FleetError(f"{where}.production_sampling_rate must be between 0 and 1")
        options["production_sampling_rate"] = rate
    if "canary" in table:
        options["canary"] = _expect(table, "canary", bool, where)
    for key in ("canary_namespace", "billing_service_name"):
        if key in table:
            options[key] = _expect(table, key, str, where)
    if "canary_namespace" in options:
        _namespace(options["canary_namespace"], f"{where}.canary_namespace")
    if "billing_thresholds" in table:
        thresholds = _expect(table, "billing_thresholds", list, where)
        _billing_thresholds(thresholds, f"{where}.billing_thresholds")
        options["billing_thresholds"] = tuple(sorted(thresholds))
    if "custom_metrics" in table:
        given = [_custom(m, i) for i, m in enumerate(_expect(table, "custom_metrics", list, where))]
        _unique([m.name for m in given], f"{where}.custom_metrics")
        options["custom_metrics"] = tuple(given)
    return Fleet(environment, alert_topic, functions, failure_paths=fleet_paths, **options)


def load_fleet(path: Path) -> Fleet:
    r"""Read ``xray-exclusive.toml`` (fleet at top level) or a pyproject.toml ``[tool.xray-exclusive.fleet]``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     file = Path(tmp, "xray-exclusive.toml")
        ...     _ = file.write_text('environment = "dev"\nalert_topic = "arn:aws:sns:eu-west-1:1:a"\n'
        ...                         '[[functions]]\nname = "f"\ntimeout = 30\n')
        ...     load_fleet(file).functions[0].name
        'f'
    """
    table, where = paths.read_fleet_table(path)
    return parse_fleet(table, where)
