"""Our OTLP → X-Ray converter (``xray-exclusive collect``) held to the real exporter, field by field.

Every shape below is an OTLP ``ExportTraceServiceRequest`` built as data. Each
is posted (OTLP/HTTP protobuf) to our collector build (contrib ``awsxray``
exporter v0.109.0), which writes to moto's X-Ray API; the documents read back
with ``BatchGetTraces`` are what X-Ray stores. The same request goes through
``span_to_document``. Both are flattened to dotted paths and compared leaf by
leaf. Exception ``id``\\s are random in the exporter: they are compared by
position (which exception is whose ``cause``), not by value. What we leave
different on purpose is :data:`DELIBERATE`, and nothing else may differ.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.aws_side import Collector, MotoXRay
from xray_exclusive.devtools import span_to_document, xray_trace_id
from xray_exclusive.devtools._convert import attributes

pytestmark = pytest.mark.slow

INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
OK, ERROR = 1, 2
PYTHON = {"service.name": "parity", "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry"}
START = time.time_ns()
PARENT = bytes.fromhex("53995c3f42cd8ad8")


# ----------------------------------------------------------------------------- building shapes


def any_value(value: Any) -> AnyValue:
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    return AnyValue(string_value=value)


def key_values(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


def new_trace_id() -> bytes:
    return int(time.time()).to_bytes(4, "big") + secrets.token_bytes(12)


@dataclass
class Shape:
    """One OTLP request: a resource and its spans (one trace unless a span says otherwise)."""

    id: str
    request: ExportTraceServiceRequest = field(default_factory=ExportTraceServiceRequest)

    @property
    def spans(self) -> list[Span]:
        return [s for rs in self.request.resource_spans for ss in rs.scope_spans for s in ss.spans]

    @property
    def trace_ids(self) -> set[str]:
        return {xray_trace_id(s.trace_id) for s in self.spans}


def shape(
    shape_id: str,
    name: str = "operation",
    kind: int = INTERNAL,
    attrs: dict[str, Any] | None = None,
    *,
    resource: dict[str, Any] | None = None,
    parent: bytes = PARENT,
    status: tuple[int, str] | None = None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
    trace_id: bytes | None = None,
    links: list[tuple[bytes, bytes, dict[str, Any]]] | None = None,
    children: list[dict[str, Any]] | None = None,
) -> Shape:
    """A shape of one span (a child of ``PARENT`` unless ``parent=b""``), plus ``children`` of it."""
    result = Shape(shape_id)
    resource_spans = result.request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(PYTHON if resource is None else resource))
    spans = resource_spans.scope_spans.add().spans
    trace = trace_id or new_trace_id()
    root = spans.add(trace_id=trace, span_id=secrets.token_bytes(8), parent_span_id=parent, name=name)
    root.kind, root.start_time_unix_nano, root.end_time_unix_nano = kind, START, START + 1_500_000  # type: ignore[assignment]
    root.attributes.extend(key_values(attrs or {}))
    if status:
        root.status.code, root.status.message = status  # type: ignore[assignment]
    for event_name, values in events or []:
        root.events.add(name=event_name, time_unix_nano=START + 1000, attributes=key_values(values))
    for link_trace, link_span, values in links or []:
        root.links.add(trace_id=link_trace, span_id=link_span, attributes=key_values(values))
    for child in children or []:
        span = spans.add(trace_id=trace, span_id=secrets.token_bytes(8), parent_span_id=root.span_id)
        span.name, span.kind = child.get("name", "child"), child.get("kind", INTERNAL)
        span.start_time_unix_nano, span.end_time_unix_nano = START + 10, START + 900_000
        span.attributes.extend(key_values(child.get("attrs", {})))
    return result


def exception_event(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """What the OpenTelemetry SDK's ``record_exception`` writes: type, message, Python traceback text."""
    return (
        "exception",
        {
            "exception.type": type(exc).__name__,
            "exception.message": str(exc),
            "exception.stacktrace": "".join(traceback.format_exception(exc)),
            "exception.escaped": "False",
        },
    )


def _load_item(table: dict[str, Any]) -> Any:
    return table["missing"]


def _parse(raw: str) -> int:
    return int(raw)


def _during_handling() -> BaseException:
    try:
        try:
            _load_item({})
        except KeyError:
            _parse("not a number")
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def _direct_cause() -> BaseException:
    try:
        try:
            _load_item({})
        except KeyError as inner:
            raise RuntimeError("state table unreadable") from inner
    except RuntimeError as exc:
        return exc
    raise AssertionError("unreachable")


def _single() -> BaseException:
    try:
        _parse("x")
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def library_shapes() -> list[Shape]:
    """Spans made by the library's own helpers (``xray_exclusive.streaming``), as the SDK sends them."""
    from botocore.exceptions import ClientError
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from xray_exclusive.streaming import (
        annotate_poll,
        cloudwatch_span,
        dispatch_span,
        dynamodb_span,
        poll_cycle,
    )
    from xray_exclusive.streaming._semconv import set_metadata

    def client_error(code: str, status: int) -> ClientError:
        response: Any = {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"RequestId": "R1", "HTTPStatusCode": status, "HTTPHeaders": {}},
        }
        return ClientError(response, "Query")

    resource = Resource.create(
        {"service.name": "sse-streaming", "cloud.provider": "aws", "cloud.platform": "aws_lambda"}
    )
    shapes = []

    def record(shape_id: str, body: Callable[[Any], None]) -> None:
        exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator())
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("parity")
        with contextlib.suppress(Exception):  # the helpers record the failure, then re-raise it
            body(tracer)
        provider.shutdown()
        request = ExportTraceServiceRequest()
        request.ParseFromString(encode_spans(exporter.get_finished_spans()).SerializeToString())
        shapes.append(Shape(shape_id, request))

    def poll_tree(tracer: Any) -> None:
        with poll_cycle(tracer, sentiment_type="all") as cycle:
            with dynamodb_span("Query", "sentiment-items", tracer, ticker="AMZN"):
                pass
            annotate_poll(cycle, item_count=3, changed_count=1)
            set_metadata(cycle, "xray_exclusive", {"poll": {"items": [1, 2, 3], "cursor": None}})
            with dispatch_span("positive", tracer):
                pass
            with cloudwatch_span(tracer=tracer):
                pass

    def raising(scope: Callable[[Any], Any], exc: BaseException) -> Callable[[Any], None]:
        def body(tracer: Any) -> None:
            with scope(tracer):
                raise exc

        return body

    record("lib-poll-tree", poll_tree)
    record(
        "lib-dynamodb-throttle",
        raising(
            lambda t: dynamodb_span("Query", "items", t), client_error("ProvisionedThroughputExceeded", 400)
        ),
    )
    record(
        "lib-dynamodb-4xx",
        raising(lambda t: dynamodb_span("GetItem", "items", t), client_error("ValidationException", 400)),
    )
    record(
        "lib-cloudwatch-timeout", raising(lambda t: cloudwatch_span(tracer=t), TimeoutError("PutMetricData"))
    )
    record(
        "lib-cloudwatch-5xx", raising(lambda t: cloudwatch_span(tracer=t), client_error("InternalError", 503))
    )
    record(
        "lib-dispatch-disconnect", raising(lambda t: dispatch_span("neutral", t), BrokenPipeError(32, "pipe"))
    )
    record(
        "lib-poll-fault",
        raising(lambda t: poll_cycle(t, sentiment_type="all"), ValueError("bad item\nline 2")),
    )
    return shapes


def http_shapes() -> list[Shape]:
    old = {"http.method": "GET", "http.url": "https://api.sendgrid.com/v3/mail/send?x=1"}
    new = {"http.request.method": "POST", "url.full": "https://api.sendgrid.com/v3/mail/send"}
    shapes = [
        shape(f"http-client-old-{code}", "GET", CLIENT, {**old, "http.status_code": code})
        for code in (200, 404, 429, 503)
    ]
    shapes += [
        shape(f"http-client-new-{code}", "POST", CLIENT, {**new, "http.response.status_code": code})
        for code in (200, 404, 429, 503)
    ]
    shapes += [
        shape(
            "http-client-new-500-error",
            "POST",
            CLIENT,
            {**new, "http.response.status_code": 500},
            status=(ERROR, ""),
        ),
        shape(
            "http-server-old",
            "GET /items",
            SERVER,
            {
                "http.method": "GET",
                "http.scheme": "https",
                "http.host": "api.example.com",
                "http.target": "/items?page=2",
                "http.status_code": 200,
                "http.user_agent": "curl/8.0",
                "http.client_ip": "203.0.113.7",
                "net.host.port": 443,
            },
            parent=b"",
        ),
        shape(
            "http-server-new",
            "POST /stream",
            SERVER,
            {
                "http.request.method": "POST",
                "url.scheme": "http",
                "server.address": "localhost",
                "server.port": 8443,
                "url.path": "/stream",
                "user_agent.original": "Mozilla/5.0",
                "client.address": "198.51.100.4",
                "network.peer.address": "10.0.0.1",
                "http.response.status_code": 500,
            },
            parent=b"",
        ),
        shape(
            "http-client-parts",
            "GET",
            CLIENT,
            {
                "http.method": "GET",
                "http.scheme": "https",
                "net.peer.name": "example.com",
                "net.peer.port": 8443,
                "http.target": "/a",
            },
        ),
        shape(
            "http-status-text",
            "proxy",
            SERVER,
            {"http.status_code": 502, "http.status_text": "Bad Gateway", "net.peer.ip": "10.1.2.3"},
            status=(ERROR, ""),
        ),
        shape(
            "http-status-error-404",
            "GET",
            CLIENT,
            {**old, "http.status_code": 404},
            status=(ERROR, "not found"),
        ),
        shape("http-status-as-string", "GET", CLIENT, {**old, "http.status_code": "503"}, status=(ERROR, "")),
    ]
    return shapes


def aws_shapes() -> list[Shape]:
    sdk = {"rpc.system": "aws-api"}
    return [
        shape(
            "aws-dynamodb-new",
            "DynamoDB.GetItem",
            CLIENT,
            {
                **sdk,
                "rpc.service": "DynamoDB",
                "rpc.method": "GetItem",
                "aws.dynamodb.table_names": ["sentiment-items"],
                "aws.request_id": "R7Q2",
                "aws.region": "eu-west-1",
                "server.address": "dynamodb.eu-west-1.amazonaws.com",
                "http.status_code": 200,
            },
        ),
        shape(
            "aws-dynamodb-many-tables",
            "DynamoDB.BatchGetItem",
            CLIENT,
            {
                **sdk,
                "rpc.service": "DynamoDB",
                "rpc.method": "BatchGetItem",
                "aws.dynamodb.table_names": ["a", "b", "c"],
            },
        ),
        shape(
            "aws-table-names-string",
            "DynamoDB.Query",
            CLIENT,
            {**sdk, "rpc.service": "DynamoDB", "aws.dynamodb.table_names": "t"},
        ),
        shape(
            "aws-legacy",
            "PutItem",
            CLIENT,
            {
                "aws.service": "DynamoDB",
                "aws.operation": "PutItem",
                "aws.table_name": "legacy",
                "aws.requestId": "L1",
            },
        ),
        shape(
            "aws-legacy-internal",
            "put",
            INTERNAL,
            {
                "aws.service": "S3",
                "aws.operation": "PutObject",
                "aws.table.name": "x",
                "aws.account_id": "123456789012",
            },
        ),
        shape(
            "aws-remote-service",
            "DynamoDB.Query",
            CLIENT,
            {
                **sdk,
                "aws.remote.service": "AWS::DynamoDB",
                "aws.remote.operation": "Query",
                "rpc.service": "DynamoDB",
            },
        ),
        shape(
            "aws-remote-sdk-prefix", "SQS.SendMessage", CLIENT, {**sdk, "aws.remote.service": "AWS.SDK.SQS"}
        ),
        shape("aws-remote-no-rpc", "s3", CLIENT, {"aws.remote.service": "AWS::S3"}),
        shape("aws-remote-producer", "publish", PRODUCER, {"aws.remote.service": "payments"}),
        shape(
            "aws-sqs-producer",
            "SQS.SendMessage",
            PRODUCER,
            {
                **sdk,
                "rpc.service": "SQS",
                "rpc.method": "SendMessage",
                "aws.queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
                "messaging.system": "aws_sqs",
                "messaging.destination.name": "q",
            },
        ),
        shape(
            "aws-sqs-messaging-url",
            "SQS.SendMessage",
            PRODUCER,
            {**sdk, "rpc.service": "SQS", "aws.queue.url": "https://old", "messaging.url": "https://sqs/new"},
        ),
        shape(
            "aws-sqs-consumer",
            "SQS.ReceiveMessage",
            CONSUMER,
            {**sdk, "rpc.service": "SQS", "rpc.method": "ReceiveMessage", "aws.queue_url": "https://sqs/q"},
        ),
        shape(
            "aws-rpc-method-internal", "work", INTERNAL, {"rpc.method": "Compute", "aws.region": "us-east-1"}
        ),
        shape(
            "aws-http-failure-event",
            "S3.GetObject",
            CLIENT,
            {**sdk, "rpc.service": "S3", "rpc.method": "GetObject"},
            events=[
                (
                    "HTTP request failure",
                    {"http.response.status_code": 503, "aws.http.error_message": "slow down"},
                )
            ],
            status=(ERROR, ""),
        ),
        shape(
            "aws-not-aws-cloud",
            "GetItem",
            CLIENT,
            {**sdk, "rpc.service": "DynamoDB", "aws.region": "eu-west-1", "rpc.method": "GetItem"},
            resource={"cloud.provider": "gcp", "telemetry.sdk.language": "python"},
        ),
    ]


def exception_shapes() -> list[Shape]:
    single, during, direct = _single(), _during_handling(), _direct_cause()
    library_text = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app.py", line 42, in handler\n'
        "  [... 3 frames omitted ...]\n"
        '  File "/var/task/store.py", line 7, in load\n'
        "TimeoutError: dynamodb"
    )
    return [
        shape(
            "exc-single",
            "DynamoDB.Query",
            CLIENT,
            {"rpc.system": "aws-api", "rpc.service": "DynamoDB"},
            events=[exception_event(single)],
            status=(ERROR, "x"),
        ),
        shape("exc-during-handling", "load", INTERNAL, events=[exception_event(during)], status=(ERROR, "")),
        shape("exc-direct-cause", "load", PRODUCER, events=[exception_event(direct)]),
        shape("exc-two-events", "retry", INTERNAL, events=[exception_event(single), exception_event(direct)]),
        shape(
            "exc-library-format",
            "poll",
            INTERNAL,
            events=[
                (
                    "exception",
                    {
                        "exception.type": "TimeoutError",
                        "exception.message": "dynamodb",
                        "exception.stacktrace": library_text,
                    },
                )
            ],
        ),
        shape(
            "exc-no-language",
            "load",
            CLIENT,
            events=[exception_event(during)],
            resource={"service.name": "x"},
        ),
        shape(
            "exc-java",
            "load",
            CLIENT,
            events=[
                (
                    "exception",
                    {
                        "exception.type": "java.lang.IllegalStateException",
                        "exception.message": "boom",
                        "exception.stacktrace": "java.lang.IllegalStateException: boom\n"
                        "\tat com.example.App.run(App.java:12)",
                    },
                )
            ],
            resource={"telemetry.sdk.language": "java"},
        ),
        shape("exc-no-attributes", "load", INTERNAL, events=[("exception", {})]),
    ]


def status_and_name_shapes() -> list[Shape]:
    return [
        shape("status-error-message", "write", INTERNAL, status=(ERROR, "database unavailable")),
        shape("status-error-no-message", "write", INTERNAL, status=(ERROR, "")),
        shape("status-ok", "write", INTERNAL, status=(OK, "ignored")),
        shape("name-unicode", "Zürich 東京 данные", INTERNAL),
        shape("name-300-ascii", "a" * 300, INTERNAL),
        shape("name-300-cjk", "日" * 300, INTERNAL),
        shape("name-forbidden", "GET /api/v1/items?id=1&x=<b>!*()[]{}|\\^~`'\";,\t\n", INTERNAL),
        shape("name-all-forbidden", "!!?? ()", INTERNAL),
        shape("name-other-digits", "٣ items ² Ⅻ", INTERNAL),
        shape("name-empty", "", INTERNAL),
        shape(
            "name-peer-service",
            "call",
            CLIENT,
            {"peer.service": "sendgrid", "net.peer.name": "api.sendgrid.com"},
        ),
        shape(
            "name-db-sql",
            "SELECT items",
            CLIENT,
            {
                "db.system": "postgresql",
                "db.name": "sentiment",
                "db.connection_string": "jdbc:postgresql://db.example.com:5432",
                "db.statement": "SELECT * FROM items",
                "db.user": "reader",
            },
        ),
        shape(
            "name-db-nosql",
            "Query",
            CLIENT,
            {"db.system": "dynamodb", "db.name": "items", "net.peer.name": "dynamodb"},
        ),
        shape("name-server-service", "handler", SERVER, {}, parent=b""),
        shape(
            "name-net-peer", "call", INTERNAL, {"net.peer.name": "internal.example", "enduser.id": "user-7"}
        ),
        shape(
            "name-local-service",
            "handler",
            SERVER,
            {"aws.local.service": "checkout", "aws.remote.service": "x"},
            parent=b"",
        ),
        shape(
            "local-root-internal",
            "job",
            INTERNAL,
            {"aws.span.kind": "LOCAL_ROOT", "aws.local.service": "batch"},
        ),
    ]


def annotation_and_metadata_shapes() -> list[Shape]:
    many = {f"key_{i}": i for i in range(60)}
    return [
        shape(
            "ann-dotted",
            attrs={"session.id": "s-1", "a.b.c": True, "aws.xray.annotations": ["session.id", "a.b.c"]},
        ),
        shape(
            "ann-invalid-keys",
            attrs={
                "user-id": "u",
                "naïve key": 1,
                "emoji😀": 2.5,
                "col:on": "c",
                "aws.xray.annotations": ["user-id", "naïve key", "emoji😀", "col:on"],
            },
        ),
        shape("ann-too-many", attrs={**many, "aws.xray.annotations": list(many)}),
        shape(
            "ann-types",
            attrs={
                "s": "x",
                "i": -3,
                "f": 0.25,
                "b": False,
                "list": [1, 2],
                "raw": b"\x00\xff",
                "aws.xray.annotations": ["s", "i", "f", "b", "list", "raw", 7],
            },
        ),
        shape(
            "ann-taken-keys",
            "GET",
            CLIENT,
            {
                "http.method": "GET",
                "aws.region": "eu-west-1",
                "kept": "k",
                "aws.xray.annotations": ["http.method", "aws.region", "kept", "absent"],
            },
        ),
        shape("ann-resource", attrs={"aws.xray.annotations": ["otel.resource.service.name"]}, parent=b""),
        shape("ann-not-a-list", attrs={"k": "v", "aws.xray.annotations": "k"}),
        shape(
            "meta-namespaces",
            attrs={
                "aws.xray.metadata.xray_exclusive": json.dumps(
                    {"failure": {"path": "x", "count": 3, "ok": None}}
                ),
                "aws.xray.metadata.default": json.dumps({"merged": 1}),
                "aws.xray.metadata.Other": json.dumps({"a": [1, {"b": 2}]}),
                "plain": "p",
            },
        ),
        shape(
            "meta-invalid-json",
            attrs={
                "aws.xray.metadata.text": "not json",
                "aws.xray.metadata.list": "[1, 2]",
                "aws.xray.metadata.number": "42",
                "aws.xray.metadata.null": "null",
                "aws.xray.metadata.int": 5,
                "aws.xray.metadata.nan": '{"x": NaN}',
            },
        ),
        shape(
            "meta-numbers",
            attrs={"aws.xray.metadata.n": json.dumps({"big": 12345678901234567890, "f": 1.5, "i": 7})},
        ),
        shape(
            "meta-values",
            attrs={
                "int": 2**40,
                "float": 2.0,
                "bool": True,
                "bytes": b"\x01\x02\x03",
                "array": ["a", 1, None, b"\x04"],
                "map": {"k": "v", "n": {"deep": 1}},
                "empty": None,
            },
        ),
    ]


def resource_kind_trace_shapes() -> list[Shape]:
    lambda_resource = {
        **PYTHON,
        "telemetry.sdk.version": "1.27.0",
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "cloud.region": "eu-west-1",
        "faas.name": "sse-streaming-fn",
        "faas.max_memory": 512,
        "service.version": "2.4.1",
        "cloud.account.id": "123456789012",
    }
    return [
        shape(
            "res-lambda-root",
            "handler",
            SERVER,
            {"faas.trigger": "http"},
            resource=lambda_resource,
            parent=b"",
        ),
        shape("res-lambda-child", "poll", INTERNAL, {}, resource=lambda_resource),
        shape(
            "res-log-groups",
            "handler",
            SERVER,
            resource={
                **PYTHON,
                "aws.log.group.arns": ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn:*"],
            },
            parent=b"",
        ),
        shape(
            "res-log-group-names",
            "handler",
            INTERNAL,
            resource={"aws.log.group.names": "a&b", "container.image.tag": "v9"},
        ),
        shape(
            "res-ecs-origin",
            "handler",
            SERVER,
            resource={
                "cloud.provider": "aws",
                "cloud.platform": "aws_ecs",
                "aws.ecs.launchtype": "fargate",
                "container.name": "web",
            },
            parent=b"",
        ),
        shape(
            "res-ec2-origin",
            "handler",
            SERVER,
            resource={"cloud.platform": "aws_ec2", "host.id": "i-0abc"},
            parent=b"",
        ),
        shape("res-empty", "handler", SERVER, resource={}, parent=b""),
        shape("kind-server-child", "handler", SERVER, {"k": 1}),
        shape("kind-client-root", "call", CLIENT, {"k": 1}, parent=b""),
        shape("kind-internal-root", "work", INTERNAL, {"k": 1}, parent=b""),
        shape("kind-consumer-child", "receive", CONSUMER, {"k": 1}),
        shape("kind-unspecified-child", "work", 0, {"k": 1}),
        shape(
            "tree",
            "handler",
            SERVER,
            {"k": 1},
            parent=b"",
            children=[
                {
                    "name": "DynamoDB.Query",
                    "kind": CLIENT,
                    "attrs": {"rpc.system": "aws-api", "rpc.service": "DynamoDB"},
                },
                {"name": "dispatch", "attrs": {"event_type": "x", "aws.xray.annotations": ["event_type"]}},
            ],
        ),
        shape(
            "links",
            "batch",
            CONSUMER,
            links=[
                (new_trace_id(), secrets.token_bytes(8), {"k": "v", "n": 1}),
                (new_trace_id(), secrets.token_bytes(8), {}),
            ],
        ),
        shape(
            "local-root-client",
            "DynamoDB.Query",
            CLIENT,
            {
                "aws.span.kind": "LOCAL_ROOT",
                "aws.local.service": "api",
                "aws.remote.service": "AWS::DynamoDB",
            },
        ),
        shape("drop-nan-attribute", "ratio", INTERNAL, {"ratio": float("nan")}),
        shape("trace-all-zeros", "zeros", INTERNAL, trace_id=bytes(16)),
        shape(
            "trace-future-epoch",
            "future",
            INTERNAL,
            trace_id=bytes.fromhex("ffffffff") + secrets.token_bytes(12),
        ),
        shape(
            "trace-old-epoch", "old", INTERNAL, trace_id=bytes.fromhex("5759e988") + secrets.token_bytes(12)
        ),
    ]


def all_shapes() -> list[Shape]:
    return [
        *library_shapes(),
        *http_shapes(),
        *aws_shapes(),
        *exception_shapes(),
        *status_and_name_shapes(),
        *annotation_and_metadata_shapes(),
        *resource_kind_trace_shapes(),
    ]


# ----------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Deliberate:
    """A field we leave different on purpose: shape (``*`` for all), field path prefix, real, ours, why."""

    shape: str
    field: str
    real: str
    ours: str
    why: str


DELIBERATE = [
    Deliberate(
        "*",
        "aws.xray",
        '{"sdk": "opentelemetry for python", "sdk_version": ..., "auto_instrumentation": false}',
        "absent",
        "the SDK's name and version, on every document: noise in the local view, and the resource's "
        "telemetry.sdk.* attributes are already in metadata.default",
    ),
    Deliberate(
        "local-root-client",
        "parent_id",
        "the ID of a second document the exporter adds: a service segment named aws.local.service",
        "the span's parent",
        "Application Signals spans (aws.span.kind=LOCAL_ROOT on a CLIENT, PRODUCER or CONSUMER span) only; "
        "the library never writes them",
    ),
    Deliberate(
        "drop-nan-attribute",
        "*",
        "nothing: Go's JSON encoder refuses NaN and infinities, the exporter drops the span",
        "the document, NaN in metadata",
        "the local view shows every span that arrived, the one X-Ray will never show included",
    ),
    Deliberate(
        "exc-java",
        "cause.exceptions[0].stack",
        "frames parsed from the Java stack trace",
        "absent",
        "only Python stacks are parsed (the fleet is Python); the type and message match",
    ),
]


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves by dotted path; empty objects and lists are leaves."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from flatten(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """Exception ids (random in the exporter) replaced by their position; ``cause`` links kept."""
    document = json.loads(json.dumps(document))
    exceptions = (document.get("cause") or {}).get("exceptions") or []
    positions = {exc.get("id"): f"#{i}" for i, exc in enumerate(exceptions)}
    for exc in exceptions:
        for key in ("id", "cause"):
            if key in exc:
                exc[key] = positions.get(exc[key], "?")
    return document


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON kind (``false`` is not ``0``; ``1`` and ``1.0`` are one number)."""
    return isinstance(a, bool) == isinstance(b, bool) and (a is None) == (b is None) and a == b


def covers(deliberate: Deliberate, shape_id: str, path: str) -> bool:
    if deliberate.shape not in ("*", shape_id):
        return False
    field = deliberate.field
    return field == "*" or path == field or path.startswith((field + ".", field + "["))


def ignored(shape_id: str, path: str) -> bool:
    return any(covers(d, shape_id, path) for d in DELIBERATE)


DROPPED = {d.shape for d in DELIBERATE if d.field == "*"}
EXTRA_DOCUMENTS = {"local-root-client": 1}  # the service segment the exporter adds


@dataclass
class Parity:
    fields: int = 0
    equal: int = 0
    differences: list[tuple[str, str, Any, Any]] = field(default_factory=list)


def compare(
    shapes: list[Shape],
    real: dict[tuple[str, str], dict[str, Any]],
    convert: Callable[[Any, dict[str, Any]], dict[str, Any]] = span_to_document,
    skip_deliberate: bool = True,
) -> Parity:
    """Every leaf of every document, real against ours (missing on either side counts as different)."""
    parity = Parity()
    for item in shapes:
        for resource_spans in item.request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    key = (xray_trace_id(span.trace_id), span.span_id.hex())
                    theirs = dict(flatten(normalise(real.get(key, {}))))
                    ours = dict(flatten(normalise(convert(span, resource))))
                    for path in sorted(set(theirs) | set(ours)):
                        if skip_deliberate and ignored(item.id, path):
                            continue
                        parity.fields += 1
                        missing = object()
                        a, b = theirs.get(path, missing), ours.get(path, missing)
                        if a is not missing and b is not missing and same(a, b):
                            parity.equal += 1
                        else:
                            parity.differences.append((item.id, path, a, b))
    return parity


# ----------------------------------------------------------------------------- the real side


@pytest.fixture(scope="module")
def collector(aws_collector: Collector) -> Collector:
    return aws_collector


@dataclass
class Exported:
    shapes: list[Shape]
    documents: dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def exported(collector: Collector, moto_xray: MotoXRay) -> Exported:
    """Every shape through the real collector; what X-Ray stored, by (trace ID, segment ID)."""
    shapes = all_shapes()
    for item in shapes:
        request = urllib.request.Request(
            collector.otlp_endpoint,
            data=item.request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, item.id
    trace_ids = sorted({t for item in shapes for t in item.trace_ids})
    expected = sum(len(item.spans) for item in shapes if item.id not in DROPPED) + sum(
        EXTRA_DOCUMENTS.values()
    )
    documents = moto_xray.wait_for(trace_ids, count=expected, timeout=30)
    return Exported(shapes, {(d["trace_id"], d["id"]): d for d in documents})


# ----------------------------------------------------------------------------- tests


def test_there_are_enough_distinct_shapes() -> None:
    shapes = all_shapes()
    ids = [item.id for item in shapes]
    assert len(ids) == len(set(ids)), "shape ids must be unique"
    assert len(shapes) >= 50
    assert {d.shape for d in DELIBERATE} - {"*"} <= set(ids)


def test_the_exporter_wrote_one_document_per_span(exported: Exported) -> None:
    """One per span, except the shapes it drops and the service segment it adds to a local root."""
    for item in exported.shapes:
        for span in item.spans:
            key = (xray_trace_id(span.trace_id), span.span_id.hex())
            if item.id in DROPPED:
                assert key not in exported.documents, f"{item.id}: the exporter no longer drops it"
            else:
                assert key in exported.documents, f"{item.id}: the exporter wrote nothing for {key}"
    expected = sum(len(item.spans) for item in exported.shapes if item.id not in DROPPED)
    assert len(exported.documents) == expected + sum(EXTRA_DOCUMENTS.values())
    [item] = [s for s in exported.shapes if s.id == "local-root-client"]
    [span] = item.spans
    trace_id = xray_trace_id(span.trace_id)
    dependency = exported.documents[(trace_id, span.span_id.hex())]
    service = exported.documents[(trace_id, dependency["parent_id"])]
    assert (service["name"], service.get("type"), service["parent_id"]) == ("api", None, PARENT.hex())


def test_every_field_matches_the_real_exporter(exported: Exported) -> None:
    parity = compare(exported.shapes, exported.documents)
    print(f"parity: {len(exported.shapes)} shapes, {parity.equal} of {parity.fields} fields equal")
    report = "\n".join(f"{s} {p}: real={a!r} ours={b!r}" for s, p, a, b in parity.differences[:60])
    assert not parity.differences, f"{len(parity.differences)} fields differ:\n{report}"
    assert parity.fields > 1000


def test_deliberate_differences_are_real_and_only_those(exported: Exported) -> None:
    """Each deliberate difference still shows up against the real exporter (or it should leave the list)."""
    parity = compare(exported.shapes, exported.documents, skip_deliberate=False)
    differing = {(s, p) for s, p, _, _ in parity.differences}
    for deliberate in DELIBERATE:
        hits = {(s, p) for s, p in differing if covers(deliberate, s, p)}
        assert hits, f"{deliberate} no longer differs: drop it from DELIBERATE and the docs"
    assert all(ignored(s, p) for s, p in differing)


def test_invalid_trace_ids_are_neither_dropped_nor_rewritten(exported: Exported) -> None:
    """The exporter's timestamp validation gate is on by default, so any epoch passes through as is."""
    for shape_id, trace_id in [
        ("trace-all-zeros", "1-00000000-000000000000000000000000"),
        ("trace-future-epoch", None),
        ("trace-old-epoch", None),
    ]:
        [item] = [s for s in exported.shapes if s.id == shape_id]
        [span] = item.spans
        expected = trace_id or xray_trace_id(span.trace_id)
        assert exported.documents[(expected, span.span_id.hex())]["trace_id"] == expected
        assert span_to_document(span, {})["trace_id"] == expected


def test_http_response_status_code_alone_marks_nothing_in_this_exporter(exported: Exported) -> None:
    """v0.109.0 reads only ``http.status_code`` for error/throttle: the newer name alone is not enough."""
    by_shape = {item.id: item for item in exported.shapes}
    for shape_id, marks in [
        ("http-client-new-429", (False, False, False)),
        ("http-client-old-429", (True, True, False)),
        ("http-client-old-503", (False, False, True)),
        ("http-status-error-404", (True, False, False)),
    ]:
        [span] = by_shape[shape_id].spans
        document = exported.documents[(xray_trace_id(span.trace_id), span.span_id.hex())]
        assert (document["error"], document["throttle"], document["fault"]) == marks, shape_id
