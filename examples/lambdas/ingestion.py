"""The Ingestion Lambda: its seven caught-and-continued failures, each in a ``failure_path``.

The catch-and-continue code is the fleet's own and stays as it was; ``failure_path`` only makes each failure
a named X-Ray subsegment plus a CloudWatch metric. AWS is simulated here: each call fails the way botocore
fails (``ClientError`` built as botocore builds it), so the example runs anywhere. Run by
``xray-exclusive demo`` and ``examples/seven_paths.py``; deploy with handler ``ingestion.handler``.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Tracer
from botocore.exceptions import ClientError

from xray_exclusive import FailurePath, failure_path

tracer = Tracer(auto_patch=False)  # one patching mechanism in this fleet: none in the example

# The function's own failure paths, as examples/fleet/xray-exclusive.toml declares them for their alarms
# (a test keeps the two equal; `xray_exclusive.paths.load` could read them from that file instead).
_RELIABILITY = "SentimentAnalyzer/Reliability"
CIRCUIT_BREAKER_LOAD = FailurePath(
    "circuit_breaker_load", "CircuitBreakerPersistenceFailure", _RELIABILITY, {"Operation": "load"}
)
CIRCUIT_BREAKER_SAVE = FailurePath(
    "circuit_breaker_save", "CircuitBreakerPersistenceFailure", _RELIABILITY, {"Operation": "save"}
)
AUDIT_TRAIL_PERSIST = FailurePath(
    "audit_trail_persist", "AuditEventPersistenceFailure", "SentimentAnalyzer/Compliance"
)
DOWNSTREAM_NOTIFICATION_PUBLISH = FailurePath(
    "downstream_notification_publish", "DownstreamNotificationFailure", _RELIABILITY
)
TIMESERIES_FANOUT_BATCH_WRITE = FailurePath(
    "timeseries_fanout_batch_write", "TimeseriesFanoutPartialFailure", "SentimentAnalyzer/Data"
)
SELF_HEALING_ITEM_FETCH = FailurePath("self_healing_item_fetch", "SelfHealingItemFetchFailure", _RELIABILITY)
PARALLEL_FETCH_AGGREGATE = FailurePath("parallel_fetch_aggregate", "ParallelFetcherErrors", _RELIABILITY)
PATHS = (
    CIRCUIT_BREAKER_LOAD,
    CIRCUIT_BREAKER_SAVE,
    AUDIT_TRAIL_PERSIST,
    DOWNSTREAM_NOTIFICATION_PUBLISH,
    TIMESERIES_FANOUT_BATCH_WRITE,
    SELF_HEALING_ITEM_FETCH,
    PARALLEL_FETCH_AGGREGATE,
)
"""The seven paths, in order from path 1 to path 7."""


def client_error(code: str, status: int, operation: str) -> ClientError:
    """A botocore ``ClientError`` as botocore raises it for ``code``."""
    response: Any = {
        "Error": {"Code": code, "Message": f"simulated {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


def load_breaker_state() -> str:
    """Path 1: the state table throttles; the breaker falls back to its default state."""
    try:
        with failure_path(CIRCUIT_BREAKER_LOAD):
            raise client_error("ProvisionedThroughputExceededException", 400, "GetItem")
    except ClientError:
        return "closed"


def save_breaker_state() -> bool:
    """Path 2: saving fails; the next invocation sees a clean state."""
    try:
        with failure_path(CIRCUIT_BREAKER_SAVE):
            raise client_error("InternalServerError", 500, "PutItem")
    except ClientError:
        return False


def persist_audit_event() -> bool:
    """Path 3: the audit event is not written; the compliance trail has a gap."""
    try:
        with failure_path(AUDIT_TRAIL_PERSIST):
            raise client_error("AccessDeniedException", 403, "PutItem")
    except ClientError:
        return False


def publish_notification() -> None:
    """Path 4: the SNS publish to downstream consumers fails."""
    try:
        with failure_path(DOWNSTREAM_NOTIFICATION_PUBLISH):
            raise ConnectionResetError("SNS connection reset")
    except ConnectionResetError:
        return None


def fanout(ticker: str, items: list[dict[str, Any]]) -> int:
    """Path 5: BatchWriteItem leaves unprocessed items after its retries."""
    with failure_path(TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": ticker}) as fp:
        unprocessed = items[-3:]  # what BatchWriteItem left
        if unprocessed:
            fp.fail(
                "unprocessed items after retries",
                count=len(unprocessed),
                unprocessed_count=len(unprocessed),
                resolutions=",".join(sorted({str(u.get("resolution", "1m")) for u in unprocessed})),
            )
    return len(items) - len(unprocessed)


def self_heal(source_ids: list[str]) -> int:
    """Path 6: one item of the self-healing loop cannot be fetched; one subsegment per item."""
    healed = 0
    for source_id in source_ids:
        try:
            with failure_path(SELF_HEALING_ITEM_FETCH, annotations={"source_id": source_id}):
                if source_id.endswith("#2"):
                    raise client_error("ResourceNotFoundException", 400, "GetItem")
                healed += 1
        except ClientError:
            continue
    return healed


def parallel_fetch(sources: list[str]) -> int:
    """Path 7: the fetcher's threads collect errors; one aggregate subsegment after they join."""
    errors: list[str] = []
    lock = threading.Lock()

    def fetch(source: str) -> None:
        if source in ("tiingo", "finnhub"):
            with lock:
                errors.append(f"{source}: timed out")

    threads = [threading.Thread(target=fetch, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with failure_path(PARALLEL_FETCH_AGGREGATE, annotations={"source_count": len(threads)}) as fp:
        if errors:
            fp.fail("; ".join(errors), count=len(errors), error_count=len(errors))
    return len(sources) - len(errors)


@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ticker = event.get("ticker", "AAPL")
    state = load_breaker_state()
    fetched = parallel_fetch(["tiingo", "finnhub", "newsapi", "alpaca"])
    written = fanout(ticker, [{"n": i, "resolution": "1m" if i % 2 else "5m"} for i in range(10)])
    audited = persist_audit_event()
    publish_notification()
    healed = self_heal(["newsapi#1", "newsapi#2", "newsapi#3"])
    saved = save_breaker_state()
    return {
        "breaker": state,
        "fetched": fetched,
        "written": written,
        "audited": audited,
        "healed": healed,
        "saved": saved,
    }
