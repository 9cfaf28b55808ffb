"""The one ``TracerProvider`` of the process, built at INIT, and the guards that refuse bad setups.

Everything here happens once per execution environment, never per invocation
(a provider per invocation would leak a thread and a queue each time):
the provider, one ``BatchSpanProcessor`` (one daemon thread), the exporter,
the global propagator. Per-invocation work lives in ``_context`` and
``_stream``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from opentelemetry import trace
from opentelemetry.propagate import set_global_textmap
from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler

from .. import _config_values, _emf, _env
from .._compat.otel import ignores_unsampled_parent
from .._compat.xray_sdk import requests_patched
from ..exceptions import StreamingConfigurationError as ConfigurationError
from ._attach import mark_own
from ._deferred import DeferredOTLPExporter, lambda_resource
from ._export import AccountingSpanProcessor, FailFastExporter, LossReporter
from ._udp_export import (
    ROUTE_UDP,
    OTLPUdpExporter,
    UdpRouteExporter,
    daemon_endpoint,
    describe_route,
    resolve_route,
)

__all__ = [
    "DEFAULT_ENDPOINT",
    "ConfigurationError",
    "FlushReport",
    "StreamingSettings",
    "StreamingTracer",
    "built_streaming_tracer",
    "check_environment",
    "check_instrumentation",
    "get_streaming_tracer",
    "reset_streaming_tracer",
]

_logger = logging.getLogger("xray_exclusive.streaming")

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
"""The ADOT Lambda extension's OTLP/HTTP receiver, the default destination of spans."""

SCHEDULE_DELAY_MILLIS = 1000
MAX_QUEUE_SIZE = 1500
MAX_EXPORT_BATCH_SIZE = 64
EXPORT_TIMEOUT_S = 0.5
"""Per-request timeout (s). Below the exporter's first backoff (0.8 s): a refused or 503 is not retried."""
INSTRUMENTATION_NAME = "xray_exclusive.streaming"


@dataclass(frozen=True, slots=True)
class StreamingSettings:
    """What the provider was built with, after arguments, environment and defaults were resolved.

    Example:
        >>> StreamingSettings("sse", DEFAULT_ENDPOINT, 1000, 1500, 64, 0.5, 5000).max_queue_size
        1500
    """

    service_name: str
    endpoint: str
    schedule_delay_millis: int
    max_queue_size: int
    max_export_batch_size: int
    export_timeout_s: float
    flush_budget_ms: int
    route: str = "collector"
    """``collector`` (OTLP/HTTP to the extension) or ``udp`` (OTLP over UDP to the X-Ray daemon)."""


class FlushReport(NamedTuple):
    """What one :meth:`StreamingTracer.flush` achieved: spans delivered, lost in export, dropped, time taken.

    Counts are for this flush (since the previous one), not totals.

    Example:
        >>> FlushReport(exported=3, failed=0, dropped=0, seconds=0.01).complete
        True
    """

    exported: int
    failed: int
    dropped: int
    seconds: float

    @property
    def complete(self) -> bool:
        """Every span ended since the last flush reached the collector."""
        return self.failed == 0 and self.dropped == 0


class StreamingTracer:
    """The process's tracing pipeline: provider, tracer, accounting processor and fail-fast exporter.

    Get it with :func:`get_streaming_tracer`; never build one per invocation.

    Example:
        >>> st = get_streaming_tracer(service_name="doc-sse", endpoint="http://127.0.0.1:9/v1/traces")
        >>> st is get_streaming_tracer(), st.settings.max_queue_size
        (True, 1500)
        >>> reset_streaming_tracer()
    """

    def __init__(
        self,
        settings: StreamingSettings,
        provider: TracerProvider,
        processor: AccountingSpanProcessor,
        exporter: FailFastExporter,
        reporter: LossReporter,
    ) -> None:
        self.settings = settings
        self.provider = provider
        self.processor = processor
        self.exporter = exporter
        self.reporter = reporter
        self.tracer: trace.Tracer = provider.get_tracer(INSTRUMENTATION_NAME)
        self._flush_lock = threading.Lock()
        self._seen = (0, 0, 0)  # exported, failed, dropped at the end of the previous flush

    @property
    def dropped_spans(self) -> int:
        """Sampled spans dropped so far because the queue was full (never rate-limited)."""
        return self.processor.dropped

    @property
    def exported_spans(self) -> int:
        """Spans the collector accepted so far."""
        return self.exporter.exported

    @property
    def failed_spans(self) -> int:
        """Spans lost in export so far (collector down, refused, slow, or past the flush budget)."""
        return self.exporter.failed

    def flush(self, budget_ms: int | None = None) -> FlushReport:
        """Export every queued span, within ``budget_ms`` (default: the configured flush budget).

        The OpenTelemetry SDK's ``force_flush`` ignores its timeout; here the
        budget is a deadline after which no export starts, and each export is
        bounded by the exporter's timeout. With the collector down, the first
        refused request opens the circuit and the flush returns at once.
        Losses are written as one structured line (see :class:`LossReporter`).
        """
        budget = self.settings.flush_budget_ms if budget_ms is None else budget_ms
        started = time.monotonic()
        with self._flush_lock:
            self.exporter.set_deadline(started + budget / 1000)
            try:
                self.provider.force_flush(budget)
            finally:
                self.exporter.set_deadline(None)
            exporter, processor = self.exporter, self.processor
            processor.reconcile(exporter.exported, exporter.failed)
            exported, failed, dropped = exporter.exported, exporter.failed, processor.dropped
            before = self._seen
            self._seen = (exported, failed, dropped)
        report = FlushReport(
            exported - before[0], failed - before[1], dropped - before[2], time.monotonic() - started
        )
        self.reporter.flush()
        if report.failed:
            self.reporter.unexported(report.failed, self.settings.endpoint, exporter.last_failure)
        return report

    def shutdown(self) -> None:
        """Stop the processor thread after a last export. Only for tests and tools, never in a handler."""
        self.provider.shutdown()


_instance: StreamingTracer | None = None
_instance_lock = threading.Lock()


def get_streaming_tracer(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    schedule_delay_millis: int | None = None,
    max_queue_size: int | None = None,
    max_export_batch_size: int | None = None,
    export_timeout_s: float | None = None,
    flush_budget_ms: int | None = None,
    sampler: Sampler | None = None,
    route: str | None = None,
    exporter: SpanExporter | None = None,
    sink: _emf.MetricSink | None = None,
) -> StreamingTracer:
    """The process's :class:`StreamingTracer`, built on the first call (call it at module level, INIT).

    Idempotent and thread-safe: later calls return the same object (and warn
    if they ask for different settings). Each setting comes from its argument,
    then its environment variable (``OTEL_BSP_*``, ``OTEL_EXPORTER_OTLP_*``,
    see ``docs/configuration.md``), then the Lambda-tuned default: schedule
    delay 1000 ms, queue 1500 (twice the ~675 spans of a 15 s stream that polls
    15 times a second, 3 spans a poll), batch 64, export timeout 0.5 s, flush
    budget 5000 ms.

    Built once: ``TracerProvider(shutdown_on_exit=False,
    sampler=ParentBased(ALWAYS_ON), id_generator=AwsXRayIdGenerator())`` with
    ``service.name`` and the Lambda resource; a ``BatchSpanProcessor`` over an
    ``OTLPSpanExporter``, both wrapped to count losses; the global propagator
    ``AwsXRayLambdaPropagator``; the global tracer provider, unless one is set.

    Raises :class:`ConfigurationError` for setups that break traces: no
    ``OTEL_SERVICE_NAME`` (or ``service_name``) or one that differs from
    ``POWERTOOLS_SERVICE_NAME``; ``AWS_LAMBDA_EXEC_WRAPPER`` set; botocore
    instrumented by OpenTelemetry; ``requests`` patched by the X-Ray SDK (a
    Powertools ``Tracer()`` with ``auto_patch=True``); an always-on sampler.

    ``exporter`` replaces the OTLP exporter (tests, tools); ``sink`` the stdout
    sink of the span-loss lines.

    ``route`` (else ``XRAY_EXCLUSIVE_STREAMING_ROUTE``, else ``collector``):
    ``collector`` sends OTLP/HTTP to ``endpoint``; ``udp`` sends OTLP over UDP
    to the X-Ray daemon, as AWS's Lambda layer does, at ``endpoint``
    (``host:port``) else ``AWS_XRAY_DAEMON_ADDRESS`` else ``127.0.0.1:2000``.
    The route is logged at INFO when the tracer is built.

    Example:
        >>> get_streaming_tracer(service_name="doc-sse", max_queue_size=2000).settings.max_queue_size
        2000
        >>> reset_streaming_tracer()
    """
    global _instance
    requested = {k: v for k, v in locals().items() if v is not None}
    instance = _instance
    if instance is None:
        with _instance_lock:
            if _instance is None:
                settings = _resolve(
                    service_name,
                    endpoint,
                    schedule_delay_millis,
                    max_queue_size,
                    max_export_batch_size,
                    export_timeout_s,
                    flush_budget_ms,
                    route,
                )
                _instance = _build(settings, sampler, exporter, sink)
                return _instance
            instance = _instance
    if requested:
        _warn_if_different(instance, requested)
    return instance


def reset_streaming_tracer() -> None:
    """Shut the process's streaming tracer down and forget it: the documented hook for tests.

    Example:
        >>> reset_streaming_tracer()  # the next get_streaming_tracer() builds a fresh one
    """
    global _instance
    with _instance_lock:
        instance, _instance = _instance, None
    if instance is not None:
        instance.shutdown()


def built_streaming_tracer() -> StreamingTracer | None:
    """The process's :class:`StreamingTracer` if it was built, else ``None``: never builds one.

    Example:
        >>> reset_streaming_tracer()
        >>> built_streaming_tracer() is None
        True
    """
    return _instance


def _warn_if_different(instance: StreamingTracer, requested: dict[str, Any]) -> None:
    settings = instance.settings
    different = [
        key
        for key, value in requested.items()
        if (hasattr(settings, key) and getattr(settings, key) != value)
        or key in ("sampler", "exporter", "sink")
    ]
    if different:
        _logger.warning(
            "get_streaming_tracer(%s): the streaming tracer was already built; these arguments are ignored.",
            ", ".join(different),
        )


# ------------------------------------------------------------------------------- build


def _build(
    settings: StreamingSettings,
    sampler: Sampler | None,
    exporter: SpanExporter | None,
    sink: _emf.MetricSink | None,
) -> StreamingTracer:
    check_environment()
    chosen_sampler = _check_sampler(sampler)
    resource = Resource.create({"service.name": settings.service_name})
    if _env.AWS_LAMBDA_FUNCTION_NAME.get() is not None:
        resource = resource.merge(lambda_resource())  # AwsLambdaResourceDetector's, without its package
    if settings.route == ROUTE_UDP and exporter is None:
        fail_fast: FailFastExporter = UdpRouteExporter(OTLPUdpExporter(settings.endpoint))
    else:
        # Built on first use: the OTLP/HTTP exporter brings requests and urllib3, off the cold start.
        inner = exporter or DeferredOTLPExporter(settings.endpoint, timeout=settings.export_timeout_s)
        fail_fast = FailFastExporter(inner, endpoint=settings.endpoint)
    reporter = LossReporter(sink=sink)
    batch = BatchSpanProcessor(
        fail_fast,
        max_queue_size=settings.max_queue_size,
        schedule_delay_millis=settings.schedule_delay_millis,
        max_export_batch_size=settings.max_export_batch_size,
    )
    processor = AccountingSpanProcessor(batch, reporter)
    # xe: ignore[XE005] built once per process, under the bootstrap lock
    provider = TracerProvider(
        sampler=chosen_sampler,
        resource=resource,
        shutdown_on_exit=False,
        id_generator=AwsXRayIdGenerator(),
    )
    provider.add_span_processor(processor)
    mark_own(provider)
    set_global_textmap(AwsXRayLambdaPropagator())
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    _logger.debug("Streaming tracer built: %s", settings)
    _logger.info(describe_route(settings))
    return StreamingTracer(settings, provider, processor, fail_fast, reporter)


def _resolve(
    service_name: str | None,
    endpoint: str | None,
    schedule_delay_millis: int | None,
    max_queue_size: int | None,
    max_export_batch_size: int | None,
    export_timeout_s: float | None,
    flush_budget_ms: int | None,
    route: str | None = None,
) -> StreamingSettings:
    name = service_name or _env.OTEL_SERVICE_NAME.get()
    powertools = _env.POWERTOOLS_SERVICE_NAME.get()
    if name is None:
        raise ConfigurationError(
            "OTEL_SERVICE_NAME is not set: streaming spans would appear as 'unknown_service' in the "
            "X-Ray service map. Set OTEL_SERVICE_NAME to the same value as "
            "POWERTOOLS_SERVICE_NAME in the function's environment."
        )
    if powertools is not None and powertools != name:
        raise ConfigurationError(
            f"OTEL_SERVICE_NAME={name!r} differs from POWERTOOLS_SERVICE_NAME={powertools!r}: the handler "
            "phase and the streaming phase would show as two services. Give both the same value."
        )
    chosen_route = resolve_route(route)
    if chosen_route == ROUTE_UDP:
        endpoint = daemon_endpoint(endpoint)
    if endpoint is None:
        endpoint = _env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.get()
    if endpoint is None:
        base = _env.OTEL_EXPORTER_OTLP_ENDPOINT.get()
        endpoint = base.rstrip("/") + "/v1/traces" if base else DEFAULT_ENDPOINT
    budget = flush_budget_ms or _env.XRAY_EXCLUSIVE_FLUSH_BUDGET_MS.get()
    timeout = (
        export_timeout_s
        or _env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT.get()
        or _env.OTEL_EXPORTER_OTLP_TIMEOUT.get()
        or EXPORT_TIMEOUT_S
    )
    if timeout * 1000 > budget:
        _logger.warning(
            "OTLP export timeout %ss exceeds the flush budget of %d ms; using %ss. Python's exporter "
            "reads OTEL_EXPORTER_OTLP_TIMEOUT in seconds, not milliseconds.",
            timeout,
            budget,
            budget / 1000,
        )
        timeout = budget / 1000
    try:  # an explicit argument out of range raises at once; a bad OTEL_BSP_* falls back with a warning
        _config_values.check_bsp_arguments(
            schedule_delay_millis=schedule_delay_millis,
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    queue = max_queue_size or _env.OTEL_BSP_MAX_QUEUE_SIZE.get() or MAX_QUEUE_SIZE
    batch = max_export_batch_size or _env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE.get() or MAX_EXPORT_BATCH_SIZE
    if batch > queue:
        raise ConfigurationError(
            f"max_export_batch_size ({batch}) is larger than max_queue_size ({queue}); "
            "lower OTEL_BSP_MAX_EXPORT_BATCH_SIZE or raise OTEL_BSP_MAX_QUEUE_SIZE."
        )
    delay = schedule_delay_millis or _env.OTEL_BSP_SCHEDULE_DELAY.get() or SCHEDULE_DELAY_MILLIS
    return StreamingSettings(name, endpoint, delay, queue, batch, float(timeout), budget, chosen_route)


def check_environment() -> None:
    """Raise :class:`ConfigurationError` for process setups that break streaming traces; warn on ignored ones.

    Run once when the streaming tracer is built. :func:`check_instrumentation` (its last two checks) runs
    again when each stream starts, since a Powertools ``Tracer()`` may be built after INIT.

    Example:
        >>> check_environment()  # a clean process: nothing to say
    """
    wrapper = _env.AWS_LAMBDA_EXEC_WRAPPER.get()
    if wrapper is not None:
        raise ConfigurationError(
            f"AWS_LAMBDA_EXEC_WRAPPER={wrapper!r} is set: the ADOT layer's wrapper builds a second "
            "TracerProvider and instruments botocore, duplicating every span. Remove the variable; "
            "keep the ADOT layer only as the collector extension."
        )
    check_instrumentation()
    if _env.OTEL_PROPAGATORS.get() is not None:
        _logger.warning(
            "OTEL_PROPAGATORS=%r is ignored: the streaming tracer installs AwsXRayLambdaPropagator "
            "to read the invocation's trace from _X_AMZN_TRACE_ID. Remove the variable.",
            _env.OTEL_PROPAGATORS.get(),
        )


def check_instrumentation() -> None:
    """Raise :class:`ConfigurationError` if botocore is OTel-instrumented or ``requests`` X-Ray-patched.

    Two lookups in ``sys.modules``: cheap enough for the start of every stream.

    Example:
        >>> check_instrumentation()
    """
    if _botocore_instrumented():
        raise ConfigurationError(
            "botocore is instrumented by OpenTelemetry (BotocoreInstrumentor().instrument()): every AWS "
            "call would be traced twice and outside the stream's context. Remove the "
            "instrumentation; use dynamodb_span() / cloudwatch_span() around calls made while streaming."
        )
    if requests_patched():
        raise ConfigurationError(
            "The X-Ray SDK has patched `requests` (a Powertools Tracer() with auto_patch=True): every OTLP "
            "export would become an X-Ray subsegment and carry an injected trace header. "
            "Build the Tracer with Tracer(auto_patch=False) or patch_modules=['botocore']."
        )


def _botocore_instrumented() -> bool:
    module = sys.modules.get("opentelemetry.instrumentation.botocore")
    if module is None:
        return False
    instrumentor = getattr(module, "BotocoreInstrumentor", None)
    if instrumentor is None:
        return False
    return bool(getattr(instrumentor(), "is_instrumented_by_opentelemetry", False))


def _check_sampler(sampler: Sampler | None) -> Sampler:
    env = _env.OTEL_TRACES_SAMPLER.get()
    if sampler is None and env is not None:
        if env.lower() == "always_on":
            raise ConfigurationError(
                "OTEL_TRACES_SAMPLER=always_on would trace invocations X-Ray did not sample and create "
                "orphaned traces. Remove the variable."
            )
        if env.lower() != "parentbased_always_on":
            _logger.warning("OTEL_TRACES_SAMPLER=%r is ignored; using parentbased_always_on.", env)
    if sampler is None:
        return ParentBased(ALWAYS_ON)
    if ignores_unsampled_parent(sampler):
        raise ConfigurationError(
            f"sampler {sampler.get_description()} ignores X-Ray's Sampled=0 and creates spans for "
            "unsampled invocations, orphaned traces. Leave sampler unset (ParentBased(ALWAYS_ON))."
        )
    return sampler
