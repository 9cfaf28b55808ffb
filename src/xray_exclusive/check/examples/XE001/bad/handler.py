import boto3
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

from xray_exclusive.streaming import get_streaming_tracer

BotocoreInstrumentor().instrument()
streaming = get_streaming_tracer()
dynamodb = boto3.client("dynamodb")
