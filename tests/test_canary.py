"""The canary against moto in server mode on loopback, driven by real boto3 clients.

Faults are injected at the HTTP boundary with botocore ``before-send`` hooks on
the canary's own clients: a hook either returns an HTTP error response in the
service's own wire protocol (JSON, query XML or CBOR), or rewrites the request
body before it goes to moto. The clock is injected: no test waits 90 seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.otlp_receiver import closed_port
from xray_exclusive.canary import (
    CanaryClients,
    CanaryConfig,
    ConfigurationError,
    build_clients,
    error_kind,
    run_canary,
    update_consecutive_failures,
)
from xray_exclusive.canary._taxonomy import Calls

ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-west-1"


class FakeClock:
    """Starts at the real time (trace IDs carry it); ``sleep`` only moves it forward."""

    def __init__(self) -> None:
        self.start = self.t = time.time()
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)

    def elapsed(self) -> float:
        return self.t - self.start


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "_HANDLER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    session = boto3.session.Session(region_name=REGION)
    admin = {
        name: session.client(name, endpoint_url=moto_url)
        for name in ("sns", "sqs", "dynamodb", "xray", "cloudwatch")
    }
    topic = admin["sns"].create_topic(Name="canary-alerts")["TopicArn"]
    queue = admin["sqs"].create_queue(QueueName="alert-inbox")["QueueUrl"]
    queue_arn = admin["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    admin["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    admin["dynamodb"].create_table(
        TableName="canary-state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    config = CanaryConfig(endpoint_url=moto_url, sns_topic_arn=topic, state_table="canary-state")
    clients = build_clients(config, session=session)
    return {
        "config": config,
        "clients": clients,
        "admin": admin,
        "queue": queue,
        "session": session,
        "url": moto_url,
    }


def sns_messages(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """What reached the alert topic, read back through an SQS subscription."""
    sqs = aws["admin"]["sqs"]
    answer = sqs.receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in answer.get("Messages", [])]


def run(aws: dict[str, Any], clock: FakeClock | None = None, **overrides: Any) -> Any:
    from dataclasses import replace

    config = replace(aws["config"], **overrides) if overrides else aws["config"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = run_canary(config, aws["clients"], clock or FakeClock())
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["status"] == result.status
    return result


# ------------------------------------------------------------------------------- fault injection


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    if len(data) < 24:
        return bytes([0x60 + len(data)]) + data
    return bytes([0x78, len(data)]) + data


def error_response(client: Any, status: int, code: str, message: str = "injected") -> AWSResponse:
    """An error answer as the service would send it, in the client's own wire protocol."""
    model = client.meta.service_model
    protocol = getattr(model, "resolved_protocol", None) or model.protocol
    if protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>r</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    elif protocol == "smithy-rpc-v2-cbor":
        body = b"\xa2" + _cbor_text("__type") + _cbor_text(code) + _cbor_text("message") + _cbor_text(message)
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    response = AWSResponse("http://fault", status, headers, None)
    response._content = body
    return response


class Faults:
    """Per operation, a queue of actions: ``(status, code)`` answers, rewriting callables, ``None`` = pass."""

    def __init__(self) -> None:
        self.plans: dict[str, list[Any]] = {}
        self.calls: dict[str, int] = {}

    def on(self, client: Any, operation: str, *actions: Any) -> None:
        self.plans[operation] = list(actions)
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-send.{service}.{operation}", self._hook(client, operation))

    def _hook(self, client: Any, operation: str) -> Callable[..., Any]:
        def hook(request: Any, **_: Any) -> Any:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            plan = self.plans.get(operation) or []
            action = plan.pop(0) if len(plan) > 1 else (plan[0] if plan else None)
            if action is None:
                return None
            if callable(action):
                return action(request)
            status, code = action
            return error_response(client, status, code)

        return hook


def rewrite_put(keep: Callable[[dict[str, Any], int], bool]) -> Callable[[Any], None]:
    """A request rewrite for PutTraceSegments: keep only the documents ``keep(doc, index)`` accepts."""

    def action(request: Any) -> None:
        body = json.loads(request.body)
        docs = [d for i, d in enumerate(body["TraceSegmentDocuments"]) if keep(json.loads(d), i)]
        body["TraceSegmentDocuments"] = docs
        request.body = json.dumps(body).encode()
        request.headers["Content-Length"] = str(len(request.body))

    return action


# ------------------------------------------------------------------------------- the runs


def test_healthy_run_end_to_end(aws: dict[str, Any]) -> None:
    clock = FakeClock()
    cpu = time.process_time()
    result = run(aws, clock)
    cpu = time.process_time() - cpu
    assert result.status == "healthy", result.to_dict()
    assert result.exit_code == 0
    assert (result.xray.submitted, result.xray.found, result.xray.lost, result.xray.partial) == (5, 5, 0, 0)
    # The traces really are in X-Ray, each with its segment and its subsegment.
    traces = aws["admin"]["xray"].batch_get_traces(TraceIds=result.xray.trace_ids[:5])["Traces"]
    assert len(traces) == 5 and all(len(t["Segments"]) == 2 for t in traces)
    epoch = int(result.xray.trace_ids[0].split("-")[1], 16)
    assert abs(epoch - clock.start) < 2  # the epoch field is the current time
    # Found at the first retrieval (+30 s): no second query; the metric read after 90 s.
    assert result.xray.queries == 1
    assert result.cloudwatch.found and result.cloudwatch.seconds_to_visible == 90
    # The health metrics really are in CloudWatch.
    health = aws["admin"]["cloudwatch"].get_metric_statistics(
        Namespace="XrayExclusive/Canary",
        MetricName="CanaryHealth",
        StartTime=clock.start - 600,
        EndTime=time.time() + 600,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [p["Maximum"] for p in health] == [1.0]
    item = aws["admin"]["dynamodb"].get_item(
        TableName="canary-state", Key={"pk": {"S": "canary#XrayExclusive/Canary"}}
    )
    assert item["Item"]["consecutive_failures"] == {"N": "0"}
    assert result.alerts == [] and sns_messages(aws) == []
    assert result.reported
    assert cpu < 1.0  # one run with the injected clock: well under a second of CPU


def test_throttling_then_success_is_retried(aws: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(
        aws["clients"].xray, "PutTraceSegments", (400, "ThrottledException"), (500, "InternalFailure"), None
    )
    result = run(aws)
    assert result.status == "healthy", result.to_dict()
    assert faults.calls["PutTraceSegments"] == 3
    assert result.retries == 2


def test_access_denied_alerts_at_once_without_retry(aws: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(aws["clients"].cloudwatch, "PutMetricData", (403, "AccessDenied"))
    result = run(aws)
    assert result.status == "failed"
    assert "AccessDenied" in (result.permanent_error or "")
    assert faults.calls["PutMetricData"] == 2  # the probe (once, no retry) and the health report (once)
    assert result.retries == 0
    [message] = sns_messages(aws)
    assert message["reason"] == "permanent_error"
    assert "AccessDenied" in message["summary"]
    assert result.consecutive_failures == 1  # alerted on the first run: permanent errors do not wait


def test_traces_never_indexed_are_lost_after_the_last_retry(aws: dict[str, Any]) -> None:
    faults = Faults()

    def not_indexed(request: Any) -> AWSResponse:
        ids = json.loads(request.body)["TraceIds"]
        response = AWSResponse("http://fault", 200, {"Content-Type": "application/json"}, None)
        response._content = json.dumps({"Traces": [], "UnprocessedTraceIds": ids}).encode()
        return response

    faults.on(aws["clients"].xray, "BatchGetTraces", not_indexed)
    clock = FakeClock()
    result = run(aws, clock)
    assert result.xray.loss_ratio == 1.0
    assert result.xray.queries == 2
    assert clock.sleeps[:2] == [30.0, 30.0]  # queried at +30 s and +60 s
    assert result.status == "failed"
    assert result.alerts == []  # first failed interval: no alert yet
    second = run(aws)
    assert second.consecutive_failures == 2
    [message] = sns_messages(aws)
    assert message["reason"] == "consecutive_failures"
    assert "X-Ray" in message["summary"]
    third = run(aws)
    assert third.consecutive_failures == 3 and third.alerts == []  # alerted once, at the second


def test_some_traces_lost(aws: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(
        aws["clients"].xray, "PutTraceSegments", rewrite_put(lambda doc, i: i >= 4)
    )  # drop 2 of 5 traces
    result = run(aws)
    assert result.xray.lost == 2
    assert result.xray.loss_ratio == pytest.approx(0.4)
    assert result.status == "failed"  # above the 0.2 threshold


def test_loss_under_the_threshold_is_degraded(aws: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(aws["clients"].xray, "PutTraceSegments", rewrite_put(lambda doc, i: i >= 2))  # 1 of 10 lost
    result = run(aws, trace_count=10)
    assert result.xray.loss_ratio == pytest.approx(0.1)
    assert result.status == "degraded"
    assert result.exit_code == 1


def test_partial_traces_are_degraded_not_success(aws: dict[str, Any]) -> None:
    # moto has no IsPartial: the subsegment documents are dropped at the boundary, so every trace
    # is found without its subsegment, as X-Ray returns a trace still being assembled.
    faults = Faults()
    faults.on(
        aws["clients"].xray, "PutTraceSegments", rewrite_put(lambda doc, i: doc.get("type") != "subsegment")
    )
    clock = FakeClock()
    result = run(aws, clock)
    assert result.xray.partial == 5 and result.xray.lost == 0
    assert result.xray.queries == 2  # a partial trace is asked for again
    assert result.status == "degraded"
    partial = aws["admin"]["cloudwatch"].get_metric_statistics(
        Namespace="XrayExclusive/Canary",
        MetricName="canary.trace.partial",
        StartTime=clock.start - 600,
        EndTime=time.time() + 600,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [p["Maximum"] for p in partial] == [1.0]


def test_unprocessed_segments_count_as_lost_at_once(aws: dict[str, Any]) -> None:
    faults = Faults()

    def unprocessed(request: Any) -> AWSResponse:
        docs = [json.loads(d) for d in json.loads(request.body)["TraceSegmentDocuments"]]
        first_segment = docs[0]["id"]
        response = AWSResponse("http://fault", 200, {"Content-Type": "application/json"}, None)
        body = {"UnprocessedTraceSegments": [{"Id": first_segment, "ErrorCode": "Throttled", "Message": "x"}]}
        response._content = json.dumps(body).encode()
        return response

    faults.on(aws["clients"].xray, "PutTraceSegments", unprocessed)
    result = run(aws)
    assert result.xray.unprocessed == 1
    assert result.xray.lost == 5  # nothing was stored: the rest are lost at retrieval


def test_cloudwatch_datapoint_never_visible(aws: dict[str, Any]) -> None:
    faults = Faults()

    def empty(request: Any) -> AWSResponse:
        response = AWSResponse("http://fault", 200, {"Content-Type": "application/x-amz-json-1.0"}, None)
        response._content = b'{"Datapoints": []}'
        return response

    faults.on(aws["clients"].cloudwatch, "GetMetricStatistics", empty)
    clock = FakeClock()
    result = run(aws, clock)
    assert not result.cloudwatch.found
    assert result.cloudwatch.reads == 1 + 120 // 15  # from +90 s every 15 s until the 120 s window closes
    assert result.status == "failed"


@pytest.fixture
def webhook() -> Iterator[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/alerts", "received": received}
    server.shutdown()
    server.server_close()


def test_sns_down_webhook_still_alerts(aws: dict[str, Any], webhook: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(aws["clients"].cloudwatch, "PutMetricData", (403, "AccessDenied"))
    faults.on(aws["clients"].sns, "Publish", (503, "ServiceUnavailable"))
    result = run(aws, webhook_url=webhook["url"])
    [outcome] = result.alerts
    assert outcome.channels["webhook"] == "sent"
    assert outcome.channels["sns"].startswith("ServiceUnavailable")
    assert faults.calls["Publish"] == 4  # transient: 1 + 3 retries
    assert webhook["received"][0]["reason"] == "permanent_error"
    assert webhook["received"][0]["severity"] == "critical"
    assert not result.alert_failed


def test_webhook_down_sns_still_alerts(aws: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    faults = Faults()
    faults.on(aws["clients"].cloudwatch, "PutMetricData", (403, "AccessDenied"))
    result = run(aws, webhook_url=f"http://127.0.0.1:{closed_port()}/alerts")
    [outcome] = result.alerts
    assert outcome.channels["sns"] == "sent"
    assert "URLError" in outcome.channels["webhook"]
    assert len(sns_messages(aws)) == 1


def test_both_channels_down_is_loud(aws: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    faults = Faults()
    faults.on(aws["clients"].cloudwatch, "PutMetricData", (403, "AccessDenied"))
    faults.on(aws["clients"].sns, "Publish", (403, "AuthorizationError"))
    with caplog.at_level(logging.CRITICAL, logger="xray_exclusive.canary"):
        result = run(aws, webhook_url=f"http://127.0.0.1:{closed_port()}/alerts")
    assert result.alert_failed
    assert "CANARY ALERT NOT DELIVERED" in caplog.text
    assert result.to_dict()["alert_failed"] is True


def test_without_a_state_table_the_canary_says_so(
    aws: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="xray_exclusive.canary"):
        result = run(aws, state_table=None)
    assert "CANARY_STATE_TABLE is not set" in caplog.text
    assert result.consecutive_failures is None


def test_concurrent_runs_never_lose_a_count(aws: dict[str, Any]) -> None:
    dynamodb = aws["session"].client("dynamodb", endpoint_url=aws["url"])
    barrier = threading.Barrier(4)
    results: list[int] = []

    def fail_once() -> None:
        barrier.wait()
        results.append(
            update_consecutive_failures(dynamodb, "canary-state", "race", True, Calls(FakeClock()))
        )

    threads = [threading.Thread(target=fail_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2, 3, 4]  # each run saw its own count: conditional writes, no lost update


# ------------------------------------------------------------------------------- configuration, CLI, HCL


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CANARY_TRACE_COUNT", "0"),
        ("CANARY_RETRIEVAL_DELAYS", "60,30"),
        ("CANARY_METRIC_DELAY", "-1"),
        ("CANARY_LOSS_THRESHOLD", "1.5"),
        ("CANARY_NAMESPACE", "AWS/Lambda"),
        ("CANARY_WEBHOOK_URL", "ftp://x"),
    ],
)
def test_invalid_configuration_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        CanaryConfig.from_env({name: value})


def test_invalid_configuration_fails_at_init_in_lambda() -> None:
    env = {"_HANDLER": "xray_exclusive.canary.handler", "CANARY_TRACE_COUNT": "many", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", "import xray_exclusive.canary"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CANARY_TRACE_COUNT='many' is invalid" in result.stderr


def test_cli_runs_once_and_exits_with_the_status(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANARY_RETRIEVAL_DELAYS", "0")
    monkeypatch.setenv("CANARY_METRIC_DELAY", "0")
    monkeypatch.setenv("CANARY_METRIC_WINDOW", "0.01")  # above 0: a zero window is refused
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    from xray_exclusive.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["canary", "run", "--once", "--traces", "2", "--endpoint-url", aws["url"], "--json"])
    result = json.loads(out.getvalue())
    assert code == 0, result
    assert result["xray"]["submitted"] == 2
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["canary", "run", "--once", "--traces", "1", "--endpoint-url", aws["url"]])
    assert code == 0
    assert out.getvalue().startswith("canary: HEALTHY")
    monkeypatch.setenv("CANARY_LOSS_THRESHOLD", "lots")
    assert main(["canary", "run", "--once"]) == 3  # could not run: bad configuration, not "failed"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("ThrottlingException", "transient"),
        ("Throttling", "transient"),
        ("InternalFailure", "transient"),
        ("ServiceUnavailable", "transient"),
        ("InternalServiceError", "transient"),
        ("AccessDeniedException", "permanent"),
        ("AccessDenied", "permanent"),
        ("NotAuthorized", "permanent"),
        ("InvalidClientTokenId", "permanent"),
        ("UnrecognizedClientException", "permanent"),
        ("ExpiredTokenException", "permanent"),
        ("ExpiredToken", "permanent"),
        ("ValidationException", "other"),
    ],
)
def test_error_taxonomy(code: str, kind: str) -> None:
    from botocore.exceptions import ClientError

    assert (
        error_kind(ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "X"))
        == kind
    )


def test_5xx_and_connection_errors_are_transient() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    assert error_kind(
        ClientError({"Error": {"Code": "Weird"}, "ResponseMetadata": {"HTTPStatusCode": 502}}, "X")
    ) == ("transient")
    assert error_kind(EndpointConnectionError(endpoint_url="http://x")) == "transient"


def test_example_terraform_is_valid_hcl() -> None:
    import hcl2

    files = sorted((ROOT / "examples" / "canary").glob("*.tf"))
    assert files
    parsed = {}
    for path in files:
        with path.open() as handle:
            parsed[path.name] = hcl2.load(handle)
    text = "".join(path.read_text() for path in files)
    assert 'treat_missing_data  = "breaching"' in text or 'treat_missing_data = "breaching"' in text
    assert "evaluation_periods" in text
    for needed in ("aws_lambda_function", "aws_iam_role", "aws_cloudwatch_event_rule", "aws_sns_topic"):
        assert needed in text, needed


def test_documented_iam_policy_is_minimal_json() -> None:
    text = (ROOT / "docs" / "canary.md").read_text()
    block = text.split("```json", 1)[1].split("```", 1)[0]
    policy = json.loads(block)
    actions = {
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "xray:PutTraceSegments",
        "xray:BatchGetTraces",
        "xray:GetTraceSegmentDestination",
        "xray:StartTraceRetrieval",
        "xray:ListRetrievedTraces",
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricStatistics",
        "sns:Publish",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }
    assert not any(a.endswith("*") for a in actions)


def test_handler_builds_once_and_returns_the_result(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import xray_exclusive.canary as canary

    monkeypatch.setattr(canary, "_CONFIG", None)
    monkeypatch.setattr(canary, "_CLIENTS", None)
    monkeypatch.setenv("CANARY_RETRIEVAL_DELAYS", "0")
    monkeypatch.setenv("CANARY_METRIC_DELAY", "0")
    monkeypatch.setenv("CANARY_METRIC_WINDOW", "0.01")  # above 0: a zero window is refused
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws["url"])
    with contextlib.redirect_stdout(io.StringIO()):
        first = canary.handler({}, None)
        clients = canary._CLIENTS
        canary.handler({}, None)
    assert first["status"] == "healthy"
    assert canary._CLIENTS is clients
    assert isinstance(clients, CanaryClients)


# ------------------------------------------------------------------------------- segment destination
# moto has no GetTraceSegmentDestination, StartTraceRetrieval nor ListRetrievedTraces: the proxy answers
# them in X-Ray's wire format, the retrieval backed by what moto's X-Ray really stored.


def json_answer(body: dict[str, Any], status: int = 200) -> AWSResponse:
    response = AWSResponse("http://fault", status, {"Content-Type": "application/json"}, None)
    response._content = json.dumps(body).encode()
    return response


def destination(name: str, status: str = "ACTIVE") -> Callable[[Any], AWSResponse]:
    return lambda request: json_answer({"Destination": name, "Status": status})


def destination_datapoints(aws: dict[str, Any], clock: FakeClock, value: str) -> list[float]:
    return [
        p["Sum"]
        for p in aws["admin"]["cloudwatch"].get_metric_statistics(
            Namespace="XrayExclusive/Canary",
            MetricName="SegmentDestination",
            Dimensions=[{"Name": "Destination", "Value": value}],
            StartTime=clock.start - 600,
            EndTime=time.time() + 600,
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
    ]


def logs_retrieval(aws: dict[str, Any], faults: Faults, running_polls: int = 1) -> dict[str, Any]:
    """StartTraceRetrieval + ListRetrievedTraces over moto's stored segments: the spans in aws/spans."""
    state: dict[str, Any] = {"retrievals": [], "polls": 0}

    def start(request: Any) -> AWSResponse:
        body = json.loads(request.body)
        state["retrievals"].append(body)
        return json_answer({"RetrievalToken": f"token-{len(state['retrievals'])}"})

    def listing(request: Any) -> AWSResponse:
        body = json.loads(request.body)
        assert body["TraceFormat"] == "XRAY"
        state["polls"] += 1
        if state["polls"] <= running_polls:
            return json_answer({"RetrievalStatus": "RUNNING"})
        ids = state["retrievals"][int(body["RetrievalToken"].split("-")[1]) - 1]["TraceIds"]
        stored = aws["admin"]["xray"].batch_get_traces(TraceIds=ids[:5])["Traces"]
        traces = [
            {"Id": t["Id"], "Spans": [{"Id": s["Id"], "Document": s["Document"]} for s in t["Segments"]]}
            for t in stored
        ]
        return json_answer({"RetrievalStatus": "COMPLETE", "TraceFormat": "XRAY", "Traces": traces})

    faults.on(aws["clients"].xray, "StartTraceRetrieval", start)
    faults.on(aws["clients"].xray, "ListRetrievedTraces", listing)
    return state


def not_indexed(request: Any) -> AWSResponse:
    """Transaction Search at 1% indexing: BatchGetTraces finds none of the canary's traces."""
    return json_answer({"Traces": [], "UnprocessedTraceIds": json.loads(request.body)["TraceIds"]})


def test_xray_destination_is_reported_in_the_line_and_the_metrics(aws: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(aws["clients"].xray, "GetTraceSegmentDestination", destination("XRay"))
    clock = FakeClock()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = run_canary(aws["config"], aws["clients"], clock)
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["segment_destination"] == {
        "destination": "XRay",
        "status": "ACTIVE",
        "read_back": "BatchGetTraces",
        "retrievals": 0,
        "unverified": None,
        "error": None,
    }
    assert result.status == "healthy"
    assert "StartTraceRetrieval" not in faults.calls
    assert destination_datapoints(aws, clock, "XRay") == [1.0]


def test_transaction_search_reads_back_from_cloudwatch_logs(aws: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(aws["clients"].xray, "GetTraceSegmentDestination", destination("CloudWatchLogs"))
    faults.on(aws["clients"].xray, "BatchGetTraces", not_indexed)
    state = logs_retrieval(aws, faults)
    clock = FakeClock()
    result = run(aws, clock)
    assert result.status == "healthy", result.to_dict()
    assert (result.xray.found, result.xray.lost) == (5, 0)
    assert result.destination.to_dict()["read_back"] == "BatchGetTraces+StartTraceRetrieval"
    assert result.destination.retrievals == 1 and result.destination.unverified is None
    [retrieval] = state["retrievals"]
    assert sorted(retrieval["TraceIds"]) == sorted(result.xray.trace_ids)
    assert state["polls"] == 2  # RUNNING, then COMPLETE
    assert clock.sleeps[1] == 2.0  # between the two polls, on the injected clock
    assert destination_datapoints(aws, clock, "CloudWatchLogs") == [1.0]


def test_transaction_search_without_retrieval_permission_says_what_it_cannot_verify(
    aws: dict[str, Any],
) -> None:
    faults = Faults()
    faults.on(aws["clients"].xray, "GetTraceSegmentDestination", destination("CloudWatchLogs"))
    faults.on(aws["clients"].xray, "BatchGetTraces", not_indexed)
    faults.on(aws["clients"].xray, "StartTraceRetrieval", (403, "AccessDeniedException"))
    result = run(aws)
    assert result.status == "failed" and result.xray.lost == 5
    assert result.permanent_error is None and sns_messages(aws) == []  # not a page: a blind spot, said
    unverified = result.destination.unverified or ""
    assert "cannot read traces back from CloudWatch Logs (StartTraceRetrieval: AccessDeniedException)" in (
        unverified
    )
    assert "xray:StartTraceRetrieval" in unverified


def test_destination_unreadable_is_reported_not_escalated(aws: dict[str, Any]) -> None:
    faults = Faults()
    faults.on(aws["clients"].xray, "GetTraceSegmentDestination", (403, "AccessDeniedException"))
    clock = FakeClock()
    result = run(aws, clock)
    assert result.status == "healthy" and result.permanent_error is None
    assert faults.calls["GetTraceSegmentDestination"] == 1  # permanent: not retried
    assert "allow xray:GetTraceSegmentDestination" in (result.destination.error or "")
    assert "read back with BatchGetTraces only" in (result.destination.unverified or "")
    assert destination_datapoints(aws, clock, "unknown") == [1.0]


def test_moto_without_the_call_leaves_the_destination_unknown(aws: dict[str, Any]) -> None:
    result = run(aws)  # moto answers 404: the canary still works, and says it could not tell
    assert result.status == "healthy"
    assert result.destination.destination is None
    assert (result.destination.error or "").startswith("GetTraceSegmentDestination: 404")


def test_cli_says_what_it_is_doing_on_stderr(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CANARY_RETRIEVAL_DELAYS", "0")
    monkeypatch.setenv("CANARY_METRIC_DELAY", "0")
    monkeypatch.setenv("CANARY_METRIC_WINDOW", "0.01")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("CANARY_SNS_TOPIC_ARN", "CANARY_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    from xray_exclusive.cli import main

    assert main(["canary", "run", "--once", "--traces", "1", "--endpoint-url", aws["url"]]) == 0
    err = capsys.readouterr().err.splitlines()
    phases = [line for line in err if line.startswith("canary: ")]
    assert phases[0].startswith("canary: warning: no alert channel is set")
    assert any("writing 1 test traces to X-Ray, reading them back after 0 s" in line for line in phases)
    assert any("writing a test datapoint to CloudWatch" in line for line in phases)
    assert phases[-1] == "canary: healthy: reporting the health metrics"

    assert main(["canary", "run", "--once", "--traces", "1", "--endpoint-url", aws["url"], "--quiet"]) == 0
    quiet = capsys.readouterr().err.splitlines()
    assert [line for line in quiet if line.startswith("canary: ")] == [phases[0]]  # the warning stays
