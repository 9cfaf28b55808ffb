"""Exit statuses of the ``xray-exclusive`` command, and the one-line message for a missing extra.

Every command keeps 0, 1 and 2 for its own outcomes (``check``: clean, findings,
a file that cannot be parsed; ``canary run``: healthy, degraded, failed) and
exits :data:`CANNOT_RUN` when it could not run at all: a usage error, a
missing extra, missing or bad configuration. Scripts can then tell "the canary
says X-Ray is down" from "the canary is not configured".
"""

from __future__ import annotations

__all__ = ["CANNOT_RUN", "EXIT_TABLE", "missing_extra"]

CANNOT_RUN = 3
"""The command could not run: usage error, missing extra, missing or bad configuration."""

EXIT_TABLE = """\
exit status:
  0  success (check: no findings; canary run: healthy)
  1  check: findings; canary run: degraded
  2  check: a file could not be parsed; canary run: failed
  3  could not run: a usage error, a missing extra, missing or bad configuration"""
"""The table every ``--help`` ends with, and ``docs/cli.md`` repeats."""

# The top-level module of each optional dependency, and the extra that installs it.
_EXTRAS = {
    "opentelemetry": "streaming",
    "google": "streaming",  # protobuf, through the OTLP exporter
    "boto3": "canary",
    "botocore": "canary",
    "yaml": "check",
}


def missing_extra(exc: ImportError) -> str | None:
    """The extra that installs the module ``exc`` could not import, or ``None`` if it is not ours.

    Example:
        >>> missing_extra(ModuleNotFoundError("No module named 'yaml'", name="yaml"))
        'check'
        >>> missing_extra(ModuleNotFoundError("No module named 'numpy'", name="numpy")) is None
        True
    """
    name = (exc.name or "").split(".")[0]
    return _EXTRAS.get(name)
