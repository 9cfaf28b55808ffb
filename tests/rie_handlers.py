"""Handlers for ``test_runtime_emulator.py`` (``_HANDLER=rie_handlers.<name>``), run in a subprocess.

The same handlers run under AWS's Runtime Interface Emulator and under ``LocalRuntimeAPI``.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

from xray_exclusive.runtime import HttpResponse


def stream_payload() -> list[bytes]:
    """The chunks ``streamed`` yields: every byte value, NULs, multi-byte UTF-8, CRLFs, a large chunk."""
    chunks = [bytes(range(256)), b"\x00" * 8, "données ✓ 🚀\r\n".encode(), b"0\r\n\r\n"]
    chunks += [b"data: %04d\n\n" % i for i in range(200)]
    chunks.append(bytes(i * 7 % 256 for i in range(256 * 1024)))
    chunks.append(b"end\n")
    return chunks


STREAM_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


def returns_dict(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "hello", "echo": event, "request_id_set": bool(context.aws_request_id)}


def returns_string(event: Any, context: Any) -> str:
    return "plain text, not JSON ✓"


def returns_none(event: Any, context: Any) -> None:
    return None


def raises(event: Any, context: Any) -> dict[str, Any]:
    raise ValueError(f"bad input: {event.get('key')!r}")


def streamed(event: Any, context: Any) -> Generator[Any, None, None]:
    yield HttpResponse(201, STREAM_HEADERS, ("session=abc; Secure",))
    yield from stream_payload()


def stream_fails_before_first_byte(event: Any, context: Any) -> Generator[bytes, None, None]:
    raise LookupError("no stream for you")
    yield b""  # pragma: no cover


def stream_fails_after_first_byte(event: Any, context: Any) -> Generator[bytes, None, None]:
    yield b"data: one\n\n"
    raise RuntimeError("database gone mid-stream")


def context_probe(event: Any, context: Any) -> dict[str, Any]:
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function_name": context.function_name,
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        "client_context": context.client_context,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "tenant_id": context.tenant_id,
    }


def oversized(event: Any, context: Any) -> bytes:
    return b"x" * int(event["size"])  # bytes are posted as they are: exactly `size` bytes
