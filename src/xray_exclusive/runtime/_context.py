"""The handler's ``context``: the same object, with the same attributes, as AWS's Python runtime gives.

``client_context`` and ``identity`` are objects parsed from the invocation's JSON headers
(``context.identity.cognito_identity_id``), ``tenant_id`` comes from ``Lambda-Runtime-Aws-Tenant-Id``,
``w3c()`` returns the W3C trace-context fields of the client context, and ``log()`` writes to the function's
log as it is.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from .._fastenv import BYTES_ENVIRON

__all__ = ["Client", "ClientContext", "CognitoIdentity", "LambdaContext"]

_W3C_FIELDS = ("traceparent", "tracestate", "baggage")
_ENVIRON = BYTES_ENVIRON  # os.environ's own bytes mapping, kept in step with it; None where there is none
_ENCODING = sys.getfilesystemencoding()


class _Slots:
    __slots__: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Any:
        if values is None:
            return None
        obj = cls()
        for name in cls.__slots__:
            setattr(obj, name, values.get(name))
        return obj

    def __repr__(self) -> str:
        fields = ",".join(f"{name}={getattr(self, name, None)}" for name in self.__slots__)
        return f"{type(self).__name__}([{fields}])"


class CognitoIdentity(_Slots):
    """``context.identity``: always an object; its fields are ``None`` without a Cognito identity."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")


class Client(_Slots):
    """``context.client_context.client``: the mobile app that invoked the function."""

    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")  # noqa: RUF023 - awslambdaric's order (repr)


class ClientContext(_Slots):
    """``context.client_context``: ``custom``, ``env`` and ``client``, or ``None`` without one."""

    __slots__ = ("custom", "env", "client")  # noqa: RUF023 - awslambdaric's order


class LambdaContext:
    """The ``context`` argument, as AWS's Python runtime (``awslambdaric``) builds it.

    Example:
        >>> context = LambdaContext("id-1", {"custom": {"k": 1}}, {"cognitoIdentityId": "c-1"}, 0)
        >>> context.client_context.custom, context.identity.cognito_identity_id, context.tenant_id
        ({'k': 1}, 'c-1', None)
        >>> context.get_remaining_time_in_millis()
        0
    """

    def __init__(
        self,
        invoke_id: str,
        client_context: dict[str, Any] | None,
        cognito_identity: dict[str, Any] | None,
        epoch_deadline_time_in_ms: int,
        invoked_function_arn: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = invoke_id
        self.log_group_name = _getenv("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = _getenv("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = _getenv("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = _getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = _getenv("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c_fields = _pop_w3c(client_context)
        self.client_context = ClientContext.from_dict(client_context)
        if self.client_context is not None:
            client = self.client_context.client
            self.client_context.client = Client.from_dict(client if isinstance(client, dict) else None)
        self.identity = CognitoIdentity.from_dict({})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the invocation's deadline (0 once it has passed)."""
        delta = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def w3c(self) -> dict[str, str]:
        """The client context's W3C trace-context fields: ``traceparent``, ``tracestate``, ``baggage``."""
        return dict(self._w3c_fields)

    def log(self, msg: Any) -> None:
        """Write ``msg`` to the function's log as it is (no level, no request id)."""
        for handler in logging.getLogger().handlers:
            sink = getattr(handler, "log_sink", None)
            if sink is not None:
                sink.log(str(msg))
                return
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        names = (
            "aws_request_id",
            "log_group_name",
            "log_stream_name",
            "function_name",
            "memory_limit_in_mb",
            "function_version",
            "invoked_function_arn",
            "client_context",
            "identity",
            "tenant_id",
        )
        return f"LambdaContext([{','.join(f'{n}={getattr(self, n)}' for n in names)}])"


def _getenv(name: str) -> str | None:
    """``os.environ.get(name)``, read from the environment's bytes mapping when there is one.

    Read afresh for every invocation, as awslambdaric does, without ``os.environ``'s encoding of the name.

    Example:
        >>> import os
        >>> _getenv("PATH") == os.environ.get("PATH"), _getenv("XE_NOT_SET_ANYWHERE")
        (True, None)
    """
    if _ENVIRON is None:
        return os.environ.get(name)
    value = _ENVIRON.get(name.encode())
    return None if value is None else value.decode(_ENCODING, "surrogateescape")  # as os.environ decodes


def _pop_w3c(client_context: dict[str, Any] | None) -> dict[str, str]:
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in _W3C_FIELDS if isinstance(raw.get(key), str)}
