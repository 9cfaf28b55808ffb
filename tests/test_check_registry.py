"""The rule registry and the analysers agree: every code an analyser emits is declared beside it, every
declared rule is emitted somewhere, and each rule's example files ship as package data."""

from __future__ import annotations

import ast
import re
from importlib import import_module
from pathlib import Path

import pytest

from xray_exclusive.check import RULES
from xray_exclusive.check._registry import ANALYSERS, CODES, rule

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "xray_exclusive" / "check"
CODE = re.compile(r"XE\d{3}")


def _emitted(module: str) -> set[str]:
    """The codes ``module``'s source emits: the literal codes passed to a ``hit(...)`` call, and the
    ``(code, line, col, detail)`` tuples built by hand (the Dockerfile analyser's)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    codes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "hit":
                codes.update(
                    a.value for a in node.args if isinstance(a, ast.Constant) and CODE.fullmatch(str(a.value))
                )
        elif isinstance(node, ast.Tuple) and len(node.elts) == 4:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and CODE.fullmatch(str(first.value)):
                codes.add(first.value)
    return codes


# A rule is declared by the analyser of its kind; these are also emitted by another kind's analyser.
ALSO_EMITTED_BY = {"_terraform": ["XE007"]}  # always_on set as OTEL_TRACES_SAMPLER in a Lambda's environment


@pytest.mark.parametrize("module", ANALYSERS)
def test_each_analyser_declares_exactly_the_rules_it_emits(module: str) -> None:
    emitted = _emitted(module)
    declared = {r.code for r in import_module(f"xray_exclusive.check.{module}").RULES}
    assert emitted, f"the hit() pattern no longer finds {module}'s emissions"
    assert sorted(emitted - declared) == ALSO_EMITTED_BY.get(module, []), f"{module} emits undeclared codes"
    assert sorted(declared - emitted) == [], f"{module} declares rules it never emits"
    kinds = {r.kind for r in import_module(f"xray_exclusive.check.{module}").RULES}
    assert kinds == {module.lstrip("_")}, "an analyser declares the rules of its own kind of file"


def test_the_registry_is_every_analysers_rules_in_code_order() -> None:
    declared = [r.code for module in ANALYSERS for r in import_module(f"xray_exclusive.check.{module}").RULES]
    assert len(declared) == len(set(declared)), "a code is declared twice"
    assert list(RULES) == sorted(declared)
    emitted = set().union(*map(_emitted, ANALYSERS))
    assert emitted == set(RULES)
    for code, declared_rule in RULES.items():
        assert rule(code) is declared_rule
        assert declared_rule.code == code


def test_the_written_out_codes_are_the_registrys() -> None:
    """``CODES`` (what a configured code is validated against, no analyser imported) is ``RULES``'s codes."""
    assert tuple(RULES) == CODES, "add the new rule's code to CODES in check/_registry.py"


def test_every_rule_has_its_two_example_files_and_no_other() -> None:
    examples = PACKAGE / "examples"
    found = sorted(p.relative_to(examples).as_posix() for p in examples.rglob("*") if p.is_file())
    expected = sorted(
        f"{code}/{which}/{r.filename}" for code, r in RULES.items() for which in ("bad", "good")
    )
    assert found == expected
    for r in RULES.values():
        assert r.bad.endswith("\n") and r.good.endswith("\n") and r.bad != r.good


@pytest.mark.parametrize(
    ("options", "pyproject"),
    [
        ([], None),
        (["--ignore", "XE010"], None),  # a configured code is validated without loading every analyser
        (["--select", "XE00", "--ignore", "XE06"], None),
        ([], '[tool.xray-exclusive]\nselect = ["XE0"]\nignore = ["XE010"]\n'),
    ],
    ids=["defaults", "ignore-option", "select-option", "pyproject"],
)
def test_a_run_over_python_files_loads_no_other_analyser(
    options: list[str], pyproject: str | None, tmp_path: Path
) -> None:
    import subprocess
    import sys

    (tmp_path / "app.py").write_text(
        "from aws_xray_sdk.core.async_context import AsyncContext\nAsyncContext()\n"
    )
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    code = (
        "import sys\nfrom xray_exclusive.cli import main\n"
        f"status = main(['check', '--format', 'json', *{options!r}, {str(tmp_path)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('xray_exclusive.'))\n"
        "print(status, loaded, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    status, _, printed = done.stderr.strip().rpartition("\n")[2].partition(" ")
    assert status == "1", done.stderr  # XE002 is still reported
    loaded = set(ast.literal_eval(printed))
    analysers = {f"xray_exclusive.check.{name}" for name in (*ANALYSERS, "_hcl", "_terraform_filter")}
    assert sorted(loaded & analysers) == ["xray_exclusive.check._python"]
    assert not loaded & {f"xray_exclusive.{extra}" for extra in ("canary", "devtools", "render")}
