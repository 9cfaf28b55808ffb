r"""A custom Lambda runtime for Python response streaming: ``python -m xray_exclusive.runtime``.

AWS's Python runtime client (``awslambdaric``) cannot stream: it JSON-encodes the
handler's return value and posts it once. This runtime serves a buffered handler
exactly as ``awslambdaric`` does (the same ``context``, JSON, error documents,
INIT errors and log format) and streams a returned generator chunk by chunk:
the Function URL prelude when the handler yields an :class:`HttpResponse`
first, errors before the first byte to the error endpoint and after it in the
documented trailers, the stream wrapped in ``traced_stream`` (spans flushed
before the response completes) and ended cleanly before the invocation's
deadline. One keep-alive connection to the Runtime API serves the process.

Example:
    >>> from xray_exclusive.runtime import HttpResponse
    >>> HttpResponse(200, {"Content-Type": "text/event-stream"}).prelude().endswith(b"\x00" * 8)
    True
"""

from __future__ import annotations

from ._api import (
    HTTP_INTEGRATION,
    Invocation,
    ResponseRejected,
    ResponseStream,
    RuntimeAPI,
    RuntimeAPIError,
    error_body,
)
from ._context import Client, ClientContext, CognitoIdentity, LambdaContext
from ._loop import Runtime, load_handler, main
from ._marshal import Fault, MarshalError
from ._stream import DeadlineReached, HttpResponse

__all__ = [
    "HTTP_INTEGRATION",
    "Client",
    "ClientContext",
    "CognitoIdentity",
    "DeadlineReached",
    "Fault",
    "HttpResponse",
    "Invocation",
    "LambdaContext",
    "MarshalError",
    "ResponseRejected",
    "ResponseStream",
    "Runtime",
    "RuntimeAPI",
    "RuntimeAPIError",
    "error_body",
    "load_handler",
    "main",
]
