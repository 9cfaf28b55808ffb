"""The seven silent failure paths of the Ingestion Lambda, made visible: run it and read what AWS would get.

    python examples/seven_paths.py

It plays one sampled invocation of the reference Ingestion Lambda (``examples/lambdas/ingestion.py``) on
this machine: a loopback UDP socket stands in for the X-Ray daemon, the failures are real exceptions
(botocore ``ClientError`` objects built as botocore builds them), and the caller's catch-and-continue code
is left exactly as it was. It prints each X-Ray
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
import sys
import time
from pathlib import Path

LAMBDAS = Path(__file__).resolve().parent / "lambdas"


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
    # Imported once the environment is a Lambda's: Powertools decides at Tracer() whether it is in Lambda.
    sys.path.insert(0, str(LAMBDAS))
    import ingestion

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        answer = ingestion.handler({"ticker": "AAPL"}, None)

    print(f"trace {root}: the handler returned {answer}\n")
    print(f"X-Ray subsegments received by the daemon on {address}:")
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
        if not line.startswith('{"_aws"'):
            continue
        metric = json.loads(line)
        directive = metric["_aws"]["CloudWatchMetrics"][0]
        name = directive["Metrics"][0]["Name"]
        dims = {d: metric[d] for d in directive["Dimensions"][0]}
        print(f"  {directive['Namespace']:<31} {name:<34} {metric[name]}  {dims}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
