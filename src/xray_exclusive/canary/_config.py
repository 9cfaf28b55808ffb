"""The canary's configuration: explicit arguments, else the ``CANARY_*`` variables, validated strictly."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol

from .. import _config_values, _env
from ..exceptions import ConfigurationError

__all__ = ["CanaryConfig", "Clock", "ConfigurationError", "SystemClock"]


class Clock(Protocol):
    """Time for the canary: injected in tests so a 90-second wait takes no time."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The real clock.

    Example:
        >>> SystemClock().now() > 1.7e9
        True
    """

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep()``, never negative."""
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class CanaryConfig:
    """Everything one canary run needs to know; see ``docs/canary.md`` for each field's variable.

    Each field's default is its variable's, read from ``_env`` (one place for both).

    Example:
        >>> CanaryConfig(trace_count=3).retrieval_delays
        (30.0, 60.0)
    """

    trace_count: int = _env.CANARY_TRACE_COUNT.default
    retrieval_delays: tuple[float, ...] = _env.CANARY_RETRIEVAL_DELAYS.default
    metric_delay: float = _env.CANARY_METRIC_DELAY.default
    metric_window: float = _env.CANARY_METRIC_WINDOW.default
    metric_poll_interval: float = 15.0
    namespace: str = _env.CANARY_NAMESPACE.default
    loss_threshold: float = _env.CANARY_LOSS_THRESHOLD.default
    sns_topic_arn: str | None = _env.CANARY_SNS_TOPIC_ARN.default
    webhook_url: str | None = _env.CANARY_WEBHOOK_URL.default
    state_table: str | None = _env.CANARY_STATE_TABLE.default
    endpoint_url: str | None = None
    max_retries: int = 3
    service_name: str = "xray-exclusive-canary"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.trace_count < 1 or self.trace_count > 100:
            raise ConfigurationError(f"trace_count must be between 1 and 100, got {self.trace_count}")
        if not self.retrieval_delays or list(self.retrieval_delays) != sorted(self.retrieval_delays):
            raise ConfigurationError(f"retrieval_delays must be increasing, got {self.retrieval_delays}")
        if not 0 <= self.loss_threshold <= 1:
            raise ConfigurationError(f"loss_threshold must be between 0 and 1, got {self.loss_threshold}")
        if self.metric_poll_interval <= 0:
            raise ConfigurationError("metric_poll_interval must be positive")
        _check_values(self)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> CanaryConfig:
        """Read the ``CANARY_*`` variables (and ``AWS_ENDPOINT_URL``); ``overrides`` win over them.

        Raises :class:`ConfigurationError` naming the first invalid variable.
        """
        import os

        env = os.environ if environ is None else environ
        try:
            config = cls(
                trace_count=_env.CANARY_TRACE_COUNT.require(env),
                retrieval_delays=_env.CANARY_RETRIEVAL_DELAYS.require(env),
                metric_delay=_env.CANARY_METRIC_DELAY.require(env),
                metric_window=_env.CANARY_METRIC_WINDOW.require(env),
                namespace=_env.CANARY_NAMESPACE.require(env),
                loss_threshold=_env.CANARY_LOSS_THRESHOLD.require(env),
                sns_topic_arn=_env.CANARY_SNS_TOPIC_ARN.require(env),
                webhook_url=_env.CANARY_WEBHOOK_URL.require(env),
                state_table=_env.CANARY_STATE_TABLE.require(env),
                endpoint_url=(env.get("AWS_ENDPOINT_URL") or None),
            )
        except ConfigurationError:
            raise
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(config, **clean) if clean else config  # type: ignore[arg-type]


def _check_values(config: CanaryConfig) -> None:
    """The values that could only fail later (a sleep that overflows, a namespace CloudWatch refuses)."""
    checks: list[tuple[str, object, Callable[[str], object]]] = [
        ("metric_delay", config.metric_delay, _config_values.parse_canary_seconds),
        ("metric_window", config.metric_window, partial(_config_values.parse_canary_seconds, positive=True)),
        ("namespace", config.namespace, _config_values.parse_canary_namespace),
    ]
    parse_delay = _config_values.parse_canary_seconds
    checks += [("retrieval_delays", delay, parse_delay) for delay in config.retrieval_delays]
    if config.sns_topic_arn is not None:
        checks.append(("sns_topic_arn", config.sns_topic_arn, _config_values.parse_sns_topic_arn))
    if config.webhook_url is not None:
        checks.append(("webhook_url", config.webhook_url, _config_values.parse_webhook_url))
    for name, value, parse in checks:
        try:
            parse(str(value))
        except ValueError as exc:
            raise ConfigurationError(f"{name}={value!r} is invalid: {exc}") from None
