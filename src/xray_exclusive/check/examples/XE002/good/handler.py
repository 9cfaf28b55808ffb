from aws_lambda_powertools import Tracer

tracer = Tracer()
