from aws_lambda_powertools import Tracer

tracer = Tracer()  # patches boto3, botocore and requests once
