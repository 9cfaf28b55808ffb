from aws_lambda_powertools import Tracer
from aws_xray_sdk.core import patch_all

tracer = Tracer()
patch_all()
