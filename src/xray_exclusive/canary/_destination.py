"""Where the account's trace segments go (``GetTraceSegmentDestination``), and how to read them back there.

With Transaction Search, X-Ray's destination is ``CloudWatchLogs``: every span is stored as a structured
log in ``aws/spans``, and only the indexed share (1% by default) becomes a trace summary that
``BatchGetTraces`` returns. The canary then reads back what ``BatchGetTraces`` does not find with
``StartTraceRetrieval`` + ``ListRetrievedTraces``, which read the spans from CloudWatch Logs. With the
``XRay`` destination, ``BatchGetTraces`` alone sees everything.

The destination is reported in the result line and as the metric ``SegmentDestination`` (dimension
``Destination``: ``XRay``, ``CloudWatchLogs`` or ``unknown``). When the destination cannot be read, or
the CloudWatch Logs read-back is refused, the run says which part it could not verify (``unverified``);
neither is a reason to page anyone, so neither is escalated as a permanent error.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from ._config import Clock
from ._metrics import DESTINATION
from ._taxonomy import Calls, PermanentError, error_code

__all__ = [
    "DESTINATION_METRIC",
    "SegmentDestination",
    "destination_metric_data",
    "probe_destination",
    "retrieve_from_logs",
]

DESTINATION_METRIC = DESTINATION.name
"""1 per run, with dimension ``Destination`` = ``XRay``, ``CloudWatchLogs`` or ``unknown``."""
LOGS = "CloudWatchLogs"
_RETRIEVAL_POLLS = 6
_RETRIEVAL_POLL_S = 2.0
_RETRIEVAL_IDS = 100  # StartTraceRetrieval takes at most 100 trace IDs


@dataclass
class SegmentDestination:
    """The account's segment destination, as the canary read it, and what its read-back could verify.

    Example:
        >>> SegmentDestination("CloudWatchLogs", "ACTIVE").to_dict()["read_back"]
        'BatchGetTraces+StartTraceRetrieval'
    """

    destination: str | None = None
    status: str | None = None
    error: str | None = None
    unverified: str | None = None
    retrievals: int = 0

    @property
    def logs(self) -> bool:
        """Spans go to CloudWatch Logs (Transaction Search), or are switching there (``PENDING``)."""
        return self.destination == LOGS

    @property
    def read_back(self) -> str:
        """The APIs the X-Ray probe reads its traces back with."""
        return "BatchGetTraces+StartTraceRetrieval" if self.logs else "BatchGetTraces"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for the result line."""
        return {
            "destination": self.destination,
            "status": self.status,
            "read_back": self.read_back,
            "retrievals": self.retrievals,
            "unverified": self.unverified,
            "error": self.error,
        }


def probe_destination(xray: Any, calls: Calls) -> SegmentDestination:
    """Read ``GetTraceSegmentDestination``; a failure is recorded (and says what it leaves unverified).

    Example:
        >>> from xray_exclusive.canary import SystemClock
        >>> class XRay:
        ...     def get_trace_segment_destination(self):
        ...         return {"Destination": "XRay", "Status": "ACTIVE"}
        >>> probe_destination(XRay(), Calls(SystemClock())).destination
        'XRay'
    """
    try:
        answer = calls.call("xray", "GetTraceSegmentDestination", xray.get_trace_segment_destination)
    except PermanentError as exc:
        return SegmentDestination(
            error=f"GetTraceSegmentDestination: {exc.code}: {exc.message}; allow "
            "xray:GetTraceSegmentDestination in the canary's role",
            unverified=_UNKNOWN,
        )
    except Exception as exc:
        return SegmentDestination(
            error=f"GetTraceSegmentDestination: {error_code(exc)}: {str(exc)[:200]}", unverified=_UNKNOWN
        )
    destination = answer.get("Destination")
    return SegmentDestination(
        destination=str(destination) if destination else None,
        status=str(answer.get("Status")) if answer.get("Status") else None,
        unverified=None if destination else _UNKNOWN,
    )


_UNKNOWN = (
    "segment destination unknown: read back with BatchGetTraces only; under Transaction Search it "
    "returns only the indexed share of the traces"
)


def retrieve_from_logs(
    xray: Any,
    ids: list[str],
    started: float,
    clock: Clock,
    calls: Calls,
    destination: SegmentDestination,
) -> list[dict[str, Any]]:
    """The traces ``ids`` as stored in CloudWatch Logs, shaped like ``BatchGetTraces``' ``Traces``.

    ``StartTraceRetrieval`` over the probe's time window, then ``ListRetrievedTraces`` (X-Ray format)
    until the retrieval completes, a few polls at most. A refusal or a retrieval that does not complete
    is recorded in ``destination.unverified``; nothing is raised.
    """
    if not ids:
        return []
    start = datetime.datetime.fromtimestamp(started - 120, datetime.UTC)
    end = datetime.datetime.fromtimestamp(clock.now() + 120, datetime.UTC)
    traces: list[dict[str, Any]] = []
    try:
        for i in range(0, len(ids), _RETRIEVAL_IDS):
            token = calls.call(
                "xray",
                "StartTraceRetrieval",
                xray.start_trace_retrieval,
                TraceIds=ids[i : i + _RETRIEVAL_IDS],
                StartTime=start,
                EndTime=end,
            )["RetrievalToken"]
            destination.retrievals += 1
            traces.extend(_list_retrieved(xray, token, clock, calls, destination))
    except PermanentError as exc:
        destination.unverified = (
            f"cannot read traces back from CloudWatch Logs ({exc.operation}: {exc.code}); allow "
            "xray:StartTraceRetrieval and xray:ListRetrievedTraces in the canary's role. Only the "
            "indexed share is visible to BatchGetTraces"
        )
    except Exception as exc:
        destination.unverified = (
            f"cannot read traces back from CloudWatch Logs: {error_code(exc)}: {exc}. Only the indexed "
            "share is visible to BatchGetTraces"
        )
    return traces


def _list_retrieved(
    xray: Any, token: str, clock: Clock, calls: Calls, destination: SegmentDestination
) -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = []
    next_token: str | None = None
    for poll in range(_RETRIEVAL_POLLS):
        kwargs: dict[str, Any] = {"RetrievalToken": token, "TraceFormat": "XRAY"}
        if next_token:
            kwargs["NextToken"] = next_token
        answer = calls.call("xray", "ListRetrievedTraces", xray.list_retrieved_traces, **kwargs)
        status = answer.get("RetrievalStatus")
        if status == "COMPLETE":
            for trace in answer.get("Traces") or []:
                spans = trace.get("Spans") or []
                traces.append({"Id": trace.get("Id"), "Segments": [{"Id": s.get("Id")} for s in spans]})
            next_token = answer.get("NextToken")
            if not next_token:
                return traces
            continue
        if status not in ("SCHEDULED", "RUNNING"):
            destination.unverified = f"the CloudWatch Logs retrieval ended {status}"
            return traces
        if poll < _RETRIEVAL_POLLS - 1:
            clock.sleep(_RETRIEVAL_POLL_S)
    destination.unverified = f"the CloudWatch Logs retrieval did not complete within {_RETRIEVAL_POLLS} polls"
    return traces


def destination_metric_data(destination: SegmentDestination) -> list[dict[str, Any]]:
    """The ``SegmentDestination`` datapoint for the run's ``PutMetricData``.

    Example:
        >>> destination_metric_data(SegmentDestination())[0]["Dimensions"]
        [{'Name': 'Destination', 'Value': 'unknown'}]
    """
    return [
        {
            "MetricName": DESTINATION_METRIC,
            "Dimensions": [
                {"Name": DESTINATION.dimensions[0], "Value": destination.destination or "unknown"}
            ],
            "Value": 1.0,
            "Unit": DESTINATION.unit,
        }
    ]
