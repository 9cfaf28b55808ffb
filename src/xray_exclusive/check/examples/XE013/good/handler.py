from aws_lambda_powertools import Tracer

tracer = Tracer()


def poll(sentiment):
    with tracer.provider.in_subsegment("poll") as subsegment:
        subsegment.put_annotation("sentiment_type", sentiment or "none")
