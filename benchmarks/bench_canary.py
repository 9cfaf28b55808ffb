"""One canary run with an injected clock, against moto on loopback: CPU per run, and the raw boto3 calls.

Run: ``nox -s bench`` or ``python benchmarks/bench_canary.py``. The target from the issue: one run must
take well under a second of CPU. moto runs in this process, so the canary's own CPU is measured on its
thread (``time.thread_time``); "raw" is the same AWS calls made directly with boto3, no taxonomy, no
state logic, no result line.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import logging
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNS = int(os.environ.get("BENCH_RUNS", "10"))


class FakeClock:
    def __init__(self) -> None:
        self.t = time.time()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)


def main() -> int:
    import boto3
    from moto.server import ThreadedMotoServer

    from xray_exclusive.canary import CanaryConfig, build_clients, run_canary

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1"
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    session = boto3.session.Session(region_name="eu-west-1")
    admin = session.client("dynamodb", endpoint_url=url)
    admin.create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = session.client("sns", endpoint_url=url).create_topic(Name="alerts")["TopicArn"]
    config = CanaryConfig(endpoint_url=url, state_table="state", sns_topic_arn=topic)
    clients = build_clients(config, session=session)

    def canary_run() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.thread_time()
        with contextlib.redirect_stdout(io.StringIO()):
            result = run_canary(config, clients, FakeClock())
        assert result.status == "healthy", result.to_dict()
        return time.thread_time() - cpu, time.perf_counter() - wall

    def raw_run() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.thread_time()
        now = time.time()
        docs, ids = [], []
        for _ in range(5):
            trace_id = f"1-{int(now):08x}-{secrets.token_hex(12)}"
            seg = secrets.token_hex(8)
            ids.append(trace_id)
            docs.append(
                json.dumps({"name": "c", "id": seg, "trace_id": trace_id, "start_time": now, "end_time": now})
            )
            docs.append(
                json.dumps(
                    {
                        "name": "p",
                        "id": secrets.token_hex(8),
                        "trace_id": trace_id,
                        "parent_id": seg,
                        "type": "subsegment",
                        "start_time": now,
                        "end_time": now,
                    }
                )
            )
        clients.xray.put_trace_segments(TraceSegmentDocuments=docs)
        clients.xray.batch_get_traces(TraceIds=ids)
        stamp = datetime.datetime.fromtimestamp(now, datetime.UTC)
        dims = [{"Name": "RunId", "Value": secrets.token_hex(8)}]
        clients.cloudwatch.put_metric_data(
            Namespace="N",
            MetricData=[{"MetricName": "p", "Dimensions": dims, "Value": 1.0, "Timestamp": stamp}],
        )
        clients.cloudwatch.get_metric_statistics(
            Namespace="N",
            MetricName="p",
            Dimensions=dims,
            StartTime=stamp - datetime.timedelta(minutes=2),
            EndTime=stamp + datetime.timedelta(minutes=2),
            Period=60,
            Statistics=["SampleCount"],
        )
        clients.cloudwatch.put_metric_data(
            Namespace="N", MetricData=[{"MetricName": f"m{i}", "Value": 1.0} for i in range(5)]
        )
        clients.dynamodb.get_item(TableName="state", Key={"pk": {"S": "raw"}}, ConsistentRead=True)
        clients.dynamodb.put_item(TableName="state", Item={"pk": {"S": "raw"}, "n": {"N": "0"}})
        return time.thread_time() - cpu, time.perf_counter() - wall

    canary_run()
    raw_run()
    ours, raw = [], []
    for _ in range(RUNS):
        ours.append(canary_run())
        raw.append(raw_run())
    server.stop()
    cpu_ours, cpu_raw = statistics.median(c for c, _ in ours), statistics.median(c for c, _ in raw)
    wall_ours, wall_raw = statistics.median(w for _, w in ours), statistics.median(w for _, w in raw)
    print(f"canary benchmark ({RUNS} runs, median; moto on loopback; the canary's clock injected)")
    print(f"{'':<44}{'canary':>10}{'raw boto3':>11}{'ratio':>8}")
    print(
        f"{'CPU of the calling thread per run (ms)':<44}{cpu_ours * 1000:>10.1f}{cpu_raw * 1000:>11.1f}"
        f"{cpu_ours / cpu_raw:>7.2f}x"
    )
    print(
        f"{'wall time per run (ms)':<44}{wall_ours * 1000:>10.1f}{wall_raw * 1000:>11.1f}"
        f"{wall_ours / wall_raw:>7.2f}x"
    )
    verdict = "ok" if cpu_ours < 1.0 else "MISSED"
    print(f"one run: {cpu_ours * 1000:.0f} ms of CPU (target: well under 1 s) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
