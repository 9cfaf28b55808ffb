"""Powertools for AWS Lambda: its ``Tracer``'s wrapper functions and their ``capture_response`` cell.

Nothing is imported from Powertools: a wrapper is recognised by its module name.

Example:
    >>> tracer_captures_response(len)
    False
"""

from __future__ import annotations

from typing import Any

from . import fell_back

__all__ = ["TRACER_MODULE", "tracer_captures_response"]

TRACER_MODULE = "aws_lambda_powertools.tracing.tracer"
"""The module Powertools' ``Tracer`` decorators define their wrappers in (their ``__globals__``)."""


def tracer_captures_response(func: Any) -> bool:
    """Whether ``func`` is a wrapper made by Powertools' ``Tracer`` with response capture on.

    ``@tracer.capture_lambda_handler`` and ``@tracer.capture_method`` wrap the function in a
    ``decorate`` closure defined in :data:`TRACER_MODULE`; with ``capture_response`` on, it
    serialises the return value into X-Ray metadata, which consumes a stream.

    Private: the wrapper's ``__globals__["__name__"]`` and its closure cell named
    ``capture_response`` (Powertools 3.0.0 to 3.37.0, every ``_decorate_*`` wrapper and
    ``capture_lambda_handler``'s). Fallback: ``False`` (not refused), with one warning, when
    a Powertools wrapper has no such cell or it is empty: the handler runs, and the warning
    says to pass ``capture_response=False``.

    Example:
        >>> def plain(): ...
        >>> tracer_captures_response(plain)
        False
    """
    if getattr(func, "__globals__", {}).get("__name__") != TRACER_MODULE:
        return False
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    for name, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
        if name == "capture_response":
            try:
                return bool(cell.cell_contents)
            except ValueError:  # an empty cell
                break
    fell_back(
        "the capture_response closure cell of Powertools' Tracer wrappers",
        "a streaming handler under @tracer.capture_lambda_handler or @tracer.capture_method is not checked "
        "for response capture; pass capture_response=False there, or the stream may be consumed",
    )
    return False
