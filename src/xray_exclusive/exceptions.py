"""Every error xray-exclusive raises on purpose, in one tree.

Each class also subclasses the builtin its users have always caught, so an
``except ValueError`` or ``except RuntimeError`` written before this tree
existed still catches it:

```text
XrayExclusiveError (Exception)
├── ConfigurationError (ValueError)
│   ├── StreamingConfigurationError (RuntimeError)
│   └── MissingExtraError (RuntimeError)
├── DataError (ValueError)
│   ├── TraceHeaderError (ValueError)          xray_exclusive.trace_header
│   ├── SSEError (ValueError)                  xray_exclusive.sse
│   ├── HclError (ValueError)                  xray_exclusive.check._hcl
│   └── BodyTooLarge (ValueError)              xray_exclusive.devtools._limits
├── CollectorError (RuntimeError)
├── PermanentError                             xray_exclusive.canary
├── StateError (RuntimeError)                  xray_exclusive.canary
├── RuntimeAPIError (RuntimeError)             xray_exclusive.runtime
│   └── ResponseRejected                       xray_exclusive.runtime
└── Fault                                      xray_exclusive.runtime
    └── MarshalError (ValueError)              xray_exclusive.runtime
```

Where each one is raised, and the older names that are the same class:

* ``ConfigurationError``: an invalid argument, environment variable,
  ``[tool.xray-exclusive]`` table or fleet file. Also importable as
  ``xray_exclusive.canary.ConfigurationError``, ``xray_exclusive.check.ConfigError``
  and ``xray_exclusive.render.FleetError`` (the same class, not subclasses).
* ``StreamingConfigurationError``: ``get_streaming_tracer()`` refuses a process
  setup that breaks streaming traces. Also importable as
  ``xray_exclusive.streaming.ConfigurationError``.
* ``MissingExtraError``: a backend named by ``failure_path(backend=...)`` or
  ``XRAY_EXCLUSIVE_BACKEND`` needs an extra that is not installed.
* ``CollectorError``: ``xray-exclusive collect`` cannot start (a port in use,
  a non-loopback address, no collector binary). Also importable as
  ``xray_exclusive.devtools.CollectorError``.
* ``DataError``: the input data is invalid (a header, an event stream, a
  Terraform file, a request body), not the setup. Its subclasses stay beside
  their parsers, named in the right column: ``TraceHeaderError``
  (``trace_header.parse``), ``SSEError`` (the SSE parser, past its size
  limit), ``HclError`` (the checker's Terraform reader) and ``BodyTooLarge``
  (the local collector, answered 413).
* ``PermanentError`` and ``StateError``: the canary's AWS call failed for good
  (credentials, permissions), or its failure count could not be kept.
* ``RuntimeAPIError`` and ``Fault``: the streaming runtime's. A ``Fault`` (and
  ``MarshalError``) is reported to the Lambda Runtime API with its
  ``Runtime.*`` error type, never raised to the caller's code.

Classes without a builtin in parentheses subclass only their parent (and so
``Exception``). The user's own exceptions are never wrapped: ``failure_path``
re-raises them untouched.

Example:
    >>> from xray_exclusive import ConfigurationError, XrayExclusiveError
    >>> from xray_exclusive.check import CheckConfig
    >>> try:
    ...     CheckConfig(select=("XE999",))
    ... except XrayExclusiveError as error:
    ...     print(type(error).__name__, isinstance(error, ValueError))
    ConfigurationError True
"""

from __future__ import annotations

__all__ = [
    "CollectorError",
    "ConfigurationError",
    "DataError",
    "MissingExtraError",
    "StreamingConfigurationError",
    "XrayExclusiveError",
]


class XrayExclusiveError(Exception):
    """The base of every error the library raises on purpose: ``except XrayExclusiveError`` catches them all.

    Example:
        >>> from xray_exclusive import XrayExclusiveError
        >>> from xray_exclusive.render import parse_fleet
        >>> try:
        ...     parse_fleet({})
        ... except XrayExclusiveError as error:
        ...     print(error)
        fleet: `environment` is required
    """


class ConfigurationError(XrayExclusiveError, ValueError):
    """The configuration is invalid: an argument, a variable, a ``pyproject.toml`` table or a fleet file.

    The message names the variable, argument or key and what is expected. The
    canary's ``ConfigurationError``, the checker's ``ConfigError`` and
    ``render``'s ``FleetError`` are this same class under their older names.

    Example:
        >>> from xray_exclusive import ConfigurationError
        >>> from xray_exclusive.canary import CanaryConfig
        >>> try:
        ...     CanaryConfig.from_env({"CANARY_LOSS_THRESHOLD": "2"})
        ... except ConfigurationError as error:
        ...     print(error)
        CANARY_LOSS_THRESHOLD='2' is invalid: not a ratio between 0 and 1: '2'
    """


class StreamingConfigurationError(ConfigurationError, RuntimeError):
    """The process is set up in a way that breaks streaming traces; the message names the fix.

    Raised by ``get_streaming_tracer()`` (``xray_exclusive.streaming.ConfigurationError``
    is this class). A ``RuntimeError`` too, as it always was.

    Example:
        >>> raise StreamingConfigurationError("OTEL_SERVICE_NAME is not set")
        Traceback (most recent call last):
        ...
        xray_exclusive.exceptions.StreamingConfigurationError: OTEL_SERVICE_NAME is not set
    """


class MissingExtraError(ConfigurationError, RuntimeError):
    """A feature asked for needs an optional extra that is not installed; the message gives the ``pip`` line.

    A ``RuntimeError`` too, as it always was.

    Example:
        >>> issubclass(MissingExtraError, ConfigurationError), issubclass(MissingExtraError, RuntimeError)
        (True, True)
    """


class DataError(XrayExclusiveError, ValueError):
    """The input data is invalid (a trace header, an event stream, a file, a body); the message says where.

    The base of the parsers' own errors (``TraceHeaderError``, ``SSEError``,
    ``HclError``, ``BodyTooLarge``), each still a ``ValueError`` as it always was.

    Example:
        >>> from xray_exclusive import DataError, trace_header
        >>> try:
        ...     trace_header.parse("Root=1-xyz")
        ... except DataError as error:
        ...     print(type(error).__name__, isinstance(error, ValueError))
        TraceHeaderError True
    """


class CollectorError(XrayExclusiveError, RuntimeError):
    """The local collector cannot start (a port in use, a non-loopback address, no binary); says what to do.

    ``xray_exclusive.devtools.CollectorError`` is this class.

    Example:
        >>> from xray_exclusive.devtools import Collector
        >>> try:
        ...     Collector(host="0.0.0.0")
        ... except CollectorError as error:
        ...     print(error)
        the local collector listens on loopback only, not on '0.0.0.0'
    """
