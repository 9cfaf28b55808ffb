"""Every environment variable the library reads, in one place.

Precedence everywhere in the library: an explicit argument first, then the
environment variable, then the default documented here. A malformed value
falls back to the default with a logged warning; it never raises.

The table in ``docs/configuration.md`` is checked against :data:`ALL` by the
test suite, so the two cannot drift apart.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = [
    "ALL",
    "AWS_LAMBDA_FUNCTION_NAME",
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_SERVICE_NAME",
    "EnvVar",
    "parse_bool",
]

_logger = logging.getLogger("xray_exclusive")

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})


def parse_bool(raw: str) -> bool:
    """Parse a boolean environment value; raise ``ValueError`` when it is neither true nor false.

    An empty value is false (Powertools' ``strtobool`` raises on it instead).

    Example:
        >>> parse_bool("TRUE"), parse_bool("")
        (True, False)
    """
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _parse_str(raw: str) -> str | None:
    value = raw.strip()
    return value or None


class EnvVar(Generic[T]):
    """One environment variable: its name, meaning, default and parser.

    Example:
        >>> POWERTOOLS_METRICS_DISABLED.get({"POWERTOOLS_METRICS_DISABLED": "true"})
        True
    """

    __slots__ = ("default", "doc", "name", "parser")

    def __init__(self, name: str, default: T, doc: str, parser: Callable[[str], T]) -> None:
        self.name = name
        self.default = default
        self.doc = doc
        self.parser = parser

    def __repr__(self) -> str:
        return f"EnvVar({self.name!r}, default={self.default!r})"

    def get(self, environ: dict[str, str] | os._Environ[str] | None = None) -> T:
        """Read the variable now; a malformed value gives the default and a warning."""
        env = os.environ if environ is None else environ
        raw = env.get(self.name)
        if raw is None:
            return self.default
        try:
            return self.parser(raw)
        except ValueError:
            _logger.warning("Ignoring malformed %s=%r; using the default %r.", self.name, raw, self.default)
            return self.default


AWS_LAMBDA_FUNCTION_NAME: EnvVar[str | None] = EnvVar(
    name="AWS_LAMBDA_FUNCTION_NAME",
    default=None,
    doc="Set by Lambda. The value of the `Lambda` dimension of every failure-path metric.",
    parser=_parse_str,
)

POWERTOOLS_SERVICE_NAME: EnvVar[str | None] = EnvVar(
    name="POWERTOOLS_SERVICE_NAME",
    default=None,
    doc="Fallback for the `Lambda` dimension outside Lambda (then `unknown`).",
    parser=_parse_str,
)

POWERTOOLS_METRICS_NAMESPACE: EnvVar[str | None] = EnvVar(
    name="POWERTOOLS_METRICS_NAMESPACE",
    default=None,
    doc=(
        "Namespace of a user-defined failure path that names none. The seven catalogued paths "
        "always use the namespaces the spec fixes. Without either: `XrayExclusive/FailurePaths`."
    ),
    parser=_parse_str,
)

POWERTOOLS_METRICS_DISABLED: EnvVar[bool] = EnvVar(
    name="POWERTOOLS_METRICS_DISABLED",
    default=False,
    doc=(
        "`true` stops failure-path metric lines (for local runs and tests). Read at every "
        "failure; unlike Powertools, `POWERTOOLS_DEV` alone does not disable them."
    ),
    parser=parse_bool,
)

ALL: tuple[EnvVar[Any], ...] = (
    AWS_LAMBDA_FUNCTION_NAME,
    POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_METRICS_DISABLED,
)
"""Every variable the library reads, in the order of the docs table."""
