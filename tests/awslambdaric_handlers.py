"""Handlers run under both AWS's ``awslambdaric`` and ``python -m xray_exclusive.runtime`` (the differential).

``dispatch`` runs the case the event names, so that one process of each runtime serves every buffered case.
Nothing here imports the streaming tracer: these are plain buffered handlers.
"""

from __future__ import annotations

import decimal
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("function")


def hello(event: Any, context: Any) -> Any:
    return "hello"


def unicode_text(event: Any, context: Any) -> Any:
    return {"text": "café ✓ \u2028 🚀", "nested": ["ü", {"k": "\u2029"}]}


def decimals(event: Any, context: Any) -> Any:
    return {
        "price": decimal.Decimal("1.5"),
        "exact": decimal.Decimal("12345678901234567890.123456789"),
        "trailing": decimal.Decimal("1.50"),
        "exponent": decimal.Decimal("1E+3"),
        "nan": decimal.Decimal("NaN"),
        "list": [decimal.Decimal("-0.0"), 1, 2.5],
    }


def not_a_number(event: Any, context: Any) -> Any:
    return {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}


def raw_bytes(event: Any, context: Any) -> Any:
    return b"\x00\xff raw"


def nothing(event: Any, context: Any) -> Any:
    return None


def unserialisable(event: Any, context: Any) -> Any:
    return {"when": object()}


def circular(event: Any, context: Any) -> Any:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def a_set(event: Any, context: Any) -> Any:
    return {1, 2}


def raises(event: Any, context: Any) -> Any:
    def inner() -> None:
        raise ValueError("boom\nsecond line of the message")

    inner()


def raises_chained(event: Any, context: Any) -> Any:
    try:
        {}["missing"]
    except KeyError as exc:
        raise RuntimeError("wrapped") from exc


def echo(event: Any, context: Any) -> Any:
    return {"type": type(event).__name__, "repr": repr(event)}


def context_probe(event: Any, context: Any) -> Any:
    client_context = context.client_context
    client = client_context.client if client_context is not None else None
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "tenant_id": context.tenant_id,
        "remaining_type": type(context.get_remaining_time_in_millis()).__name__,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
        "identity_id": context.identity.cognito_identity_id,
        "identity_pool": context.identity.cognito_identity_pool_id,
        "custom": client_context.custom if client_context is not None else None,
        "env": client_context.env if client_context is not None else None,
        "app_title": client.app_title if client is not None else None,
        "installation_id": client.installation_id if client is not None else None,
        "w3c": context.w3c(),
        "repr": repr(context),
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        "class": type(context).__name__,
    }


def logs(event: Any, context: Any) -> Any:
    logger.debug("debug line")
    logger.info("info line")
    logger.warning("first line\nsecond line")
    logger.error("an error with %s", "args", extra={"order_id": 42})
    context.log("raw log line\n")
    print("printed line")
    return "logged"


def logs_exception(event: Any, context: Any) -> Any:
    try:
        raise KeyError("gone")
    except KeyError:
        logger.exception("caught")
    return "logged"


def exits(event: Any, context: Any) -> Any:
    sys.exit(int(event.get("code", 3)))


CASES: dict[str, Callable[[Any, Any], Any]] = {
    name: value
    for name, value in dict(globals()).items()
    if callable(value) and not name.startswith("_") and name not in ("dispatch", "Callable", "Any")
}


def dispatch(event: Any, context: Any) -> Any:
    """Run ``CASES[event["case"]]``; an event that is not a dict (bytes) goes to ``echo``."""
    if not isinstance(event, dict):
        return echo(event, context)
    return CASES[event["case"]](event, context)
