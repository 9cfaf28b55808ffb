"""The metric catalogue: every metric the library writes, declared once (pure data, cheap to import).

Each :class:`Metric` gives its namespace, name, unit and dimension names, who writes it (an EMF line
through ``_emf``, or the canary's ``PutMetricData``) and, when someone should be woken by it, the
:class:`AlarmRule` ``xray-exclusive render terraform`` turns into a CloudWatch alarm. The writers take
their names from here, the alarms and the metric table of ``docs/render.md`` are made from here, and the
tests check every line the library writes against it.

Failure paths are a family: each :class:`~xray_exclusive.paths.FailurePath` names its own metric, so
:data:`FAILURE_PATH` declares the shape every one of them shares and :func:`failure_path_metric` the
concrete metric of one path.

Example:
    >>> from xray_exclusive import _metrics
    >>> _metrics.DROPPED_SPANS.namespace, _metrics.DROPPED_SPANS.dimensions
    ('XrayExclusive/Streaming', ('Lambda',))
    >>> _metrics.failure_path_metric("PaymentCaptureFailure", None, ("Provider",)).dimensions
    ('Lambda', 'Provider')
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

__all__ = [
    "CANARY",
    "CANARY_HEALTH",
    "CANARY_HEALTH_METRICS",
    "CANARY_NAMESPACE",
    "CANARY_PROBE",
    "CATALOGUE",
    "CLOUDWATCH_PIPELINE_HEALTH",
    "DROPPED_SPANS",
    "FAILURE_PATH",
    "FAILURE_PATHS_NAMESPACE",
    "FAILURE_PATH_ALARM",
    "LAMBDA_DIMENSION",
    "SEGMENT_DESTINATION",
    "STREAMING",
    "STREAMING_NAMESPACE",
    "TRACE_DATA_LOSS",
    "TRACE_DATA_LOSS_RATIO",
    "TRACE_PARTIAL",
    "UNEXPORTED_SPANS",
    "AlarmRule",
    "Metric",
    "failure_path_metric",
]

FAILURE_PATHS_NAMESPACE = "XrayExclusive/FailurePaths"
"""Failure paths' namespace when neither the path nor ``POWERTOOLS_METRICS_NAMESPACE`` gives one."""
STREAMING_NAMESPACE = "XrayExclusive/Streaming"
"""The streaming tracer's span-loss metrics."""
CANARY_NAMESPACE = "XrayExclusive/Canary"
"""The canary's health metrics and probe datapoint, unless ``CANARY_NAMESPACE`` says otherwise."""
LAMBDA_DIMENSION = "Lambda"
"""The dimension every per-function metric carries: the Lambda function's name."""

Unit = Literal["Count", "None"]
Source = Literal["EMF", "PutMetricData"]


class _Record:
    """Immutable, comparable, hashable, with its fields in ``_fields`` order.

    A plain class: a ``NamedTuple`` or a dataclass costs more at import, and this module is on the
    failure path's cold start.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *values: object) -> None:
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Record) and type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


class AlarmRule(_Record):
    """When a metric means trouble: the CloudWatch alarm ``render terraform`` makes of it.

    Example:
        >>> AlarmRule("Sum", "GreaterThanOrEqualToThreshold", 1).period
        300
    """

    __slots__ = ("comparison", "evaluation_periods", "period", "statistic", "threshold", "treat_missing_data")
    _fields = ("statistic", "comparison", "threshold", "treat_missing_data", "evaluation_periods", "period")

    statistic: Literal["Sum", "Minimum", "Maximum"]
    comparison: Literal["GreaterThanOrEqualToThreshold", "LessThanThreshold"]
    threshold: float
    treat_missing_data: Literal["breaching", "notBreaching"]
    evaluation_periods: int
    period: int

    def __init__(
        self,
        statistic: Literal["Sum", "Minimum", "Maximum"],
        comparison: Literal["GreaterThanOrEqualToThreshold", "LessThanThreshold"],
        threshold: float,
        treat_missing_data: Literal["breaching", "notBreaching"] = "notBreaching",
        evaluation_periods: int = 1,
        period: int = 300,
    ) -> None:
        super().__init__(statistic, comparison, threshold, treat_missing_data, evaluation_periods, period)


class Metric(_Record):
    """One metric the library writes: where, under which name, in which unit, with which dimensions.

    ``namespace_variable`` is the environment variable that replaces ``namespace`` when set.

    Example:
        >>> CANARY_HEALTH.alarm.comparison, CANARY_HEALTH.source
        ('LessThanThreshold', 'PutMetricData')
    """

    __slots__ = (
        "alarm", "description", "dimensions", "name", "namespace", "namespace_variable", "source", "unit",
    )  # fmt: skip
    _fields = (
        "namespace",
        "name",
        "unit",
        "dimensions",
        "description",
        "source",
        "alarm",
        "namespace_variable",
    )

    namespace: str
    name: str
    unit: Unit
    dimensions: tuple[str, ...]
    description: str
    source: Source
    alarm: AlarmRule | None
    namespace_variable: str | None

    def __init__(
        self,
        namespace: str,
        name: str,
        unit: Unit,
        dimensions: tuple[str, ...],
        description: str,
        source: Source,
        alarm: AlarmRule | None = None,
        namespace_variable: str | None = None,
    ) -> None:
        super().__init__(namespace, name, unit, dimensions, description, source, alarm, namespace_variable)

    def replace(self, **changes: Any) -> Metric:
        """A copy with ``changes``.

        Example:
            >>> DROPPED_SPANS.replace(namespace="Mine").namespace
            'Mine'
        """
        values = {name: getattr(self, name) for name in self._fields}
        return Metric(**{**values, **changes})


_PAGE = AlarmRule("Sum", "GreaterThanOrEqualToThreshold", 1)
FAILURE_PATH_ALARM = _PAGE
"""A failure path's alarm: its count over 5 minutes at or above the threshold (the fleet file's, else 1)."""
_HEALTHY = AlarmRule("Minimum", "LessThanThreshold", 1, "breaching", 2)
_FLAG = AlarmRule("Maximum", "GreaterThanOrEqualToThreshold", 1, "breaching", 2)

FAILURE_PATH = Metric(
    FAILURE_PATHS_NAMESPACE,
    "{FailurePath.metric}",
    "Count",
    (LAMBDA_DIMENSION, "{FailurePath.dimensions}"),
    "one caught-and-continued failure of a path (the path may give its own namespace)",
    "EMF",
    FAILURE_PATH_ALARM,
    "POWERTOOLS_METRICS_NAMESPACE",
)
"""The shape every failure path's metric shares; the fleet file's ``threshold`` replaces the alarm's 1."""

DROPPED_SPANS = Metric(
    STREAMING_NAMESPACE,
    "DroppedSpans",
    "Count",
    (LAMBDA_DIMENSION,),
    "spans dropped from the full queue of a streaming function",
    "EMF",
    _PAGE,
)
UNEXPORTED_SPANS = Metric(
    STREAMING_NAMESPACE,
    "UnexportedSpans",
    "Count",
    (LAMBDA_DIMENSION,),
    "spans of a streaming function the collector did not take",
    "EMF",
    _PAGE,
)
STREAMING: tuple[Metric, ...] = (DROPPED_SPANS, UNEXPORTED_SPANS)
"""Span losses, one alarm each per streaming function of the fleet."""

_CANARY = "CANARY_NAMESPACE"
CANARY_HEALTH = Metric(
    CANARY_NAMESPACE, "CanaryHealth", "Count", (), "1 healthy, 0 degraded or failed", "PutMetricData",
    _HEALTHY, _CANARY,
)  # fmt: skip
TRACE_DATA_LOSS_RATIO = Metric(
    CANARY_NAMESPACE, "trace_data_loss_ratio", "None", (),
    "share of the test traces X-Ray did not return (CANARY_LOSS_THRESHOLD's default)", "PutMetricData",
    AlarmRule("Maximum", "GreaterThanOrEqualToThreshold", 0.2, "breaching", 2), _CANARY,
)  # fmt: skip
TRACE_DATA_LOSS = Metric(
    CANARY_NAMESPACE, "trace_data_loss", "Count", (),
    "1 when the X-Ray probe failed or lost more than the threshold", "PutMetricData", _FLAG, _CANARY,
)  # fmt: skip
TRACE_PARTIAL = Metric(
    CANARY_NAMESPACE, "canary.trace.partial", "Count", (),
    "1 when a test trace came back without all its subsegments", "PutMetricData", _FLAG, _CANARY,
)  # fmt: skip
CLOUDWATCH_PIPELINE_HEALTH = Metric(
    CANARY_NAMESPACE, "CloudWatchPipelineHealth", "Count", (),
    "1 when the probe datapoint was read back, 0 when not", "PutMetricData", _HEALTHY, _CANARY,
)  # fmt: skip
SEGMENT_DESTINATION = Metric(
    CANARY_NAMESPACE, "SegmentDestination", "Count", ("Destination",),
    "1 per run: where X-Ray stores segments (XRay, CloudWatchLogs or unknown)", "PutMetricData",
    None, _CANARY,
)  # fmt: skip
CANARY_PROBE = Metric(
    CANARY_NAMESPACE, "canary.cloudwatch.probe", "Count", ("RunId",),
    "the test datapoint the canary reads back to prove CloudWatch ingests", "PutMetricData", None, _CANARY,
)  # fmt: skip
CANARY_HEALTH_METRICS: tuple[Metric, ...] = (
    CANARY_HEALTH,
    TRACE_DATA_LOSS_RATIO,
    TRACE_DATA_LOSS,
    TRACE_PARTIAL,
    CLOUDWATCH_PIPELINE_HEALTH,
)
"""The canary's health metrics, in the order it writes them every run (missing data is breaching)."""
CANARY: tuple[Metric, ...] = (*CANARY_HEALTH_METRICS, SEGMENT_DESTINATION, CANARY_PROBE)
"""Everything the canary writes."""

CATALOGUE: tuple[Metric, ...] = (FAILURE_PATH, *STREAMING, *CANARY)
"""Every metric the library writes; ``FAILURE_PATH`` stands for each path's own."""


def failure_path_metric(name: str, namespace: str | None, dimensions: tuple[str, ...] = ()) -> Metric:
    """The concrete metric of one failure path (``namespace=None``: the default namespace).

    Example:
        >>> failure_path_metric("AuditEventPersistenceFailure", "Shop/Compliance").namespace
        'Shop/Compliance'
    """
    return FAILURE_PATH.replace(
        namespace=namespace or FAILURE_PATHS_NAMESPACE,
        name=name,
        dimensions=(LAMBDA_DIMENSION, *dimensions),
    )
