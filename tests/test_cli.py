"""The command line as a new user meets it: one line and exit 3 when it cannot run, helpful --help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xray_exclusive._exit import CANNOT_RUN, EXIT_TABLE
from xray_exclusive.cli import _parser, main

COMMANDS = [
    ["demo"],
    ["collect"],
    ["view"],
    ["check"],
    ["canary", "run"],
    ["render", "terraform"],
]


def run(
    code: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        ("opentelemetry", ["demo"], "streaming"),
        ("boto3", ["canary", "run", "--once"], "canary"),
    ],
)
def test_a_missing_extra_is_one_line_naming_the_install(
    blocked: str, argv: list[str], extra: str, tmp_path: Path
) -> None:
    # The module is made unimportable the way an environment without the extra is.
    result = run(
        f"import sys; sys.modules[{blocked!r}] = None\n"
        f"from xray_exclusive.cli import main; sys.exit(main({argv!r}))",
        env={"AWS_REGION": "eu-west-1"},
        cwd=tmp_path,
    )
    assert result.returncode == CANNOT_RUN, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"pip install 'xray-exclusive[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing was half done


def test_canary_without_a_region_says_how_to_set_one(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")
    }
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    result = subprocess.run(
        [sys.executable, "-m", "xray_exclusive.cli", "canary", "run", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == CANNOT_RUN
    assert "set AWS_REGION" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_usage_error_is_exit_3_not_a_command_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["canary", "run", "--interval", "soon"])
    assert exit_info.value.code == CANNOT_RUN
    assert "invalid float value: 'soon'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_every_command_has_a_description_an_example_and_the_exit_table(argv: list[str]) -> None:
    parser = _parser()
    for name in argv:  # walk down to the subcommand's own parser
        actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        parser = actions[0].choices[name]  # type: ignore[attr-defined]
    text = parser.format_help()
    assert parser.description, argv
    assert "examples:" in text and f"xray-exclusive {' '.join(argv)}" in text
    assert EXIT_TABLE.splitlines()[-1] in text
    for private in ("docs/", "FR-", "SC-", "FACTS", "the spec"):
        assert private not in text, (argv, private)
