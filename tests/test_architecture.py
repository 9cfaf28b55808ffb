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
    # The arrow test above is only as good as _imports: it must resolve `from ..cli import main`.
    names = _imports(PACKAGE / "check" / "__main__.py")
    assert "xray_exclusive.cli.main" in names


# -- no import cycle ------------------------------------------------------------------------------


def _modules() -> dict[str, pathlib.Path]:
    """Every module of the package by dotted name (the checker's example files are data, not modules)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix().startswith("check/examples/"):
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _edges(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    """The package's modules that ``path`` imports, at module level or inside a function.

    ``from . import x`` counts as an import of module ``x`` when there is one, else of the package.
    Imports under ``if TYPE_CHECKING:`` never run and do not count, nor does the implicit import of a
    module's parent packages (every submodule "imports" its ``__init__``), nor a name imported later
    with ``importlib.import_module`` (the command table of ``cli.py``, the root's lazy re-exports).
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for statement in child.orelse:
                    visit(statement)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    module = ".".join([*base, child.module] if child.module else base)
                else:
                    module = child.module or ""
                for alias in child.names:
                    sub = f"{module}.{alias.name}"
                    found.add(sub if sub in modules else module)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in modules and m != name}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (a depth-first search), or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def search(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph[node]):
            if state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            if successor not in state:
                found = search(successor)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = search(node)
            if found:
                return found
    return []


def test_the_import_graph_has_no_cycle() -> None:
    modules = _modules()
    graph = {name: _edges(name, path, modules) for name, path in modules.items()}
    assert sum(map(len, graph.values())) > 100, "the resolver no longer finds the imports"
    assert " -> ".join(_cycle(graph)) == ""


def test_the_cycle_search_finds_a_function_level_cycle() -> None:
    # The test above is only as good as _edges and _cycle: a cycle closed by an import inside a function
    # (the one check/_cli.py and cli.py had) must be found.
    assert _cycle({"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}}) == ["p.a", "p.b", "p.c", "p.a"]
    assert _cycle({"p.a": {"p.b"}, "p.b": set()}) == []
    modules = _modules()
    edges = _edges("xray_exclusive.check._cli", modules["xray_exclusive.check._cli"], modules)
    assert "xray_exclusive.check._run" in edges  # imported inside run_check()
    assert "xray_exclusive.check._registry" not in edges  # only under TYPE_CHECKING, if at all


# Private names of our dependencies (and CPython's), read only in `_compat/`; each is an attribute, a
# getattr string, or part of a string match. `self._queue` and the like are ours: only other bases count.
# The checker (`check/`) names dependency APIs as data, to recognise them in the user's code: its strings
# are not reads.
_DEPENDENCY_PRIVATES = {
    "_batch_processor", "_queue", "_PATCHED_MODULES", "_local", "_context", "_data", "encodekey",
    "__closure__", "cell_contents", "_lambda", "_shared_internal",
    "_signal", "_socket", "_json", "_ast",  # CPython's C modules, by any means of import
    "c_make_encoder",  # json.encoder's C encoder factory (undocumented)
}  # fmt: skip
_DEPENDENCY_STRINGS = ("remoteParentNotSampled", "AlwaysOnSampler", "aws_lambda_powertools.tracing.tracer")
_DEPENDENCIES = ("opentelemetry", "aws_xray_sdk", "aws_lambda_powertools", "botocore", "awslambdaric")


def _private_uses(path: pathlib.Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        where = f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and node.attr in _DEPENDENCY_PRIVATES:
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{where} .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and path.parent.name != "check":
            if node.value in _DEPENDENCY_PRIVATES or any(s in node.value for s in _DEPENDENCY_STRINGS):
                found.append(f"{where} {node.value[:60]!r}")
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            parts = node.module.split(".")
            private = any(p.startswith("_") for p in parts) or any(a.name.startswith("_") for a in node.names)
            if (parts[0] in _DEPENDENCIES and private) or (
                parts[0].startswith("_") and parts[0] != "__future__"
            ):
                found.append(f"{where} from {node.module} import ...")
        elif isinstance(node, ast.Import):
            # An interpreter's private module (`_ast`, `_thread`...): ours are imported relatively.
            # `_thread` is documented (the low-level threading API).
            private = [a.name for a in node.names if a.name.startswith("_") and a.name != "_thread"]
            found += [f"{where} import {name}" for name in private]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "__new__":
            found.append(f"{where} .__new__()")
    return found


def test_no_private_name_of_a_dependency_outside_compat() -> None:
    compat = PACKAGE / "_compat"
    offenders = [
        use
        for path in sorted(PACKAGE.rglob("*.py"))
        if compat not in path.parents and "examples" not in path.parts
        for use in _private_uses(path)
    ]
    assert offenders == [], "move these into _compat/ (ARCHITECTURE.md, 'Dependencies' internals we touch')"


def test_the_private_name_scan_finds_what_it_looks_for() -> None:
    found = [
        use.split(" ", 1)[1]
        for path in sorted((PACKAGE / "_compat").glob("*.py"))
        for use in _private_uses(path)
    ]
    for expected in (
        ".__closure__", "'_PATCHED_MODULES'", "'_local'", ".__new__()", "'_batch_processor'", "import _ast",
        "from _signal import ...", "'c_make_encoder'",
    ):  # fmt: skip
        assert expected in found, expected
