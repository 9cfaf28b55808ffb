from aws_lambda_powertools import Tracer

tracer = Tracer()


def poll():
    with tracer.provider.in_subsegment("poll") as subsegment:
        subsegment.put_annotation("latency_ms", 12.5)
