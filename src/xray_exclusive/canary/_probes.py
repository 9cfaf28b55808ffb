"""The two probes: X-Ray ingestion (put traces, read them back) and CloudWatch metrics (put, read back)."""

from __future__ import annotations

import datetime
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from ._config import CanaryConfig, Clock
from ._destination import SegmentDestination, retrieve_from_logs
from ._metrics import PROBE
from ._taxonomy import Calls, PermanentError, error_code

__all__ = ["CloudWatchFigures", "XRayFigures", "probe_cloudwatch", "probe_xray"]

PROBE_METRIC = PROBE.name
_BATCH_GET_LIMIT = 5  # BatchGetTraces takes at most 5 trace IDs
_PUT_LIMIT = 50


@dataclass
class XRayFigures:
    """What the X-Ray probe saw.

    Example:
        >>> XRayFigures(submitted=5, lost=1).loss_ratio
        0.2
    """

    submitted: int = 0
    found: int = 0
    lost: int = 0
    partial: int = 0
    unprocessed: int = 0
    queries: int = 0
    trace_ids: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def loss_ratio(self) -> float:
        """Lost / submitted; 1.0 when nothing could be submitted."""
        return self.lost / self.submitted if self.submitted else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for the result line."""
        return {
            "submitted": self.submitted,
            "found": self.found,
            "lost": self.lost,
            "partial": self.partial,
            "unprocessed": self.unprocessed,
            "loss_ratio": round(self.loss_ratio, 4),
            "queries": self.queries,
            "error": self.error,
        }


@dataclass
class CloudWatchFigures:
    """What the CloudWatch probe saw."""

    found: bool = False
    seconds_to_visible: float | None = None
    reads: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for the result line."""
        return {
            "found": self.found,
            "seconds_to_visible": self.seconds_to_visible,
            "reads": self.reads,
            "error": self.error,
        }


@dataclass
class _Probe:
    trace_id: str
    segment_id: str
    subsegment_id: str
    documents: list[str]


def _new_probe(now: float, service: str) -> _Probe:
    trace_id = f"1-{int(now):08x}-{secrets.token_hex(12)}"  # epoch first, as AwsXRayIdGenerator makes them
    segment_id, subsegment_id = secrets.token_hex(8), secrets.token_hex(8)
    segment = {
        "name": service,
        "id": segment_id,
        "trace_id": trace_id,
        "start_time": now,
        "end_time": now + 0.002,
        "annotations": {"canary": True},
    }
    # Sent as an independent document, so a trace holding only the segment is visibly partial.
    subsegment = {
        "name": "canary_probe",
        "id": subsegment_id,
        "trace_id": trace_id,
        "parent_id": segment_id,
        "type": "subsegment",
        "start_time": now + 0.0005,
        "end_time": now + 0.0015,
    }
    documents = [json.dumps(segment, separators=(",", ":")), json.dumps(subsegment, separators=(",", ":"))]
    return _Probe(trace_id, segment_id, subsegment_id, documents)


def probe_xray(
    xray: Any,
    config: CanaryConfig,
    clock: Clock,
    calls: Calls,
    destination: SegmentDestination | None = None,
) -> XRayFigures:
    """Submit ``trace_count`` traces, read them back at each retrieval delay, count lost and partial.

    When ``destination`` says spans go to CloudWatch Logs (Transaction Search), traces
    ``BatchGetTraces`` does not return are also read from there (``StartTraceRetrieval``).

    ``UnprocessedTraceSegments`` count as lost at once. ``UnprocessedTraceIds``
    and absence are the same thing (not yet indexed and lost cannot be told
    apart) until the last delay. A trace found without its subsegment is
    retried too, and is **partial** if still incomplete at the end.
    """
    figures = XRayFigures()
    started = clock.now()
    probes = [_new_probe(started, config.service_name) for _ in range(config.trace_count)]
    figures.submitted = len(probes)
    figures.trace_ids = [p.trace_id for p in probes]
    by_segment = {p.segment_id: p for p in probes} | {p.subsegment_id: p for p in probes}
    lost_at_once: set[str] = set()
    documents = [doc for p in probes for doc in p.documents]
    try:
        for i in range(0, len(documents), _PUT_LIMIT):
            answer = calls.call(
                "xray",
                "PutTraceSegments",
                xray.put_trace_segments,
                TraceSegmentDocuments=documents[i : i + _PUT_LIMIT],
            )
            for item in answer.get("UnprocessedTraceSegments") or []:
                probe = by_segment.get(str(item.get("Id")))
                if probe is not None:
                    lost_at_once.add(probe.trace_id)
    except PermanentError:
        raise
    except Exception as exc:
        figures.error = f"PutTraceSegments: {error_code(exc)}: {exc}"
        figures.lost = figures.submitted
        return figures
    figures.unprocessed = len(lost_at_once)
    pending = {p.trace_id: p for p in probes if p.trace_id not in lost_at_once}
    complete: set[str] = set()
    seen: set[str] = set()

    def take(trace: dict[str, Any]) -> None:
        probe = pending.get(str(trace.get("Id")))
        if probe is None:
            return
        segment_ids = {s.get("Id") for s in trace.get("Segments") or []}
        seen.add(probe.trace_id)
        if {probe.segment_id, probe.subsegment_id} <= segment_ids:
            complete.add(probe.trace_id)
            del pending[probe.trace_id]

    for delay in config.retrieval_delays:
        if not pending:
            break
        clock.sleep(max(0.0, started + delay - clock.now()))
        ids = list(pending)
        try:
            for i in range(0, len(ids), _BATCH_GET_LIMIT):
                for trace in _batch_get(xray, ids[i : i + _BATCH_GET_LIMIT], calls):
                    take(trace)
                figures.queries += 1
        except PermanentError:
            raise
        except Exception as exc:
            figures.error = f"BatchGetTraces: {error_code(exc)}: {exc}"
        if destination is not None and destination.logs and pending:
            for trace in retrieve_from_logs(xray, list(pending), started, clock, calls, destination):
                take(trace)
    figures.found = len(complete) + len(seen & set(pending))
    figures.partial = len(seen & set(pending))
    figures.lost = figures.submitted - figures.found
    return figures


def _batch_get(xray: Any, ids: list[str], calls: Calls) -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(20):  # pages
        kwargs: dict[str, Any] = {"TraceIds": ids}
        if token:
            kwargs["NextToken"] = token
        answer = calls.call("xray", "BatchGetTraces", xray.batch_get_traces, **kwargs)
        traces.extend(answer.get("Traces") or [])
        token = answer.get("NextToken")
        if not token:
            break
    return traces


def probe_cloudwatch(cloudwatch: Any, config: CanaryConfig, clock: Clock, calls: Calls) -> CloudWatchFigures:
    """Put one datapoint with a unique ``RunId``; read it back after the delay until the window ends."""
    figures = CloudWatchFigures()
    run_id = uuid.uuid4().hex
    dimensions = [{"Name": PROBE.dimensions[0], "Value": run_id}]
    put_at = clock.now()
    stamp = datetime.datetime.fromtimestamp(put_at, datetime.UTC)
    try:
        calls.call(
            "cloudwatch",
            "PutMetricData",
            cloudwatch.put_metric_data,
            Namespace=config.namespace,
            MetricData=[
                {
                    "MetricName": PROBE_METRIC,
                    "Dimensions": dimensions,
                    "Value": 1.0,
                    "Unit": PROBE.unit,
                    "Timestamp": stamp,
                }
            ],
        )
    except PermanentError:
        raise
    except Exception as exc:
        figures.error = f"PutMetricData: {error_code(exc)}: {exc}"
        return figures
    first_read = put_at + config.metric_delay
    deadline = first_read + config.metric_window
    clock.sleep(max(0.0, first_read - clock.now()))
    while True:
        try:
            figures.reads += 1
            answer = calls.call(
                "cloudwatch",
                "GetMetricStatistics",
                cloudwatch.get_metric_statistics,
                Namespace=config.namespace,
                MetricName=PROBE_METRIC,
                Dimensions=dimensions,
                StartTime=datetime.datetime.fromtimestamp(put_at - 120, datetime.UTC),
                EndTime=datetime.datetime.fromtimestamp(clock.now() + 120, datetime.UTC),
                Period=60,
                Statistics=["SampleCount"],
            )
            if any(float(p.get("SampleCount", 0)) > 0 for p in answer.get("Datapoints") or []):
                figures.found = True
                figures.seconds_to_visible = round(clock.now() - put_at, 3)
                return figures
        except PermanentError:
            raise
        except Exception as exc:
            figures.error = f"GetMetricStatistics: {error_code(exc)}: {exc}"
        now = clock.now()
        if now >= deadline:
            return figures
        clock.sleep(min(config.metric_poll_interval, deadline - now))
