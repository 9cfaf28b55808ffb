"""ARCHITECTURE.md stays true: every path it names exists, and the core never imports an extra."""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "xray_exclusive"
EXTRAS = ("streaming", "runtime", "canary", "check", "render", "devtools")
_SUFFIXES = {".py", ".md", ".toml", ".go", ".mod", ".sum", ".yml", ".yaml", ".json", ".js", ".txt"}
_TOP = ("src/", "tests/", "docs/", "scripts/", "collector/", "examples/", "benchmarks/", "build/")


def _mentioned_paths(text: str) -> set[str]:
    """Every backticked token that is a path: a known suffix, a trailing slash, or a top-level folder."""
    found = set()
    for token in re.findall(r"`([^`\s]+)`", text):
        path = re.sub(r":\d+(-\d+)?$", "", token)  # file:line
        if path.endswith("/") or pathlib.PurePosixPath(path).suffix in _SUFFIXES or path.startswith(_TOP):
            found.add(path)
    return found


def test_every_path_architecture_md_names_exists() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    mentioned = _mentioned_paths(text)
    assert len(mentioned) > 40, "the path pattern no longer finds the paths"
    missing = sorted(p for p in mentioned if not (ROOT / p).exists() and not (PACKAGE / p).exists())
    assert missing == []


def test_every_line_number_architecture_md_gives_is_in_its_file() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    for path, line in re.findall(r"`([^`\s]+\.py):(\d+)`", text):
        file = ROOT / path if (ROOT / path).exists() else PACKAGE / path
        assert int(line) <= len(file.read_text().splitlines()), f"{path}:{line} is past the end of the file"


def test_every_room_of_the_package_is_in_architecture_md() -> None:
    mentioned = _mentioned_paths((ROOT / "ARCHITECTURE.md").read_text())
    rooms = {p.name for p in PACKAGE.glob("*.py")} | {f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir()}
    rooms -= {"__pycache__/", "py.typed"}
    assert sorted(rooms - mentioned) == []


def _imports(path: pathlib.Path) -> set[str]:
    """The absolute module names ``path`` imports (relative imports resolved)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1]  # the package a relative import starts from (for __init__.py: its own)
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
                names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
    return names


def test_the_core_never_imports_an_extra() -> None:
    core = [p for p in PACKAGE.glob("*.py") if p.name != "cli.py"] + list((PACKAGE / "_xray").glob("*.py"))
    offenders = sorted(
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in core
        for name in _imports(path)
        if name.split(".")[:2] in (["xray_exclusive", extra] for extra in EXTRAS)
    )
    assert offenders == []


def test_the_import_resolver_sees_a_relative_import_of_an_extra() -> None:
    # The arrow test above is only as good as _imports: it must resolve `from .streaming import x`.
    names = _imports(PACKAGE / "cli.py")
    assert any(name.startswith("xray_exclusive.check") for name in names)
