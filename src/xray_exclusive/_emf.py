"""The one CloudWatch Embedded Metric Format writer: every EMF line of the catalogue (``_metrics.py``).

Failure-path lines are precomputed per path (:func:`render_line`); :func:`emf_line` writes the others
(the streaming tracer's span losses).

One line per failure, written and flushed at the moment of failure: a shared
library cannot rely on the handler flushing a Powertools ``Metrics`` object,
and a crash a moment later must not lose the metric. Powertools'
``single_metric`` is not used (it adds a ``service`` dimension,
prints ``null`` when its block raises, raises on a missing namespace and
ignores ``POWERTOOLS_METRICS_DISABLED``).

The structure follows CloudWatch's EMF specification::

    {"_aws": {"Timestamp": 1700000000000,
              "CloudWatchMetrics": [{"Namespace": "SentimentAnalyzer/Reliability",
                                     "Dimensions": [["Lambda", "Operation"]],
                                     "Metrics": [{"Name": "CircuitBreakerPersistenceFailure",
                                                  "Unit": "Count"}]}]},
     "Lambda": "ingestion", "Operation": "load", "CircuitBreakerPersistenceFailure": 1}
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Protocol

from . import _cw_names, _env, _metrics
from ._fastenv import BYTES_ENVIRON
from .bounded import LazyLogger
from .paths import LAMBDA_DIMENSION, FailurePath

__all__ = ["DEFAULT_NAMESPACE", "MetricSink", "StdoutSink", "emf_line", "emit_failure", "render_line"]

_logger = LazyLogger("xray_exclusive.metrics")

DEFAULT_NAMESPACE = _metrics.FAILURE_PATHS_NAMESPACE
_COMPACT = (",", ":")
_CACHE_LIMIT = 256


class MetricSink(Protocol):
    """Where one EMF document goes; the default writes a line to stdout, which Lambda ships to CloudWatch."""

    def write(self, line: str) -> None:
        """Write one complete EMF JSON document (no trailing newline)."""


class StdoutSink:
    """Writes each document as one line to the current ``sys.stdout`` and flushes it at once."""

    __slots__ = ()

    def write(self, line: str) -> None:
        """Write ``line`` and a newline to stdout, flushed."""
        out = sys.stdout
        out.write(line + "\n")
        out.flush()


_dimension_cache: tuple[object, str] = (None, "")
# Used only to notice that a variable did not change since last time.
_ENVIRON = BYTES_ENVIRON
_metrics_disabled: tuple[object, bool] = (None, False)
# POWERTOOLS_METRICS_NAMESPACE's raw value when last validated, and the namespace it gave.
_namespace_cache: tuple[object, str] = (None, DEFAULT_NAMESPACE)


def _lambda_dimension() -> str:
    global _dimension_cache
    raw, clean = _dimension_cache
    if _ENVIRON is not None:
        key: object = (_ENVIRON.get(b"AWS_LAMBDA_FUNCTION_NAME"), _ENVIRON.get(b"POWERTOOLS_SERVICE_NAME"))
        if key == raw:
            return clean
    else:
        key = None
    name = _env.AWS_LAMBDA_FUNCTION_NAME.get() or _env.POWERTOOLS_SERVICE_NAME.get() or "unknown"
    # CloudWatch dimension values: 1-1024 printable ASCII characters.
    clean = "".join(c if c.isascii() and c.isprintable() else "_" for c in name)[:1024]
    clean = clean if clean.strip() else "unknown"
    _dimension_cache = (key, clean)
    return clean


def _namespace(path: FailurePath) -> str:
    if path.namespace is not None:
        return path.namespace
    return _env_namespace()


def _env_namespace() -> str:
    """``POWERTOOLS_METRICS_NAMESPACE`` if CloudWatch accepts it, else the default.

    Read at every failure, but validated only when its raw value changed since the last failure, so
    an invalid value is warned about once each time it is set, not at every failure.
    """
    global _namespace_cache
    raw: object = (
        _ENVIRON.get(b"POWERTOOLS_METRICS_NAMESPACE")
        if _ENVIRON is not None
        else os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    )
    cached_raw, namespace = _namespace_cache
    if raw == cached_raw:
        return namespace
    namespace = DEFAULT_NAMESPACE
    # The value just read is the one validated and cached (not a second read another thread could change).
    value = os.fsdecode(raw) if isinstance(raw, bytes) else raw
    env = _env.POWERTOOLS_METRICS_NAMESPACE.get(
        {} if not isinstance(value, str) else {"POWERTOOLS_METRICS_NAMESPACE": value}
    )
    if env is not None:
        try:
            _cw_names.check_namespace(env)
        except ValueError as exc:
            _logger.warning("Ignoring POWERTOOLS_METRICS_NAMESPACE: %s; using %s.", exc, DEFAULT_NAMESPACE)
        else:
            namespace = env
    _namespace_cache = (raw, namespace)
    return namespace


def _directive(namespace: str, name: str, unit: str, dimensions: tuple[str, ...]) -> dict[str, object]:
    return {
        "Namespace": namespace,
        "Dimensions": [list(dimensions)],
        "Metrics": [{"Name": name, "Unit": unit}],
    }


def emf_line(
    metric: _metrics.Metric,
    value: int | float,
    dimensions: Mapping[str, str] | None = None,
    fields: Mapping[str, object] | None = None,
) -> str:
    """Return the EMF document for ``value`` of a catalogued ``metric``, with extra log ``fields``.

    ``dimensions`` must name exactly the metric's dimensions; the ``Lambda`` one is filled in
    with the function's name when left out. Raises ``ValueError`` for a metric of another source
    or a different set of dimensions: a line the catalogue does not declare is a bug here.

    Example:
        >>> import json
        >>> doc = json.loads(emf_line(_metrics.DROPPED_SPANS, 2, {"Lambda": "sse"}, {"queue_size": 1}))
        >>> doc["DroppedSpans"], doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], doc["queue_size"]
        (2, 'XrayExclusive/Streaming', 1)
    """
    dims = dict(dimensions or {})
    if LAMBDA_DIMENSION in metric.dimensions and LAMBDA_DIMENSION not in dims:
        dims[LAMBDA_DIMENSION] = _lambda_dimension()
    if metric.source != "EMF" or set(dims) != set(metric.dimensions):
        raise ValueError(f"{metric.name}: not an EMF metric with dimensions {sorted(dims)} in the catalogue")
    number, changed = _cw_names.metric_value(value)
    if changed:
        _logger.warning("Metric %s: %s.", metric.name, changed)
    document = {
        "_aws": {
            "Timestamp": time.time_ns() // 1_000_000,
            "CloudWatchMetrics": [_directive(metric.namespace, metric.name, metric.unit, metric.dimensions)],
        },
        **{name: dims[name] for name in metric.dimensions},
        metric.name: number,
        **(fields or {}),
    }
    return json.dumps(document, separators=_COMPACT)


_templates: dict[tuple[FailurePath, str, str], tuple[str, str]] = {}


def _template(path: FailurePath, namespace: str, lambda_name: str) -> tuple[str, str]:
    key = (path, namespace, lambda_name)
    cached = _templates.get(key)
    if cached is not None:
        return cached
    dims = {LAMBDA_DIMENSION: lambda_name, **path.dimensions}
    directive = _directive(namespace, path.metric, _metrics.FAILURE_PATH.unit, tuple(dims))
    members = json.dumps(dims, separators=_COMPACT)[1:-1]
    head = '{"_aws":{"Timestamp":'
    tail = (
        ',"CloudWatchMetrics":['
        + json.dumps(directive, separators=_COMPACT)
        + "]},"
        + members
        + ","
        + json.dumps(path.metric)
        + ":"
    )
    if len(_templates) >= _CACHE_LIMIT:
        _templates.clear()
    _templates[key] = (head, tail)
    return head, tail


def render_line(path: FailurePath, value: int | float, timestamp_ms: int) -> str:
    """Return the EMF document for one failure of ``path`` (``value`` occurrences at ``timestamp_ms``).

    A value CloudWatch would refuse (and with it the whole line) is never
    written: beyond ±2^360 it is clamped, not a finite number it becomes 1,
    each time with a WARNING naming the path, so the failure is still counted.
    """
    head, tail = _template(path, _namespace(path), _lambda_dimension())
    number, changed = _cw_names.metric_value(value)
    if changed:
        _logger.warning("Metric %s of failure path %r: %s.", path.metric, path.name, changed)
    return head + str(int(timestamp_ms)) + tail + repr(number) + "}"


def _metrics_off() -> bool:
    """``POWERTOOLS_METRICS_DISABLED``, read at every failure (parsed again only when its value changed)."""
    global _metrics_disabled
    if _ENVIRON is None:
        return _env.POWERTOOLS_METRICS_DISABLED.get()
    raw = _ENVIRON.get(b"POWERTOOLS_METRICS_DISABLED")
    cached_raw, disabled = _metrics_disabled
    if raw is None:
        return False
    if raw != cached_raw:
        disabled = _env.POWERTOOLS_METRICS_DISABLED.get()
        _metrics_disabled = (raw, disabled)
    return disabled


def emit_failure(path: FailurePath, value: int | float, sink: MetricSink) -> None:
    """Write the metric line for one failure, unless ``POWERTOOLS_METRICS_DISABLED`` is true.

    Never raises: a failing sink is logged at ERROR, so the metric can never
    mask or replace the user's exception.
    """
    if _metrics_off():
        return
    try:
        sink.write(render_line(path, value, time.time_ns() // 1_000_000))
    except Exception:
        _logger.exception("Could not write the %s metric for failure path %r.", path.metric, path.name)
