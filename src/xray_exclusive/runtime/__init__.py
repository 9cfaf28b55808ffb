r"""A custom Lambda runtime for Python response streaming: ``python -m xray_exclusive.runtime``.

The official runtime client cannot stream (it JSON-encodes the handler's
return value and posts it once; FACTS.md §b.1). This one speaks the Lambda
Runtime API itself: it sets ``_X_AMZN_TRACE_ID`` from each invocation's
``Lambda-Runtime-Trace-Id``, streams a returned generator chunk by chunk with
the Function URL prelude, reports errors before the first byte to the error
endpoint and after it in the documented trailers, wraps the stream in
``traced_stream`` (spans flushed before the response completes), and turns a
connection the Runtime API drops into ``BrokenPipeError`` inside the
generator. A plain return value is posted buffered.

Example:
    >>> from xray_exclusive.runtime import HttpResponse
    >>> HttpResponse(200, {"Content-Type": "text/event-stream"}).prelude().endswith(b"\x00" * 8)
    True
"""

from __future__ import annotations

from ._api import HTTP_INTEGRATION, Invocation, ResponseStream, RuntimeAPI, error_body
from ._loop import HttpResponse, LambdaContext, Runtime, load_handler, main

__all__ = [
    "HTTP_INTEGRATION",
    "HttpResponse",
    "Invocation",
    "LambdaContext",
    "ResponseStream",
    "Runtime",
    "RuntimeAPI",
    "error_body",
    "load_handler",
    "main",
]
