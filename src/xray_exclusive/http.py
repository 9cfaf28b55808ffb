"""``http_subsegment()``: an explicit X-Ray subsegment for HTTP clients X-Ray does not patch (FR-028).

SendGrid's SDK sends mail through ``python-http-client`` over ``urllib``,
which the X-Ray SDK does not patch: without this the Notification Lambda's
email call is an untraced gap in the service map (SC-011). The subsegment is
in the ``remote`` namespace, with ``http.request`` (method, URL without query
string or credentials), ``http.response.status``, its duration, and
``error``/``throttle``/``fault`` from the status or the exception. It never
records a request or response body.

Example:
    >>> import urllib.request
    >>> from xray_exclusive import http_subsegment
    >>> url = "https://api.sendgrid.com/v3/mail/send?k=1"
    >>> with http_subsegment("sendgrid", method="POST", url=url) as call:
    ...     call.annotate(recipient_count=3)
    ...     call.status(202)  # or: let urllib raise HTTPError, the status is read from it
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from types import TracebackType

from ._backend import Classification, Span, TracingBackend, get_default_backend
from .bounded import SubsegmentBudget, bounded_stack, truncate_message
from .failure import _annotate, _as_status, _record_cause, classify

__all__ = ["HttpSubsegment", "http_subsegment", "sanitize_url"]

_logger = logging.getLogger("xray_exclusive")

_URL_LIMIT = 2048


def sanitize_url(url: object) -> str:
    """``url`` without credentials, query string or fragment, at most 2,048 characters; never raises.

    Query strings carry API keys and personal data; X-Ray keeps what it is sent for 30 days.

    Example:
        >>> sanitize_url("https://user:secret@api.sendgrid.com/v3/mail/send?api_key=x#top")
        'https://api.sendgrid.com/v3/mail/send'
        >>> sanitize_url("http://[::1")
        '<unparseable URL>'
    """
    text = url if isinstance(url, str) else str(url)
    return _sanitize(text) if len(text) <= 4 * _URL_LIMIT else _sanitize(text[: 4 * _URL_LIMIT])


@functools.lru_cache(maxsize=256)  # a Lambda calls a handful of endpoints, over and over
def _sanitize(text: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(text.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        _logger.warning("http_subsegment: the URL could not be parsed; recorded as <unparseable URL>.")
        return "<unparseable URL>"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return truncate_message(clean, _URL_LIMIT)


def _from_status(status: int) -> Classification | None:
    if status == 429:
        return Classification(True, False, True, True, status)
    if 400 <= status < 500:
        return Classification(True, False, False, True, status)
    if 500 <= status < 600:
        return Classification(False, True, False, True, status)
    return None


class HttpSubsegment:
    """The handle of one ``http_subsegment``: set the response status, add annotations.

    Example:
        >>> with http_subsegment("payments", method="GET", url="https://pay.example/v1/ping") as call:
        ...     call.status(200)
        >>> call.response_status
        200
    """

    __slots__ = ("_annotations", "_backend", "_budget", "_span", "method", "name", "response_status", "url")

    def __init__(
        self,
        name: str,
        method: str,
        url: str,
        backend: TracingBackend | None,
        annotations: Mapping[str, object] | None = None,
    ) -> None:
        self.name = name
        self._annotations = annotations
        self.method = method
        self.url = url
        self._backend = backend
        self._span: Span | None = None
        self._budget: SubsegmentBudget | None = None
        self.response_status: int | None = None
        """The HTTP status recorded, from :meth:`status` or from the exception."""

    def __enter__(self) -> HttpSubsegment:
        backend = self._backend or get_default_backend()
        self._backend = backend
        span = backend.open(self.name, True)
        self._span = span
        _set_http(span, self.method, self.url, None)
        if self._annotations:
            self.annotate(**self._annotations)
        return self

    def status(self, code: object) -> None:
        """Record the response's HTTP status (an int 100-599; anything else is dropped with a log line)."""
        status = _as_status(code)
        if status is None:
            _logger.warning(
                "http_subsegment %r: ignoring status %r (not an HTTP status code).", self.name, code
            )
            return
        self.response_status = status
        if self._span is not None:
            _set_http(self._span, None, None, status)

    def annotate(self, **annotations: object) -> None:
        """Add validated annotations (``recipient_count=3``); bad ones are dropped with a logged reason."""
        span = self._span
        if span is None or not span.recording:
            return
        _annotate(span, self._get_budget(), annotations)

    def _get_budget(self) -> SubsegmentBudget:
        if self._budget is None:
            self._budget = SubsegmentBudget()
        return self._budget

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        span = self._span
        if span is None or self._backend is None:
            return
        try:
            if exc is not None:
                classification = classify(exc)
                if classification is not None:
                    if classification.status is not None and self.response_status is None:
                        self.status(classification.status)
                    span.mark(classification._replace(remote=True))
                    stack = bounded_stack(exc)
                    _record_cause(
                        span,
                        self._get_budget(),
                        exc,
                        type(exc).__name__,
                        exc,
                        stack.frames,
                        stack.truncated,
                        True,
                    )
            elif self.response_status is not None:
                classification = _from_status(self.response_status)
                if classification is not None:
                    span.mark(classification)
        finally:
            self._span = None
            self._backend.close(span)


def _set_http(span: Span, method: str | None, url: str | None, status: int | None) -> None:
    setter = getattr(span, "set_http", None)
    if setter is not None:
        setter(method, url, status)


def http_subsegment(
    name: str,
    *,
    method: str,
    url: str,
    annotations: Mapping[str, object] | None = None,
    backend: TracingBackend | None = None,
) -> HttpSubsegment:
    """A ``remote`` subsegment around one HTTP call that X-Ray does not trace by itself.

    Records the method and the URL without credentials, query or fragment;
    the status from :meth:`HttpSubsegment.status` or from the exception
    (``urllib.error.HTTPError.code``, ``requests``' ``response.status_code``);
    ``error`` for 4xx, ``error`` + ``throttle`` for 429, ``fault`` for 5xx,
    refused connections and timeouts, with the bounded exception as the cause.
    The exception is re-raised unchanged. Bodies are never recorded.

    Example:
        >>> import urllib.error
        >>> try:
        ...     with http_subsegment("sendgrid", method="POST", url="https://api.sendgrid.com/v3/mail/send"):
        ...         raise urllib.error.URLError("connection refused")
        ... except urllib.error.URLError:
        ...     pass  # the caller's handling, unchanged; the subsegment is marked fault
    """
    clean_method = truncate_message(str(method).upper(), 16) if method else "GET"
    return HttpSubsegment(name, clean_method, sanitize_url(url), backend, annotations)
