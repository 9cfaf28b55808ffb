"""Run the SSE Lambda locally: the real runtime against a loopback Runtime API, moto, and a local collector.

    pip install -e '.[streaming]' 'moto[server]'
    python examples/sse_lambda/run_local.py

It starts moto's DynamoDB with a table that fills while the stream runs, the local collector
(`xray-exclusive collect`'s engine), a loopback Lambda Runtime API, and `python -m
xray_exclusive.runtime handler.handler` as a subprocess, exactly as the container's entry point.
Then it invokes the function once and prints the stream as the client received it and the trace.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from xray_exclusive.devtools import Collector, render_text
    from xray_exclusive.runtime.local import LocalRuntimeAPI

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    credentials = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    os.environ.update(credentials)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    dynamodb.create_table(
        TableName="sentiment-items",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stop = threading.Event()

    def writer() -> None:  # new sentiment results keep arriving while the client listens
        n = 0
        while not stop.wait(0.15):
            n += 1
            dynamodb.put_item(
                TableName="sentiment-items",
                Item={
                    "id": {"S": f"item-{n}"},
                    "sentiment": {"S": "positive" if n % 2 else "negative"},
                    "updated_at": {"N": str(time.time())},
                },
            )

    threading.Thread(target=writer, daemon=True).start()
    with Collector(udp_port=0, http_port=0) as collector:
        api = LocalRuntimeAPI()
        env = {
            **os.environ,
            **credentials,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "LAMBDA_TASK_ROOT": str(HERE),
            "AWS_LAMBDA_FUNCTION_NAME": "sse-streaming",
            "AWS_ENDPOINT_URL": endpoint,
            "OTEL_SERVICE_NAME": "sse-streaming",
            "POWERTOOLS_SERVICE_NAME": "sse-streaming",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.otlp_endpoint,
            "SSE_POLLS": "6",
            "SSE_POLL_INTERVAL_S": "0.2",
        }
        runtime = subprocess.Popen(
            [sys.executable, "-m", "xray_exclusive.runtime", "handler.handler"], env=env
        )
        root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        request_id = api.invoke(
            {"headers": {"x-sse-session-id": "local-1", "x-sse-connection-sequence": "1"}},
            f"Root={root};Parent={secrets.token_hex(8)};Sampled=1",
        )
        answer = api.wait(request_id, timeout=60)
        runtime.terminate()
        runtime.wait(timeout=30)
        stop.set()
        time.sleep(0.2)
        print(
            f"streamed {len(answer.chunks)} chunks over {answer.chunks[-1][0] - answer.chunks[0][0]:.1f} s:"
        )
        prelude, _, body = answer.body.partition(b"\x00" * 8)
        print(f"  prelude {prelude.decode()}")
        for line in body.decode().splitlines()[:12]:
            print(f"  {line}")
        print()
        render_text([t for t in collector.store.traces() if t.trace_id == root], stream=sys.stdout)
        api.close()
    moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
