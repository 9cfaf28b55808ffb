"""patch([...]) next to a Tracer that auto-patches: boto3 is wrapped twice."""

from aws_lambda_powertools import Tracer
from aws_xray_sdk.core import patch

tracer = Tracer()
patch(["boto3", "requests"])
