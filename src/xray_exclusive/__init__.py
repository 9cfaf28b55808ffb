"""xray-exclusive: AWS X-Ray as the one and only tracing system of a Lambda fleet.

The public surface, re-exported here and loaded on first use (PEP 562), so
``import xray_exclusive`` costs almost nothing at cold start. The X-Ray SDK
and Powertools' tracer load on the first ``failure_path``; the optional extras
(``[streaming]``, ``[canary]``) only when their modules are imported.

Example:
    >>> from xray_exclusive import FailurePath, failure_path
    >>> with failure_path(FailurePath("audit_event_persist", namespace="Shop/Compliance")):
    ...     pass
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from . import bounded, paths, sse, trace_header
    from ._backend import Span, TracingBackend
    from .correlation import current_trace_id
    from .exceptions import ConfigurationError, DataError, XrayExclusiveError
    from .failure import Classification, FailurePathContext, classify, failure_path, set_default_backend
    from .http import http_subsegment
    from .paths import FailurePath

__all__ = [
    "Classification",
    "ConfigurationError",
    "DataError",
    "FailurePath",
    "FailurePathContext",
    "Span",
    "TracingBackend",
    "XrayExclusiveError",
    "__version__",
    "bounded",
    "classify",
    "current_trace_id",
    "failure_path",
    "http_subsegment",
    "paths",
    "set_default_backend",
    "sse",
    "trace_header",
]

__version__ = "0.1.0"

_LAZY = {
    "Classification": "xray_exclusive._classification",
    "FailurePathContext": "xray_exclusive.failure",
    "classify": "xray_exclusive.failure",
    "failure_path": "xray_exclusive.failure",
    "set_default_backend": "xray_exclusive.failure",
    "FailurePath": "xray_exclusive.paths",
    "current_trace_id": "xray_exclusive.correlation",
    "http_subsegment": "xray_exclusive.http",
    "Span": "xray_exclusive._backend",
    "TracingBackend": "xray_exclusive._backend",
    "ConfigurationError": "xray_exclusive.exceptions",
    "DataError": "xray_exclusive.exceptions",
    "XrayExclusiveError": "xray_exclusive.exceptions",
}
_SUBMODULES = frozenset({"bounded", "paths", "sse", "trace_header"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"{__name__}.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
