"""``http_subsegment()``: an explicit X-Ray subsegment for HTTP clients X-Ray does not patch.

SendGrid's SDK sends mail through ``python-http-client`` over ``urllib``,
which the X-Ray SDK does not patch: without this the Notification Lambda's
email call is an untraced gap in the service map. The subsegment is
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
from collections.abc import Mapping
from types import TracebackType

from ._backend import Span, TracingBackend, get_default_backend
from ._classification import as_status, classify
from ._guard import Step, StepRunner
from ._http_block import status_classification
from ._recording import admit_all, exception_type_name, ours_failed, record_cause
from .bounded import NAME_LIMIT, LazyLogger, SubsegmentBudget, bounded_stack, truncate_message

__all__ = ["HttpSubsegment", "http_subsegment", "sanitize_url", "subsegment_name"]

_logger = LazyLogger("xray_exclusive")

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
    try:
        # A plain str copy: a str subclass may override __str__, __hash__ or __len__ (the cache hashes it).
        text = str.__str__(url) if isinstance(url, str) else str.__str__(str(url))
        return _sanitize(text) if len(text) <= 4 * _URL_LIMIT else _sanitize(text[: 4 * _URL_LIMIT])
    except Exception:  # an object whose __str__ raises, or anything urllib did not expect
        return "<unparseable URL>"


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


class HttpSubsegment:
    """The handle of one ``http_subsegment``: set the response status, add annotations.

    Like a failure path, it never raises on the library's behalf and always
    gives the caller's exception back unchanged.

    Example:
        >>> with http_subsegment("payments", method="GET", url="https://pay.example/v1/ping") as call:
        ...     call.status(200)
        >>> call.response_status
        200
    """

    __slots__ = (
        "_annotations", "_backend", "_budget", "_exc", "_span", "method", "name", "response_status", "url",
    )  # fmt: skip

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
        self._exc: BaseException | None = None
        self.response_status: int | None = None
        """The HTTP status recorded, from :meth:`status` or from the exception."""

    def __enter__(self) -> HttpSubsegment:
        try:
            budget = self._get_budget()
            annotations = self._annotations
            admitted = admit_all(budget, annotations, self.name) if annotations is not None else ()
            backend = self._backend
            if backend is None:
                backend = self._backend = get_default_backend()
            span = self._span = backend.open(self.name, True)
            if span.recording:
                span.set_http(self.method, self.url, None)
                for valid in admitted:
                    span.annotate(valid.key, valid.value)
        except Exception as ours:
            ours_failed("opening its subsegment", self.name, ours)
        except BaseException:  # KeyboardInterrupt while opening: leave nothing open behind
            self._close()
            raise
        return self

    def status(self, code: object) -> None:
        """Record the response's HTTP status (an int 100-599; anything else is dropped with a log line)."""
        try:
            status = as_status(code)
            if status is None:
                _logger.warning(
                    "http_subsegment %r: ignoring status of type %s (not an HTTP status code).",
                    self.name,
                    type(code).__name__,
                )
                return
            self.response_status = status
            if self._span is not None and self._span.recording:
                self._span.set_http(None, None, status)
        except Exception as ours:
            ours_failed("recording the status", self.name, ours)

    def annotate(self, **annotations: object) -> None:
        """Add validated annotations (``recipient_count=3``); bad ones are dropped with a logged reason."""
        span = self._span
        if span is None or not span.recording:
            return
        try:
            for valid in admit_all(self._get_budget(), annotations, self.name):
                span.annotate(valid.key, valid.value)
        except Exception as ours:
            ours_failed("annotating", self.name, ours)

    def _get_budget(self) -> SubsegmentBudget:
        if self._budget is None:
            self._budget = SubsegmentBudget()
        return self._budget

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Through the shared guard (_guard.py), as failure_path's exit: each step once, a failure one
        # warning and the next step still runs; a RecursionError (the caller's, or ours at the stack's
        # limit) borrows depth and the step is tried again, so the subsegment is still closed.
        self._exc = exc
        try:
            _run_steps(self.name, exc, _EXIT, self)
        finally:
            self._exc = None

    def _record(self) -> None:
        span, exc = self._span, self._exc
        if span is None or not span.recording:
            return
        if exc is not None:
            classification = classify(exc)
            if classification is None:
                return
            if classification.status is not None and self.response_status is None:
                self.status(classification.status)
            span.mark(classification._replace(remote=True))
            stack = bounded_stack(exc)
            type_name = exception_type_name(exc)
            record_cause(span, self._get_budget(), exc, type_name, exc, stack.frames, stack.truncated, True)
        elif self.response_status is not None:
            from_status = status_classification(self.response_status)
            if from_status is not None:
                span.mark(from_status)

    def _close(self) -> None:
        span, backend = self._span, self._backend
        if span is None or backend is None:
            return
        self._span = None
        try:
            backend.close(span)
        except RecursionError:
            self._span = span  # the guard tries again with more stack
            raise


# The steps of an exit, each called with the handle (built once), and the guard with the
# "Subsegment ..." log line of the library's own failures.
_EXIT: tuple[Step, ...] = (
    ("recording the call", HttpSubsegment._record),
    ("closing its subsegment", HttpSubsegment._close),
)
_run_steps = StepRunner(ours_failed).run


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
    try:
        clean_method = truncate_message(str(method).upper(), 16) if method else "GET"
    except Exception:  # a method object whose __str__ or truth raises
        clean_method = "GET"
    return HttpSubsegment(subsegment_name(name), clean_method, sanitize_url(url), backend, annotations)


_INVALID_NAME_CHARS = "?;*()!$~^<>"  # what the X-Ray SDK strips from names (entity.py)


def subsegment_name(name: object) -> str:
    """``name`` as X-Ray keeps it: without ``?;*()!$~^<>`` and at most 200 characters; never raises.

    Example:
        >>> subsegment_name("sendgrid (v3)")
        'sendgrid v3'
    """
    text = truncate_message(name, 4 * NAME_LIMIT)
    if any(c in text for c in _INVALID_NAME_CHARS):
        text = "".join(c for c in text if c not in _INVALID_NAME_CHARS)
    return truncate_message(text, NAME_LIMIT) or "http"
