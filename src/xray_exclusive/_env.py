"""Every environment variable the library reads, in one place.

Precedence everywhere in the library: an explicit argument first, then the
environment variable, then the default documented here. A malformed value
falls back to the default with a logged warning; it never raises.

The table in ``docs/configuration.md`` is checked against :data:`ALL` by the
test suite, so the two cannot drift apart.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from . import _config_values, _metrics

__all__ = [
    "ALL",
    "AWS_LAMBDA_EXEC_WRAPPER",
    "AWS_LAMBDA_FUNCTION_NAME",
    "CANARY_LOSS_THRESHOLD",
    "CANARY_METRIC_DELAY",
    "CANARY_METRIC_WINDOW",
    "CANARY_NAMESPACE",
    "CANARY_RETRIEVAL_DELAYS",
    "CANARY_SNS_TOPIC_ARN",
    "CANARY_STATE_TABLE",
    "CANARY_TRACE_COUNT",
    "CANARY_WEBHOOK_URL",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_PROPAGATORS",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_SAMPLER",
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_SERVICE_NAME",
    "SSE_RETRY_MS",
    "XRAY_EXCLUSIVE_BACKEND",
    "XRAY_EXCLUSIVE_FLUSH_BUDGET_MS",
    "XRAY_EXCLUSIVE_STREAMING_ROUTE",
    "XRAY_EXCLUSIVE_STREAM_DEADLINE_MARGIN_MS",
    "EnvVar",
    "parse_bool",
]


T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})


def parse_bool(raw: str) -> bool:
    """Parse a boolean environment value; raise ``ValueError`` when it is neither true nor false.

    An empty value is false (Powertools' ``strtobool`` raises on it instead).

    Example:
        >>> parse_bool("TRUE"), parse_bool("")
        (True, False)
    """
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _parse_str(raw: str) -> str | None:
    value = raw.strip()
    return value or None


def _parse_positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError(f"not a positive integer: {raw!r}")
    return value


def _parse_non_negative_int(raw: str) -> int:
    value = int(raw.strip())
    if value < 0:
        raise ValueError(f"negative: {raw!r}")
    return value


def _parse_delays(raw: str) -> tuple[float, ...]:
    values = tuple(float(part) for part in raw.split(",") if part.strip())
    limit = _config_values.MAX_CANARY_SECONDS
    if not values or any(not 0 <= v <= limit for v in values) or list(values) != sorted(values):
        raise ValueError(f"not increasing seconds from 0 to {limit:.0f}, comma-separated: {raw!r}")
    return values


def _parse_ratio(raw: str) -> float:
    value = float(raw.strip())
    if not 0 <= value <= 1:
        raise ValueError(f"not a ratio between 0 and 1: {raw!r}")
    return value


def _parse_seconds(raw: str) -> float:
    value = float(raw.strip())
    if not value > 0 or value == float("inf"):
        raise ValueError(f"not a positive number of seconds: {raw!r}")
    return value


def _parse_backend(raw: str) -> str:
    value = raw.strip().lower()
    if value == "xray":  # the earlier name of xray-sdk
        return "xray-sdk"
    if value not in ("auto", "native", "xray-sdk", "otel"):
        raise ValueError(f"not auto, native, xray-sdk (xray) or otel: {raw!r}")
    return value


class EnvVar(Generic[T]):
    """One environment variable: its name, meaning, default and parser.

    Example:
        >>> POWERTOOLS_METRICS_DISABLED.get({"POWERTOOLS_METRICS_DISABLED": "true"})
        True
    """

    __slots__ = ("default", "doc", "name", "parser")

    def __init__(self, name: str, default: T, doc: str, parser: Callable[[str], T]) -> None:
        self.name = name
        self.default = default
        self.doc = doc
        self.parser = parser

    def __repr__(self) -> str:
        return f"EnvVar({self.name!r}, default={self.default!r})"

    def require(self, environ: dict[str, str] | os._Environ[str] | None = None) -> T:
        """Read the variable now; a malformed value raises ``ValueError`` naming the variable.

        For configuration that must fail at INIT rather than run with a default (the canary).

        Example:
            >>> CANARY_TRACE_COUNT.require({"CANARY_TRACE_COUNT": "zero"})
            Traceback (most recent call last):
            ...
            ValueError: CANARY_TRACE_COUNT='zero' is invalid: invalid literal for int() with base 10: 'zero'
        """
        env = os.environ if environ is None else environ
        raw = env.get(self.name)
        if raw is None:
            return self.default
        try:
            return self.parser(raw)
        except ValueError as exc:
            raise ValueError(f"{self.name}={raw!r} is invalid: {exc}") from None

    def get(self, environ: dict[str, str] | os._Environ[str] | None = None) -> T:
        """Read the variable now; a malformed value gives the default and a warning."""
        env = os.environ if environ is None else environ
        raw = env.get(self.name)
        if raw is None:
            return self.default
        try:
            return self.parser(raw)
        except ValueError:
            import logging  # here, not at import: logging costs milliseconds at cold start

            logging.getLogger("xray_exclusive").warning(
                "Ignoring malformed %s=%r; using the default %r.", self.name, raw, self.default
            )
            return self.default


AWS_LAMBDA_FUNCTION_NAME: EnvVar[str | None] = EnvVar(
    name="AWS_LAMBDA_FUNCTION_NAME",
    default=None,
    doc="Set by Lambda. The value of the `Lambda` dimension of every failure-path metric.",
    parser=_parse_str,
)

POWERTOOLS_SERVICE_NAME: EnvVar[str | None] = EnvVar(
    name="POWERTOOLS_SERVICE_NAME",
    default=None,
    doc=(
        "Fallback for the `Lambda` dimension outside Lambda (then `unknown`). Streaming: when set, "
        "`OTEL_SERVICE_NAME` must equal it."
    ),
    parser=_parse_str,
)

POWERTOOLS_METRICS_NAMESPACE: EnvVar[str | None] = EnvVar(
    name="POWERTOOLS_METRICS_NAMESPACE",
    default=None,
    doc=(
        "Namespace of a failure path that names none (a path's own `namespace` always wins, and "
        "its alarm watches that one). Without either: `XrayExclusive/FailurePaths`."
    ),
    parser=_parse_str,
)

POWERTOOLS_METRICS_DISABLED: EnvVar[bool] = EnvVar(
    name="POWERTOOLS_METRICS_DISABLED",
    default=False,
    doc=(
        "`true` stops failure-path metric lines (for local runs and tests). Read at every "
        "failure; unlike Powertools, `POWERTOOLS_DEV` alone does not disable them."
    ),
    parser=parse_bool,
)

XRAY_EXCLUSIVE_BACKEND: EnvVar[str] = EnvVar(
    name="XRAY_EXCLUSIVE_BACKEND",
    default="auto",
    doc=(
        "Tracing backend of `failure_path` and `http_subsegment` when none is passed: `auto` (the same as "
        "`native`, which keeps the X-Ray SDK's `## handler` as parent when the SDK is in use); "
        "`native` (documents sent straight to the X-Ray daemon, no SDK), `xray-sdk` (alias `xray`: "
        "the SDK's models, sent by its emitter, for a recorder configured in code) or `otel` "
        "(OpenTelemetry, needs the `[streaming]` extra). Inside a traced stream the OpenTelemetry "
        "backend is always used."
    ),
    parser=_parse_backend,
)

OTEL_SERVICE_NAME: EnvVar[str | None] = EnvVar(
    name="OTEL_SERVICE_NAME",
    default=None,
    doc=(
        "Streaming: required, and must equal `POWERTOOLS_SERVICE_NAME` when that is set, so that the "
        "function is one node in the X-Ray service map, not `unknown_service` or two services; "
        "otherwise `get_streaming_tracer()` raises `ConfigurationError`."
    ),
    parser=_parse_str,
)

AWS_LAMBDA_EXEC_WRAPPER: EnvVar[str | None] = EnvVar(
    name="AWS_LAMBDA_EXEC_WRAPPER",
    default=None,
    doc=(
        "Streaming: must be unset, or `get_streaming_tracer()` raises `ConfigurationError`. The ADOT "
        "layer's `/opt/otel-instrument` wrapper would build a second provider and instrument botocore, "
        "tracing every AWS call twice."
    ),
    parser=_parse_str,
)

OTEL_PROPAGATORS: EnvVar[str | None] = EnvVar(
    name="OTEL_PROPAGATORS",
    default=None,
    doc=(
        "Streaming: ignored with a warning; the streaming tracer always installs "
        "`AwsXRayLambdaPropagator`, which reads the invocation's trace from `_X_AMZN_TRACE_ID`."
    ),
    parser=_parse_str,
)

OTEL_TRACES_SAMPLER: EnvVar[str | None] = EnvVar(
    name="OTEL_TRACES_SAMPLER",
    default=None,
    doc=(
        "Streaming: ignored; the sampler is always `ParentBased(ALWAYS_ON)`, so invocations X-Ray did "
        "not sample export nothing. "
        "`always_on` raises `ConfigurationError`, anything else is ignored with a warning."
    ),
    parser=_parse_str,
)

OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: EnvVar[str | None] = EnvVar(
    name="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    default=None,
    doc="Streaming: the full OTLP/HTTP traces URL, used as is. Wins over `OTEL_EXPORTER_OTLP_ENDPOINT`.",
    parser=_parse_str,
)

OTEL_EXPORTER_OTLP_ENDPOINT: EnvVar[str | None] = EnvVar(
    name="OTEL_EXPORTER_OTLP_ENDPOINT",
    default=None,
    doc=(
        "Streaming: base URL; `/v1/traces` is appended. Without either endpoint: "
        "`http://localhost:4318/v1/traces`, where the ADOT Lambda extension listens."
    ),
    parser=_parse_str,
)

OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: EnvVar[float | None] = EnvVar(
    name="OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    default=None,
    doc=(
        "Streaming: per-request export timeout in **seconds** (the Python exporter's unit, not the "
        "milliseconds of the OpenTelemetry specification). Default 0.5 s; values above the flush "
        "budget are capped with a warning."
    ),
    parser=_parse_seconds,
)

OTEL_EXPORTER_OTLP_TIMEOUT: EnvVar[float | None] = EnvVar(
    name="OTEL_EXPORTER_OTLP_TIMEOUT",
    default=None,
    doc="Streaming: fallback for `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, same unit (seconds).",
    parser=_parse_seconds,
)

OTEL_BSP_SCHEDULE_DELAY: EnvVar[int | None] = EnvVar(
    name="OTEL_BSP_SCHEDULE_DELAY",
    default=None,
    doc="Streaming: milliseconds between background exports, 1 to 3,600,000. Default 1000.",
    parser=_config_values.bounded_int(*_config_values.BSP_RANGES["schedule_delay_millis"]),
)

OTEL_BSP_MAX_QUEUE_SIZE: EnvVar[int | None] = EnvVar(
    name="OTEL_BSP_MAX_QUEUE_SIZE",
    default=None,
    doc="Streaming: spans held before the oldest is dropped, 1 to 100,000. Default 1500.",
    parser=_config_values.bounded_int(*_config_values.BSP_RANGES["max_queue_size"]),
)

OTEL_BSP_MAX_EXPORT_BATCH_SIZE: EnvVar[int | None] = EnvVar(
    name="OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    default=None,
    doc="Streaming: spans per OTLP request, 1 to 10,000. Default 64; at most the queue size.",
    parser=_config_values.bounded_int(*_config_values.BSP_RANGES["max_export_batch_size"]),
)

XRAY_EXCLUSIVE_FLUSH_BUDGET_MS: EnvVar[int] = EnvVar(
    name="XRAY_EXCLUSIVE_FLUSH_BUDGET_MS",
    default=5000,
    doc=(
        "Streaming: the most time the flush at the end of a stream may take, so that queued spans "
        "leave before Lambda freezes the environment; the default 5 s is ample for a local collector. "
        "With the collector down, the flush gives up after the first refused request instead."
    ),
    parser=_parse_positive_int,
)


def _parse_route(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("collector", "udp"):
        raise ValueError(f"not collector or udp: {raw!r}")
    return value


XRAY_EXCLUSIVE_STREAMING_ROUTE: EnvVar[str] = EnvVar(
    name="XRAY_EXCLUSIVE_STREAMING_ROUTE",
    default="collector",
    doc=(
        "Streaming: where spans go. `collector`: OTLP/HTTP to the collector extension (the endpoint "
        "variables above). `udp`: OTLP over UDP to the X-Ray daemon at `AWS_XRAY_DAEMON_ADDRESS`, as "
        "AWS's Lambda layer sends them, no extension needed. See [choosing a route](migration.md)."
    ),
    parser=_parse_route,
)

XRAY_EXCLUSIVE_STREAM_DEADLINE_MARGIN_MS: EnvVar[int] = EnvVar(
    name="XRAY_EXCLUSIVE_STREAM_DEADLINE_MARGIN_MS",
    default=1000,
    doc=(
        "Custom runtime: a streamed response is ended this many milliseconds before the invocation's "
        "deadline, so that its spans are flushed before Lambda stops the environment (a healthy collector "
        "takes a few milliseconds; one slow export at most 0.5 s). Never more than half of the time an "
        "invocation had when it started."
    ),
    parser=_parse_non_negative_int,
)

SSE_RETRY_MS: EnvVar[int] = EnvVar(
    name="SSE_RETRY_MS",
    default=3000,
    doc=(
        "The `retry:` reconnection delay (ms) an `sse.EventStream` sends first on each connection, "
        "so that clients wait this long before reconnecting instead of their own default."
    ),
    parser=_parse_non_negative_int,
)

CANARY_TRACE_COUNT: EnvVar[int] = EnvVar(
    name="CANARY_TRACE_COUNT",
    default=5,
    doc="Canary: test traces submitted per run.",
    parser=_parse_positive_int,
)

CANARY_RETRIEVAL_DELAYS: EnvVar[tuple[float, ...]] = EnvVar(
    name="CANARY_RETRIEVAL_DELAYS",
    default=(30.0, 60.0),
    doc="Canary: seconds after submission at which `BatchGetTraces` is tried, comma-separated (`30,60`).",
    parser=_parse_delays,
)

CANARY_METRIC_DELAY: EnvVar[float] = EnvVar(
    name="CANARY_METRIC_DELAY",
    default=90.0,
    doc="Canary: seconds between `PutMetricData` of the test datapoint and the first read (0 to 900).",
    parser=_config_values.parse_canary_seconds,
)

CANARY_METRIC_WINDOW: EnvVar[float] = EnvVar(
    name="CANARY_METRIC_WINDOW",
    default=120.0,
    doc="Canary: seconds to keep polling for the test datapoint after the first read (above 0, at most 900).",
    parser=functools.partial(_config_values.parse_canary_seconds, positive=True),
)

CANARY_NAMESPACE: EnvVar[str] = EnvVar(
    name="CANARY_NAMESPACE",
    default=_metrics.CANARY_NAMESPACE,
    doc=(
        "Canary: CloudWatch namespace of its probe datapoint and its health metrics: 1-255 of "
        "`a-z A-Z 0-9 . _ # : / -`, not starting with `:` nor `AWS/`."
    ),
    parser=_config_values.parse_canary_namespace,
)

CANARY_LOSS_THRESHOLD: EnvVar[float] = EnvVar(
    name="CANARY_LOSS_THRESHOLD",
    default=0.2,
    doc="Canary: `trace_data_loss` is 1 (X-Ray failed) when lost/submitted is above this ratio.",
    parser=_parse_ratio,
)

CANARY_SNS_TOPIC_ARN: EnvVar[str | None] = EnvVar(
    name="CANARY_SNS_TOPIC_ARN",
    default=None,
    doc="Canary: SNS topic ARN it publishes alerts to directly (not through an alarm action).",
    parser=_config_values.parse_sns_topic_arn,
)

CANARY_WEBHOOK_URL: EnvVar[str | None] = EnvVar(
    name="CANARY_WEBHOOK_URL",
    default=None,
    doc=(
        "Canary: a second, independent alert channel: JSON POST (PagerDuty/Opsgenie style) to an "
        "`https://` URL (`http://` only on loopback, for a local receiver)."
    ),
    parser=_config_values.parse_webhook_url,
)

CANARY_STATE_TABLE: EnvVar[str | None] = EnvVar(
    name="CANARY_STATE_TABLE",
    default=None,
    doc=(
        "Canary: DynamoDB table (partition key `pk`, string) that keeps the consecutive-failure count. "
        "Unset: the canary says so and relies on the alarms' evaluation periods."
    ),
    parser=_parse_str,
)

ALL: tuple[EnvVar[Any], ...] = (
    AWS_LAMBDA_FUNCTION_NAME,
    POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_METRICS_DISABLED,
    XRAY_EXCLUSIVE_BACKEND,
    OTEL_SERVICE_NAME,
    AWS_LAMBDA_EXEC_WRAPPER,
    OTEL_PROPAGATORS,
    OTEL_TRACES_SAMPLER,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    XRAY_EXCLUSIVE_FLUSH_BUDGET_MS,
    XRAY_EXCLUSIVE_STREAMING_ROUTE,
    XRAY_EXCLUSIVE_STREAM_DEADLINE_MARGIN_MS,
    SSE_RETRY_MS,
    CANARY_TRACE_COUNT,
    CANARY_RETRIEVAL_DELAYS,
    CANARY_METRIC_DELAY,
    CANARY_METRIC_WINDOW,
    CANARY_NAMESPACE,
    CANARY_LOSS_THRESHOLD,
    CANARY_SNS_TOPIC_ARN,
    CANARY_WEBHOOK_URL,
    CANARY_STATE_TABLE,
)
"""Every variable the library reads, in the order of the docs table."""
