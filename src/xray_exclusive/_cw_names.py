"""CloudWatch's rules for the names and values an EMF line carries, checked where they enter the library.

From CloudWatch's embedded metric format specification and the EMF libraries'
validators (aws-embedded-metrics ``validator.py`` and ``Constants``), and
``PutMetricData``'s limits where they are stricter:

* namespace: 1-255 characters of ``[a-zA-Z0-9._#:/-]``, not starting with
  ``:``, not in ``AWS/`` (reserved);
* dimension name: 1-250 ASCII printable characters, not only spaces, not
  starting with ``:``; dimension value: 1-1024 ASCII printable characters,
  not only spaces;
* metric value: a finite number within ±2^360 (CloudWatch refuses anything
  else, and the whole line is then lost).

Example:
    >>> check_namespace("Shop/Reliability")
    >>> check_namespace("Shop Reliability")
    Traceback (most recent call last):
    ...
    ValueError: namespace 'Shop Reliability' has characters CloudWatch refuses: ' ' (allowed: ...)
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_DIMENSION_NAME",
    "MAX_METRIC_VALUE",
    "check_dimension_name",
    "check_dimension_value",
    "check_namespace",
    "metric_value",
]

MAX_NAMESPACE = 255
MAX_DIMENSION_NAME = 250
MAX_DIMENSION_VALUE = 1024
MAX_METRIC_VALUE = 2.0**360
"""The largest magnitude CloudWatch stores; larger values make it drop the whole EMF line."""

_NAMESPACE = re.compile(r"[a-zA-Z0-9._#:/\-]+\Z")
_NAMESPACE_BAD = re.compile(r"[^a-zA-Z0-9._#:/\-]")


def check_namespace(namespace: object) -> None:
    """Raise ``ValueError`` naming the rule ``namespace`` breaks; return ``None`` when CloudWatch takes it."""
    if not isinstance(namespace, str):
        raise ValueError(f"namespace must be a str, got {type(namespace).__name__}")
    if not 1 <= len(namespace) <= MAX_NAMESPACE:
        raise ValueError(f"namespace must be 1-{MAX_NAMESPACE} characters, got {len(namespace)}")
    if not _NAMESPACE.match(namespace):
        bad = "".join(sorted(set(_NAMESPACE_BAD.findall(namespace))))[:20]
        raise ValueError(
            f"namespace {namespace[:60]!r} has characters CloudWatch refuses: {bad!r} "
            "(allowed: a-z A-Z 0-9 . _ # : / -)"
        )
    if namespace.startswith(":"):
        raise ValueError(f"namespace {namespace[:60]!r} starts with ':', which CloudWatch refuses")
    if namespace.startswith("AWS/"):
        raise ValueError(f"namespace {namespace[:60]!r}: the 'AWS/' prefix is reserved for AWS services")


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def check_dimension_name(name: object) -> None:
    """Raise ``ValueError`` unless ``name`` is 1-250 ASCII printable characters, not blank, no ``:`` first."""
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_DIMENSION_NAME
        or not name.strip()
        or name.startswith(":")
        or not _printable(name)
    ):
        raise ValueError(
            f"dimension name must be 1-{MAX_DIMENSION_NAME} printable ASCII characters, not blank, "
            f"not starting with ':', got {name!r:.80}"
        )


def check_dimension_value(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is 1-1024 ASCII printable characters, not blank."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_DIMENSION_VALUE
        or not value.strip()
        or not _printable(value)
    ):
        raise ValueError(
            f"dimension {name!r} needs a value of 1-{MAX_DIMENSION_VALUE} printable ASCII characters, "
            f"not blank, got {value!r:.80}"
        )


def metric_value(value: object) -> tuple[int | float, str]:
    """``value`` as CloudWatch will store it, and why it was changed (``""`` when it was not).

    Not a finite real number: ``1`` (one failure happened); beyond ±2^360:
    clamped to ±2^360. Never raises, so a failure's metric is never lost.

    Example:
        >>> metric_value(3), metric_value(10**400)[0] == 2.0**360, metric_value(float("nan"))[0]
        ((3, ''), True, 1)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 1, f"{type(value).__name__} is not a number; 1 was written"
    if isinstance(value, float) and not math.isfinite(value):
        return 1, f"{value!r} is not finite; 1 was written"
    if isinstance(value, int):
        # Compare before any conversion: a huge int neither fits a float nor prints (4,300 digits).
        if -MAX_METRIC_VALUE <= value <= MAX_METRIC_VALUE:
            return value, ""
    elif abs(value) <= MAX_METRIC_VALUE:
        return value, ""
    clamped = MAX_METRIC_VALUE if value > 0 else -MAX_METRIC_VALUE
    return clamped, f"beyond CloudWatch's range of ±2^360; {clamped!r} was written"
