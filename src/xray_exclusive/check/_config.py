"""``[tool.xray-exclusive]`` in ``pyproject.toml``: which rules, which files, which Lambdas stream."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from ..exceptions import ConfigurationError

_KEYS = frozenset({"select", "ignore", "exclude", "streaming", "per-file-ignores", "fleet"})

ConfigError = ConfigurationError
"""The checker's older name of :class:`xray_exclusive.ConfigurationError`: the CLI exits 3 (cannot run)."""


class CheckConfig:
    """What to check, relative to ``root`` (the directory of ``pyproject.toml``).

    Globs use ``fnmatch`` on ``/``-separated paths (``*`` also crosses directories); a pattern also
    matches every file below a directory it names.

    Example:
        >>> config = CheckConfig(ignore=("XE010",), streaming=("lambdas/sse",))
        >>> config.enabled("XE010"), config.enabled("XE001"), config.is_streaming("lambdas/sse/app.py")
        (False, True, True)
    """

    # A plain class, not a dataclass: ``dataclasses`` (and the ``inspect`` it imports) would cost the
    # checker's start-up more than its whole run on a small repository.
    __slots__ = ("exclude", "ignore", "per_file_ignores", "root", "select", "streaming")

    def __init__(
        self,
        select: tuple[str, ...] = ("XE",),
        ignore: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        streaming: tuple[str, ...] = (),
        per_file_ignores: Mapping[str, tuple[str, ...]] | None = None,
        root: Path | None = None,
    ) -> None:
        self.select = select
        self.ignore = ignore
        self.exclude = exclude
        self.streaming = streaming
        self.per_file_ignores: Mapping[str, tuple[str, ...]] = (
            {} if per_file_ignores is None else per_file_ignores
        )
        self.root = Path.cwd() if root is None else root
        for code in (*self.select, *self.ignore, *(c for v in self.per_file_ignores.values() for c in v)):
            _validate_code(code)

    def _fields(self) -> tuple[object, ...]:
        return (self.select, self.ignore, self.exclude, self.streaming, self.per_file_ignores, self.root)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CheckConfig) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it was

    def __repr__(self) -> str:
        names = ("select", "ignore", "exclude", "streaming", "per_file_ignores", "root")
        return f"CheckConfig({', '.join(f'{n}={v!r}' for n, v in zip(names, self._fields(), strict=True))})"

    def enabled(self, code: str, path: str = "") -> bool:
        """Whether ``code`` is reported (for ``path``, relative to the root)."""
        if not any(code.startswith(p) for p in self.select):
            return False
        if any(code.startswith(p) for p in self.ignore):
            return False
        return not any(
            _matches(path, pattern) and any(code.startswith(p) for p in codes)
            for pattern, codes in self.per_file_ignores.items()
        )

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (relative to the root) is excluded from the scan."""
        return any(_matches(path, pattern) for pattern in self.exclude)

    def is_streaming(self, path: str) -> bool:
        """Whether ``path`` belongs to a Lambda listed as streaming."""
        return any(_matches(path, pattern) for pattern in self.streaming)


def _validate_code(code: str) -> None:
    """Raise unless ``code`` is a rule's code or the prefix of one, in capitals.

    Checked against the registry's written-out ``CODES``, not ``RULES``: knowing a code must not import
    every analyser (a Python-only run loads the Python analyser alone).
    """
    from ._registry import CODES

    if (
        not isinstance(code, str)
        or not any(known.startswith(code.upper()) for known in CODES)
        or code != code.upper()
    ):
        raise ConfigError(f"unknown rule code or prefix {code!r} (see `xray-exclusive check --list-rules`)")


def _matches(path: str, pattern: str) -> bool:
    if not path:
        return False
    pattern = pattern.strip("/")
    pure = PurePosixPath(path)
    return any(fnmatch.fnmatchcase(str(p), pattern) for p in (pure, *pure.parents) if str(p) != ".")


def _strings(table: Mapping[str, object], key: str, source: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: [tool.xray-exclusive] {key} must be a list of strings")
    return tuple(value)


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = Path(tmp, "pyproject.toml").write_text("")
        ...     Path(tmp, "src").mkdir()
        ...     find_pyproject(Path(tmp, "src")) == Path(tmp, "pyproject.toml").resolve()
        True
    """
    start = start.resolve()
    for directory in (start, *start.parents) if start.is_dir() else start.parents:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(pyproject: Path | None) -> CheckConfig:
    """Read ``[tool.xray-exclusive]`` (no file, or no table: the defaults, rooted at the file's directory).

    Example:
        >>> load_config(None).select
        ('XE',)
    """
    if pyproject is None:
        return CheckConfig()
    try:
        content = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{pyproject}: {error}") from error
    if "xray-exclusive" not in content and "xray_exclusive" not in content:
        # No table of ours (nor a mention of the package): the defaults, without loading a TOML parser.
        return CheckConfig(root=pyproject.parent.resolve())
    import tomllib

    try:
        document = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject}: {error}") from error
    table = document.get("tool", {}).get("xray-exclusive", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.xray-exclusive] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{pyproject}: unknown [tool.xray-exclusive] keys {unknown}; known: {sorted(_KEYS)}"
        )
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{pyproject}: [tool.xray-exclusive.per-file-ignores] must be a table")
    return CheckConfig(
        select=_strings(table, "select", pyproject) or ("XE",),
        ignore=_strings(table, "ignore", pyproject),
        exclude=_strings(table, "exclude", pyproject),
        streaming=_strings(table, "streaming", pyproject),
        per_file_ignores={k: _strings(per_file, k, pyproject) for k in per_file},
        root=pyproject.parent.resolve(),
    )


def with_overrides(
    config: CheckConfig,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    streaming: Iterable[str] = (),
) -> CheckConfig:
    """The configuration with command-line options applied (``--select`` replaces, the others extend)."""
    select, ignore, streaming = tuple(select), tuple(ignore), tuple(streaming)
    return CheckConfig(
        select=select or config.select,
        ignore=config.ignore + ignore,
        exclude=config.exclude,
        streaming=config.streaming + streaming,
        per_file_ignores=config.per_file_ignores,
        root=config.root,
    )
