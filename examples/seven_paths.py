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

from _stage import lambda_stage, received


def main() -> int:
    daemon, address, root = lambda_stage("ingestion")
    import ingestion  # after the stage: see lambda_stage

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        answer = ingestion.handler({"ticker": "AAPL"}, None)

    print(f"trace {root}: the handler returned {answer}\n")
    print(f"X-Ray subsegments received by the daemon on {address}:")
    for doc, size in received(daemon):
        marks = "+".join(k for k in ("error", "throttle", "fault") if doc.get(k)) or "ok"
        cause = (doc.get("cause") or {}).get("exceptions", [{}])[0]
        print(f"  {doc['name']:<34} {marks:<15} {size:>5} B  annotations={doc.get('annotations', {})}")
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
