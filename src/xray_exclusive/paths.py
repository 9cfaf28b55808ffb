"""The catalogue of the seven silent failure paths, and the type users define their own with.

Names, metrics, namespaces and dimensions are fixed: use them exactly, the
generated alarms and dashboards depend on them.
Every metric also carries the dimension ``Lambda={function name}``, added at
emission time.

Example:
    >>> from xray_exclusive import paths
    >>> paths.CIRCUIT_BREAKER_SAVE.metric, dict(paths.CIRCUIT_BREAKER_SAVE.dimensions)
    ('CircuitBreakerPersistenceFailure', {'Operation': 'save'})
    >>> len(paths.ALL)
    7
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from . import _cw_names

__all__ = [
    "ALL",
    "AUDIT_TRAIL_PERSIST",
    "CIRCUIT_BREAKER_LOAD",
    "CIRCUIT_BREAKER_SAVE",
    "DOWNSTREAM_NOTIFICATION_PUBLISH",
    "LAMBDA_DIMENSION",
    "PARALLEL_FETCH_AGGREGATE",
    "SELF_HEALING_ITEM_FETCH",
    "TIMESERIES_FANOUT_BATCH_WRITE",
    "FailurePath",
    "Mark",
]

Mark = Literal["error", "fault"]
"""A forced X-Ray mark for every failure of a path, instead of the library's classification."""

LAMBDA_DIMENSION = "Lambda"
"""The dimension every failure-path metric carries: the Lambda function's name."""

_NAME_LIMIT = 200
_INVALID_NAME_CHARS = frozenset("?;*()!$~^<>")  # removed by the X-Ray SDK (entity.py)
_MAX_EXTRA_DIMENSIONS = 29  # CloudWatch allows 30 per metric; `Lambda` is one
_SNAKE = re.compile(r"[^A-Za-z0-9]+")


def _ascii_printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _derive_metric(name: str) -> str:
    words = [w for w in _SNAKE.split(name) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) + "Failure"


class FailurePath:
    """One caught-and-continued failure: its X-Ray subsegment name and its CloudWatch metric.

    Arguments are validated at once and an invalid one raises ``ValueError``
    naming the limit it breaks, so a typo fails at import, not at 3 a.m.
    Instances are immutable and hashable.

    * ``name``: the subsegment name (1-200 characters, none of ``?;*()!$~^<>``).
    * ``metric``: the metric name; by default the name in CamelCase plus
      ``Failure`` (``payment_capture`` → ``PaymentCaptureFailure``).
    * ``namespace``: the metric namespace, 1-255 of ``[a-zA-Z0-9._#:/-]``
      (CloudWatch's rule), not ``AWS/...``; ``None`` means
      ``POWERTOOLS_METRICS_NAMESPACE``, else ``XrayExclusive/FailurePaths``.
    * ``dimensions``: fixed extra dimensions (``Operation=load``): names of
      1-250 printable ASCII characters not starting with ``:``, values of
      1-1024; none blank. ``Lambda`` is always added and reserved.
    * ``mark``: force ``"error"`` or ``"fault"`` instead of classifying each exception.

    Example:
        >>> FailurePath("payment_capture", namespace="Shop/Reliability").metric
        'PaymentCaptureFailure'
    """

    __slots__ = ("_key", "dimensions", "mark", "metric", "name", "namespace")

    name: str
    metric: str
    namespace: str | None
    dimensions: Mapping[str, str]
    mark: Mark | None
    _key: tuple[object, ...]

    def __init__(
        self,
        name: str,
        metric: str = "",
        namespace: str | None = None,
        dimensions: Mapping[str, str] | None = None,
        mark: Mark | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"FailurePath name must be a non-empty string, got {name!r}")
        if len(name) > _NAME_LIMIT:
            raise ValueError(f"FailurePath name is longer than {_NAME_LIMIT} characters: {name[:40]!r}…")
        bad = sorted(_INVALID_NAME_CHARS.intersection(name))
        if bad:
            raise ValueError(f"FailurePath name {name!r} has characters X-Ray removes: {''.join(bad)}")
        metric = metric or _derive_metric(name)
        if (
            not isinstance(metric, str)
            or len(metric) > 255
            or not _ascii_printable(metric)
            or not metric.strip()
        ):
            raise ValueError(f"metric must be 1-255 printable ASCII characters, got {metric!r}")
        if namespace is not None:
            _check_namespace(namespace)
        dims = dict(dimensions or {})
        if len(dims) > _MAX_EXTRA_DIMENSIONS:
            raise ValueError(f"at most {_MAX_EXTRA_DIMENSIONS} dimensions besides {LAMBDA_DIMENSION!r}")
        for key, value in dims.items():
            _check_dimension(key, value)
        if metric in dims or metric in (LAMBDA_DIMENSION, "_aws"):
            raise ValueError(f"metric name {metric!r} collides with a dimension or '_aws'")
        if mark not in (None, "error", "fault"):
            raise ValueError(f"mark must be 'error', 'fault' or None, got {mark!r}")
        setattr_ = object.__setattr__
        setattr_(self, "name", name)
        setattr_(self, "metric", metric)
        setattr_(self, "namespace", namespace)
        setattr_(self, "dimensions", MappingProxyType(dims))
        setattr_(self, "mark", mark)
        setattr_(self, "_key", (name, metric, namespace, tuple(sorted(dims.items())), mark))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FailurePath is immutable; build a new one instead of setting {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("FailurePath is immutable")

    def __repr__(self) -> str:
        extra = f", dimensions={dict(self.dimensions)!r}" if self.dimensions else ""
        extra += f", mark={self.mark!r}" if self.mark else ""
        return f"FailurePath(name={self.name!r}, metric={self.metric!r}, namespace={self.namespace!r}{extra})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FailurePath):
            return NotImplemented
        return bool(self._key == other._key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FailurePath, (self.name, self.metric, self.namespace, dict(self.dimensions), self.mark))


def _check_namespace(namespace: str) -> None:
    _cw_names.check_namespace(namespace)


def _check_dimension(key: object, value: object) -> None:
    _cw_names.check_dimension_name(key)
    assert isinstance(key, str)
    if key in (LAMBDA_DIMENSION, "_aws"):
        raise ValueError(f"dimension name {key!r} is reserved (the library sets it)")
    _cw_names.check_dimension_value(key, value)


_RELIABILITY = "SentimentAnalyzer/Reliability"

CIRCUIT_BREAKER_LOAD = FailurePath(
    "circuit_breaker_load", "CircuitBreakerPersistenceFailure", _RELIABILITY, {"Operation": "load"}
)
"""Path 1: loading the circuit breaker's state failed; the breaker falls back to its default state."""

CIRCUIT_BREAKER_SAVE = FailurePath(
    "circuit_breaker_save", "CircuitBreakerPersistenceFailure", _RELIABILITY, {"Operation": "save"}
)
"""Path 2: saving the circuit breaker's state failed; the next invocation sees a clean state."""

AUDIT_TRAIL_PERSIST = FailurePath(
    "audit_trail_persist", "AuditEventPersistenceFailure", "SentimentAnalyzer/Compliance"
)
"""Path 3: an audit event was not persisted; the compliance trail has a gap."""

DOWNSTREAM_NOTIFICATION_PUBLISH = FailurePath(
    "downstream_notification_publish", "DownstreamNotificationFailure", _RELIABILITY
)
"""Path 4: the SNS publish to downstream consumers failed (their 30 s notification deadline is at risk)."""

TIMESERIES_FANOUT_BATCH_WRITE = FailurePath(
    "timeseries_fanout_batch_write", "TimeseriesFanoutPartialFailure", "SentimentAnalyzer/Data"
)
"""Path 5: BatchWriteItem left unprocessed items.

Annotate ``ticker``, ``unprocessed_count`` and ``resolutions`` (which resolutions were affected).
"""

SELF_HEALING_ITEM_FETCH = FailurePath("self_healing_item_fetch", "SelfHealingItemFetchFailure", _RELIABILITY)
"""Path 6: one item of the self-healing loop could not be fetched.

One subsegment per item, inside the loop, annotated with ``source_id``.
"""

PARALLEL_FETCH_AGGREGATE = FailurePath("parallel_fetch_aggregate", "ParallelFetcherErrors", _RELIABILITY)
"""Path 7: the parallel fetcher's threads collected errors; one aggregate subsegment after they join."""

ALL: tuple[FailurePath, ...] = (
    CIRCUIT_BREAKER_LOAD,
    CIRCUIT_BREAKER_SAVE,
    AUDIT_TRAIL_PERSIST,
    DOWNSTREAM_NOTIFICATION_PUBLISH,
    TIMESERIES_FANOUT_BATCH_WRITE,
    SELF_HEALING_ITEM_FETCH,
    PARALLEL_FETCH_AGGREGATE,
)
"""The seven paths, in order from path 1 to path 7."""
