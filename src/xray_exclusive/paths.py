"""``FailurePath``, the type an application declares its failure paths with, and ``load`` for a fleet file's.

A path is the application's own: declare it inline (``FailurePath("payment_capture", namespace=...)``),
or once in the fleet file ``xray-exclusive.toml`` (``[[failure_paths]]``), where ``render terraform``
gives it its alarm, and build it from there with :func:`load`. Every metric also carries the dimension
``Lambda={function name}``, added at emission time.

Example:
    >>> from xray_exclusive.paths import FailurePath
    >>> path = FailurePath("payment_capture", namespace="Shop/Reliability", dimensions={"Provider": "card"})
    >>> path.metric, dict(path.dimensions)
    ('PaymentCaptureFailure', {'Provider': 'card'})
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from . import _cw_names, _metrics
from .exceptions import ConfigurationError

__all__ = ["LAMBDA_DIMENSION", "FailurePath", "Mark", "load"]

Mark = Literal["error", "fault"]
"""A forced X-Ray mark for every failure of a path, instead of the library's classification."""

LAMBDA_DIMENSION = _metrics.LAMBDA_DIMENSION
"""The dimension every failure-path metric carries: the Lambda function's name."""

_NAME_LIMIT = 200
_INVALID_NAME_CHARS = frozenset("?;*()!$~^<>")  # removed by the X-Ray SDK (entity.py)
_MAX_EXTRA_DIMENSIONS = 29  # CloudWatch allows 30 per metric; `Lambda` is one
_SNAKE = re.compile(r"[^A-Za-z0-9]+")


def _ascii_printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _derive_metric(name: str) -> str:
    words = [w for w in _SNAKE.split(name) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) + "Failure"


class FailurePath:
    """One caught-and-continued failure: its X-Ray subsegment name and its CloudWatch metric.

    Arguments are validated at once and an invalid one raises ``ValueError``
    naming the limit it breaks, so a typo fails at import, not at 3 a.m.
    Instances are immutable and hashable.

    * ``name``: the subsegment name (1-200 characters, none of ``?;*()!$~^<>``).
    * ``metric``: the metric name; by default the name in CamelCase plus
      ``Failure`` (``payment_capture`` → ``PaymentCaptureFailure``).
    * ``namespace``: the metric namespace, 1-255 of ``[a-zA-Z0-9._#:/-]``
      (CloudWatch's rule), not ``AWS/...``; ``None`` means
      ``POWERTOOLS_METRICS_NAMESPACE``, else ``XrayExclusive/FailurePaths``.
    * ``dimensions``: fixed extra dimensions (``Operation=load``): names of
      1-250 printable ASCII characters not starting with ``:``, values of
      1-1024; none blank. ``Lambda`` is always added and reserved.
    * ``mark``: force ``"error"`` or ``"fault"`` instead of classifying each exception.

    Example:
        >>> FailurePath("payment_capture", namespace="Shop/Reliability").metric
        'PaymentCaptureFailure'
    """

    __slots__ = ("_key", "dimensions", "mark", "metric", "name", "namespace")

    name: str
    metric: str
    namespace: str | None
    dimensions: Mapping[str, str]
    mark: Mark | None
    _key: tuple[object, ...]

    def __init__(
        self,
        name: str,
        metric: str = "",
        namespace: str | None = None,
        dimensions: Mapping[str, str] | None = None,
        mark: Mark | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"FailurePath name must be a non-empty string, got {name!r}")
        if len(name) > _NAME_LIMIT:
            raise ValueError(f"FailurePath name is longer than {_NAME_LIMIT} characters: {name[:40]!r}…")
        bad = sorted(_INVALID_NAME_CHARS.intersection(name))
        if bad:
            raise ValueError(f"FailurePath name {name!r} has characters X-Ray removes: {''.join(bad)}")
        metric = metric or _derive_metric(name)
        if (
            not isinstance(metric, str)
            or len(metric) > 255
            or not _ascii_printable(metric)
            or not metric.strip()
        ):
            raise ValueError(f"metric must be 1-255 printable ASCII characters, got {metric!r}")
        if namespace is not None:
            _cw_names.check_namespace(namespace)
        dims = dict(dimensions or {})
        if len(dims) > _MAX_EXTRA_DIMENSIONS:
            raise ValueError(f"at most {_MAX_EXTRA_DIMENSIONS} dimensions besides {LAMBDA_DIMENSION!r}")
        for key, value in dims.items():
            _check_dimension(key, value)
        if metric in dims or metric in (LAMBDA_DIMENSION, "_aws"):
            raise ValueError(f"metric name {metric!r} collides with a dimension or '_aws'")
        if mark not in (None, "error", "fault"):
            raise ValueError(f"mark must be 'error', 'fault' or None, got {mark!r}")
        setattr_ = object.__setattr__
        setattr_(self, "name", name)
        setattr_(self, "metric", metric)
        setattr_(self, "namespace", namespace)
        setattr_(self, "dimensions", MappingProxyType(dims))
        setattr_(self, "mark", mark)
        setattr_(self, "_key", (name, metric, namespace, tuple(sorted(dims.items())), mark))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FailurePath is immutable; build a new one instead of setting {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("FailurePath is immutable")

    def __repr__(self) -> str:
        extra = f", dimensions={dict(self.dimensions)!r}" if self.dimensions else ""
        extra += f", mark={self.mark!r}" if self.mark else ""
        return f"FailurePath(name={self.name!r}, metric={self.metric!r}, namespace={self.namespace!r}{extra})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FailurePath):
            return NotImplemented
        return bool(self._key == other._key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FailurePath, (self.name, self.metric, self.namespace, dict(self.dimensions), self.mark))


def _check_dimension(key: object, value: object) -> None:
    _cw_names.check_dimension_name(key)
    assert isinstance(key, str)
    if key in (LAMBDA_DIMENSION, "_aws"):
        raise ValueError(f"dimension name {key!r} is reserved (the library sets it)")
    _cw_names.check_dimension_value(key, value)


_DECLARATION_KEYS = ("name", "metric", "namespace", "dimensions", "mark")
_RENDER_KEYS = ("threshold",)  # the alarm's; read by ``render terraform``


def read_fleet_table(file: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """The fleet table of ``xray-exclusive.toml``, or of ``pyproject.toml``'s ``[tool.xray-exclusive.fleet]``.

    Returns the table and where it is, for error messages. Raises :class:`ConfigurationError` naming
    the file when it cannot be read or has no fleet table.
    """
    import tomllib
    from pathlib import Path

    path = Path(file)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"{path}: {error}") from error
    if path.name != "pyproject.toml":
        return document, str(path)
    table = document.get("tool", {}).get("xray-exclusive", {}).get("fleet")
    if not isinstance(table, dict):
        raise ConfigurationError(f"{path}: no [tool.xray-exclusive.fleet] table")
    return table, f"{path} [tool.xray-exclusive.fleet]"


def declare(tables: object, where: str) -> dict[str, FailurePath]:
    """Build the paths of a fleet table's ``failure_paths`` list (of tables), by name, in order.

    Each table has ``name`` and optionally ``metric``, ``namespace``, ``dimensions`` (a table of
    strings) and ``mark``, as the :class:`FailurePath` arguments; ``threshold`` is left to
    ``render terraform``. Raises :class:`ConfigurationError` naming ``where`` and the key.

    Example:
        >>> declare([{"name": "payment_capture", "threshold": 5}], "xray-exclusive.toml")["payment_capture"]
        FailurePath(name='payment_capture', metric='PaymentCaptureFailure', namespace=None)
        >>> declare([{"name": "a"}, {"name": "a"}], "fleet.toml")
        Traceback (most recent call last):
        ...
        xray_exclusive.exceptions.ConfigurationError: fleet.toml: failure_paths[1].name: 'a' is declared twice
    """
    if not isinstance(tables, list):
        raise ConfigurationError(f"{where}: failure_paths must be a list of tables ([[failure_paths]])")
    declared: dict[str, FailurePath] = {}
    for index, table in enumerate(tables):
        at = f"{where}: failure_paths[{index}]"
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{at} must be a table")
        unknown = sorted(set(table) - {*_DECLARATION_KEYS, *_RENDER_KEYS})
        if unknown:
            raise ConfigurationError(
                f"{at}: unknown keys {unknown}; known: {[*_DECLARATION_KEYS, *_RENDER_KEYS]}"
            )
        if "name" not in table:
            raise ConfigurationError(f"{at}: `name` is required")
        for key in ("name", "metric", "namespace", "mark"):
            if key in table and not isinstance(table[key], str):
                raise ConfigurationError(f"{at}.{key} must be a string, not {table[key]!r}")
        dimensions = table.get("dimensions", {})
        if not isinstance(dimensions, Mapping) or not all(isinstance(v, str) for v in dimensions.values()):
            raise ConfigurationError(f"{at}.dimensions must be a table of strings, not {dimensions!r}")
        try:
            path = FailurePath(
                table["name"], table.get("metric", ""), table.get("namespace"), dimensions, table.get("mark")
            )
        except ValueError as error:
            raise ConfigurationError(f"{at}: {error}") from None
        if path.name in declared:
            raise ConfigurationError(f"{at}.name: {path.name!r} is declared twice")
        declared[path.name] = path
    return declared


def load(file: str | os.PathLike[str]) -> Mapping[str, FailurePath]:
    r"""The failure paths a fleet file declares in ``[[failure_paths]]``, by name.

    The same declarations ``xray-exclusive render terraform`` alarms, so an application can build its
    paths from the file instead of repeating them (or declare ``FailurePath(...)`` inline, as it
    prefers). Reads ``xray-exclusive.toml``, or ``[tool.xray-exclusive.fleet]`` of a
    ``pyproject.toml``; the rest of the file is ``render``'s. Raises
    :class:`~xray_exclusive.ConfigurationError` naming the file and the key.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from xray_exclusive import paths
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     file = Path(tmp, "xray-exclusive.toml")
        ...     _ = file.write_text('[[failure_paths]]\nname = "payment_capture"\n'
        ...                         'namespace = "Shop/Reliability"\nthreshold = 5\n')
        ...     declared = paths.load(file)
        >>> declared["payment_capture"].metric, declared["payment_capture"].namespace
        ('PaymentCaptureFailure', 'Shop/Reliability')

    Limitations: reading the file costs a TOML parse (``tomllib``, imported here only); call it once,
    at import of the handler's module, not per invocation.
    """
    table, where = read_fleet_table(file)
    return MappingProxyType(declare(table.get("failure_paths", []), where))
