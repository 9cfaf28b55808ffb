"""The canary's error taxonomy: transient errors are retried, permanent ones escalate at once."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from .._throttling import THROTTLING_CODES
from ..exceptions import XrayExclusiveError
from ._config import Clock

__all__ = ["PERMANENT_CODES", "TRANSIENT_CODES", "Calls", "PermanentError", "error_kind"]

T = TypeVar("T")

TRANSIENT_CODES = THROTTLING_CODES | frozenset(
    {
        "InternalFailure",
        "InternalError",
        "InternalServiceError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
"""Codes retried with exponential backoff and full jitter (plus any HTTP 5xx and connection errors).

Every throttling code (``_throttling.py``, the list ``classify`` marks ``throttle``), and the services'
internal errors.
"""

PERMANENT_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "NotAuthorized",
        "AuthorizationError",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
    }
)
"""Codes escalated at once, zero retries (plus every ``ExpiredToken*``)."""

Kind = Literal["transient", "permanent", "other"]


def error_kind(exc: BaseException) -> Kind:
    """``transient``, ``permanent`` or ``other`` for an exception from a boto3 call.

    Example:
        >>> from botocore.exceptions import ClientError
        >>> error_kind(ClientError({"Error": {"Code": "ExpiredTokenException"}}, "PutMetricData"))
        'permanent'
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str((response.get("Error") or {}).get("Code") or "")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if code in PERMANENT_CODES or code.startswith("ExpiredToken"):
            return "permanent"
        if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
            return "transient"
        return "other"
    name = type(exc).__name__
    if name in {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionError",
    } or isinstance(exc, (ConnectionError, TimeoutError)):
        return "transient"
    if name in {"NoCredentialsError", "PartialCredentialsError"}:
        return "permanent"
    return "other"


def error_code(exc: BaseException) -> str:
    """The AWS error code, or the exception's type name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


class PermanentError(XrayExclusiveError):
    """A call failed with an error retries cannot fix (credentials, permissions): escalate now.

    Example:
        >>> str(PermanentError("cloudwatch", "PutMetricData", "AccessDenied", "no"))
        'cloudwatch PutMetricData: AccessDenied: no'
    """

    def __init__(self, service: str, operation: str, code: str, message: str) -> None:
        super().__init__(f"{service} {operation}: {code}: {message}")
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message


class Calls:
    """Runs AWS calls with the taxonomy: retries transient errors, converts permanent ones, counts both.

    Example:
        >>> from xray_exclusive.canary import SystemClock
        >>> Calls(SystemClock()).call("xray", "Ping", lambda: "pong")
        'pong'
    """

    def __init__(
        self,
        clock: Clock,
        max_retries: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.rng = rng or random.Random()
        self.retries = 0
        """Transient failures retried, over all calls."""
        self.calls = 0

    def call(self, service: str, operation: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(*args, **kwargs)``, retried at most ``max_retries`` times on transient errors."""
        attempt = 0
        while True:
            self.calls += 1
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                kind = error_kind(exc)
                if kind == "permanent":
                    message = str((getattr(exc, "response", {}) or {}).get("Error", {}).get("Message", exc))
                    raise PermanentError(service, operation, error_code(exc), message) from exc
                if kind != "transient" or attempt >= self.max_retries:
                    raise
                delay = self.rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # full jitter
                attempt += 1
                self.retries += 1
                self.clock.sleep(delay)
