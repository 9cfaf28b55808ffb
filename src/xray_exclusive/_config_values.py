"""Parsers for configuration values that can only fail later: refused when read, with the rule named.

Used by :mod:`xray_exclusive._env` (each parser raises ``ValueError``; the
variable's name is added there) and by the canary's explicit arguments.

Example:
    >>> parse_canary_seconds("90")
    90.0
    >>> parse_sns_topic_arn("my-topic")
    Traceback (most recent call last):
    ...
    ValueError: not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>): 'my-topic'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from . import _cw_names

__all__ = [
    "BSP_RANGES",
    "MAX_CANARY_SECONDS",
    "bounded_int",
    "check_bsp_arguments",
    "check_webhook_url",
    "parse_canary_namespace",
    "parse_canary_seconds",
    "parse_sns_topic_arn",
    "parse_webhook_url",
]

MAX_CANARY_SECONDS = 900.0
"""A canary wait can never be longer than a Lambda invocation (15 minutes)."""

_TOPIC_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?\Z"
)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def parse_canary_seconds(raw: str, *, positive: bool = False) -> float:
    """Seconds of a canary wait: a finite number from 0 (above 0 with ``positive``) up to 900."""
    value = float(raw.strip())
    low_ok = value > 0 if positive else value >= 0
    if not math.isfinite(value) or not low_ok or value > MAX_CANARY_SECONDS:
        low = "above 0" if positive else "from 0"
        raise ValueError(
            f"not a number of seconds {low} up to {MAX_CANARY_SECONDS:.0f} (one invocation): {raw!r}"
        )
    return value


def parse_canary_namespace(raw: str) -> str:
    """A custom CloudWatch namespace, to CloudWatch's rules (no control character, no leading ':')."""
    value = raw.strip()
    _cw_names.check_namespace(value)
    return value


def check_webhook_url(value: str) -> str:
    """``https://host/...``; ``http://`` only on loopback (a local test receiver). Returns ``value``."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        raise ValueError(f"not a URL: {value[:80]!r}") from None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise ValueError(f"a URL with spaces or control characters: {value[:80]!r}")
    if parts.scheme == "https" and host:
        return value
    if parts.scheme == "http" and host in _LOOPBACK:
        return value
    raise ValueError(f"not an https:// URL (alerts would travel in clear text): {value[:80]!r}")


def parse_webhook_url(raw: str) -> str | None:
    """An https webhook URL, or ``None`` when empty."""
    value = raw.strip()
    return check_webhook_url(value) if value else None


def parse_sns_topic_arn(raw: str) -> str | None:
    """An SNS topic ARN (``arn:aws:sns:eu-west-1:123456789012:alerts``), or ``None`` when empty."""
    value = raw.strip()
    if not value:
        return None
    if not _TOPIC_ARN.match(value):
        raise ValueError(
            f"not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>): {value[:120]!r}"
        )
    return value


def bounded_int(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """A parser of integers from ``low`` to ``high`` (inclusive); ``unit`` names them in the message.

    Example:
        >>> bounded_int(1, 10)("11")
        Traceback (most recent call last):
        ...
        ValueError: not an integer from 1 to 10: '11'
    """

    def parse(raw: str) -> int:
        text = raw.strip()
        if len(text) > 20 or not text.lstrip("+-").isdigit():
            raise ValueError(f"not an integer{unit} from {low} to {high}: {raw[:40]!r}")
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"not an integer{unit} from {low} to {high}: {raw[:40]!r}")
        return value

    return parse


BSP_RANGES: dict[str, tuple[int, int]] = {
    "schedule_delay_millis": (1, 3_600_000),
    "max_queue_size": (1, 100_000),
    "max_export_batch_size": (1, 10_000),
}
"""The batch span processor's settings: beyond these the export worker dies (a timer over
``threading.TIMEOUT_MAX`` raises ``OverflowError``) or the queue outgrows a Lambda's memory."""


def check_bsp_arguments(**values: int | None) -> None:
    """Raise ``ValueError`` naming the first explicit batch setting outside :data:`BSP_RANGES`.

    Example:
        >>> check_bsp_arguments(schedule_delay_millis=99999999999999)
        Traceback (most recent call last):
        ...
        ValueError: schedule_delay_millis must be an int from 1 to 3600000, got 99999999999999
    """
    for name, value in values.items():
        if value is None:
            continue
        low, high = BSP_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be an int from {low} to {high}, got {value!r}")
