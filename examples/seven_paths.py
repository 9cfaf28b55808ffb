"""The seven silent failure paths of the Ingestion Lambda, made visible: run it and read what AWS would get.

    python examples/seven_paths.py

It plays one sampled Lambda invocation on this machine: a loopback UDP socket
stands in for the X-Ray daemon, the failures are real exceptions (botocore
``ClientError`` objects built as botocore builds them), and the caller's
catch-and-continue code is left exactly as it was. It prints each X-Ray
subsegment the SDK sent and each CloudWatch EMF metric line written to stdout.
No AWS account, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import socket
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from xray_exclusive import failure_path, paths


def client_error(code: str, status: int, operation: str) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"simulated {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


# --- the Ingestion Lambda's code, with failure_path added around each silent failure ---


def load_breaker_state() -> str:
    try:
        with failure_path(paths.CIRCUIT_BREAKER_LOAD):
            raise client_error("ProvisionedThroughputExceededException", 400, "GetItem")
    except ClientError:
        return "closed"  # unchanged: fall back to the default state


def save_breaker_state() -> bool:
    try:
        with failure_path(paths.CIRCUIT_BREAKER_SAVE):
            raise client_error("InternalServerError", 500, "PutItem")
    except ClientError:
        return False


def persist_audit_event() -> bool:
    try:
        with failure_path(paths.AUDIT_TRAIL_PERSIST):
            raise client_error("AccessDeniedException", 403, "PutItem")
    except ClientError:
        return False


def publish_notification() -> None:
    try:
        with failure_path(paths.DOWNSTREAM_NOTIFICATION_PUBLISH):
            raise ConnectionResetError("SNS connection reset")
    except ConnectionResetError:
        return None


def fanout(ticker: str) -> None:
    with failure_path(paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": ticker}) as fp:
        unprocessed = [{"resolution": "1m"}, {"resolution": "5m"}]  # what BatchWriteItem left after retries
        if unprocessed:
            fp.fail(
                "unprocessed items after retries",
                count=len(unprocessed),
                unprocessed_count=len(unprocessed),
                resolutions=",".join(sorted({u["resolution"] for u in unprocessed})),
            )


def self_heal(source_ids: list[str]) -> None:
    for source_id in source_ids:  # one subsegment per item, inside the loop
        try:
            with failure_path(paths.SELF_HEALING_ITEM_FETCH, annotations={"source_id": source_id}):
                if source_id == "newsapi#2":
                    raise client_error("ResourceNotFoundException", 400, "GetItem")
        except ClientError:
            continue


def parallel_fetch() -> None:
    errors: list[str] = []
    lock = threading.Lock()

    def fetch(source: str) -> None:
        if source in ("tiingo", "finnhub"):
            with lock:
                errors.append(f"{source}: timed out")

    threads = [threading.Thread(target=fetch, args=(s,)) for s in ("tiingo", "finnhub", "newsapi", "alpaca")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with failure_path(paths.PARALLEL_FETCH_AGGREGATE, annotations={"source_count": len(threads)}) as fp:
        if errors:  # one aggregate subsegment after the threads join
            fp.fail("; ".join(errors), count=len(errors), error_count=len(errors))


# --- the stage: a Lambda-like environment with a loopback X-Ray daemon -------------------------------------


def main() -> int:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{daemon.getsockname()[1]}"
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    os.environ.update(
        LAMBDA_TASK_ROOT=os.getcwd(),
        AWS_LAMBDA_FUNCTION_NAME="ingestion",
        AWS_XRAY_DAEMON_ADDRESS=address,
        _X_AMZN_TRACE_ID=f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1",
    )
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        load_breaker_state()
        save_breaker_state()
        persist_audit_event()
        publish_notification()
        fanout("AAPL")
        self_heal(["newsapi#1", "newsapi#2", "newsapi#3"])
        parallel_fetch()

    print(f"trace {root}\n\nX-Ray subsegments received by the daemon on {address}:")
    daemon.settimeout(0.2)
    while True:
        try:
            data = daemon.recv(70_000)
        except TimeoutError:
            break
        doc = json.loads(data.split(b"\n", 1)[1])
        marks = "+".join(k for k in ("error", "throttle", "fault") if doc.get(k)) or "ok"
        cause = (doc.get("cause") or {}).get("exceptions", [{}])[0]
        print(f"  {doc['name']:<34} {marks:<15} {len(data):>5} B  annotations={doc.get('annotations', {})}")
        if cause:
            print(f"  {'':<34} cause: {cause.get('type')}: {cause.get('message')}")
    print("\nCloudWatch EMF metric lines written to stdout:")
    for line in stdout.getvalue().splitlines():
        metric = json.loads(line)
        directive = metric["_aws"]["CloudWatchMetrics"][0]
        name = directive["Metrics"][0]["Name"]
        dims = {d: metric[d] for d in directive["Dimensions"][0]}
        print(f"  {directive['Namespace']:<31} {name:<34} {metric[name]}  {dims}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
