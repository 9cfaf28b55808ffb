"""``xray-exclusive render terraform``: alarms, sampling, error group and dashboard as Terraform JSON.

From a small fleet description (``xray-exclusive.toml`` or ``[tool.xray-exclusive.fleet]``: the functions and
the failure paths the fleet declares), and the library's own metric catalogue, so every metric the library
emits has its alarm. See ``docs/render.md``.

Example:
    >>> from xray_exclusive import FailurePath
    >>> from xray_exclusive.render import Fleet, FleetFunction, FleetPath, render_terraform
    >>> fleet = Fleet("prod", "arn:aws:sns:eu-west-1:123456789012:alerts",
    ...               (FleetFunction("checkout", 60, failure_paths=("payment_capture",)),),
    ...               failure_paths=(FleetPath(FailurePath("payment_capture", namespace="Shop/Pay")),))
    >>> doc = render_terraform(fleet)
    >>> doc["resource"]["aws_cloudwatch_metric_alarm"]["checkout_payment_capture"]["metric_name"]
    'PaymentCaptureFailure'
"""

from __future__ import annotations

from ._catalogue import DURATION_SHARE, Alarm, alarms, resource_key
from ._fleet import (
    PRODUCTION_SAMPLING_RATE,
    CustomMetric,
    Fleet,
    FleetError,
    FleetFunction,
    FleetPath,
    load_fleet,
    parse_fleet,
)
from ._terraform import ALARMS_PER_WIDGET, BILLING_PROVIDER, ERROR_GROUP_FILTER, render_terraform

__all__ = [
    "ALARMS_PER_WIDGET",
    "BILLING_PROVIDER",
    "DURATION_SHARE",
    "ERROR_GROUP_FILTER",
    "PRODUCTION_SAMPLING_RATE",
    "Alarm",
    "CustomMetric",
    "Fleet",
    "FleetError",
    "FleetFunction",
    "FleetPath",
    "alarms",
    "load_fleet",
    "parse_fleet",
    "render_terraform",
    "resource_key",
]
