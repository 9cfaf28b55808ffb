"""The invocation's trace context, read afresh on every call, never cached across invocations.

``AwsXRayLambdaPropagator.extract`` has three traps: with any
span current it ignores ``_X_AMZN_TRACE_ID`` and starts a new root trace; its
getter is case-sensitive (``x-amzn-trace-id`` is missed); a trailing ``;`` or
``Sampled=?`` rejects the whole header and silently breaks the link. Here the
header is parsed leniently by :mod:`xray_exclusive.trace_header`, what was
repaired is logged at DEBUG, and the context is always built on an empty
``Context()``. Precedence is the propagator's: the environment variable wins
over a request header.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from .. import trace_header
from .._fastenv import BYTES_ENVIRON
from ..trace_header import TraceHeaderError

__all__ = ["invocation_context"]

_logger = logging.getLogger("xray_exclusive.streaming")

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)

# The header exactly as the Lambda runtime writes it: one match, no general parse (on the environment's
# own bytes, or on a header's text).
_CANONICAL_PATTERN = (
    r"Root=1-([0-9a-f]{8})-([0-9a-f]{24});Parent=([0-9a-f]{16});Sampled=([01])"
    r"(?:;Lineage=[\x21-\x3a\x3c-\x7e]{1,200})?\Z"
)
_CANONICAL = re.compile(_CANONICAL_PATTERN)
_CANONICAL_BYTES = re.compile(_CANONICAL_PATTERN.encode())

# The environment's bytes mapping (os.environ's own, kept in step with it): a lookup without os.environ's
# encoding and decoding, on the way to every stream's first byte. None where the interpreter has none.
_ENVIRON = BYTES_ENVIRON
_ENV_KEY = trace_header.ENV_VAR.encode()

# One entry: the last header (as read: bytes from the environment's mapping, else text) and the context
# built from it. The environment is read on every call; only the parsing of an identical value is skipped.
# A Context is immutable.
_last: tuple[bytes | str, Context] = ("", Context())


def invocation_context(headers: Mapping[str, object] | None = None) -> Context:
    """The parent context of this invocation's streaming spans, from ``_X_AMZN_TRACE_ID`` or ``headers``.

    * ``_X_AMZN_TRACE_ID`` is read on every call, never cached across
      invocations; when it is absent or unusable, an ``x-amzn-trace-id``
      header in ``headers`` (any case; Lambda Web Adapter forwards the trace
      that way) is used.
    * ``Sampled=1`` gives a sampled remote parent; ``Sampled=0``, a missing
      ``Sampled`` or ``Sampled=?`` a non-sampled one, so no span is exported,
      as the propagator decides.
    * No usable header: an empty context (a new root trace, with an X-Ray
      trace ID from ``AwsXRayIdGenerator``).

    Example:
        >>> import os
        >>> from opentelemetry import trace
        >>> os.environ["_X_AMZN_TRACE_ID"] = (
        ...     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;"
        ... )
        >>> parent = trace.get_current_span(invocation_context()).get_span_context()
        >>> hex(parent.span_id), parent.trace_flags.sampled
        ('0x53995c3f42cd8ad8', True)
        >>> del os.environ["_X_AMZN_TRACE_ID"]
    """
    global _last
    environ = _ENVIRON
    raw: bytes | str | None = (
        environ.get(_ENV_KEY) if environ is not None else os.environ.get(trace_header.ENV_VAR)
    )
    if raw:
        last_raw, last_context = _last
        if raw == last_raw:
            return last_context
        context = _canonical(raw)
        if context is None:
            context = _context_from(raw if isinstance(raw, str) else os.fsdecode(raw), trace_header.ENV_VAR)
        if context is not None:
            _last = (raw, context)
            return context
    header = trace_header.find(headers) if headers else None
    if header:
        context = _context_from(header, "the x-amzn-trace-id header")
        if context is not None:
            return context
    _logger.debug("No usable X-Ray trace header: streaming spans start a new trace.")
    return Context()


def _canonical(raw: bytes | str) -> Context | None:
    """The context of a header written exactly as the Lambda runtime writes it, else ``None``."""
    if isinstance(raw, bytes):
        match_bytes = _CANONICAL_BYTES.match(raw)
        if match_bytes is None:
            return None
        epoch, rest, parent_hex, flag = match_bytes.groups()
        trace_id, span_id, sampled = int(epoch + rest, 16), int(parent_hex, 16), flag == b"1"
    else:
        match = _CANONICAL.match(raw)
        if match is None:
            return None
        epoch_text, rest_text, parent_text, flag_text = match.groups()
        trace_id, span_id, sampled = int(epoch_text + rest_text, 16), int(parent_text, 16), flag_text == "1"
    if not (trace_id and span_id):
        return None
    return trace.set_span_in_context(
        NonRecordingSpan(
            SpanContext(
                trace_id=trace_id,
                span_id=span_id,
                is_remote=True,
                trace_flags=_SAMPLED if sampled else _NOT_SAMPLED,
            )
        ),
        Context(),
    )


def _context_from(raw: str, source: str) -> Context | None:
    context = _canonical(raw)
    if context is not None:
        return context
    try:
        parsed = trace_header.parse(raw, strict=False)
    except TraceHeaderError as exc:
        _logger.debug("Ignoring %s %r: %s.", source, raw[:120], exc)
        return None
    if parsed.problems:
        _logger.debug("Repaired %s %r: %s.", source, raw[:120], "; ".join(parsed.problems))
    parent = parsed.parent_id_int
    if parent is None:
        _logger.debug("%s %r has no Parent: streaming spans start a new trace.", source, raw[:120])
        return None
    sampled = parsed.is_sampled
    if sampled is None:
        _logger.debug("%s has Sampled=%s: treated as not sampled.", source, parsed.sampled or "<absent>")
    span_context = SpanContext(
        trace_id=parsed.trace_id_int,
        span_id=parent,
        is_remote=True,
        trace_flags=_SAMPLED if sampled else _NOT_SAMPLED,
    )
    return trace.set_span_in_context(NonRecordingSpan(span_context), Context())
