"""Find the files, hand each to its analyser, apply the configuration and the suppressions."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from ._config import CheckConfig
from ._model import PARSE_ERROR, Finding, Hit, SourceFile
from ._registry import rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import _terraform
    from ._model import Kind

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
        "testdata",  # fixtures by convention (the go tool ignores such directories too): never deployed
    }
)
# The Python source of the libraries the rules are about (a checkout, or vendored into a deployment
# package): it implements what the rules judge in your code, and you cannot change it. Only their Python
# files are skipped: a directory of that name may hold your own configuration (deploy/opentelemetry/).
_LIBRARY_DIRS = frozenset({"aws_xray_sdk", "aws_lambda_powertools", "opentelemetry"})
# A collector configuration that one of these beside it names (mounts) runs as a Compose service: a
# container, not a Lambda extension.
_COMPOSE_FILES = frozenset({"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"})
_MISSING = {
    "collector": "pyyaml is not installed: pip install 'xray-exclusive[check]'",
}


class Report:
    """The outcome of one run: findings (rule violations), errors (unparsable files), files checked, notes.

    ``notes`` are values a rule would judge but cannot (not literals): reported, never judged, not in the
    status.

    Example:
        >>> Report().exit_code
        0
    """

    __slots__ = ("errors", "files", "findings", "notes")

    def __init__(
        self,
        findings: list[Finding] | None = None,
        errors: list[Finding] | None = None,
        files: int = 0,
        notes: list[Finding] | None = None,
    ) -> None:
        self.findings: list[Finding] = [] if findings is None else findings
        self.errors: list[Finding] = [] if errors is None else errors
        self.files = files
        self.notes: list[Finding] = [] if notes is None else notes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and (self.findings, self.errors, self.files, self.notes) == (
            other.findings,
            other.errors,
            other.files,
            other.notes,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Report(findings={self.findings!r}, errors={self.errors!r}, files={self.files!r}, "
            f"notes={self.notes!r})"
        )

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 a file could not be parsed."""
        return 2 if self.errors else 1 if self.findings else 0


def kind_of(path: Path | str) -> Kind | None:
    """Which analyser reads ``path``, from its name; ``None``: not ours.

    Example:
        >>> [kind_of(Path(n)) for n in ("a.py", "main.tf", "x.tf.json", "Dockerfile.sse", "c.yml", "a.txt")]
        ['python', 'terraform', 'terraform', 'dockerfile', 'collector', None]
    """
    lower = os.path.basename(path).lower()
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


class Candidate:
    """A file to check: where to read it, its path relative to the configuration's root, as shown, kind."""

    __slots__ = ("display", "kind", "path", "relative")

    def __init__(self, path: str, relative: str, display: str, kind: Kind) -> None:
        self.path = path
        self.relative = relative
        self.display = display
        self.kind: Kind = kind

    def __lt__(self, other: Candidate) -> bool:
        return (self.path, self.relative) < (other.path, other.relative)

    def __repr__(self) -> str:
        return f"Candidate({self.path!r}, {self.relative!r}, {self.display!r}, {self.kind!r})"


def _under(path: Path, base: Path) -> str | None:
    try:
        relative = path.relative_to(base).as_posix()
    except ValueError:
        return None
    return "" if relative == "." else relative


def _join(prefix: str, sub: str) -> str:
    return f"{prefix}/{sub}" if prefix and sub else prefix or sub


def discover(paths: Iterable[Path], config: CheckConfig) -> Iterator[Candidate]:
    """Every file under ``paths`` an analyser reads, hidden and vendored directories skipped, sorted.

    Each path given is resolved once; the files below it are named from there (no per-file ``resolve()``).
    """
    cwd = Path.cwd()
    seen: set[str] = set()
    excluded = config.excluded if config.exclude else None
    for path in paths:
        resolved = path.resolve()
        relative = _under(resolved, config.root)
        relative = path.as_posix() if relative is None else relative
        display = _under(resolved, cwd)
        display = path.as_posix() if display is None else display
        if path.is_file():
            kind = kind_of(path)
            if kind and str(resolved) not in seen:
                seen.add(str(resolved))
                yield Candidate(str(path), relative, display, kind)
            continue
        top = str(path)
        found: list[tuple[str, Candidate]] = []
        for directory, names, files in os.walk(top):
            sub = directory[len(top) :].strip(os.sep).replace(os.sep, "/")
            library = bool(sub) and not _LIBRARY_DIRS.isdisjoint(sub.split("/"))
            names[:] = sorted(
                n
                for n in names
                if n not in _SKIP_DIRS
                and not n.startswith(".")
                and not n.endswith(".egg-info")
                and not (excluded and excluded(_join(relative, _join(sub, n))))
            )
            for name in files:
                kind = kind_of(name)
                if kind is None or (library and kind == "python"):
                    continue
                inner = _join(sub, name)
                if excluded and excluded(_join(relative, inner)):
                    continue
                candidate = Candidate(
                    os.path.join(directory, name), _join(relative, inner), _join(display, inner), kind
                )
                found.append((inner, candidate))
        found.sort()
        for inner, candidate in found:
            key = f"{resolved}/{inner}"
            if key not in seen:
                seen.add(key)
                yield candidate


def check(paths: Iterable[Path | str], config: CheckConfig | None = None) -> Report:
    r"""Check files and directories; never raises on a file's content (unparsable files are errors).

    Each file first goes through its kind's textual pre-filter: a file that cannot hold anything a rule
    reads is counted as checked without being parsed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = Path(tmp, "app.py").write_text("import aws_xray_sdk.core as c\nc.AsyncContext()\n")
        ...     [f.code for f in check([tmp]).findings]
        ['XE002']
    """
    config = config or CheckConfig()
    collecting = gc.isenabled()
    gc.disable()  # the syntax trees are acyclic and freed by reference counting: no cycles to look for
    try:
        return _check(paths, config)
    finally:
        if collecting:
            gc.enable()


def _check(paths: Iterable[Path | str], config: CheckConfig) -> Report:
    report = Report()
    files: list[tuple[str, str, str, Kind, str]] = []
    for candidate in discover([Path(p) for p in paths], config):
        try:
            with open(candidate.path, encoding="utf-8") as stream:
                text = stream.read()
        except (OSError, UnicodeDecodeError) as error:
            report.errors.append(_error(candidate.display, 1, 1, f"cannot read: {error}"))
            continue
        files.append((candidate.path, candidate.relative, candidate.display, candidate.kind, text))
    streaming = streaming_modules([(rel, text) for _, rel, _, kind, text in files if kind == "python"])
    # Each directory's Compose files (they say which collector runs as a container) and .tf texts (the
    # variable defaults a Terraform note shows), in one pass.
    composed: dict[str, list[str]] = {}
    tf_texts: dict[str, list[str]] = {}
    for _, relative, _, kind, text in files:
        directory, _, name = relative.rpartition("/")
        if kind == "collector" and name.lower() in _COMPOSE_FILES:
            composed.setdefault(directory, []).append(text)
        elif kind == "terraform" and name.endswith(".tf"):
            tf_texts.setdefault(directory, []).append(text)
    terraform: list[_terraform.Resource] = []
    relative_of: dict[str, str] = {}
    for _path, relative, display, kind, text in files:
        source = SourceFile(display, text, streaming=relative in streaming or config.is_streaming(relative))
        if kind == "collector" and not source.streaming and _run_by_compose(relative, composed):
            continue  # a collector run by Compose (a configuration declared streaming is still checked)
        try:
            hits = _analyse(source, kind, relative, terraform)
        except SyntaxError as error:
            report.errors.append(
                _error(display, error.lineno or 1, error.offset or 1, f"syntax error: {error.msg}")
            )
            continue
        except ValueError as error:
            report.errors.append(_error(display, getattr(error, "line", 1), 1, f"cannot parse: {error}"))
            continue
        except ImportError as error:
            report.errors.append(_error(display, 1, 1, _MISSING.get(kind, f"missing dependency: {error}")))
            continue
        except Exception as error:  # a checker bug: that file is reported, the others are still checked
            report.errors.append(_error(display, 1, 1, f"internal error: {type(error).__name__}: {error}"))
            continue
        if hits is None:
            continue  # a YAML file that is not a collector configuration
        report.files += 1
        relative_of[display] = relative
        report.findings.extend(_keep(source, relative, hits, config))
    if terraform:
        _judge_terraform(terraform, relative_of, config, report, tf_texts)
    report.findings.sort()
    report.errors.sort()
    report.notes.sort()
    return report


def _judge_terraform(
    terraform: list[_terraform.Resource],
    relative_of: dict[str, str],
    config: CheckConfig,
    report: Report,
    texts: dict[str, list[str]],
) -> None:
    """The Terraform rules, over every directory's resources at once.

    A note on ``key = var.NAME`` also shows the variable's literal default, when the directory declares one
    (``texts``: each directory's ``.tf`` texts): what ``terraform apply`` uses unless it is given a value.
    """
    from . import _terraform

    by_path = {r.source.path: r.source for r in terraform}
    tf_hits, tf_notes = _terraform.analyse(terraform)
    for path_name, hit in tf_hits:
        report.findings.extend(_keep(by_path[path_name], relative_of[path_name], [hit], config))
    for path_name, (codes, line, col, detail) in tf_notes:
        wanted = [c.strip() for c in codes.split(",") if config.enabled(c.strip(), relative_of[path_name])]
        if wanted and not all(by_path[path_name].suppressed(line, c) for c in wanted):
            directory = relative_of[path_name].rpartition("/")[0]
            default = _terraform.variable_default(detail, texts.get(directory, ()))
            shown = f"; the variable's default here is {default}" if default else ""
            message = f"not judged by {', '.join(wanted)}: {detail} (not a literal{shown})"
            report.notes.append(Finding(path_name, line, col, "note", "note", message))


def _run_by_compose(relative: str, composed: dict[str, list[str]]) -> bool:
    r"""Whether a Compose file in the same directory names this configuration (mounts it into a service).

    Example:
        >>> compose = {"docker": ["volumes:\n  - ./config.yaml:/etc/otel.yaml\n"]}
        >>> _run_by_compose("docker/config.yaml", compose), _run_by_compose("docker/other.yaml", compose)
        (True, False)
    """
    directory, _, name = relative.rpartition("/")
    return any(name in text for text in composed.get(directory, ()))


def _analyse(
    source: SourceFile, kind: Kind, relative: str, terraform: list[_terraform.Resource]
) -> list[Hit] | None:
    """One file's hits (Terraform resources are collected for the run's stacks; None: not ours).

    Each analyser is imported the first time a file of its kind needs it.
    """
    text = source.text
    if kind == "python":
        from . import _python

        return _python.analyse(source) if _python.needs_parse(text, source.streaming) else []
    if kind == "dockerfile":
        from . import _dockerfile

        return _dockerfile.analyse(source) if _dockerfile.needs_parse(text, source.streaming) else []
    if kind == "collector":
        from . import _collector

        return _collector.analyse(source)
    from ._terraform_filter import needs_parse

    if needs_parse(text):  # the analyser itself is imported only for a file that passes
        from . import _terraform

        directory = PurePosixPath(relative).parent.as_posix()
        terraform.extend(_terraform.parse(source, directory))
    return []


def streaming_modules(python: list[tuple[str, str]]) -> set[str]:
    r"""The Python files (relative paths) that are streaming Lambdas by what they import.

    A file that imports OpenTelemetry or the library's streaming parts at module level is one, and so is a
    file that imports such a local module (a ``tracing.py`` wrapper), transitively.

    Example:
        >>> sorted(streaming_modules([("a/tracing.py", "from opentelemetry import trace\n"),
        ...     ("a/app.py", "from tracing import tracer\n"), ("b/app.py", "import json\n")]))
        ['a/app.py', 'a/tracing.py']
    """
    if not python:
        return set()
    from . import _python

    streaming = {relative for relative, text in python if _python.streams_directly(text)}
    if not streaming:
        return streaming
    names = {_module_name(relative) for relative in streaming}
    changed = True
    while changed:
        changed = False
        for relative, text in python:
            if relative in streaming or not any(name in text for name in names):
                continue
            if any(_resolves(relative, imported, streaming) for imported in _python.module_imports(text)):
                streaming.add(relative)
                names.add(_module_name(relative))
                changed = True
    return streaming


def _module_name(relative: str) -> str:
    path = PurePosixPath(relative)
    return path.parent.name if path.name == "__init__.py" else path.stem


def _resolves(relative: str, imported: str, modules: set[str]) -> bool:
    """Whether ``imported`` (as written in the file at ``relative``) is one of ``modules``."""
    directory = PurePosixPath(relative).parent
    dotted = imported.lstrip(".")
    parts = dotted.split(".") if dotted else []
    level = len(imported) - len(dotted)
    if level:
        base = directory
        for _ in range(level - 1):
            base = base.parent
        candidates = [base.joinpath(*parts)] if parts else []
    else:
        candidates = [ancestor.joinpath(*parts) for ancestor in (directory, *directory.parents)]
    return any(
        f"{c.as_posix()}.py" in modules or f"{c.as_posix()}/__init__.py" in modules for c in candidates
    )


def _error(path: str, line: int, col: int, message: str) -> Finding:
    return Finding(path, line, col, PARSE_ERROR, "error", message)


def _keep(source: SourceFile, relative: str, hits: Iterable[Hit], config: CheckConfig) -> Iterator[Finding]:
    for code, line, col, detail in hits:
        if not config.enabled(code, relative) or source.suppressed(line, code):
            continue
        declared = rule(code)
        message = f"{declared.message} [{detail}]" if detail else declared.message
        yield Finding(source.path, line, col, code, declared.severity, message)
