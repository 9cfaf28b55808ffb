"""What the runtime posts, encoded as AWS's Python runtime client (``awslambdaric``) encodes it.

Buffered results are JSON with ``awslambdaric``'s rules: ``bytes`` as they are, anything else through a JSON
encoder that writes ``Decimal`` values as numbers (``Decimal("1.5")`` is ``1.5``), ``NaN`` and ``Infinity``
as Python's ``json`` does, ASCII-only unless ``AWS_EXECUTION_ENV`` names a Python 3.12+ managed runtime.
An object it cannot encode is a ``Runtime.MarshalError``. Error documents carry ``requestId`` and leave out
the runtime's own leading frames; the X-Ray error cause goes in its own header.
"""

from __future__ import annotations

import json
import math
import os
import re
import traceback
from collections.abc import Iterable
from typing import Any

from ..exceptions import XrayExclusiveError

__all__ = [
    "Fault",
    "MarshalError",
    "encode_chunk",
    "error_document",
    "marshal_response",
    "to_json",
    "xray_cause",
]

_UNICODE_RUNTIMES = frozenset(
    {"AWS_Lambda_python3.12", "AWS_Lambda_python3.13", "AWS_Lambda_python3.14", "AWS_Lambda_python3.15"}
)
_MAX_XRAY_CAUSE = 1024 * 1024
# Leading frames of these files are the runtime's own, not the function's: left out of stack traces.
_RUNTIME_FILES = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "streaming", "_stream.py"),
)


class Fault(XrayExclusiveError):
    """An error of the runtime's, reported with its ``Runtime.*`` type and no stack trace of the runtime's."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class MarshalError(Fault, ValueError):
    """The handler's result (or a streamed chunk) cannot be encoded: ``Runtime.MarshalError``."""

    def __init__(self, message: str) -> None:
        super().__init__("Runtime.MarshalError", message)


def _ensure_ascii() -> bool:
    return os.environ.get("AWS_EXECUTION_ENV") not in _UNICODE_RUNTIMES


def to_json(value: Any) -> str:
    r"""Encode ``value`` as ``awslambdaric`` does; raise ``TypeError``/``ValueError`` when it cannot.

    Example:
        >>> import decimal
        >>> to_json({"price": decimal.Decimal("1.50"), "name": "café"})
        '{"price": 1.50, "name": "caf\\u00e9"}'
    """
    ensure_ascii = _ensure_ascii()
    marker = ""
    decimals = 0

    def default(obj: Any) -> Any:
        import decimal

        nonlocal marker, decimals
        if isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return math.nan
            if not marker:
                marker = "\x00" + os.urandom(8).hex()
            decimals += 1
            return marker + str(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    text = json.dumps(value, default=default, ensure_ascii=ensure_ascii, allow_nan=True)
    if marker:
        # A Decimal is written as the number it holds, exactly: "<marker>1.50" becomes 1.50.
        encoded = json.dumps(marker, ensure_ascii=ensure_ascii)[:-1]
        text, found = re.subn(re.escape(encoded) + r'([^"]*)"', r"\1", text)
        if found != decimals:  # pragma: no cover - a 64-bit random marker inside the user's own strings
            raise ValueError("a Decimal could not be encoded")
    return text


def marshal_response(result: Any) -> tuple[bytes, str]:
    """The body and content type of a buffered response; ``MarshalError`` when it cannot be encoded.

    Example:
        >>> marshal_response("hello")
        (b'"hello"', 'application/json')
        >>> marshal_response(b"raw")
        (b'raw', 'application/unknown')
    """
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result).encode("utf-8"), "application/json"
    except Exception as exc:
        raise MarshalError(f"Unable to marshal response: {exc}") from None


def encode_chunk(chunk: Any) -> bytes:
    r"""One streamed chunk as bytes: bytes-like as they are, ``str`` as UTF-8, ``None`` as nothing, else JSON.

    Example:
        >>> encode_chunk("é"), encode_chunk(None), encode_chunk({"a": 1})
        (b'\xc3\xa9', b'', b'{"a": 1}')
    """
    if type(chunk) is bytes:
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if chunk is None:
        return b""
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    try:
        return to_json(chunk).encode("utf-8")
    except Exception as exc:
        raise MarshalError(f"Unable to marshal a streamed chunk: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return type(exc).__name__


def _function_frames(tb: Any) -> list[traceback.FrameSummary]:
    frames = list(traceback.extract_tb(tb))
    for index, frame in enumerate(frames):
        if not frame.filename.startswith(_RUNTIME_FILES):
            return frames[index:]
    return frames


def error_document(
    exc: BaseException, request_id: str | None = None, error_type: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The error document and the X-Ray error cause for ``exc``, as ``awslambdaric`` builds them.

    ``requestId`` is ``""`` outside an invocation (INIT). A :class:`Fault` has no runtime frames.

    Example:
        >>> try:
        ...     raise ValueError("boom")
        ... except ValueError as exc:
        ...     document, cause = error_document(exc, "id-1")
        >>> document["errorType"], document["requestId"], cause["exceptions"][0]["type"]
        ('ValueError', 'id-1', 'ValueError')
    """
    if isinstance(exc, Fault):
        document = _document(exc.message, exc.error_type, exc.trace, request_id)
        return document, _cause("LambdaValidationError", exc.message, [])
    message = _describe(exc)
    frames = _function_frames(exc.__traceback__)
    kind = error_type or type(exc).__name__
    # Formatted from (file, line, name, code) as awslambdaric does: no column markers.
    stack = traceback.format_list([(f.filename, f.lineno or 0, f.name, f.line) for f in frames])
    document = _document(message, kind, stack, request_id)
    return document, _cause(type(exc).__name__, message, frames)


def _document(message: str, error_type: str, stack: list[str], request_id: str | None) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id or "",
        "stackTrace": stack,
    }


def _cause(error_type: str, message: str, frames: Iterable[traceback.FrameSummary]) -> dict[str, Any]:
    frames = list(frames)
    return {
        "working_directory": os.getcwd(),
        "exceptions": [
            {
                "message": message,
                "type": error_type,
                "stack": [{"label": f.name, "path": f.filename, "line": f.lineno} for f in frames],
            }
        ],
        "paths": list({f.filename for f in frames}),
    }


def xray_cause(cause: dict[str, Any]) -> str:
    """The ``Lambda-Runtime-Function-XRay-Error-Cause`` header value: empty when it would pass 1 MiB."""
    text = to_json(cause)
    return text if len(text.encode()) < _MAX_XRAY_CAUSE else ""
