"""``xray-exclusive render terraform``: alarms, sampling, error group and dashboard as Terraform JSON.

From a small fleet description (``xray-exclusive.toml`` or ``[tool.xray-exclusive.fleet]``), and the
library's own metric catalogue, so every metric the library emits has its alarm. See ``docs/render.md``.

Example:
    >>> from xray_exclusive.render import Fleet, FleetFunction, render_terraform
    >>> fleet = Fleet("prod", "arn:aws:sns:eu-west-1:123456789012:alerts",
    ...               (FleetFunction("ingestion", 60, failure_paths=("audit_trail_persist",)),))
    >>> doc = render_terraform(fleet)
    >>> doc["resource"]["aws_cloudwatch_metric_alarm"]["ingestion_audit_trail_persist"]["metric_name"]
    'AuditEventPersistenceFailure'
"""

from __future__ import annotations

from ._catalogue import DURATION_SHARE, Alarm, alarms, resource_key
from ._fleet import (
    DEFAULT_CUSTOM_METRICS,
    PRODUCTION_SAMPLING_RATE,
    CustomMetric,
    Fleet,
    FleetError,
    FleetFunction,
    load_fleet,
    parse_fleet,
)
from ._terraform import ALARMS_PER_WIDGET, BILLING_PROVIDER, ERROR_GROUP_FILTER, render_terraform

__all__ = [
    "ALARMS_PER_WIDGET",
    "BILLING_PROVIDER",
    "DEFAULT_CUSTOM_METRICS",
    "DURATION_SHARE",
    "ERROR_GROUP_FILTER",
    "PRODUCTION_SAMPLING_RATE",
    "Alarm",
    "CustomMetric",
    "Fleet",
    "FleetError",
    "FleetFunction",
    "alarms",
    "load_fleet",
    "parse_fleet",
    "render_terraform",
    "resource_key",
]
