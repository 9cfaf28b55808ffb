from aws_lambda_powertools import Tracer

from xray_exclusive.streaming import get_streaming_tracer

tracer = Tracer()
streaming = get_streaming_tracer()
