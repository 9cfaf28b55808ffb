"""Output formats: ruff-like text, JSON, SARIF 2.1.0; the rule list; the rules' documentation page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote  # pathlib imports it anyway

from . import _registry
from ._model import PARSE_ERROR, Finding, Rule
from ._registry import rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS_URL = "https://github.com/xray-exclusive/xray-exclusive/blob/main/docs/check-rules.md"


def text(findings: list[Finding], errors: list[Finding], files: int, notes: Sequence[Finding] = ()) -> str:
    """One ``path:line:col: CODE message`` line per finding, then the notes, then a summary.

    A note (``path:line:col: note: ...``) is a value a rule would judge but cannot: it is not a literal.

    Example:
        >>> print(text([Finding("a.py", 1, 1, "XE002", "error", "AsyncContext configured")], [], 3))
        a.py:1:1: XE002 AsyncContext configured
        Found 1 finding (1 error, 0 warnings) in 3 files checked.
    """
    lines = [f.text() for f in sorted([*errors, *findings])]
    lines += [f"{n.path}:{n.line}:{n.col}: note: {n.message}" for n in notes]
    errors_count = sum(f.severity == "error" for f in findings)
    noun = "finding" if len(findings) == 1 else "findings"
    summary = (
        f"Found {len(findings)} {noun} ({errors_count} error{'' if errors_count == 1 else 's'}, "
        f"{len(findings) - errors_count} warning{'' if len(findings) - errors_count == 1 else 's'}) "
        f"in {files} file{'' if files == 1 else 's'} checked."
        if findings
        else f"All checks passed ({files} file{'' if files == 1 else 's'} checked)."
    )
    if errors:
        summary += f" {len(errors)} file{'' if len(errors) == 1 else 's'} could not be parsed."
    if notes:
        summary += f" {len(notes)} value{'' if len(notes) == 1 else 's'} not judged (not literals)."
    return "\n".join([*lines, summary])


def as_json(findings: list[Finding], errors: list[Finding]) -> str:
    """A JSON array, one object per finding or parse error, sorted by place.

    Example:
        >>> import json
        >>> json.loads(as_json([Finding("a.py", 2, 5, "XE002", "error", "m")], []))[0]["name"]
        'xray-async-context'
    """
    items = [
        {
            "code": f.code,
            "name": rule(f.code).name if f.code != PARSE_ERROR else "parse-error",
            "severity": f.severity,
            "message": f.message,
            "path": f.path,
            "line": f.line,
            "column": f.col,
        }
        for f in sorted([*errors, *findings])
    ]
    return _dumps(items)


def _dumps(items: list[dict[str, object]]) -> str:
    r"""``json.dumps(items, indent=2)`` for a list of flat objects of strings and integers, byte for byte.

    The same string encoder as ``json`` (``_json``'s, ASCII-only), without importing the ``json`` package
    (its decoder and scanner): a millisecond of a run's start-up. Any other value: ``json.dumps`` itself.

    Example:
        >>> import json
        >>> items = [{"a": "é\n\"", "b": 3}, {"c": -1}]
        >>> _dumps(items) == json.dumps(items, indent=2), _dumps([])
        (True, '[]')
    """
    plain = all(item and all(type(v) is str or type(v) is int for v in item.values()) for item in items)
    from .._compat.cmodules import json_quote

    quote = json_quote()
    if not plain:
        import json

        return json.dumps(items, indent=2)
    if not items:
        return "[]"
    objects = [
        "  {\n    "
        + ",\n    ".join(
            f"{quote(key)}: {quote(value) if isinstance(value, str) else repr(value)}"
            for key, value in item.items()
        )
        + "\n  }"
        for item in items
    ]
    return "[\n" + ",\n".join(objects) + "\n]"


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.message},
        "fullDescription": {"text": rule.rationale},
        "helpUri": f"{DOCS_URL}#{rule.code.lower()}-{rule.name}",
        "help": {"text": f"{rule.message}. {rule.rationale}"},
        "defaultConfiguration": {"level": rule.severity},
        "properties": {"tags": [rule.kind]},
    }


def artifact_location(path: str, root: Path) -> dict[str, str]:
    """A SARIF artifact location: a percent-encoded URI.

    Relative to ``%SRCROOT%`` (``root``) when the file is below it, an absolute ``file://`` URI otherwise.

    Example:
        >>> artifact_location("lambdas/my app/h#1.py", Path("/repo"))
        {'uri': 'lambdas/my%20app/h%231.py', 'uriBaseId': '%SRCROOT%'}
        >>> artifact_location("/elsewhere/a.py", Path("/repo"))
        {'uri': 'file:///elsewhere/a.py'}
    """
    absolute = Path(path) if Path(path).is_absolute() else root / path
    try:
        relative = absolute.relative_to(root).as_posix()
    except ValueError:
        return {"uri": "file://" + quote(absolute.as_posix())}
    return {"uri": quote(relative), "uriBaseId": "%SRCROOT%"}


def _location(f: Finding, root: Path) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": artifact_location(f.path, root),
            "region": {"startLine": f.line, "startColumn": f.col},
        }
    }


def sarif(
    findings: list[Finding],
    errors: list[Finding],
    version: str,
    notes: Sequence[Finding] = (),
    root: Path | None = None,
) -> str:
    """A SARIF 2.1.0 log (GitHub code scanning): every rule, each finding, notifications.

    Parse errors and values not judged are notifications. ``%SRCROOT%`` is ``root`` (default: the current
    directory), which the paths of the findings are relative to.

    Example:
        >>> import json
        >>> log = json.loads(sarif([Finding("a.py", 2, 5, "XE002", "error", "m")], [], "0.1.0"))
        >>> log["version"], log["runs"][0]["results"][0]["ruleId"]
        ('2.1.0', 'XE002')
    """
    root = (root or Path.cwd()).resolve()
    rules = list(_registry.RULES.values())
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": f.severity,
            "message": {"text": f.message},
            "locations": [_location(f, root)],
        }
        for f in sorted(findings)
    ]
    notifications = [
        {
            "descriptor": {"id": PARSE_ERROR if f in errors else "not-judged"},
            "level": "error" if f in errors else "note",
            "message": {"text": f.message},
            "locations": [_location(f, root)],
        }
        for f in [*sorted(errors), *notes]
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "xray-exclusive",
                "version": version,
                "informationUri": DOCS_URL,
                "rules": [_sarif_rule(rule) for rule in rules],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
        "results": results,
        "invocations": [{"executionSuccessful": not errors, "toolExecutionNotifications": notifications}],
    }
    import json

    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def rule_list() -> str:
    """``--list-rules``: code, severity, kind, name and message, one rule per line.

    Example:
        >>> rule_list().splitlines()[0].split()[:3]
        ['XE001', 'error', 'python']
    """
    return "\n".join(
        f"{r.code}  {r.severity:<7}  {r.kind:<10}  {r.name}: {r.message}" for r in _registry.RULES.values()
    )


_FENCE = {"python": "python", "terraform": "hcl", "dockerfile": "dockerfile", "collector": "yaml"}


def rules_markdown() -> str:
    """The body of ``docs/check-rules.md``: each rule with its message, rationale, a bad and a good example.

    Example:
        >>> "## XE001 otel-aws-sdk-instrumentation" in rules_markdown()
        True
    """
    parts = [
        "<!-- Generated by `python -m xray_exclusive.check --rules-markdown`; a test keeps it current. -->",
        "# Checker rules",
        "",
        "Every rule of `xray-exclusive check` (see [the checker](checker.md)), with why it matters, an "
        "example that raises it and the fix. `XE000` is not a rule: it marks a file that could not be read "
        "or parsed (exit status 2).",
        "",
        "| Code | Name | Severity | File kind |",
        "|---|---|---|---|",
        *(
            f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.severity} | {r.kind} |"
            for r in _registry.RULES.values()
        ),
    ]
    for r in _registry.RULES.values():
        fence = _FENCE[r.kind]
        scope = " Only in streaming Lambdas." if r.streaming_only else ""
        parts += [
            "",
            f"## {r.code} {r.name}",
            "",
            f"**{r.severity}** · {r.kind}.{scope}",
            "",
            f"{r.message[0].upper()}{r.message[1:]}.",
            "",
            r.rationale,
            "",
            f"Bad (`{r.filename}`):",
            "",
            f"```{fence}",
            r.bad.rstrip("\n"),
            "```",
            "",
            f"Good (`{r.filename}`):",
            "",
            f"```{fence}",
            r.good.rstrip("\n"),
            "```",
        ]
    return "\n".join(parts) + "\n"
