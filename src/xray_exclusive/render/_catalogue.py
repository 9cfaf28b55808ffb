"""Every metric the fleet emits, and the alarm each one gets: the one list the Terraform is made from.

The library's own metrics and their alarm conditions come from the catalogue (``xray_exclusive._metrics``):
the failure paths the fleet file declares (namespace, metric, dimensions plus ``Lambda``, exactly what
``failure_path`` writes as EMF), the streaming tracer's span losses and the canary's health metrics. Beside
them: the Lambda service's own ``Errors`` and ``Duration``, the application metrics from the fleet file, and
the X-Ray billing alarms. :func:`metric_table` is the catalogue as the Markdown table of ``docs/render.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import _metrics
from ._fleet import Fleet, FleetFunction

DURATION_SHARE = 0.85
"""p95 ``Duration`` alarms fire at 85% of the function's timeout: still time to act before timeouts."""

_RESOURCE_NAME = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True)
class Alarm:
    """One CloudWatch metric alarm, in the AWS provider's argument names.

    Example:
        >>> alarm = lambda_alarms(FleetFunction("ingestion", 60), "svc-dev")[1]
        >>> alarm.metric_name, alarm.extended_statistic, alarm.threshold
        ('Duration', 'p95', 51000)
    """

    key: str
    alarm_name: str
    namespace: str
    metric_name: str
    threshold: float
    comparison_operator: str
    description: str
    dimensions: Mapping[str, str] = field(default_factory=dict)
    statistic: str | None = "Sum"
    extended_statistic: str | None = None
    period: int = 300
    evaluation_periods: int = 1
    treat_missing_data: str = "notBreaching"
    billing: bool = False


def resource_key(*parts: str) -> str:
    """A Terraform resource name from free text: ``[A-Za-z0-9_]``, starting with a letter.

    Example:
        >>> resource_key("ingestion", "circuit-breaker.load")
        'ingestion_circuit_breaker_load'
    """
    key = _RESOURCE_NAME.sub("_", "_".join(parts)).strip("_").lower()
    return key if key[:1].isalpha() else f"r_{key}"


def lambda_alarms(function: FleetFunction, prefix: str) -> list[Alarm]:
    """``Errors`` and p95 ``Duration`` at 85% of the timeout of one function."""
    dimensions = {"FunctionName": function.name}
    return [
        Alarm(
            key=resource_key(function.name, "errors"),
            alarm_name=f"{prefix}-{function.name}-errors",
            namespace="AWS/Lambda",
            metric_name="Errors",
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            description=f"{function.name} raised an error",
            dimensions=dimensions,
        ),
        Alarm(
            key=resource_key(function.name, "duration_p95"),
            alarm_name=f"{prefix}-{function.name}-duration-p95",
            namespace="AWS/Lambda",
            metric_name="Duration",
            threshold=round(function.timeout * 1000 * DURATION_SHARE),
            comparison_operator="GreaterThanThreshold",
            description=f"{function.name} p95 duration above 85% of its {function.timeout} s timeout",
            dimensions=dimensions,
            statistic=None,
            extended_statistic="p95",
            evaluation_periods=3,
        ),
    ]


def _catalogued(
    metric: _metrics.Metric,
    key: str,
    alarm_name: str,
    description: str,
    dimensions: Mapping[str, str],
    threshold: float | None = None,
) -> Alarm:
    """The alarm of a catalogued metric, under the rule the catalogue gives it."""
    rule = metric.alarm
    if rule is None:
        raise ValueError(f"the catalogue gives {metric.name} no alarm")
    return Alarm(
        key=key,
        alarm_name=alarm_name,
        namespace=metric.namespace,
        metric_name=metric.name,
        threshold=rule.threshold if threshold is None else threshold,
        comparison_operator=rule.comparison,
        description=description,
        dimensions=dict(dimensions),
        statistic=rule.statistic,
        period=rule.period,
        evaluation_periods=rule.evaluation_periods,
        treat_missing_data=rule.treat_missing_data,
    )


def failure_path_alarms(function: FleetFunction, prefix: str, fleet: Fleet) -> list[Alarm]:
    """One alarm per failure path the function runs: the metric ``failure_path`` writes, at its threshold."""
    alarms = []
    declared = fleet.declared_paths
    for name in function.failure_paths:
        path, threshold = declared[name].path, declared[name].threshold
        # The namespace failure_path() writes to: the path's, else the function's
        # POWERTOOLS_METRICS_NAMESPACE, else the library's default.
        namespace = path.namespace or function.metrics_namespace
        metric = _metrics.failure_path_metric(path.metric, namespace, tuple(path.dimensions))
        alarms.append(
            _catalogued(
                metric,
                resource_key(function.name, path.name),
                f"{prefix}-{function.name}-{path.name}",
                f"failure path {path.name} in {function.name}: caught and continued",
                {_metrics.LAMBDA_DIMENSION: function.name, **path.dimensions},
                threshold,
            )
        )
    return alarms


def streaming_alarms(function: FleetFunction, prefix: str) -> list[Alarm]:
    """Span losses of a streaming function (the tracer's EMF lines): nothing is lost unseen."""
    return [
        _catalogued(
            metric,
            resource_key(function.name, metric.name),
            f"{prefix}-{function.name}-{metric.name}",
            f"{function.name} lost spans before X-Ray ({metric.name})",
            {_metrics.LAMBDA_DIMENSION: function.name},
        )
        for metric in _metrics.STREAMING
    ]


def alarms(fleet: Fleet) -> list[Alarm]:
    """Every alarm of the fleet, in a stable order.

    Example:
        >>> from xray_exclusive.render import Fleet, FleetFunction
        >>> fleet = Fleet("dev", "arn:aws:sns:eu-west-1:1:a", (FleetFunction("f", 30, True),), canary=False)
        >>> [a.metric_name for a in alarms(fleet)][:4]
        ['Errors', 'Duration', 'DroppedSpans', 'UnexportedSpans']
    """
    prefix = fleet.prefix
    found: list[Alarm] = []
    for function in fleet.functions:
        found += lambda_alarms(function, prefix)
        found += failure_path_alarms(function, prefix, fleet)
        if function.streaming:
            found += streaming_alarms(function, prefix)
    for metric in fleet.custom_metrics:
        found.append(
            Alarm(
                key=resource_key("custom", metric.name),
                alarm_name=f"{prefix}-{metric.name}",
                namespace=metric.namespace,
                metric_name=metric.name,
                threshold=metric.threshold,
                comparison_operator=metric.comparison,
                description=metric.description,
                dimensions=dict(metric.dimensions),
                statistic=metric.statistic,
                extended_statistic=metric.extended_statistic,
                period=metric.period,
                evaluation_periods=metric.evaluation_periods,
                treat_missing_data=metric.treat_missing_data,
            )
        )
    if fleet.canary:
        for health in _metrics.CANARY:
            if health.alarm is not None:
                found.append(
                    _catalogued(
                        health.replace(namespace=fleet.canary_namespace),
                        resource_key("canary", health.name),
                        f"{prefix}-canary-{health.name}",
                        f"canary: {health.description}; missing data is breaching",
                        {},
                    )
                )
    for amount in fleet.billing_thresholds:
        found.append(
            Alarm(
                key=resource_key("xray_billing", f"{amount:g}usd"),
                alarm_name=f"{prefix}-xray-charges-{amount:g}-usd",
                namespace="AWS/Billing",
                metric_name="EstimatedCharges",
                threshold=amount,
                comparison_operator="GreaterThanOrEqualToThreshold",
                description=f"X-Ray charges this month reached ${amount:g}",
                dimensions={"Currency": "USD", "ServiceName": fleet.billing_service_name},
                statistic="Maximum",
                period=21600,
                billing=True,
            )
        )
    keys = [a.key for a in found]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"two alarms would share the Terraform name(s) {duplicates}; rename a function")
    return found


def metric_table() -> str:
    """The catalogue as the Markdown table of ``docs/render.md`` (a test keeps the page equal to it).

    Example:
        >>> metric_table().splitlines()[3].split(" | ")[:2]
        ['| `XrayExclusive/Streaming`', '`DroppedSpans`']
    """
    rows = [
        "| Namespace | Metric | Unit | Dimensions | Written by | Alarm |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for metric in _metrics.CATALOGUE:
        family = metric is _metrics.FAILURE_PATH
        namespace = f"`{metric.namespace}`"
        if metric.namespace_variable:
            namespace = f"`{metric.namespace_variable}`, else {namespace}"
        if family:
            name, dimensions = "the path's `metric`", "`Lambda` + the path's `dimensions`"
            namespace = f"the path's `namespace`, else {namespace}"
        else:
            name, dimensions = f"`{metric.name}`", ", ".join(f"`{d}`" for d in metric.dimensions) or "none"
        rule = metric.alarm
        alarm = "none"
        if rule is not None:
            sign = ">=" if rule.comparison == "GreaterThanOrEqualToThreshold" else "<"
            threshold = f"`threshold` (default {rule.threshold:g})" if family else f"{rule.threshold:g}"
            alarm = f"{rule.statistic} {sign} {threshold} over {rule.period} s"
            if rule.evaluation_periods > 1:
                alarm += f", {rule.evaluation_periods} periods"
            if rule.treat_missing_data == "breaching":
                alarm += ", missing is breaching"
        rows.append(f"| {namespace} | {name} | {metric.unit} | {dimensions} | {metric.source} | {alarm} |")
    return "\n".join(rows) + "\n"
