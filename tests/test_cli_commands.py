"""Each command registers itself (HELP, add_arguments, run) and the root imports only the one asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from xray_exclusive.cli import _COMMANDS, _parser

COMMAND_MODULES = sorted(set(_COMMANDS.values()))


@pytest.mark.parametrize("path", COMMAND_MODULES)
def test_every_command_module_declares_help_arguments_and_run(path: str) -> None:
    module = import_module(path)
    assert isinstance(module.HELP, str) and module.HELP
    assert callable(module.add_arguments) and callable(module.run)


def test_the_table_is_the_parser() -> None:
    actions = [a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction"]
    assert list(actions[0].choices) == list(_COMMANDS)  # type: ignore[attr-defined]


def _loaded_after(code: str, cwd: Path) -> set[str]:
    """The modules a fresh interpreter holds after ``code``."""
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _main(argv: list[str]) -> str:
    return (
        "import contextlib, io\nfrom xray_exclusive.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({argv!r})\n"
        "    except SystemExit:\n        pass\n"
    )


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["check", "."], {"xray_exclusive.check._cli"}),
        (["--version"], set()),
        (["check", "--list-rules"], {"xray_exclusive.check._cli"}),
    ],
)
def test_only_the_command_asked_for_is_imported(argv: list[str], wanted: set[str], tmp_path: Path) -> None:
    loaded = _loaded_after(_main(argv), tmp_path)
    assert set(COMMAND_MODULES) & loaded == wanted
    for other in ("canary", "devtools", "render"):
        assert f"xray_exclusive.{other}" not in loaded


def test_a_check_run_imports_no_typing_dataclasses_tomllib_or_shutil(tmp_path: Path) -> None:
    # What the interpreter loads by itself here (a coverage hook, say) is not the checker's doing.
    (tmp_path / "app.py").write_text("import json\n")
    before = _loaded_after("", tmp_path)
    after = _loaded_after(_main(["check", "--format", "json", "."]), tmp_path)
    assert "xray_exclusive.check._python" in after
    assert sorted({"typing", "dataclasses", "inspect", "tomllib", "shutil"} & (after - before)) == []
