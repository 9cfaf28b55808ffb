"""Annotation keys built with f-strings: their literal parts are checked."""

from aws_lambda_powertools import Tracer

tracer = Tracer()


def record(shard: int, count: int) -> None:
    with tracer.provider.in_subsegment("record") as subsegment:
        subsegment.put_annotation(f"items-{shard}", count)
        subsegment.put_annotation(f"items_{shard}", count)
