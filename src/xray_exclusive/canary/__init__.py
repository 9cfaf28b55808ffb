"""The canary: proves on a schedule that X-Ray and CloudWatch work, and shouts out of band when not.

The one non-X-Ray mechanism the fleet keeps, so a broken X-Ray pipeline does not
go unnoticed: a scheduled Lambda that submits test traces and reads them back,
puts a test datapoint and reads it back, reports its own health metrics every
run (so an alarm on missing data fires when the canary stops), and alerts
through SNS and a webhook directly, never through the systems it watches.

Example:
    >>> from xray_exclusive.canary import CanaryConfig
    >>> CanaryConfig.from_env({}).namespace
    'XrayExclusive/Canary'
"""

from __future__ import annotations

import os
from typing import Any

from ._alerting import Alert, AlertOutcome, send_alert
from ._config import CanaryConfig, Clock, ConfigurationError, SystemClock
from ._probes import CloudWatchFigures, XRayFigures, probe_cloudwatch, probe_xray
from ._run import CanaryClients, CanaryResult, build_clients, run_canary
from ._state import StateError, update_consecutive_failures
from ._taxonomy import PERMANENT_CODES, TRANSIENT_CODES, Calls, PermanentError, error_kind

__all__ = [
    "PERMANENT_CODES",
    "TRANSIENT_CODES",
    "Alert",
    "AlertOutcome",
    "Calls",
    "CanaryClients",
    "CanaryConfig",
    "CanaryResult",
    "Clock",
    "CloudWatchFigures",
    "ConfigurationError",
    "PermanentError",
    "StateError",
    "SystemClock",
    "XRayFigures",
    "build_clients",
    "error_kind",
    "handler",
    "probe_cloudwatch",
    "probe_xray",
    "run_canary",
    "send_alert",
    "update_consecutive_failures",
]

# In the canary Lambda (_HANDLER names this module), the configuration is checked at INIT:
# an invalid variable stops the function before its first run, with the variable's name.
_CONFIG: CanaryConfig | None = (
    CanaryConfig.from_env() if os.environ.get("_HANDLER", "").startswith("xray_exclusive.canary") else None
)
_CLIENTS: CanaryClients | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The canary Lambda's handler (an EventBridge schedule invokes it): one run, the result as a dict.

    Example:
        >>> handler  # doctest: +ELLIPSIS
        <function handler at ...>
    """
    global _CONFIG, _CLIENTS
    if _CONFIG is None:
        _CONFIG = CanaryConfig.from_env()
    if _CLIENTS is None:
        _CLIENTS = build_clients(_CONFIG)
    return run_canary(_CONFIG, _CLIENTS).to_dict()
