"""OpenTelemetry SDK: the ``BatchSpanProcessor``'s queue and the text of ``Sampler.get_description()``.

Nothing is imported from OpenTelemetry at module import; the sampler check imports
``opentelemetry.sdk.trace.sampling`` on its first call (the streaming extra has loaded it
by then).

The SDK's public drop signal: in recent releases (1.44 checked; not in 1.35),
``BatchSpanProcessor(meter_provider=...)`` counts
drops as the ``otel.sdk.processor.span.processed`` metric (``error.type=queue_full``), but
only with ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true`` and a metrics SDK, and as a
count read later, without the dropped span's name. :func:`batch_queue` is still needed for
the synchronous report of *which* span was dropped; the count at each flush (ended −
delivered − failed) is the fallback that needs no private name.

Example:
    >>> from opentelemetry.sdk.trace.export import BatchSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> processor = BatchSpanProcessor(InMemorySpanExporter(), max_queue_size=8, max_export_batch_size=8)
    >>> batch_queue(processor).maxlen
    8
    >>> processor.shutdown()
"""

from __future__ import annotations

import collections
from typing import Any

from . import fell_back

__all__ = ["batch_queue", "ignores_unsampled_parent"]


def batch_queue(processor: object) -> collections.deque[Any] | None:
    """The bounded ``deque`` a ``BatchSpanProcessor`` queues ended spans in, newest on the left.

    Private: ``BatchSpanProcessor._batch_processor._queue``, the shared ``BatchProcessor``'s
    (OpenTelemetry SDK 1.35.0 to 1.45.2). It appends on the left (``appendleft``); when full,
    the ``deque``'s ``maxlen`` drops the rightmost, the oldest span; the worker exports from
    the right.
    Fallback: ``None``, with one warning; the caller then counts drops at each flush from
    ended − delivered − failed, without the dropped span's name.

    Example:
        >>> batch_queue(object()) is None  # not a BatchSpanProcessor: a warning, no exception
        True
    """
    queue = getattr(getattr(processor, "_batch_processor", None), "_queue", None)
    if isinstance(queue, collections.deque) and queue.maxlen:
        return queue
    fell_back(
        "BatchSpanProcessor._batch_processor._queue",
        "dropped spans are counted at each flush, without their names",
    )
    return None


_description_format_known: bool | None = None


def ignores_unsampled_parent(sampler: Any) -> bool:
    """Whether ``sampler`` samples under a remote parent that was not sampled: orphaned traces.

    ``ALWAYS_ON``, and ``ParentBased(..., remote_parent_not_sampled=ALWAYS_ON)``, do.

    Private: the text of ``Sampler.get_description()`` (``AlwaysOnSampler``;
    ``ParentBased{root:...,remoteParentNotSampled:AlwaysOnSampler,...}``), OpenTelemetry SDK
    1.35.0 to 1.45.2; the public API has no other way to see a ``ParentBased``'s delegates.
    Checked once per process against samplers built for the purpose. Fallback: only the
    ``ALWAYS_ON`` object itself is recognised, with one warning; an equivalent sampler built
    by hand is accepted.

    Example:
        >>> from opentelemetry.sdk.trace.sampling import ALWAYS_ON, DEFAULT_ON, ParentBased
        >>> ignores_unsampled_parent(ALWAYS_ON), ignores_unsampled_parent(DEFAULT_ON)
        (True, False)
        >>> ignores_unsampled_parent(ParentBased(ALWAYS_ON, remote_parent_not_sampled=ALWAYS_ON))
        True
    """
    global _description_format_known
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    if sampler is ALWAYS_ON:
        return True
    if _description_format_known is None:
        _description_format_known = _description_format_holds()
    if not _description_format_known:
        return False
    try:
        description = sampler.get_description()
    except Exception:  # a sampler of the user's own that cannot describe itself
        return False
    return isinstance(description, str) and (
        description == "AlwaysOnSampler" or "remoteParentNotSampled:AlwaysOnSampler" in description
    )


def _description_format_holds() -> bool:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler

    # xe: ignore[XE007] a probe of the description format: these samplers only describe themselves
    refusing: Sampler = ParentBased(ALWAYS_OFF, remote_parent_not_sampled=ALWAYS_ON)
    default: Sampler = ParentBased(ALWAYS_ON)
    try:
        # xe: ignore[XE007] the same probe: ALWAYS_ON is described, never used to sample
        on, refused, accepted = (s.get_description() for s in (ALWAYS_ON, refusing, default))
    except Exception:
        on = refused = accepted = ""
    if (
        on == "AlwaysOnSampler"
        and "remoteParentNotSampled:AlwaysOnSampler" in refused
        and "remoteParentNotSampled:AlwaysOnSampler" not in accepted
    ):
        return True
    fell_back(
        "the text of Sampler.get_description()",
        "only the ALWAYS_ON object itself is refused as a sampler; an equivalent one built by hand is not",
    )
    return False
