"""check: every rule's bad example raises exactly it and its good example nothing; the broken fleet's exact
findings; suppressions, configuration, exit codes, JSON/SARIF/text output, and the command line."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xray_exclusive._exit import CANNOT_RUN
from xray_exclusive.check import (
    PARSE_ERROR,
    RULES,
    CheckConfig,
    ConfigError,
    check,
    kind_of,
    load_config,
    rules_markdown,
    sarif,
)
from xray_exclusive.check._model import SourceFile
from xray_exclusive.check._python import _valid_key
from xray_exclusive.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
FLEET = Path(__file__).parent / "fixtures" / "broken_fleet"


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _codes(directory: Path) -> list[str]:
    report = check([directory], CheckConfig(root=directory))
    assert not report.errors, report.errors
    return [f.code for f in report.findings]


# -- every rule: its own examples ------------------------------------------------------------------


@pytest.mark.parametrize("code", list(RULES))
def test_bad_example_raises_exactly_its_rule(code: str, tmp_path: Path) -> None:
    rule = RULES[code]
    _write(tmp_path, rule.filename, rule.bad)
    assert set(_codes(tmp_path)) == {code}


@pytest.mark.parametrize("code", list(RULES))
def test_good_example_is_clean(code: str, tmp_path: Path) -> None:
    rule = RULES[code]
    _write(tmp_path, rule.filename, rule.good)
    assert _codes(tmp_path) == []


STREAMING_BY_NAME = {"XE001", "XE003", "XE008", "XE015"}  # found without resolving OpenTelemetry


@pytest.mark.parametrize("code", [c for c, r in RULES.items() if r.streaming_only and r.kind == "python"])
def test_streaming_only_rules_need_a_streaming_lambda(code: str, tmp_path: Path) -> None:
    """The same code in a module that imports neither OpenTelemetry nor the streaming helpers is left alone,
    unless the configuration lists it as a streaming Lambda."""
    bad = RULES[code].bad
    source = bad.replace("from opentelemetry", "from otel_lookalike").replace(
        "from xray_exclusive.streaming", "from lookalike"
    )
    assert source != bad
    _write(tmp_path, "handler.py", source)
    assert code not in _codes(tmp_path)
    report = check([tmp_path], CheckConfig(root=tmp_path, streaming=("handler.py",)))
    assert (code in [f.code for f in report.findings]) == (code in STREAMING_BY_NAME)


# -- the broken fleet: the exact set -------------------------------------------------------------

EXPECTED_FLEET = {
    ("infra/alarms.tf.json", 4, "XE026"),
    ("infra/alarms.tf.json", 16, "XE029"),
    ("infra/alarms.tf.json", 28, "XE025"),
    ("infra/collector.yml", 12, "XE050"),
    ("infra/collector.yml", 13, "XE062"),
    ("infra/lambdas.tf", 1, "XE023"),
    ("infra/lambdas.tf", 12, "XE021"),
    ("infra/lambdas.tf", 13, "XE007"),
    ("infra/lambdas.tf", 18, "XE027"),
    ("infra/lambdas.tf", 18, "XE028"),
    ("infra/lambdas.tf", 25, "XE023"),
    ("infra/lambdas.tf", 29, "XE022"),
    ("infra/lambdas.tf", 36, "XE024"),
    ("infra/lambdas.tf", 38, "XE020"),
    ("infra/lambdas.tf", 43, "XE031"),
    ("infra/lambdas.tf", 50, "XE030"),
    ("infra/lambdas.tf", 63, "XE027"),  # module "worker": the Lambda module is a function like the resource
    ("infra/lambdas.tf", 63, "XE028"),
    ("infra/lambdas.tf", 72, "XE061"),
    ("ingestion/app.py", 6, "XE012"),
    ("ingestion/app.py", 9, "XE009"),
    ("ingestion/app.py", 10, "XE002"),
    ("ingestion/app.py", 13, "XE011"),
    ("ingestion/app.py", 17, "XE010"),
    ("ingestion/app.py", 22, "XE003"),
    ("ingestion/app.py", 31, "XE013"),
    ("ingestion/app.py", 32, "XE014"),
    ("sse/Dockerfile", 2, "XE040"),
    ("sse/Dockerfile", 2, "XE041"),
    ("sse/Dockerfile", 7, "XE063"),
    ("sse/collector.yaml", 5, "XE054"),
    ("sse/collector.yaml", 16, "XE054"),
    ("sse/collector.yaml", 22, "XE052"),
    ("sse/collector.yaml", 23, "XE051"),
    ("sse/collector.yaml", 24, "XE053"),
    ("sse/collector.yaml", 25, "XE054"),
    ("sse/handler.py", 9, "XE008"),
    ("sse/handler.py", 10, "XE001"),
    ("sse/handler.py", 11, "XE004"),
    ("sse/handler.py", 15, "XE005"),
    ("sse/handler.py", 15, "XE006"),
    ("sse/handler.py", 15, "XE007"),
    ("sse/handler.py", 18, "XE003"),
    ("sse/handler.py", 24, "XE015"),
    ("sse/handler.py", 39, "XE060"),
}


def _fleet_findings(report: Any) -> set[tuple[str, int, str]]:
    prefix = FLEET.relative_to(ROOT).as_posix() + "/"
    return {(f.path.removeprefix(prefix), f.line, f.code) for f in report.findings}


def test_broken_fleet_exact_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report = check([FLEET], load_config(FLEET / "pyproject.toml"))
    assert _fleet_findings(report) == EXPECTED_FLEET
    assert report.errors == [] and report.files == 8 and report.exit_code == 1
    assert set(RULES) <= {code for _, _, code in EXPECTED_FLEET}  # every rule fires somewhere


def test_broken_fleet_through_the_command_line_json(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """The nearest pyproject.toml (the fleet's own) is found from the path given."""
    monkeypatch.chdir(ROOT)
    assert cli_main(["check", "--format", "json", str(FLEET.relative_to(ROOT))]) == 1
    items = json.loads(capsys.readouterr().out)
    prefix = FLEET.relative_to(ROOT).as_posix() + "/"
    assert {(i["path"].removeprefix(prefix), i["line"], i["code"]) for i in items} == EXPECTED_FLEET
    first = items[0]
    assert set(first) == {"code", "name", "severity", "message", "path", "line", "column"}
    assert first["name"] == RULES[first["code"]].name


def test_examples_and_the_package_are_clean(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.chdir(ROOT)
    assert cli_main(["check", "examples", "src"]) == 0
    assert capsys.readouterr().out.startswith("All checks passed")


# -- suppression, configuration -----------------------------------------------------------------

ASYNC_CONTEXT = "from aws_xray_sdk.core.async_context import AsyncContext\n"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("x = AsyncContext()  # xe: ignore[XE002]\n", False),
        ("x = AsyncContext()  # xe: ignore[XE001, xe002]\n", False),
        ("x = AsyncContext()  # xe: ignore\n", False),
        ("# xe: ignore[XE002] the loop is the handler's own\nx = AsyncContext()\n", False),
        ("x = AsyncContext()  # xe: ignore[XE001]\n", True),
        ("y = 1  # xe: ignore[XE002]\nx = AsyncContext()\n", True),  # only a comment line counts above
        ("# xe: ignore[XE002]\n\nx = AsyncContext()\n", True),
    ],
)
def test_line_suppression(text: str, kept: bool, tmp_path: Path) -> None:
    _write(tmp_path, "app.py", ASYNC_CONTEXT + text)
    assert _codes(tmp_path) == (["XE002"] if kept else [])


def test_suppression_in_terraform_dockerfile_and_yaml(tmp_path: Path) -> None:
    for code in ("XE020", "XE040", "XE051"):
        rule = RULES[code]
        _write(tmp_path / code, rule.filename, rule.bad)
        [finding] = check([tmp_path / code], CheckConfig(root=tmp_path)).findings
        lines = rule.bad.splitlines()
        lines[finding.line - 1] += f"  # xe: ignore[{code}]"
        _write(tmp_path / code, rule.filename, "\n".join(lines) + "\n")
        assert _codes(tmp_path / code) == []


def test_pyproject_select_ignore_exclude_streaming(tmp_path: Path) -> None:
    _write(tmp_path, "lambdas/a/app.py", ASYNC_CONTEXT + "x = AsyncContext()\n")
    _write(tmp_path, "lambdas/sse/app.py", "from aws_lambda_powertools import Tracer\ntracer = Tracer()\n")
    _write(tmp_path, "vendor/lib.py", ASYNC_CONTEXT + "x = AsyncContext()\n")
    _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "fleet"\n\n'
        '[tool.xray-exclusive]\nstreaming = ["lambdas/sse"]\nexclude = ["vendor"]\n',
    )
    config = load_config(tmp_path / "pyproject.toml")
    found = {(f.path.split("/")[-2], f.code) for f in check([tmp_path], config).findings}
    assert found == {("a", "XE002"), ("sse", "XE008")}
    _write(tmp_path, "pyproject.toml", '[tool.xray-exclusive]\nselect = ["XE00"]\nignore = ["XE002"]\n')
    config = load_config(tmp_path / "pyproject.toml")
    assert [f.code for f in check([tmp_path], config).findings] == []  # XE008: not streaming now
    _write(tmp_path, "pyproject.toml", '[tool.xray-exclusive.per-file-ignores]\n"vendor/*" = ["XE002"]\n')
    found = {
        (f.path.split("/")[-2], f.code)
        for f in check([tmp_path], load_config(tmp_path / "pyproject.toml")).findings
    }
    assert found == {("a", "XE002")}


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ('select = ["XE999"]', "unknown rule code"),
        ('ignore = ["xe002"]', "unknown rule code"),
        ('selct = ["XE001"]', "unknown [tool.xray-exclusive] keys ['selct']"),
        ('streaming = "lambdas/sse"', "must be a list of strings"),
        ("per-file-ignores = 3", "must be a table"),
    ],
)
def test_bad_configuration_is_a_usage_error(table: str, error: str, tmp_path: Path, capsys: Any) -> None:
    _write(tmp_path, "pyproject.toml", f"[tool.xray-exclusive]\n{table}\n")
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        load_config(tmp_path / "pyproject.toml")
    _write(tmp_path, "app.py", "x = 1\n")
    assert cli_main(["check", str(tmp_path)]) == CANNOT_RUN
    assert error.split("[")[0] in capsys.readouterr().err


def test_usage_errors_exit_3(tmp_path: Path, capsys: Any) -> None:
    """The check could not run at all (3), which a script tells from "a file could not be parsed" (2)."""
    assert cli_main(["check", str(tmp_path / "missing")]) == CANNOT_RUN
    assert "no such file or directory" in capsys.readouterr().err
    assert cli_main(["check", "--select", "XE9", str(tmp_path)]) == CANNOT_RUN
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["check", "--format", "xml", str(tmp_path)])
    assert exit_info.value.code == CANNOT_RUN


@pytest.mark.parametrize("option", ["--ignore", "--select"])
def test_an_unknown_code_on_the_command_line_names_it_and_the_rule_list(
    option: str, tmp_path: Path, capsys: Any
) -> None:
    _write(tmp_path, "app.py", "x = 1\n")
    assert cli_main(["check", option, "XE010,XE999", str(tmp_path)]) == CANNOT_RUN
    assert capsys.readouterr().err == (
        "xray-exclusive check: unknown rule code or prefix 'XE999' "
        "(see `xray-exclusive check --list-rules`)\n"
    )


_PREFIXES = sorted({code[:n] for code in RULES for n in range(1, len(code) + 1)})


@given(
    st.one_of(
        st.sampled_from(_PREFIXES),
        st.sampled_from(_PREFIXES).map(str.lower),
        st.text(alphabet="XEXEx0123456789 ", max_size=7),
    )
)
def test_a_configured_code_is_known_exactly_when_it_starts_a_rules_code_in_capitals(code: str) -> None:
    """The start-up check (against the written-out codes) agrees with the registry itself."""
    known = code == code.upper() and any(rule.startswith(code) for rule in RULES)
    for config in ({"select": (code,)}, {"ignore": (code,)}, {"per_file_ignores": {"a.py": (code,)}}):
        if known:
            CheckConfig(**config)  # type: ignore[arg-type]
        else:
            with pytest.raises(ConfigError, match=f"unknown rule code or prefix {code!r}"):
                CheckConfig(**config)  # type: ignore[arg-type]


# -- parse errors: reported, never a crash, exit 2 ---------------------------------------------------


def test_unparsable_files_are_reported_and_the_run_goes_on(tmp_path: Path, capsys: Any) -> None:
    _write(tmp_path, "broken.py", "def f(:\n    xray_recorder.begin_subsegment('a')\n")
    _write(tmp_path, "main.tf", 'resource "aws_lambda_function" "f" {\n  timeout = \n')
    _write(tmp_path, "collector.yaml", "receivers: [unclosed\nservice:\n  pipelines: {}\n")
    _write(tmp_path, "unrelated.py", "def f(:\n")  # nothing a rule reads: not parsed, a linter's business
    _write(tmp_path, "cloudformation.yaml", "Resources: !Ref [unclosed\n")  # not a collector configuration
    _write(tmp_path, "latin1.py", "")
    (tmp_path / "latin1.py").write_bytes(b"x = '\xe9'\n")
    _write(tmp_path, "app.py", ASYNC_CONTEXT + "x = AsyncContext()\n")
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert {Path(e.path).name for e in report.errors} == {
        "broken.py",
        "main.tf",
        "collector.yaml",
        "latin1.py",
    }
    assert all(e.code == PARSE_ERROR for e in report.errors)
    assert [f.code for f in report.findings] == ["XE002"]
    assert report.exit_code == 2
    [syntax] = [e for e in report.errors if e.path.endswith("broken.py")]
    assert (syntax.line, syntax.message.split(":")[0]) == (1, "syntax error")
    assert cli_main(["check", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "XE000 syntax error" in out and "4 files could not be parsed" in out


def test_kind_of_and_what_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, ".venv/lib/bad.py", ASYNC_CONTEXT + "AsyncContext()\n")
    _write(tmp_path, "node_modules/x/bad.py", ASYNC_CONTEXT + "AsyncContext()\n")
    _write(tmp_path, "workflow.yml", "on: push\njobs: {}\n")
    _write(tmp_path, "README.md", "AsyncContext()\n")
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert report.findings == [] and report.files == 0
    assert kind_of(Path("svc.Dockerfile")) == "dockerfile" and kind_of(Path("Containerfile")) == "dockerfile"


# -- output formats ---------------------------------------------------------------------------------

SARIF_LEVELS = {"none", "note", "warning", "error"}


def _assert_sarif_2_1_0(log: dict[str, Any]) -> None:
    """The required properties of the SARIF 2.1.0 schema (sarifLog, run, tool, result, location)."""
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        ids = [r["id"] for r in driver["rules"]]
        assert len(ids) == len(set(ids))
        for rule in driver["rules"]:
            assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in SARIF_LEVELS
            assert rule["helpUri"].startswith("https://")
        for result in run["results"]:
            assert result["message"]["text"] and result["level"] in SARIF_LEVELS
            assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
            for location in result["locations"]:
                physical = location["physicalLocation"]
                assert not physical["artifactLocation"]["uri"].startswith("/")
                assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1
        for invocation in run["invocations"]:
            assert isinstance(invocation["executionSuccessful"], bool)
            for notification in invocation["toolExecutionNotifications"]:
                assert notification["message"]["text"] and notification["level"] in SARIF_LEVELS


def test_sarif_output(monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    assert cli_main(["check", "--format", "sarif", str(FLEET.relative_to(ROOT))]) == 1
    log = json.loads(capsys.readouterr().out)
    _assert_sarif_2_1_0(log)
    [run] = log["runs"]
    assert len(run["results"]) == len(EXPECTED_FLEET)
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == set(RULES)
    warning = next(r for r in run["results"] if r["ruleId"] == "XE054")
    assert warning["level"] == "warning"
    assert run["invocations"][0]["executionSuccessful"] is True
    _write(
        tmp_path,
        "broken.py",
        "from aws_xray_sdk.core import xray_recorder\ndef f(:\n    xray_recorder.capture()\n",
    )
    log = json.loads(sarif([], check([tmp_path], CheckConfig(root=tmp_path)).errors, "0"))
    _assert_sarif_2_1_0(log)
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_text_output_is_ruff_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "app.py", ASYNC_CONTEXT + "x = AsyncContext()\n")
    assert cli_main(["check"]) == 1
    first, summary = capsys.readouterr().out.splitlines()
    assert first.startswith("app.py:2:5: XE002 AsyncContext configured on the X-Ray recorder")
    assert summary == "Found 1 finding (1 error, 0 warnings) in 1 file checked."


def test_list_rules_and_the_docs_page(capsys: Any) -> None:
    assert cli_main(["check", "--list-rules"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(RULES)
    page = (ROOT / "docs" / "check-rules.md").read_text()
    assert page == rules_markdown(), (
        "regenerate: python -m xray_exclusive.check --rules-markdown > docs/check-rules.md"
    )
    for rule in RULES.values():
        assert rule.message and all(s.startswith(("FR-", "SC-")) for s in rule.spec)


def test_module_entry_point(tmp_path: Path) -> None:
    _write(tmp_path, "app.py", ASYNC_CONTEXT + "x = AsyncContext()\n")
    out = subprocess.run(
        [sys.executable, "-m", "xray_exclusive.check", "--format", "json", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    assert [item["code"] for item in json.loads(out.stdout)] == ["XE002"]


def test_pre_commit_hook_definition() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "xray-exclusive-check" and hook["language"] == "python"
    assert hook["entry"] == "xray-exclusive check"
    assert set(hook["types_or"]) == {"python", "terraform", "dockerfile", "yaml"}
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'xray-exclusive = "xray_exclusive.cli:main"' in pyproject
    for requirement in hook["additional_dependencies"]:
        assert requirement.split(">=")[0] in pyproject  # the [check] extra's own pins


# -- properties over user data --------------------------------------------------------------------


@given(st.text(alphabet=string.printable + "é\u2028", max_size=40))
def test_annotation_key_rule_agrees_with_the_xray_sdk(key: str) -> None:
    """XE014 flags a key exactly when the X-Ray SDK would drop the annotation (or X-Ray's length cap)."""
    subsegment = Subsegment("s", "local", Segment("checker"))
    subsegment.put_annotation(key, 1)
    kept_by_sdk = key in subsegment.annotations
    assert (_valid_key(key) is None) == (kept_by_sdk and 0 < len(key) <= 250)


LINES = st.sampled_from(
    [
        "import aws_xray_sdk.core as core",
        "from opentelemetry.sdk.trace import TracerProvider",
        "TracerProvider()",
        "def f():\n    yield TracerProvider()",
        "x = core.AsyncContext()",
        "@tracer.capture_method\nasync def g():\n    yield 1",
        "s.put_annotation('a b', None)",
        "# xe: ignore",
        "(",
        "résumé = '\\x00'",
    ]
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.one_of(LINES, st.text(max_size=30)), max_size=8),
    name=st.sampled_from(["a.py", "main.tf", "c.yaml", "Dockerfile", "x.tf.json"]),
)
def test_any_file_content_never_crashes_the_run(lines: list[str], name: str, tmp_path: Path) -> None:
    directory = tmp_path / name.replace(".", "_")
    directory.mkdir(exist_ok=True)
    (directory / name).write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    report = check([directory], CheckConfig(root=directory))
    assert report.exit_code in (0, 1, 2)
    assert all(f.line >= 1 and f.col >= 1 for f in [*report.findings, *report.errors])


@pytest.mark.parametrize("code", sorted(c for c, r in RULES.items() if r.kind == "python"))
def test_a_blanket_ignore_on_every_line_silences_every_python_rule(code: str, tmp_path: Path) -> None:
    source = SourceFile("handler.py", RULES[code].bad)
    silenced = "\n".join(f"{line}  # xe: ignore" if line.strip() else line for line in source.lines)
    directory = tmp_path / code
    _write(directory, "handler.py", silenced + "\n")
    assert _codes(directory) == []


def test_a_generator_drained_by_a_wrapped_stream_needs_no_flush_of_its_own(tmp_path: Path) -> None:
    """XE015: a helper generator that a @traced_handler drains with `yield from` is flushed by it."""
    helper = (
        "from opentelemetry import trace\n"
        "from xray_exclusive.streaming import traced_handler\n\n"
        "tracer = trace.get_tracer('sse')\n\n\n"
        "def events(items):\n"
        "    for item in items:\n"
        "        with tracer.start_as_current_span('dispatch'):\n"
        "            yield item\n\n\n"
        "def middle(items):\n"
        "    yield from events(items)\n\n\n"
    )
    _write(
        tmp_path,
        "handler.py",
        helper + "@traced_handler(name='s')\ndef handler(event, context):\n"
        "    yield from middle(event['items'])\n",
    )
    assert _codes(tmp_path) == []
    _write(
        tmp_path,
        "handler.py",
        helper + "def handler(event, context):\n    yield from middle(event['items'])\n",
    )
    assert _codes(tmp_path) == ["XE015"]  # nothing wraps the chain: the generator with the spans is named


def test_xrays_own_otlp_endpoint_is_not_a_second_backend(tmp_path: Path) -> None:
    """Transaction Search: OTLP/HTTP straight to X-Ray's endpoint is X-Ray, not another tracing system."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_lambda_function" "fn" {\n'
        '  function_name = "fn"\n'
        '  tracing_config {\n    mode = "Active"\n  }\n'
        "  environment {\n    variables = {\n"
        '      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = "https://xray.eu-west-1.amazonaws.com/v1/traces"\n'
        "    }\n  }\n}\n"
        'resource "aws_lambda_function" "other" {\n'
        '  function_name = "other"\n'
        '  tracing_config {\n    mode = "Active"\n  }\n'
        "  environment {\n    variables = {\n"
        '      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = "https://otlp.example.com/v1/traces"\n'
        "    }\n  }\n}\n"
    )
    codes = [(f.line, f.code) for f in check([tmp_path], CheckConfig(select=("XE061",))).findings]
    assert codes == [(19, "XE061")]  # only the vendor's endpoint


# -- the start-up shortcuts give what they replace, byte for byte ---------------------------------------


@given(
    st.lists(
        st.dictionaries(
            st.text(max_size=8),
            st.one_of(st.text(max_size=30), st.integers(min_value=-(10**20), max_value=10**20)),
            min_size=1,
            max_size=7,
        ),
        max_size=4,
    )
)
def test_the_json_output_is_json_dumps_byte_for_byte(items: list[dict[str, object]]) -> None:
    from xray_exclusive.check._report import _dumps

    assert _dumps(items) == json.dumps(items, indent=2)


def test_the_json_output_falls_back_to_json_for_other_values() -> None:
    from xray_exclusive.check._report import _dumps

    others: list[list[dict[str, object]]] = [[{}], [{"a": None}], [{"a": True}], [{"a": 1.5}], [{"a": [1]}]]
    for items in others:
        assert _dumps(items) == json.dumps(items, indent=2)


_ARGV_TOKENS = ["a", "b c", "", "--format", "json", "--format=sarif", "--format=x", "text", "-x", "--", "-"]


@given(st.lists(st.sampled_from(_ARGV_TOKENS), max_size=6))
def test_a_plain_check_command_line_parses_as_argparse_does(rest: list[str]) -> None:
    from xray_exclusive.cli import _parser, _plain_check

    argv = ["check", *rest]
    fast = _plain_check(argv)
    if fast is None:
        return  # argparse parses it (usage, help and errors are argparse's own)
    parsed = _parser("check").parse_args(argv)
    for name in (
        "command",
        "paths",
        "output_format",
        "select",
        "ignore",
        "streaming",
        "config",
        "list_rules",
        "rules_markdown",
        "_run",
    ):
        assert getattr(fast, name) == getattr(parsed, name), name


def test_only_a_plain_check_command_line_skips_argparse() -> None:
    from xray_exclusive.cli import _plain_check

    assert _plain_check(["check", "--format", "json", "src", "infra"]) is not None
    assert _plain_check(["check"]) is not None
    for argv in (
        ["check", "--help"],
        ["check", "src", "--format", "json"],  # an option after a path: argparse's business
        ["check", "--form", "json"],  # an abbreviation
        ["check", "--format", "yaml"],  # an invalid choice: argparse's message
        ["check", "--select", "XE01"],
        ["--version"],
        ["check", "-"],
    ):
        assert _plain_check(argv) is None, argv


def test_the_analysers_walk_is_ast_walk() -> None:
    import ast

    from xray_exclusive.check._python import _walk

    tree = ast.parse(Path(__file__).read_text())
    assert [id(n) for n in _walk(tree)] == [id(n) for n in ast.walk(tree)]


_FRAGMENTS = ["OTEL_", "TRACES_SAMPLER", "EXPORTER_OTLP", "correlation_id", "generate_", "set_", "_path"]
_FRAGMENTS += ["latency", "cache", "_logger", "AsyncContext", "ALWAYS_ON", "AlwaysOn", "x", " ", "\n"]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map("".join))
def test_the_grouped_word_test_is_the_plain_one(text: str) -> None:
    from xray_exclusive.check._python import _ALWAYS, _has_always_word

    assert _has_always_word(text) == any(word in text for word in _ALWAYS)
