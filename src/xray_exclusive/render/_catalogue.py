"""Every metric the fleet emits, and the alarm each one gets: the one list the Terraform is made from.

Failure paths come from ``xray_exclusive.paths`` (namespace, metric, dimensions plus ``Lambda``, exactly
what ``failure_path`` writes as EMF), span losses from ``streaming._export``'s names, the canary's health
metrics from ``canary._metrics``, the Lambda service's own ``Errors`` and ``Duration``, and the
application metrics from the fleet file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import paths
from .._emf import DEFAULT_NAMESPACE
from ..canary._metrics import HEALTH_METRICS
from ._fleet import Fleet, FleetFunction

STREAMING_NAMESPACE = "XrayExclusive/Streaming"
"""The namespace of the streaming tracer's loss metrics (``streaming._export.METRIC_NAMESPACE``)."""
STREAMING_LOSS_METRICS = ("DroppedSpans", "UnexportedSpans")
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


def failure_path_alarms(function: FleetFunction, prefix: str) -> list[Alarm]:
    """One alarm per failure path the function declares: the metric ``failure_path`` writes."""
    alarms = []
    for name in function.failure_paths:
        path = next(p for p in paths.ALL if p.name == name)
        alarms.append(
            Alarm(
                key=resource_key(function.name, path.name),
                alarm_name=f"{prefix}-{function.name}-{path.name}",
                namespace=path.namespace or DEFAULT_NAMESPACE,
                metric_name=path.metric,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                description=f"failure path {path.name} in {function.name}: caught and continued",
                dimensions={paths.LAMBDA_DIMENSION: function.name, **path.dimensions},
            )
        )
    return alarms


def streaming_alarms(function: FleetFunction, prefix: str) -> list[Alarm]:
    """Span losses of a streaming function (the tracer's EMF lines): nothing is lost unseen."""
    return [
        Alarm(
            key=resource_key(function.name, metric),
            alarm_name=f"{prefix}-{function.name}-{metric}",
            namespace=STREAMING_NAMESPACE,
            metric_name=metric,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            description=f"{function.name} lost spans before X-Ray ({metric})",
            dimensions={paths.LAMBDA_DIMENSION: function.name},
        )
        for metric in STREAMING_LOSS_METRICS
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
        found += failure_path_alarms(function, prefix)
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
        for health in HEALTH_METRICS:
            found.append(
                Alarm(
                    key=resource_key("canary", health.name),
                    alarm_name=f"{prefix}-canary-{health.name}",
                    namespace=fleet.canary_namespace,
                    metric_name=health.name,
                    threshold=health.threshold,
                    comparison_operator=health.comparison,
                    description=f"canary: {health.description}; missing data is breaching",
                    statistic=health.statistic,
                    evaluation_periods=2,
                    treat_missing_data="breaching",
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
