"""Out-of-band alerts: SNS ``Publish`` directly, and an HTTPS webhook as a second channel.

Neither depends on X-Ray or on a CloudWatch alarm action: the canary watches
those. Each channel is tried whatever happened to the other; the failure of
both is logged at CRITICAL and shows in the run's result.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from ._taxonomy import Calls, error_code

__all__ = ["Alert", "AlertOutcome", "send_alert"]

_logger = logging.getLogger("xray_exclusive.canary")


@dataclass(frozen=True)
class Alert:
    """One alert: why (``permanent_error``, ``consecutive_failures``), a one-line summary, details.

    Example:
        >>> Alert("permanent_error", "cloudwatch PutMetricData: AccessDenied", {}).severity
        'critical'
    """

    reason: str
    summary: str
    details: dict[str, Any]
    severity: str = "critical"

    def payload(self, source: str) -> dict[str, Any]:
        """The webhook body (PagerDuty Events v2 / Opsgenie shaped: summary, severity, source, details)."""
        return {
            "summary": self.summary[:1024],
            "severity": self.severity,
            "source": source,
            "reason": self.reason,
            "details": self.details,
        }


@dataclass
class AlertOutcome:
    """Per channel: ``sent`` or the error; ``delivered`` when at least one channel took it."""

    alert: Alert
    channels: dict[str, str] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        """At least one channel accepted the alert."""
        return any(v == "sent" for v in self.channels.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for the result line."""
        return {"reason": self.alert.reason, "summary": self.alert.summary, "channels": self.channels}


def send_alert(
    alert: Alert,
    *,
    sns: Any,
    topic_arn: str | None,
    webhook_url: str | None,
    calls: Calls,
    source: str,
    timeout: float = 5.0,
) -> AlertOutcome:
    """Send ``alert`` on every configured channel, independently; never raises."""
    outcome = AlertOutcome(alert)
    body = json.dumps(alert.payload(source), separators=(",", ":"), default=str)
    if topic_arn:
        try:
            calls.call(
                "sns",
                "Publish",
                sns.publish,
                TopicArn=topic_arn,
                Subject=f"[{alert.severity.upper()}] {source}: {alert.reason}"[:100],
                Message=body,
            )
            outcome.channels["sns"] = "sent"
        except Exception as exc:
            outcome.channels["sns"] = f"{error_code(exc)}: {exc}"[:300]
    if webhook_url:
        request = urllib.request.Request(
            webhook_url, data=body.encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # the configured URL
                outcome.channels["webhook"] = (
                    "sent" if 200 <= response.status < 300 else f"HTTP {response.status}"
                )
        except (urllib.error.URLError, OSError, ValueError) as exc:
            outcome.channels["webhook"] = f"{type(exc).__name__}: {exc}"[:300]
    if not outcome.channels:
        _logger.critical(
            "CANARY ALERT NOT SENT (no channel: set CANARY_SNS_TOPIC_ARN and/or CANARY_WEBHOOK_URL): %s",
            alert.summary,
        )
    elif not outcome.delivered:
        _logger.critical("CANARY ALERT NOT DELIVERED on any channel %s: %s", outcome.channels, alert.summary)
    return outcome
