"""Find the files, hand each to its analyser, apply the configuration and the suppressions."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import _collector, _dockerfile, _python, _terraform
from ._config import CheckConfig
from ._model import PARSE_ERROR, Finding, Kind, SourceFile
from ._rules import RULES

_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".terraform",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "build",
        "dist",
        "site-packages",
    }
)
_MISSING = {
    "terraform": "python-hcl2 is not installed: pip install 'xray-exclusive[check]'",
    "collector": "pyyaml is not installed: pip install 'xray-exclusive[check]'",
}


@dataclass
class Report:
    """The outcome of one run: findings (rule violations), errors (unparsable files), files checked.

    Example:
        >>> Report().exit_code
        0
    """

    findings: list[Finding] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    files: int = 0

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 a file could not be parsed."""
        return 2 if self.errors else 1 if self.findings else 0


def kind_of(path: Path) -> Kind | None:
    """Which analyser reads ``path``, from its name; ``None``: not ours.

    Example:
        >>> [kind_of(Path(n)) for n in ("a.py", "main.tf", "x.tf.json", "Dockerfile.sse", "c.yml", "a.txt")]
        ['python', 'terraform', 'terraform', 'dockerfile', 'collector', None]
    """
    name = path.name
    lower = name.lower()
    if lower.endswith(".py"):
        return "python"
    if lower.endswith((".tf", ".tf.json")):
        return "terraform"
    if (
        lower in ("dockerfile", "containerfile")
        or lower.startswith("dockerfile.")
        or lower.endswith(".dockerfile")
    ):
        return "dockerfile"
    if lower.endswith((".yaml", ".yml")):
        return "collector"
    return None


def discover(paths: Iterable[Path], config: CheckConfig) -> Iterator[Path]:
    """Every file under ``paths`` an analyser reads, hidden and vendored directories skipped, sorted."""
    seen: set[Path] = set()
    for path in paths:
        if path.is_file():
            if kind_of(path) and path not in seen:
                seen.add(path)
                yield path
            continue
        found: list[Path] = []
        for directory, names, files in os.walk(path):
            names[:] = sorted(
                n
                for n in names
                if n not in _SKIP_DIRS
                and not n.startswith(".")
                and not n.endswith(".egg-info")
                and not config.excluded(_relative(Path(directory, n), config.root))
            )
            for name in files:
                candidate = Path(directory, name)
                if kind_of(candidate) and not config.excluded(_relative(candidate, config.root)):
                    found.append(candidate)
        for candidate in sorted(found):
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def check(paths: Iterable[Path | str], config: CheckConfig | None = None) -> Report:
    r"""Check files and directories; never raises on a file's content (unparsable files are errors).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = Path(tmp, "app.py").write_text("import aws_xray_sdk.core as c\nc.AsyncContext()\n")
        ...     [f.code for f in check([tmp]).findings]
        ['XE002']
    """
    config = config or CheckConfig()
    report = Report()
    terraform: list[_terraform.Resource] = []
    for path in discover([Path(p) for p in paths], config):
        relative = _relative(path, config.root)
        display = _display(path)
        kind = kind_of(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            report.errors.append(_error(display, 1, 1, f"cannot read: {error}"))
            continue
        source = SourceFile(display, text, streaming=config.is_streaming(relative))
        try:
            if kind == "python":
                hits = _python.analyse(source)
            elif kind == "dockerfile":
                hits = _dockerfile.analyse(source)
            elif kind == "collector":
                collector_hits = _collector.analyse(source)
                if collector_hits is None:
                    continue  # a YAML file, not a collector configuration
                hits = collector_hits
            else:
                terraform.extend(_terraform.parse(source))
                report.files += 1
                continue
        except SyntaxError as error:
            report.errors.append(
                _error(display, error.lineno or 1, error.offset or 1, f"syntax error: {error.msg}")
            )
            continue
        except ValueError as error:
            report.errors.append(_error(display, 1, 1, f"cannot parse: {error}"))
            continue
        except ImportError:
            report.errors.append(_error(display, 1, 1, _MISSING[str(kind)]))
            continue
        report.files += 1
        report.findings.extend(_keep(source, relative, hits, config))
    by_path = {r.source.path: r.source for r in terraform}
    relative_of = {r.source.path: _relative(Path(r.source.path), config.root) for r in terraform}
    tf_hits = _terraform.analyse(terraform)
    for path_name in sorted({hit[0] for hit in tf_hits}):
        mine = [hit[1:] for hit in tf_hits if hit[0] == path_name]
        report.findings.extend(_keep(by_path[path_name], relative_of[path_name], mine, config))
    report.findings.sort()
    report.errors.sort()
    return report


def _error(path: str, line: int, col: int, message: str) -> Finding:
    return Finding(path, line, col, PARSE_ERROR, "error", message)


def _keep(
    source: SourceFile, relative: str, hits: Iterable[tuple[str, int, int, str]], config: CheckConfig
) -> Iterator[Finding]:
    for code, line, col, detail in hits:
        if not config.enabled(code, relative) or source.suppressed(line, code):
            continue
        rule = RULES[code]
        message = f"{rule.message} [{detail}]" if detail else rule.message
        yield Finding(source.path, line, col, code, rule.severity, message)
