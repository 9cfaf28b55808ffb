"""The Terraform analyser's textual pre-filter, on its own.

A run whose ``.tf`` files all fail it never imports the analyser (its rules, its HCL reader and their
patterns), which costs a few milliseconds of start-up.
"""

from __future__ import annotations

INTERESTING = (
    "aws_lambda_function",
    "aws_cloudwatch_metric_alarm",
    "aws_apigatewayv2_api",
    "terraform-aws-modules/",
    "terraform-aws-lambda",
    "terraform-aws-apigateway-v2",
    "OTEL_",
)
"""A word every Terraform rule needs in the file: a function, an alarm, an API, a module, an OTel variable."""


def needs_parse(text: str) -> bool:
    r"""Whether the file could hold anything a Terraform rule reads (a function, an alarm, a module...).

    Example:
        >>> needs_parse('resource "aws_s3_bucket" "b" {}\n')
        False
        >>> needs_parse('resource "aws_lambda_function" "f" {}')
        True
    """
    return any(word in text for word in INTERESTING)
