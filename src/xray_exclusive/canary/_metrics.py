"""The canary's own CloudWatch metrics: names, units, and which way is bad (pure data).

``_run`` writes them every run; ``xray_exclusive.render`` alarms on each, breaching when missing, so a canary
that stops is an alarm too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class HealthMetric:
    """One metric the canary writes each run, and the alarm condition that means trouble.

    Example:
        >>> HEALTH_METRICS[0].name, HEALTH_METRICS[0].comparison
        ('CanaryHealth', 'LessThanThreshold')
    """

    name: str
    unit: str
    statistic: Literal["Minimum", "Maximum"]
    comparison: Literal["LessThanThreshold", "GreaterThanOrEqualToThreshold"]
    threshold: float
    description: str


HEALTH_METRICS: tuple[HealthMetric, ...] = (
    HealthMetric(
        "CanaryHealth", "Count", "Minimum", "LessThanThreshold", 1, "1 healthy, 0 degraded or failed"
    ),
    HealthMetric(
        "trace_data_loss_ratio",
        "None",
        "Maximum",
        "GreaterThanOrEqualToThreshold",
        0.2,
        "share of the test traces X-Ray did not return (CANARY_LOSS_THRESHOLD's default)",
    ),
    HealthMetric(
        "trace_data_loss",
        "Count",
        "Maximum",
        "GreaterThanOrEqualToThreshold",
        1,
        "1 when the X-Ray probe failed or lost more than the threshold",
    ),
    HealthMetric(
        "canary.trace.partial",
        "Count",
        "Maximum",
        "GreaterThanOrEqualToThreshold",
        1,
        "1 when a test trace came back without all its subsegments",
    ),
    HealthMetric(
        "CloudWatchPipelineHealth",
        "Count",
        "Minimum",
        "LessThanThreshold",
        1,
        "1 when the probe datapoint was read back, 0 when not",
    ),
)
"""Every health metric, in the order ``_run`` writes them."""
