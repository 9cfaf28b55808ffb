"""Fail-fast export to the local collector, and exact accounting of every span lost.

Two thin wrappers around the OpenTelemetry SDK's own pieces:

* :class:`FailFastExporter` wraps ``OTLPSpanExporter``. The SDK's
  ``force_flush`` ignores its timeout and the exporter retries for up to its
  own timeout per batch, so a flush with the ADOT extension down took 7.6 s.
  Here a failed export opens a short circuit: the remaining batches of the
  flush fail at once instead of each waiting, and a flush deadline stops any
  export that starts after it. Lost spans are counted, never hidden.
* :class:`AccountingSpanProcessor` wraps the ``BatchSpanProcessor``. The SDK
  drops the *oldest* queued span when the queue is full and logs it about once
  per 20 s; this wrapper makes the room itself, under one lock, before each
  span enters a full queue, so it counts every drop exactly, whatever the
  number of threads, and names the span that goes (the oldest, at the back
  of the deque).

:class:`LossReporter` turns both into one structured line on stdout: a
CloudWatch EMF document with ``span_queue_overflow=true``, the queue size,
the dropped span's name, and the metrics ``DroppedSpans`` /
``UnexportedSpans`` in namespace ``XrayExclusive/Streaming``, as the catalogue
(``_metrics.py``) declares them, written by ``_emf.emf_line``. Lines are
rate-limited; counters never are.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from .. import _emf, _metrics
from .._compat.otel import batch_queue

__all__ = ["METRIC_NAMESPACE", "AccountingSpanProcessor", "FailFastExporter", "LossReporter"]

_logger = logging.getLogger("xray_exclusive.streaming")

METRIC_NAMESPACE = _metrics.STREAMING_NAMESPACE
"""CloudWatch namespace of ``DroppedSpans`` and ``UnexportedSpans``."""


class LossReporter:
    """Writes one structured EMF line per loss event, at most one per ``interval_s`` (the rest are summed).

    Example:
        >>> lines = []
        >>> class Sink:
        ...     def write(self, line): lines.append(line)
        >>> reporter = LossReporter(sink=Sink(), interval_s=60)
        >>> reporter.dropped("poll_cycle", queue_size=1500, total=1)
        >>> '"span_queue_overflow":true' in lines[0]
        True
    """

    def __init__(
        self,
        sink: _emf.MetricSink | None = None,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink or _emf.StdoutSink()
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_line = float("-inf")
        self._pending = 0
        self._pending_name = ""
        self._queue_size = 0
        self._total = 0

    def dropped(self, span_name: str, queue_size: int, total: int) -> None:
        """Note one span dropped from a full queue; write a line now unless one was written recently."""
        with self._lock:
            self._pending += 1
            self._pending_name = span_name
            self._queue_size = queue_size
            self._total = total
            if self._clock() - self._last_line < self._interval:
                return
            line = self._overflow_line()
        self._write(line)

    def flush(self) -> None:
        """Write the line for drops held back by the rate limit (called at the end of every stream)."""
        with self._lock:
            if not self._pending:
                return
            line = self._overflow_line()
        self._write(line)

    def _overflow_line(self) -> str:
        count, self._pending = self._pending, 0
        self._last_line = self._clock()
        return _emf.emf_line(
            _metrics.DROPPED_SPANS,
            count,
            None,
            {
                "level": "WARNING",
                "message": (
                    f"Span queue full ({self._queue_size}): {count} span(s) dropped, the oldest first; "
                    "raise max_queue_size or OTEL_BSP_MAX_QUEUE_SIZE."
                ),
                "span_queue_overflow": True,
                "queue_size": self._queue_size,
                "dropped_span": self._pending_name,
                "dropped_total": self._total,
            },
        )

    def unexported(self, count: int, endpoint: str, reason: str) -> None:
        """Write one line for ``count`` spans that reached the exporter but not the collector."""
        self._write(
            _emf.emf_line(
                _metrics.UNEXPORTED_SPANS,
                count,
                None,
                {
                    "level": "ERROR",
                    "message": f"{count} span(s) not delivered to the collector at {endpoint}: {reason}.",
                    "span_export_failed": True,
                    "endpoint": endpoint,
                },
            )
        )

    def _write(self, line: str) -> None:
        try:
            self._sink.write(line)
        except Exception:
            _logger.exception("Could not write a span-loss line.")


class FailFastExporter(SpanExporter):
    """An exporter wrapper that never lets a dead or slow collector stall the stream's flush.

    * After a failed export, the circuit stays open for ``cooldown_s``: exports
      in that window fail at once (the background thread tries again after it).
    * :meth:`deadline` sets the instant after which no new export starts (the
      flush budget).
    * ``exported`` and ``failed`` count spans, for the flush report.

    The wrapped exporter's own timeout bounds the one export that is tried.

    Example:
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        >>> exporter = FailFastExporter(InMemorySpanExporter(), endpoint="memory")
        >>> exporter.export([])
        <SpanExportResult.SUCCESS: 0>
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        endpoint: str,
        cooldown_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = exporter
        self.endpoint = endpoint
        self._cooldown = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = float("-inf")
        self._deadline: float | None = None
        self.exported = 0
        """Spans the collector accepted."""
        self.failed = 0
        """Spans that reached the exporter and were lost (collector down, refusing, slow, or too late)."""
        self.last_failure = ""

    def set_deadline(self, deadline: float | None) -> None:
        """No export starts after ``deadline`` (a ``clock()`` value); ``None`` lifts it."""
        self._deadline = deadline

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export ``spans`` unless the circuit is open or the deadline passed; count what happened."""
        count = len(spans)
        now = self._clock()
        deadline = self._deadline
        if now < self._open_until or (deadline is not None and now >= deadline):
            reason = "flush budget spent" if now >= self._open_until else "collector failed moments ago"
            self._count(0, count, reason)
            return SpanExportResult.FAILURE
        try:
            result = self.inner.export(spans)
        except Exception:  # counted, then left to the SDK, which logs it
            self._open_until = self._clock() + self._cooldown
            self._count(0, count, "the exporter raised (see the SDK's log line)")
            raise
        if result is SpanExportResult.SUCCESS:
            self._count(count, 0, "")
        else:
            self._open_until = self._clock() + self._cooldown
            self._count(0, count, "export failed (see the exporter's log line above)")
        return result

    def _count(self, exported: int, failed: int, reason: str) -> None:
        with self._lock:
            self.exported += exported
            self.failed += failed
            if failed:
                self.last_failure = reason

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Delegate to the wrapped exporter."""
        return self.inner.force_flush(timeout_millis)


class AccountingSpanProcessor(SpanProcessor):
    """Wraps a ``BatchSpanProcessor``: counts sampled spans ended and dropped, and reports each drop.

    Example:
        >>> from opentelemetry.sdk.trace.export import BatchSpanProcessor
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        >>> processor = AccountingSpanProcessor(BatchSpanProcessor(InMemorySpanExporter()))
        >>> processor.dropped
        0
        >>> processor.shutdown()
    """

    def __init__(self, processor: BatchSpanProcessor, reporter: LossReporter | None = None) -> None:
        self.processor = processor
        self._reporter = reporter
        # The SDK's deque (it drops the oldest span when full). Should a later SDK change it, drops are
        # still counted at every flush as ended - delivered - failed (see reconcile()).
        self._queue: collections.deque[Any] | None = batch_queue(processor)
        self.queue_size: int = self._queue.maxlen or 0 if self._queue is not None else 0
        self._lock = threading.Lock()
        self.ended = 0
        """Sampled spans handed to the batch processor."""
        self.dropped = 0
        """Sampled spans the batch processor dropped because its queue was full."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do at start."""

    def on_end(self, span: ReadableSpan) -> None:
        """Count the span, make room for it when the queue is full (counting the drop), then queue it.

        Exact under any number of threads: the check, the drop and the append happen under one
        lock, and the drop is done here (the oldest span, as the SDK would) before the append, so
        the deque never evicts on its own. The export worker only ever removes spans, so once
        there is room it stays. In the rare race where the worker empties a slot between the
        check and the drop, one span more is dropped than strictly needed, and counted.
        """
        context = span.context
        if not (context and context.trace_flags.sampled):
            return
        queue = self._queue
        victim: str | None = None
        with self._lock:
            self.ended += 1
            if queue is not None and len(queue) >= self.queue_size:
                try:
                    oldest = queue.pop()  # the oldest: the end the SDK would drop from
                except IndexError:  # the worker emptied it meanwhile: nothing to drop
                    pass
                else:
                    victim = getattr(oldest, "name", None) or "?"
                    self.dropped += 1
            total = self.dropped
            self.processor.on_end(span)
        if victim is not None and self._reporter is not None:
            self._reporter.dropped(victim, self.queue_size, total)

    def reconcile(self, delivered: int, failed: int) -> int:
        """After a complete flush: drops the queue check could not see (only without the SDK's deque)."""
        if self._queue is not None:
            return 0
        with self._lock:
            unseen = self.ended - delivered - failed - self.dropped
            if unseen > 0:
                self.dropped += unseen
            return max(unseen, 0)

    def shutdown(self) -> None:
        """Shut the batch processor down (its last export included)."""
        self.processor.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export everything queued (the SDK ignores ``timeout_millis``; the exporter bounds it)."""
        return self.processor.force_flush(timeout_millis)
