"""X-Ray's marks for one failure: the ``Classification`` value and ``classify``, which decides it.

``Classification`` is what every backend's ``Span.mark`` takes.

Nearly a leaf: it imports only ``_throttling`` (itself a leaf), so ``_backend``,
``failure``, ``http`` and the backends can all import it without a cycle.
Public as ``xray_exclusive.Classification`` and ``xray_exclusive.classify``
(also importable from ``xray_exclusive.failure``, and ``Classification`` from
``xray_exclusive._backend``, where it used to live).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from ._throttling import THROTTLING_CODES

if TYPE_CHECKING:
    from .paths import Mark

__all__ = ["FAULT", "Classification", "as_status", "classify"]


class Classification(NamedTuple):
    """X-Ray's marks for one failure: ``error`` (client side), ``throttle`` (with error), ``fault`` (server).

    Example:
        >>> from xray_exclusive import classify
        >>> classify(ConnectionResetError()).label
        'fault'
    """

    error: bool
    fault: bool
    throttle: bool
    remote: bool = False
    status: int | None = None
    code: str | None = None

    @property
    def label(self) -> str:
        """``"throttle"``, ``"error"`` or ``"fault"``, for annotations and logs."""
        if self.throttle:
            return "throttle"
        return "fault" if self.fault else "error"


FAULT = Classification(error=False, fault=True, throttle=False)
"""The marks of an exception about which nothing more is known: ``fault``."""


def _attribute(obj: object, name: str) -> object:
    """``getattr(obj, name, None)``, where a property that raises counts as absent."""
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _status_and_code(exc: BaseException) -> tuple[int | None, str | None, bool]:
    """The HTTP status, the service error code and whether a remote service answered (never raises)."""
    response = _attribute(exc, "response")
    if response is not None:
        try:
            if isinstance(response, Mapping):  # botocore ClientError
                error = response.get("Error")
                meta = response.get("ResponseMetadata")
                code = error.get("Code") if isinstance(error, Mapping) else None
                status = meta.get("HTTPStatusCode") if isinstance(meta, Mapping) else None
                return as_status(status), str.__str__(code) if isinstance(code, str) else None, True
            status = as_status(_attribute(response, "status_code"))  # requests / httpx HTTPError
            if status is not None:
                return status, None, True
        except Exception:  # a response whose .get or items raise: read what else there is
            pass
    for attribute in ("status_code", "status", "code"):  # urllib HTTPError has .code
        status = as_status(_attribute(exc, attribute))
        if status is not None:
            return status, None, True
    return None, None, False


def as_status(value: object) -> int | None:
    """``value`` as an HTTP status (an ``int`` 100-599, never a ``bool``), else ``None``; never raises."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = int.__int__(value)  # an int subclass's own comparisons are never called
        if 100 <= number <= 599:
            return number
    return None


def classify(exc: BaseException, mark: Mark | None = None) -> Classification | None:
    """Decide X-Ray's marks for ``exc``; ``None`` when it is not a failure at all. Never raises.

    * An AWS throttling code (:data:`THROTTLING_CODES`) or HTTP 429: ``error`` + ``throttle``.
    * Any other HTTP 4xx (botocore ``ClientError``, ``urllib`` and ``requests``
      errors): ``error``, the caller's side.
    * HTTP 5xx, connection errors, timeouts and anything unknown: ``fault``
      (also an exception whose ``response`` or ``status_code`` raises when read).
    * ``BaseException`` that is not an ``Exception`` (``GeneratorExit``,
      ``KeyboardInterrupt``, ``SystemExit``, ``CancelledError``): ``None``.

    ``mark`` forces ``"error"`` (a throttle keeps its flag) or ``"fault"``.

    Example:
        >>> classify(TimeoutError()).label, classify(GeneratorExit()) is None
        ('fault', True)
    """
    if not isinstance(exc, Exception):
        return None
    status, code, remote = _status_and_code(exc)
    throttle = status == 429 or (code is not None and code in THROTTLING_CODES)
    if mark == "fault":
        return Classification(False, True, False, remote, status, code)
    if mark == "error" or throttle or (status is not None and 400 <= status < 500):
        return Classification(True, False, throttle, remote, status, code)
    if status is None and code is None and not remote:
        return FAULT
    return Classification(False, True, False, remote, status, code)
