"""The rule registry: every code, its message and rationale, and a bad and a good example."""

from __future__ import annotations

from types import MappingProxyType

from ._model import PARSE_ERROR, Rule

_STREAMING_TF_GOOD = """\
resource "aws_lambda_function" "sse" {
  function_name = "sse-streaming"
  package_type  = "Image"
  image_uri     = var.image_uri
  role          = var.role_arn
  timeout       = 900

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = {
      OTEL_SERVICE_NAME       = "sse-streaming"
      POWERTOOLS_SERVICE_NAME = "sse-streaming"
    }
  }
}

resource "aws_lambda_function_url" "sse" {
  function_name      = aws_lambda_function.sse.function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = "RESPONSE_STREAM"

  cors {
    allow_origins  = ["https://app.example.com"]
    allow_headers  = ["content-type", "last-event-id", "x-amzn-trace-id"]
    expose_headers = ["x-amzn-trace-id"]
  }
}
"""

_ALARMED_TF = """\
resource "aws_lambda_function" "ingestion" {{
  function_name = "ingestion"
  handler       = "app.handler"
  runtime       = "python3.13"
  role          = var.role_arn
  filename      = "build/ingestion.zip"
  timeout       = 60

  tracing_config {{
    mode = "Active"
  }}
}}
{errors}{duration}"""

_ERRORS_ALARM = """
resource "aws_cloudwatch_metric_alarm" "ingestion_errors" {
  alarm_name          = "ingestion-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.ingestion.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
}
"""

_DURATION_ALARM = """
resource "aws_cloudwatch_metric_alarm" "ingestion_latency" {{
  alarm_name          = "ingestion-p95-latency"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = {{ FunctionName = aws_lambda_function.ingestion.function_name }}
  extended_statistic  = "p95"
  period              = 300
  evaluation_periods  = 3
  threshold           = {threshold} # ms{comment}
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}}
"""

_COLLECTOR = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: "localhost:4318"
{processors}
exporters:
  awsxray:
    indexed_attributes: [failure_path]
{extensions}
service:{service_extensions}
  pipelines:
    traces:
      receivers: [{receiver}]
      processors: [{pipeline}]
      exporters: [{exporter}]
{extra_pipeline}"""

_PROCESSORS = """
processors:
  batch:
    timeout: 200ms
  decouple:
    max_queue_size: 200
"""


_ANNOTATED = """\
from aws_lambda_powertools import Tracer

tracer = Tracer()


def poll({argument}):
    with tracer.provider.in_subsegment("poll") as subsegment:
        subsegment.put_annotation({annotation})
"""

_ALARM = """\
resource "aws_cloudwatch_metric_alarm" "{name}" {{
  alarm_name          = "{alarm}"
  namespace           = "{namespace}"
  metric_name         = "{metric}"
  statistic           = "{statistic}"
  period              = 300
  evaluation_periods  = {periods}
  threshold           = 1
  comparison_operator = "{operator}"
  treat_missing_data  = "{treat}"
}}
"""


def _canary_alarm(treat: str) -> str:
    return _ALARM.format(
        name="canary_health",
        alarm="canary-health",
        namespace="XRayExclusive/Canary",
        metric="CanaryHealth",
        statistic="Minimum",
        periods=2,
        operator="LessThanThreshold",
        treat=treat,
    )


def _audit_alarm(treat: str) -> str:
    return _ALARM.format(
        name="audit_trail_failures",
        alarm="audit-trail-failures",
        namespace="SentimentAnalyzer/Reliability",
        metric="AuditTrailFailures",
        statistic="Sum",
        periods=1,
        operator="GreaterThanOrEqualToThreshold",
        treat=treat,
    )


def _collector(
    pipeline: str = "batch, decouple",
    receiver: str = "otlp",
    exporter: str = "awsxray",
    extensions: str = "",
    service_extensions: str = "",
    extra_pipeline: str = "",
) -> str:
    return _COLLECTOR.format(
        processors=_PROCESSORS,
        pipeline=pipeline,
        receiver=receiver,
        exporter=exporter,
        extensions=extensions,
        service_extensions=service_extensions,
        extra_pipeline=extra_pipeline,
    )


_SECOND_BACKEND = (
    "second tracing backend ({what}): X-Ray is the fleet's only tracing system; {fix}, or keep a "
    "deliberate one with `{comment} xe: ignore[{code}]` and the reason"
)


def _streaming_tf(old: str, new: str) -> str:
    assert old in _STREAMING_TF_GOOD
    return _STREAMING_TF_GOOD.replace(old, new)


_RULES = (
    Rule(
        code="XE001",
        name="otel-aws-sdk-instrumentation",
        kind="python",
        severity="error",
        message="OpenTelemetry auto-instrumentation of the AWS SDK in a streaming Lambda: remove it and "
        "trace streaming-phase calls with dynamodb_span()/cloudwatch_span()",
        spec=("FR-076", "SC-033"),
        rationale="BotocoreInstrumentor patches every boto3 call globally: handler-phase calls already "
        "traced by Powertools appear twice in X-Ray.",
        filename="handler.py",
        streaming_only=True,
        bad="""\
import boto3
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

from xray_exclusive.streaming import get_streaming_tracer

BotocoreInstrumentor().instrument()
streaming = get_streaming_tracer()
dynamodb = boto3.client("dynamodb")
""",
        good="""\
import boto3

from xray_exclusive.streaming import dynamodb_span, get_streaming_tracer

streaming = get_streaming_tracer()
dynamodb = boto3.client("dynamodb")


def scan(table: str) -> dict:
    with dynamodb_span("Scan", table):
        return dynamodb.scan(TableName=table)
""",
    ),
    Rule(
        code="XE002",
        name="xray-async-context",
        kind="python",
        severity="error",
        message="AsyncContext configured on the X-Ray recorder: remove it, it loses the trace across "
        "event loops. The SDK's default thread-local context is not safe for concurrent asyncio tasks either "
        "(their subsegments interleave): use xray_exclusive's failure_path/http_subsegment, whose parentage "
        "is context-local, or the OpenTelemetry backend",
        spec=("FR-037",),
        rationale="AsyncContext stores the trace on the asyncio.Task of the loop it was built on: a new "
        "event loop loses the segment and subsegments go nowhere. The SDK's default context keeps one entity "
        "stack per thread; concurrent tasks push and pop on it in turn, so subsegments nest in each other's "
        "and closing one task's subsegment ends another's (aws-xray-sdk-python #164).",
        filename="handler.py",
        bad="""\
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.async_context import AsyncContext

xray_recorder.configure(context=AsyncContext())
""",
        good="""\
from aws_lambda_powertools import Tracer

tracer = Tracer()
""",
    ),
    Rule(
        code="XE003",
        name="powertools-decorator-on-generator",
        kind="python",
        severity="error",
        message="Powertools tracer decorator on a generator: it times the generator's creation, not its "
        "iteration; open subsegments or spans inside the body instead",
        spec=("FR-031",),
        rationale="capture_method has no async-generator branch, and a streaming handler's generator is "
        "consumed by the metadata serialiser, so the client gets an empty stream.",
        filename="handler.py",
        bad="""\
from aws_lambda_powertools import Tracer

tracer = Tracer()


@tracer.capture_method
async def fetch_pages(client):
    async for page in client.pages():
        yield page
""",
        good="""\
from aws_lambda_powertools import Tracer

tracer = Tracer()


async def fetch_pages(client):
    async for page in client.pages():
        with tracer.provider.in_subsegment("fetch_page"):
            yield page
""",
    ),
    Rule(
        code="XE004",
        name="module-level-extract",
        kind="python",
        severity="error",
        message="trace context extracted at module level: extract inside the handler, on every "
        "invocation (invocation_context())",
        spec=("FR-059",),
        rationale="Module code runs once per execution environment: every warm invocation would reuse "
        "the first invocation's trace ID.",
        filename="handler.py",
        bad="""\
import os

from opentelemetry import propagate

CONTEXT = propagate.extract({"X-Amzn-Trace-Id": os.environ.get("_X_AMZN_TRACE_ID", "")})
""",
        good="""\
from xray_exclusive.streaming import invocation_context


def handler(event, context):
    parent = invocation_context(event.get("headers"))
    return parent
""",
    ),
    Rule(
        code="XE005",
        name="tracer-provider-per-invocation",
        kind="python",
        severity="error",
        message="TracerProvider built inside a function: build it once at module level "
        "(get_streaming_tracer()) and reuse it",
        spec=("FR-065", "SC-027"),
        rationale="Each provider starts a BatchSpanProcessor thread and an exporter; per invocation they "
        "pile up and spans leave through stale pipelines.",
        filename="handler.py",
        streaming_only=True,
        bad="""\
from opentelemetry.sdk.trace import TracerProvider


def handler(event, context):
    provider = TracerProvider(shutdown_on_exit=False)
    return provider.get_tracer("sse")
""",
        good="""\
from opentelemetry.sdk.trace import TracerProvider

PROVIDER = TracerProvider(shutdown_on_exit=False)


def handler(event, context):
    return PROVIDER.get_tracer("sse")
""",
    ),
    Rule(
        code="XE006",
        name="tracer-provider-shutdown-on-exit",
        kind="python",
        severity="error",
        message="TracerProvider without shutdown_on_exit=False: pass it; the atexit shutdown races a "
        "pending export when Lambda recycles the environment",
        spec=("FR-077", "SC-032"),
        rationale="force_flush() at the end of each stream already exports everything; the atexit hook "
        "only adds 'cannot schedule new futures after shutdown'.",
        filename="handler.py",
        streaming_only=True,
        bad="""\
from opentelemetry.sdk.trace import TracerProvider

PROVIDER = TracerProvider()
""",
        good="""\
from opentelemetry.sdk.trace import TracerProvider

PROVIDER = TracerProvider(shutdown_on_exit=False)
""",
    ),
    Rule(
        code="XE007",
        name="always-on-sampler",
        kind="python",
        severity="error",
        message="always-on sampler: use the default parentbased_always_on so Lambda's Sampled=0 is respected",
        spec=("FR-056",),
        rationale="ALWAYS_ON ignores the parent's sampling decision: unsampled invocations export "
        "orphan spans whose parent segment X-Ray never receives. Also found in Terraform "
        '(OTEL_TRACES_SAMPLER = "always_on").',
        filename="handler.py",
        bad="""\
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

PROVIDER = TracerProvider(sampler=ALWAYS_ON, shutdown_on_exit=False)
""",
        good="""\
from opentelemetry.sdk.trace import TracerProvider

PROVIDER = TracerProvider(shutdown_on_exit=False)  # ParentBased(ALWAYS_ON): the default
""",
    ),
    Rule(
        code="XE008",
        name="powertools-auto-patch-in-streaming",
        kind="python",
        severity="error",
        message="Tracer() without auto_patch=False in a streaming Lambda: pass auto_patch=False",
        spec=("FR-060",),
        rationale="auto-patching makes every boto3 call and every OTLP export (requests) an X-Ray "
        "subsegment too, duplicating the stream's spans.",
        filename="handler.py",
        streaming_only=True,
        bad="""\
from aws_lambda_powertools import Tracer

from xray_exclusive.streaming import get_streaming_tracer

tracer = Tracer()
streaming = get_streaming_tracer()
""",
        good="""\
from aws_lambda_powertools import Tracer

from xray_exclusive.streaming import get_streaming_tracer

tracer = Tracer(auto_patch=False)
streaming = get_streaming_tracer()
""",
    ),
    Rule(
        code="XE009",
        name="double-patching",
        kind="python",
        severity="error",
        message="patch_all() or patch([...]) next to a Powertools Tracer that auto-patches: keep one "
        "patching mechanism (drop the patch call, or Tracer(auto_patch=False))",
        spec=("FR-030",),
        rationale="Both patch boto3 and requests: each call is wrapped twice.",
        filename="handler.py",
        bad="""\
from aws_lambda_powertools import Tracer
from aws_xray_sdk.core import patch_all

tracer = Tracer()
patch_all()
""",
        good="""\
from aws_lambda_powertools import Tracer

tracer = Tracer()  # patches boto3, botocore and requests once
""",
    ),
    Rule(
        code="XE010",
        name="raw-xray-recorder",
        kind="python",
        severity="warning",
        message="raw xray_recorder call in a non-streaming Lambda: use the Powertools Tracer "
        "(tracer.capture_method, tracer.provider.in_subsegment) or failure_path()",
        spec=("FR-029",),
        rationale="One instrumentation approach per non-streaming Lambda: Powertools records exceptions "
        "as subsegment errors and adds ColdStart and Service.",
        filename="handler.py",
        bad="""\
from aws_xray_sdk.core import xray_recorder


def handler(event, context):
    subsegment = xray_recorder.begin_subsegment("load")
    xray_recorder.end_subsegment()
    return subsegment
""",
        good="""\
from aws_lambda_powertools import Tracer

tracer = Tracer()


@tracer.capture_lambda_handler
def handler(event, context):
    with tracer.provider.in_subsegment("load"):
        return {"ok": True}
""",
    ),
    Rule(
        code="XE011",
        name="custom-correlation-id",
        kind="python",
        severity="error",
        message="custom correlation ID created: the X-Ray trace ID is the correlation ID; use "
        "current_trace_id() and the TraceIdFilter for logs",
        spec=("SC-006", "FR-024"),
        rationale="A second ID that X-Ray does not index forces operators out of X-Ray to correlate. "
        "Creating one is flagged (a generated ID, Logger(correlation_id_path=...), "
        "logger.set_correlation_id()); reading one that a caller sent is not.",
        filename="handler.py",
        bad="""\
import uuid


def get_correlation_id(event):
    return event.get("correlation_id") or str(uuid.uuid4())
""",
        good="""\
from xray_exclusive import current_trace_id


def handler(event, context):
    return {"trace_id": current_trace_id()}
""",
    ),
    Rule(
        code="XE012",
        name="legacy-latency-cache-logger",
        kind="python",
        severity="error",
        message="latency_logger / cache_logger imported: record latency and cache outcome as X-Ray "
        "annotations on the subsegment instead",
        spec=("FR-022", "FR-023", "FR-006", "FR-007"),
        rationale="Structured log lines beside the trace are the second system the library removes.",
        filename="handler.py",
        bad="""\
from shared.latency_logger import log_latency

log_latency("poll", 12.5)
""",
        good="""\
from aws_lambda_powertools import Tracer

tracer = Tracer()


def poll():
    with tracer.provider.in_subsegment("poll") as subsegment:
        subsegment.put_annotation("latency_ms", 12.5)
""",
    ),
    Rule(
        code="XE013",
        name="annotation-value-none",
        kind="python",
        severity="error",
        message="annotation value None: X-Ray drops it; skip the annotation or record a sentinel "
        'such as "none"',
        spec=("FR-006", "FR-008", "FR-009"),
        rationale="The X-Ray SDK silently ignores annotations whose value is not str, number or bool.",
        filename="handler.py",
        bad=_ANNOTATED.format(argument="", annotation='"sentiment_type", None'),
        good=_ANNOTATED.format(argument="sentiment", annotation='"sentiment_type", sentiment or "none"'),
    ),
    Rule(
        code="XE014",
        name="annotation-key-invalid",
        kind="python",
        severity="error",
        message="annotation key X-Ray drops: use only letters, digits and underscores (at most 250)",
        spec=("FR-006", "FR-008", "FR-009"),
        rationale="The X-Ray SDK drops an annotation whose key has any other character, with only a "
        "warning log.",
        filename="handler.py",
        bad=_ANNOTATED.format(argument="count", annotation='"item-count", count'),
        good=_ANNOTATED.format(argument="count", annotation='"item_count", count'),
    ),
    Rule(
        code="XE015",
        name="stream-without-force-flush",
        kind="python",
        severity="error",
        message="streaming generator creates spans but has no force_flush() in a finally: wrap it with "
        "traced_stream()/@traced_handler, or flush in a finally",
        spec=("FR-055",),
        rationale="Spans still in the batch queue when the environment freezes leave on the next "
        "invocation, under the wrong trace.",
        filename="handler.py",
        streaming_only=True,
        bad="""\
from opentelemetry import trace

tracer = trace.get_tracer("sse")


def stream(items):
    for item in items:
        with tracer.start_as_current_span("dispatch"):
            yield item
""",
        good="""\
from xray_exclusive.streaming import dispatch_span, traced_handler


@traced_handler(name="global_stream")
def handler(event, context):
    for item in event["items"]:
        with dispatch_span(item["type"]):
            yield item
""",
    ),
    Rule(
        code="XE020",
        name="otel-propagators-env",
        kind="terraform",
        severity="error",
        message="OTEL_PROPAGATORS set on a Lambda: remove it; the library installs the X-Ray Lambda "
        "propagator and overrides it silently",
        spec=("FR-068",),
        rationale="The console shows a configuration that is not the one running.",
        filename="main.tf",
        bad=_streaming_tf(
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n',
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n      OTEL_PROPAGATORS        = "xray"\n',
        ),
        good=_STREAMING_TF_GOOD,
    ),
    Rule(
        code="XE021",
        name="exec-wrapper-with-powertools",
        kind="terraform",
        severity="error",
        message="AWS_LAMBDA_EXEC_WRAPPER on a Lambda that uses Powertools: remove it; ADOT runs only as "
        "the OTLP receiver extension",
        spec=("FR-046",),
        rationale="The wrapper auto-instruments the handler and botocore: every handler and every boto3 "
        "call is traced twice.",
        filename="main.tf",
        bad=_streaming_tf(
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n',
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n'
            '      AWS_LAMBDA_EXEC_WRAPPER = "/opt/otel-instrument"\n',
        ),
        good=_STREAMING_TF_GOOD,
    ),
    Rule(
        code="XE022",
        name="vpc-on-streaming-lambda",
        kind="terraform",
        severity="error",
        message="vpc_config on a RESPONSE_STREAM Lambda: remove it, or give the VPC a route to X-Ray",
        spec=("SC-043",),
        rationale="The collector extension exports to X-Ray over the internet: in a VPC without a NAT "
        "or endpoint, every span is lost after a timeout.",
        filename="main.tf",
        bad=_streaming_tf(
            "  timeout       = 900\n",
            "  timeout       = 900\n\n  vpc_config {\n    subnet_ids         = var.subnet_ids\n"
            "    security_group_ids = var.security_group_ids\n  }\n",
        ),
        good=_STREAMING_TF_GOOD,
    ),
    Rule(
        code="XE023",
        name="tracing-not-active",
        kind="terraform",
        severity="error",
        message='Lambda without Active tracing: add tracing_config { mode = "Active" } (tracing_mode = '
        '"Active" on the Lambda module)',
        spec=("FR-013", "FR-017"),
        rationale="Without Active tracing the function's segment is not recorded and unsampled "
        "upstream headers decide alone.",
        filename="main.tf",
        bad=_streaming_tf('  tracing_config {\n    mode = "Active"\n  }\n\n', ""),
        good=_STREAMING_TF_GOOD,
    ),
    Rule(
        code="XE024",
        name="otel-service-name",
        kind="terraform",
        severity="error",
        message="OTEL_SERVICE_NAME missing or different from POWERTOOLS_SERVICE_NAME on the streaming "
        "Lambda: set both to the same name",
        spec=("FR-047", "FR-071"),
        rationale="The streaming spans would appear under 'unknown_service' or a second node in the "
        "service map.",
        filename="main.tf",
        bad=_streaming_tf('      OTEL_SERVICE_NAME       = "sse-streaming"\n', ""),
        good=_STREAMING_TF_GOOD,
    ),
    Rule(
        code="XE025",
        name="absence-alarm-not-breaching",
        kind="terraform",
        severity="error",
        message="alarm on a canary, heartbeat or throughput metric without treat_missing_data = "
        '"breaching": set it; silence is the failure',
        spec=("FR-045", "FR-020"),
        rationale="When the canary or the pipeline stops, the metric stops: a not-breaching alarm "
        "stays OK exactly when it should fire.",
        filename="alarms.tf",
        bad=_canary_alarm("notBreaching"),
        good=_canary_alarm("breaching"),
    ),
    Rule(
        code="XE026",
        name="error-alarm-breaching",
        kind="terraform",
        severity="error",
        message='alarm on an error count with treat_missing_data = "breaching": use "notBreaching"; '
        "no data means no errors",
        spec=("FR-045",),
        rationale="Error metrics are only written when something fails: a breaching alarm fires in "
        "every quiet period.",
        filename="alarms.tf",
        bad=_audit_alarm("breaching"),
        good=_audit_alarm("notBreaching"),
    ),
    Rule(
        code="XE027",
        name="missing-errors-alarm",
        kind="terraform",
        severity="error",
        message="Lambda without an AWS/Lambda Errors alarm (alarms are defined in this tree): add one",
        spec=("FR-040", "SC-017"),
        rationale="A function that fails on every invocation is otherwise silent.",
        filename="main.tf",
        bad=_ALARMED_TF.format(errors="", duration=_DURATION_ALARM.format(threshold=51000, comment="")),
        good=_ALARMED_TF.format(
            errors=_ERRORS_ALARM, duration=_DURATION_ALARM.format(threshold=51000, comment="")
        ),
    ),
    Rule(
        code="XE028",
        name="missing-duration-alarm",
        kind="terraform",
        severity="error",
        message="Lambda without a p95 Duration alarm (alarms are defined in this tree): add one at "
        "80-90% of its timeout",
        spec=("FR-041", "SC-017"),
        rationale="Latency creeping towards the timeout is the warning before timeouts begin.",
        filename="main.tf",
        bad=_ALARMED_TF.format(errors=_ERRORS_ALARM, duration=""),
        good=_ALARMED_TF.format(
            errors=_ERRORS_ALARM, duration=_DURATION_ALARM.format(threshold=51000, comment="")
        ),
    ),
    Rule(
        code="XE029",
        name="latency-threshold",
        kind="terraform",
        severity="error",
        message="p95 Duration alarm threshold outside 80-90% of the function's timeout: recalibrate it",
        spec=("FR-061",),
        rationale="At 42% of the timeout the alarm is noise; above 90% it fires after timeouts began.",
        filename="main.tf",
        bad=_ALARMED_TF.format(
            errors=_ERRORS_ALARM,
            duration=_DURATION_ALARM.format(threshold=25000, comment=": 42% of the 60 s timeout"),
        ),
        good=_ALARMED_TF.format(
            errors=_ERRORS_ALARM, duration=_DURATION_ALARM.format(threshold=51000, comment=": 85%")
        ),
    ),
    Rule(
        code="XE030",
        name="cors-allow-trace-header",
        kind="terraform",
        severity="error",
        message="CORS allow_headers without x-amzn-trace-id: add it so browsers may send the trace header",
        spec=("FR-015",),
        rationale="The preflight rejects the request, or the browser drops the header: the frontend's "
        "trace never joins the backend's.",
        filename="main.tf",
        bad=_streaming_tf('"last-event-id", "x-amzn-trace-id"]', '"last-event-id"]'),
        good=_STREAMING_TF_GOOD,
    ),
    Rule(
        code="XE031",
        name="cors-expose-trace-header",
        kind="terraform",
        severity="error",
        message="RESPONSE_STREAM Function URL CORS without x-amzn-trace-id in expose_headers: add it",
        spec=("FR-082",),
        rationale="The browser cannot read the response's trace ID, so a reconnection cannot name its "
        "previous trace.",
        filename="main.tf",
        bad=_streaming_tf('    expose_headers = ["x-amzn-trace-id"]\n', ""),
        good=_STREAMING_TF_GOOD,
    ),
    Rule(
        code="XE040",
        name="collector-image-not-pinned",
        kind="dockerfile",
        severity="error",
        message="collector extension image referenced by tag: pin it by @sha256: digest",
        spec=("FR-063", "FR-070"),
        rationale="Tags move: a rebuild could bring a collector whose configuration schema or exporters "
        "changed.",
        filename="Dockerfile",
        bad="""\
FROM public.ecr.aws/aws-observability/aws-otel-lambda-extension-amd64:latest AS collector
FROM python:3.13-slim
COPY --from=collector /opt/extensions/ /opt/extensions/
""",
        good="""\
FROM public.ecr.aws/aws-observability/aws-otel-lambda-extension-amd64@sha256:"""
        """0b7c2e1d5f4a9e8b3c6d1a2f7e9b0c4d8a6f3e2b1c9d7a5e4f3b2a1c0d9e8f7a AS collector
FROM python:3.13-slim
COPY --from=collector /opt/extensions/ /opt/extensions/
""",
    ),
    Rule(
        code="XE041",
        name="collector-not-in-extensions",
        kind="dockerfile",
        severity="error",
        message="the collector is not copied to /opt/extensions/: COPY it there, Lambda starts only "
        "extensions found in that directory",
        spec=("FR-069", "SC-029"),
        rationale="Without the extension nothing listens on localhost:4318 and every span export fails.",
        filename="Dockerfile",
        bad="""\
FROM python:3.13-slim
COPY collector.yaml /opt/collector-config/config.yaml
""",
        good="""\
FROM python:3.13-slim
COPY layer/extensions/ /opt/extensions/
COPY collector.yaml /opt/collector-config/config.yaml
""",
    ),
    Rule(
        code="XE050",
        name="collector-without-decouple",
        kind="collector",
        severity="error",
        message="traces pipeline without the decouple processor: add decouple as its last processor",
        spec=("FR-075", "FR-090", "SC-031"),
        rationale="Without it the extension lets Lambda freeze while exports are in flight (the ~30% "
        "span loss of aws-otel-lambda#886); containers get no automatic injection.",
        filename="collector.yaml",
        bad=_collector(pipeline="batch"),
        good=_collector(),
    ),
    Rule(
        code="XE051",
        name="decouple-not-last",
        kind="collector",
        severity="error",
        message="decouple is not the last processor of the traces pipeline: move it last (after batch)",
        spec=("FR-075", "SC-044"),
        rationale="The decouple processor's README: it 'should always be the last processor in the list'. "
        "Placed before batch, it hands spans to a processor that may still hold them when the environment "
        "freezes.",
        filename="collector.yaml",
        bad=_collector(pipeline="decouple, batch"),
        good=_collector(),
    ),
    Rule(
        code="XE052",
        name="collector-without-otlp-http",
        kind="collector",
        severity="error",
        message="traces pipeline without an OTLP HTTP receiver on port 4318: add "
        "otlp.protocols.http (endpoint localhost:4318)",
        spec=("FR-064",),
        rationale="The library's exporter posts to localhost:4318/v1/traces.",
        filename="collector.yaml",
        bad=_collector().replace('      http:\n        endpoint: "localhost:4318"', "      grpc:"),
        good=_collector(),
    ),
    Rule(
        code="XE053",
        name="collector-without-awsxray",
        kind="collector",
        severity="error",
        message="traces pipeline without the awsxray exporter: add it",
        spec=("FR-064",),
        rationale="Spans that do not reach X-Ray are spans the operator never sees.",
        filename="collector.yaml",
        bad=_collector(exporter="debug").replace(
            "  awsxray:\n    indexed_attributes: [failure_path]\n", "  debug:\n"
        ),
        good=_collector(),
    ),
    Rule(
        code="XE054",
        name="collector-extra-components",
        kind="collector",
        severity="warning",
        message="collector component the SSE Lambda does not need (metrics/logs pipeline, prometheus, "
        "zpages, pprof): remove it",
        spec=("FR-064",),
        rationale="Every component costs extension memory and INIT time.",
        filename="collector.yaml",
        bad=_collector(extensions="extensions:\n  zpages:\n", service_extensions="\n  extensions: [zpages]"),
        good=_collector(),
    ),
    Rule(
        code="XE060",
        name="second-tracing-backend-python",
        kind="python",
        severity="error",
        message=_SECOND_BACKEND.format(
            what="a vendor tracing SDK or an exporter that sends spans somewhere other than the local "
            "collector extension",
            fix="remove it",
            code="XE060",
            comment="#",
        ),
        spec=(),
        rationale="Two tracing systems split every investigation: half the story is in a tool the "
        "on-call engineer does not open. OTLP to localhost (the collector extension) reaches X-Ray; a "
        "Datadog, New Relic, Honeycomb... SDK, a Jaeger or Zipkin exporter, or an OTLP endpoint elsewhere "
        "does not.",
        filename="handler.py",
        bad="""\
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

EXPORTER = OTLPSpanExporter(endpoint="https://api.honeycomb.io/v1/traces")
""",
        good="""\
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

EXPORTER = OTLPSpanExporter(endpoint="http://localhost:4318/v1/traces")  # the collector extension
""",
    ),
    Rule(
        code="XE061",
        name="second-tracing-backend-terraform",
        kind="terraform",
        severity="error",
        message=_SECOND_BACKEND.format(
            what="OTEL_EXPORTER_OTLP_ENDPOINT not on loopback, a non-OTLP OTEL_TRACES_EXPORTER, or a "
            "tracing vendor's layer on a Lambda",
            fix="remove it",
            code="XE061",
            comment="#",
        ),
        spec=(),
        rationale="The endpoint variable redirects the OpenTelemetry exporter past the collector "
        "extension: the spans leave the account for another system and never reach X-Ray.",
        filename="main.tf",
        bad=_streaming_tf(
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n',
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n'
            '      OTEL_EXPORTER_OTLP_ENDPOINT = "https://otlp.vendor.example"\n',
        ),
        good=_streaming_tf(
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n',
            '      OTEL_SERVICE_NAME       = "sse-streaming"\n'
            '      OTEL_EXPORTER_OTLP_ENDPOINT = "http://localhost:4318"\n',
        ),
    ),
    Rule(
        code="XE062",
        name="second-tracing-backend-collector",
        kind="collector",
        severity="error",
        message=_SECOND_BACKEND.format(
            what="an exporter in a traces pipeline that sends spans somewhere other than X-Ray "
            "(otlphttp/otlp to a remote endpoint, a vendor exporter)",
            fix="remove it from the pipeline",
            code="XE062",
            comment="#",
        ),
        spec=(),
        rationale="Every exporter of the traces pipeline receives every span: a second one is a second "
        "tracing system, and one more export the extension waits for before Lambda freezes.",
        filename="collector.yaml",
        bad=_collector(exporter="awsxray, otlphttp/vendor").replace(
            "    indexed_attributes: [failure_path]\n",
            "    indexed_attributes: [failure_path]\n  otlphttp/vendor:\n"
            "    endpoint: https://otlp.vendor.example\n",
        ),
        good=_collector(),
    ),
    Rule(
        code="XE063",
        name="second-tracing-backend-dockerfile",
        kind="dockerfile",
        severity="error",
        message=_SECOND_BACKEND.format(
            what="a tracing vendor's Lambda extension or SDK installed in the image, or "
            "OTEL_EXPORTER_OTLP_ENDPOINT not on loopback",
            fix="remove it",
            code="XE063",
            comment="#",
        ),
        spec=(),
        rationale="A vendor extension in /opt/extensions/ or its SDK in the image sends the function's "
        "traces to a second system, whatever the code says.",
        filename="Dockerfile",
        bad="""\
FROM public.ecr.aws/datadog/lambda-extension:65 AS datadog
FROM python:3.13-slim
COPY --from=datadog /opt/. /opt/
RUN pip install --no-cache-dir ddtrace==2.14.0 boto3
""",
        good="""\
FROM python:3.13-slim
RUN pip install --no-cache-dir 'xray-exclusive[streaming]' boto3
""",
    ),
)

RULES: MappingProxyType[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULES})
"""Every rule by code, in code order.

Example:
    >>> from xray_exclusive.check import RULES
    >>> RULES["XE051"].name, RULES["XE051"].kind
    ('decouple-not-last', 'collector')
"""

PARSE_ERROR_MESSAGE = "file could not be parsed"

__all__ = ["PARSE_ERROR", "PARSE_ERROR_MESSAGE", "RULES"]
