"""One canary run: probe X-Ray and CloudWatch, report, remember, alert, and say what happened."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from ._alerting import Alert, AlertOutcome, send_alert
from ._config import CanaryConfig, Clock, SystemClock
from ._destination import SegmentDestination, destination_metric_data, probe_destination
from ._metrics import HEALTH_METRICS
from ._probes import CloudWatchFigures, XRayFigures, probe_cloudwatch, probe_xray
from ._progress import Progress
from ._state import update_consecutive_failures
from ._taxonomy import Calls, PermanentError, error_code

__all__ = ["CanaryClients", "CanaryResult", "build_clients", "run_canary"]

_logger = logging.getLogger("xray_exclusive.canary")

Status = Literal["healthy", "degraded", "failed"]
ALERT_AFTER = 2
"""Consecutive failed intervals before an alert: one bad interval is not worth waking anyone."""


@dataclass
class CanaryClients:
    """The canary's own boto3 clients (its own session and role, so broken fleet roles cannot blind it)."""

    xray: Any
    cloudwatch: Any
    sns: Any
    dynamodb: Any


def build_clients(config: CanaryConfig, session: Any = None) -> CanaryClients:
    """Clients from a session of their own, botocore's retries off (the canary's taxonomy retries)."""
    import boto3
    from botocore.config import Config

    session = session or boto3.session.Session()
    settings = Config(
        retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10
    )

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=config.endpoint_url, config=settings)

    return CanaryClients(client("xray"), client("cloudwatch"), client("sns"), client("dynamodb"))


@dataclass
class CanaryResult:
    """What one run found. ``exit_code``: 0 healthy, 1 degraded, 2 failed.

    Example:
        >>> CanaryResult(status="degraded").exit_code
        1
    """

    status: Status = "healthy"
    xray: XRayFigures = field(default_factory=XRayFigures)
    cloudwatch: CloudWatchFigures = field(default_factory=CloudWatchFigures)
    destination: SegmentDestination = field(default_factory=SegmentDestination)
    permanent_error: str | None = None
    consecutive_failures: int | None = None
    alerts: list[AlertOutcome] = field(default_factory=list)
    reported: bool = False
    report_error: str | None = None
    state_error: str | None = None
    retries: int = 0
    started_at: float = 0.0
    duration_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 degraded, 2 failed."""
        return {"healthy": 0, "degraded": 1, "failed": 2}[self.status]

    @property
    def alert_failed(self) -> bool:
        """An alert was due and no channel delivered it."""
        return any(not a.delivered for a in self.alerts)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON (the structured log line)."""
        return {
            "canary": True,
            "status": self.status,
            "xray": self.xray.to_dict(),
            "cloudwatch": self.cloudwatch.to_dict(),
            "segment_destination": self.destination.to_dict(),
            "permanent_error": self.permanent_error,
            "consecutive_failures": self.consecutive_failures,
            "alerts": [a.to_dict() for a in self.alerts],
            "alert_failed": self.alert_failed,
            "reported": self.reported,
            "report_error": self.report_error,
            "state_error": self.state_error,
            "retries": self.retries,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
        }


def run_canary(
    config: CanaryConfig | None = None,
    clients: CanaryClients | None = None,
    clock: Clock | None = None,
    calls: Calls | None = None,
    progress: Progress | None = None,
) -> CanaryResult:
    """One run (one canary interval): probes, report metrics, consecutive-failure state, alerts, result line.

    Never raises for an AWS failure: everything ends up in the result (and in
    an alert when it should). Raises :class:`ConfigurationError` only for a
    bad configuration. ``progress`` (the command line's) is told each phase.
    """
    config = config or CanaryConfig.from_env()
    clock = clock or SystemClock()
    clients = clients or build_clients(config)
    calls = calls or Calls(clock, max_retries=config.max_retries)
    started_cpu, result = time.process_time(), CanaryResult(started_at=clock.now())
    started = result.started_at
    if not config.state_table:
        _logger.warning(
            "CANARY_STATE_TABLE is not set: consecutive failures are not tracked between runs; "
            "alerting relies on the alarms' evaluation periods (2 periods, treat_missing_data=breaching)."
        )
    say = progress.phase if progress is not None else (lambda text: None)
    if progress is not None and not (config.sns_topic_arn or config.webhook_url):
        progress.warn(
            "no alert channel is set (CANARY_SNS_TOPIC_ARN, CANARY_WEBHOOK_URL): a failure will show only in "
            "the health metrics and their alarms"
        )
    permanent: PermanentError | None = None
    try:
        say("reading where X-Ray stores segments (GetTraceSegmentDestination)")
        result.destination = probe_destination(clients.xray, calls)
        delays = ", ".join(f"{d:g} s" for d in config.retrieval_delays)
        say(f"writing {config.trace_count} test traces to X-Ray, reading them back after {delays}")
        result.xray = probe_xray(clients.xray, config, clock, calls, result.destination)
        say(
            f"writing a test datapoint to CloudWatch, reading it back from {config.metric_delay:g} s "
            f"for up to {config.metric_window:g} s"
        )
        result.cloudwatch = probe_cloudwatch(clients.cloudwatch, config, clock, calls)
    except PermanentError as exc:
        permanent = exc
        result.permanent_error = str(exc)
    xray_failed = result.xray.loss_ratio > config.loss_threshold or result.xray.error is not None
    cloudwatch_failed = not result.cloudwatch.found
    if permanent is not None or xray_failed or cloudwatch_failed:
        result.status = "failed"
    elif result.xray.lost or result.xray.partial:
        result.status = "degraded"
    say(f"{result.status}: reporting the health metrics")
    _report(result, config, clients, calls, xray_failed, cloudwatch_failed)
    if config.state_table:
        try:
            result.consecutive_failures = update_consecutive_failures(
                clients.dynamodb,
                config.state_table,
                f"canary#{config.namespace}",
                result.status == "failed",
                calls,
            )
        except Exception as exc:
            result.state_error = f"{error_code(exc)}: {exc}"
            _logger.error("Canary state table %s unusable: %s", config.state_table, result.state_error)
    for alert in _alerts_due(result, permanent, xray_failed, cloudwatch_failed):
        result.alerts.append(
            send_alert(
                alert,
                sns=clients.sns,
                topic_arn=config.sns_topic_arn,
                webhook_url=config.webhook_url,
                calls=calls,
                source=config.service_name,
            )
        )
    result.retries = calls.retries
    result.duration_s = clock.now() - started
    line = result.to_dict()
    line["cpu_s"] = round(time.process_time() - started_cpu, 4)
    print(json.dumps(line, separators=(",", ":"), default=str), flush=True)
    return result


def _report(
    result: CanaryResult,
    config: CanaryConfig,
    clients: CanaryClients,
    calls: Calls,
    xray_failed: bool,
    cloudwatch_failed: bool,
) -> None:
    """The canary's metrics, every run, so a missing datapoint means the canary itself stopped."""
    values = {
        "CanaryHealth": 1.0 if result.status == "healthy" else 0.0,
        "trace_data_loss_ratio": result.xray.loss_ratio,
        "trace_data_loss": 1.0 if xray_failed else 0.0,
        "canary.trace.partial": 1.0 if result.xray.partial else 0.0,
        "CloudWatchPipelineHealth": 0.0 if cloudwatch_failed else 1.0,
    }
    data = [{"MetricName": m.name, "Value": values[m.name], "Unit": m.unit} for m in HEALTH_METRICS]
    data += destination_metric_data(result.destination)
    try:
        calls.call(
            "cloudwatch",
            "PutMetricData",
            clients.cloudwatch.put_metric_data,
            Namespace=config.namespace,
            MetricData=data,
        )
        result.reported = True
    except Exception as exc:
        result.report_error = f"{error_code(exc)}: {exc}"
        _logger.error(
            "Canary metrics not reported (the alarms will see missing data): %s", result.report_error
        )


def _alerts_due(
    result: CanaryResult, permanent: PermanentError | None, xray_failed: bool, cloudwatch_failed: bool
) -> list[Alert]:
    details = result.to_dict()
    if permanent is not None:
        return [
            Alert(
                "permanent_error",
                f"Canary cannot work: {permanent}. Fix the canary's IAM role or credentials.",
                details,
            )
        ]
    if result.status == "failed" and result.consecutive_failures == ALERT_AFTER:
        failing = [name for name, bad in (("X-Ray", xray_failed), ("CloudWatch", cloudwatch_failed)) if bad]
        what = " and ".join(failing) or "the canary"
        return [
            Alert(
                "consecutive_failures",
                f"{what} failing for {ALERT_AFTER} consecutive canary intervals "
                f"(trace loss {result.xray.loss_ratio:.0%}, "
                f"CloudWatch datapoint found: {result.cloudwatch.found}).",
                details,
            )
        ]
    return []
