"""X-Ray's ``http`` block, shared by every backend's ``Span.set_http``: its fields and a status's marks.

A ``set_http(method, url, status)`` call writes :func:`http_fields` (the
``request.method``, ``request.url`` and ``response.status`` entries, in that
order, the given ones only) and, from the status, the marks :func:`status_flags`
lists, in the order the X-Ray SDK's ``Entity.apply_status_code`` sets them
(documents are compared key order and all). Each backend keeps only its own
write: the native one fills its document's sections, the X-Ray SDK one calls
``put_http_meta`` (which sets the same marks itself), the OpenTelemetry one sets
attributes the ``awsxray`` exporter turns into the same block. ``http.py``
marks a finished call from the same table (:func:`status_classification`).

Nearly a leaf: it imports only ``_classification``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from ._classification import Classification

__all__ = ["HttpField", "http_fields", "status_classification", "status_flags"]


class HttpField(NamedTuple):
    """One entry of the ``http`` block: ``http[section][key] = value``.

    Example:
        >>> HttpField("request", "method", "GET")
        HttpField(section='request', key='method', value='GET')
    """

    section: Literal["request", "response"]
    key: Literal["method", "url", "status"]
    value: str | int


def http_fields(method: str | None, url: str | None, status: int | None) -> list[HttpField]:
    """The entries a ``set_http`` call writes: only the arguments given, request before response.

    Example:
        >>> [(f.section, f.key) for f in http_fields("POST", None, 202)]
        [('request', 'method'), ('response', 'status')]
    """
    fields: list[HttpField] = []
    if method is not None:
        fields.append(HttpField("request", "method", method))
    if url is not None:
        fields.append(HttpField("request", "url", url))
    if status is not None:
        fields.append(HttpField("response", "status", status))
    return fields


def status_flags(status: int) -> tuple[str, ...]:
    """The marks an HTTP status sets, in the X-Ray SDK's order: 5xx ``fault``, 429 ``throttle``+``error``.

    Any other 4xx: ``error``; below 400: none.

    Example:
        >>> status_flags(429), status_flags(503), status_flags(404), status_flags(200)
        (('throttle', 'error'), ('fault',), ('error',), ())
    """
    if status >= 500:
        return ("fault",)
    if status == 429:
        return ("throttle", "error")
    if status >= 400:
        return ("error",)
    return ()


def status_classification(status: int) -> Classification | None:
    """The marks of a remote call that answered ``status`` (``None`` below 400), as a ``Classification``.

    Example:
        >>> status_classification(429).label, status_classification(200) is None
        ('throttle', True)
    """
    flags = status_flags(status)
    if not flags:
        return None
    return Classification("error" in flags, "fault" in flags, "throttle" in flags, True, status)
