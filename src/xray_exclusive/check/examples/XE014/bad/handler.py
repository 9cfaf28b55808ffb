from aws_lambda_powertools import Tracer

tracer = Tracer()


def poll(count):
    with tracer.provider.in_subsegment("poll") as subsegment:
        subsegment.put_annotation("item-count", count)
