"""The Ingestion Lambda of the demo: two caught-and-continued failures, made visible.

Run by ``xray-exclusive demo`` in a simulated Lambda environment; deploy it as is with
handler ``ingestion.handler``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Tracer
from botocore.exceptions import ClientError

from xray_exclusive import failure_path, paths

tracer = Tracer(auto_patch=False)  # never auto_patch in this fleet (FR-029)


def _throttled(operation: str) -> ClientError:
    response: Any = {
        "Error": {
            "Code": "ProvisionedThroughputExceededException",
            "Message": "Rate of requests exceeds the limit",
        },
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, operation)


def load_breaker_state() -> str:
    try:
        with failure_path(paths.CIRCUIT_BREAKER_LOAD):
            raise _throttled("GetItem")  # the state table throttles
    except ClientError:
        return "closed"  # unchanged catch-and-continue: the default state


def fanout(ticker: str, items: list[dict[str, Any]]) -> int:
    with failure_path(paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": ticker}) as fp:
        unprocessed = items[-3:]  # what BatchWriteItem left after its retries
        if unprocessed:
            fp.fail(
                "unprocessed items after retries", count=len(unprocessed), unprocessed_count=len(unprocessed)
            )
    return len(items) - len(unprocessed)


@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    state = load_breaker_state()
    written = fanout(event.get("ticker", "AAPL"), [{"n": i} for i in range(10)])
    return {"breaker": state, "written": written}
