"""check on the real-repository corpus (tests/corpus: minimal equivalents of what public repositories hold),
and the issues found there: YAML that is not a collector's, Terraform stacks and modules, values not
resolved, deep expressions, Dockerfile quoting, the misses, a second tracing backend, SARIF URIs, the
pre-filter, and generated text of every kind that never yields a traceback."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xray_exclusive.check import RULES, CheckConfig, _dockerfile, _hcl, _python, _terraform, check, sarif
from xray_exclusive.check._model import SourceFile
from xray_exclusive.check._report import artifact_location
from xray_exclusive.check._run import streaming_modules
from xray_exclusive.cli import main as cli_main

CORPUS = Path(__file__).parent / "corpus"

EXPECTED_CORPUS = {
    ("backends/lambda/Dockerfile", 1, "XE063"),  # the Datadog extension image
    ("backends/lambda/Dockerfile", 4, "XE063"),  # ENV OTEL_EXPORTER_OTLP_ENDPOINT to a vendor
    ("backends/lambda/Dockerfile", 5, "XE063"),  # pip install datadog-lambda
    ("backends/lambda/collector.yaml", 21, "XE062"),  # otlphttp/vendor (otlp/local is loopback: fine)
    ("backends/lambda/handler.py", 3, "XE060"),  # import ddtrace
    ("backends/lambda/handler.py", 7, "XE060"),  # OTLPSpanExporter(endpoint="https://api.honeycomb.io/...")
    ("backends/lambda/main.tf", 7, "XE061"),  # a Datadog layer
    ("backends/lambda/main.tf", 15, "XE061"),  # OTEL_EXPORTER_OTLP_ENDPOINT not on loopback
    ("lambda_module/main.tf", 2, "XE023"),  # module "untraced": no tracing_mode
    ("lambda_module/main.tf", 12, "XE007"),  # its environment_variables: OTEL_TRACES_SAMPLER = always_on
    ("lambda_module/main.tf", 16, "XE024"),  # module "stream": RESPONSE_STREAM URL, no OTEL_SERVICE_NAME
    ("lambda_module/main.tf", 16, "XE031"),  # its cors: no expose_headers
    ("lambda_module/main.tf", 29, "XE030"),  # its cors: allow_headers without x-amzn-trace-id
    ("python_misses/annotations.py", 10, "XE014"),  # f"items-{shard}"
    ("python_misses/correlation_create.py", 9, "XE011"),  # correlation_id_path=
    ("python_misses/correlation_create.py", 11, "XE011"),  # logger.set_correlation_id()
    ("python_misses/patching.py", 7, "XE009"),  # patch([...]) next to Tracer()
    ("stacks/payments/main.tf", 4, "XE023"),  # the second "fn", hidden before by the first
    ("wrapper/app.py", 6, "XE008"),  # streaming through tracing.py
}
EXPECTED_NOTES = {
    ("unresolved/main.tf", 10),  # mode = var.tracing_mode
    ("unresolved/main.tf", 21),  # dynamic "tracing_config"
    ("unresolved/main.tf", 35),  # allow_headers = var.cors.allow_headers
}


def _relative(path: str) -> str:
    return Path(path).resolve().relative_to(CORPUS.resolve()).as_posix()


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_corpus_exact_findings_notes_and_no_errors() -> None:
    report = check([CORPUS], CheckConfig(root=CORPUS))
    assert report.errors == []
    assert {(_relative(f.path), f.line, f.code) for f in report.findings} == EXPECTED_CORPUS
    assert {(_relative(n.path), n.line) for n in report.notes} == EXPECTED_NOTES
    assert all("not judged" in n.message for n in report.notes)
    assert report.exit_code == 1


def test_every_second_backend_message_says_why_and_how_to_suppress() -> None:
    for code in ("XE060", "XE061", "XE062", "XE063"):
        message = RULES[code].message
        assert "X-Ray is the fleet's only tracing system" in message
        assert f"xe: ignore[{code}]" in message


# -- YAML that is not a collector configuration ---------------------------------------------------


@pytest.mark.parametrize("name", ["template.yaml", "manifests.yaml", "mkdocs.yml"])
def test_other_yaml_is_skipped_never_an_error(name: str) -> None:
    report = check([CORPUS / "yaml_not_collectors" / name], CheckConfig(root=CORPUS))
    assert report.errors == [] and report.findings == [] and report.files == 0


def test_a_collector_config_after_another_document_is_still_checked(tmp_path: Path) -> None:
    rule = RULES["XE050"]
    _write(tmp_path, "collector.yaml", "kind: Namespace\nmetadata: {name: x}\n---\n" + rule.bad)
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert [f.code for f in report.findings] == ["XE050"]
    assert report.findings[0].line == rule.bad.splitlines().index("      processors: [batch]") + 1 + 3


def test_a_broken_collector_config_is_still_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "collector.yaml", "receivers: [unclosed\nexporters: {}\nservice:\n  pipelines: {}\n")
    assert check([tmp_path], CheckConfig(root=tmp_path)).exit_code == 2


# -- Terraform: stacks, values not resolved, modules -------------------------------------------------


def test_functions_and_alarms_are_matched_within_their_stack(tmp_path: Path) -> None:
    """The orders stack's alarms cover its own "fn". Moved to the payments stack, the same reference names
    the payments "fn" (3 s default timeout: the 8,500 ms threshold is wrong there), and the orders stack,
    now without alarms, is not judged for coverage."""
    report = check([CORPUS / "stacks"], CheckConfig(root=CORPUS))
    assert {(_relative(f.path), f.code) for f in report.findings} == {("stacks/payments/main.tf", "XE023")}
    orders = (CORPUS / "stacks/orders/main.tf").read_text()
    function, _, alarms = orders.partition('resource "aws_cloudwatch_metric_alarm"')
    _write(tmp_path, "orders/main.tf", function)
    _write(tmp_path, "payments/main.tf", (CORPUS / "stacks/payments/main.tf").read_text())
    _write(tmp_path, "payments/alarms.tf", 'resource "aws_cloudwatch_metric_alarm"' + alarms)
    found = {(f.path.split("/")[-2], f.code) for f in check([tmp_path], CheckConfig(root=tmp_path)).findings}
    assert found == {("payments", "XE023"), ("payments", "XE029")}


def test_unknown_values_are_notes_and_never_change_the_exit_status(tmp_path: Path) -> None:
    report = check([CORPUS / "unresolved"], CheckConfig(root=CORPUS))
    assert report.findings == [] and report.exit_code == 0 and len(report.notes) == 3
    assert cli_main(["check", str(CORPUS / "unresolved")]) == 0


def test_notes_follow_select_and_suppressions(tmp_path: Path) -> None:
    text = (CORPUS / "unresolved/main.tf").read_text()
    _write(tmp_path, "main.tf", text)
    assert len(check([tmp_path], CheckConfig(root=tmp_path, ignore=("XE023",))).notes) == 1
    _write(tmp_path, "main.tf", text.replace("var.cors.allow_headers", "var.cors.allow_headers # xe: ignore"))
    assert len(check([tmp_path], CheckConfig(root=tmp_path)).notes) == 2


def test_text_output_shows_the_notes(capsys: Any) -> None:
    assert cli_main(["check", str(CORPUS / "unresolved")]) == 0
    out = capsys.readouterr().out
    assert "main.tf:10:5: note: not judged by XE023" in out and "3 values not judged" in out


@pytest.mark.parametrize(
    "source",
    [
        "terraform-aws-modules/lambda/aws",
        "registry.terraform.io/terraform-aws-modules/lambda/aws",
        "git::https://github.com/terraform-aws-modules/terraform-aws-lambda.git?ref=v7.2.0",
    ],
)
def test_the_lambda_module_is_recognised_by_its_sources(source: str, tmp_path: Path) -> None:
    _write(tmp_path, "main.tf", f'module "f" {{\n  source = "{source}"\n  function_name = "f"\n}}\n')
    assert [f.code for f in check([tmp_path], CheckConfig(root=tmp_path)).findings] == ["XE023"]


@pytest.mark.parametrize(
    "body",
    [
        'source = "terraform-aws-modules/lambda/aws//modules/deploy"',  # a submodule, not a function
        'source = "../../"',  # a local module: not read
        'source = "terraform-aws-modules/lambda/aws"\n  create_function = false',
        'source = "terraform-aws-modules/lambda/aws"\n  tracing_mode = "Active"',
    ],
)
def test_module_calls_that_are_not_untraced_functions(body: str, tmp_path: Path) -> None:
    _write(tmp_path, "main.tf", f'module "f" {{\n  {body}\n}}\n')
    assert check([tmp_path], CheckConfig(root=tmp_path)).findings == []


def test_alarms_match_module_functions_by_output_reference(tmp_path: Path) -> None:
    alarms = (
        (CORPUS / "stacks/orders/main.tf").read_text().split('resource "aws_cloudwatch_metric_alarm"')[1:]
    )
    alarm_text = "".join('resource "aws_cloudwatch_metric_alarm"' + a for a in alarms).replace(
        "aws_lambda_function.fn.function_name", "module.orders.lambda_function_name"
    )
    module = (
        'module "orders" {\n  source = "terraform-aws-modules/lambda/aws"\n  function_name = "orders"\n'
        '  tracing_mode = "Active"\n  timeout = 10\n}\n'
    )
    _write(tmp_path, "main.tf", module + alarm_text)
    assert check([tmp_path], CheckConfig(root=tmp_path)).findings == []


def test_hcl_reader_values_lines_and_errors() -> None:
    body = _hcl.parse(
        'a = "x" # c\nb = [1, "two", var.z]\nc = { K = "v", L = var.l }\nd = <<-EOT\n  hi\n  EOT\n'
        'e = var.x ? "y" : (\n  "z"\n)\nblk "l1" "l2" { f = true }\n'
    )
    assert body.get("a") == "x" and body.get("b") == [1, "two", _hcl.Unknown("var.z")]
    assert body.get("c") == {"K": "v", "L": _hcl.Unknown("var.l")} and body.get("d") == "hi\n"
    assert isinstance(body.get("e"), _hcl.Unknown) and body.attributes["e"].line == 7
    [block] = body.blocks
    assert (block.type, block.labels, block.get("f"), block.line) == ("blk", ("l1", "l2"), True, 10)
    for broken in ('x = "open\n', "a {\n", "}\n", "x = \n", "x = <<EOF\nnever closed\n"):
        with pytest.raises(ValueError, match="line"):
            _hcl.parse(broken)


# -- Python: deep trees, the misses ---------------------------------------------------------------


def test_six_hundred_chained_terms_are_analysed(tmp_path: Path) -> None:
    terms = " + ".join(f"'part{i}'" for i in range(600))
    _write(
        tmp_path,
        "app.py",
        f"from aws_xray_sdk.core import xray_recorder\nSQL = {terms}\nxray_recorder.begin_subsegment('q')\n",
    )
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert report.errors == [] and [f.code for f in report.findings] == ["XE010"]


def test_a_tree_python_cannot_compile_is_one_error_and_the_run_goes_on(tmp_path: Path) -> None:
    terms = " + ".join("x" for _ in range(20000))
    _write(
        tmp_path,
        "deep.py",
        f"from aws_xray_sdk.core import xray_recorder\nY = {terms}\nxray_recorder.capture()\n",
    )
    _write(tmp_path, "app.py", "from aws_xray_sdk.core.async_context import AsyncContext\nAsyncContext()\n")
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert [Path(e.path).name for e in report.errors] == ["deep.py"]
    assert [f.code for f in report.findings] == ["XE002"]


def test_a_checker_bug_on_one_file_is_that_file_s_error(tmp_path: Path, monkeypatch: Any) -> None:
    def broken(source: SourceFile) -> list[Any]:
        raise KeyError("boom")

    monkeypatch.setattr(_dockerfile, "analyse", broken)
    _write(tmp_path, "Dockerfile", RULES["XE040"].bad)
    _write(tmp_path, "app.py", "from aws_xray_sdk.core.async_context import AsyncContext\nAsyncContext()\n")
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert [e.message.split(":")[0] for e in report.errors] == ["internal error"]
    assert [f.code for f in report.findings] == ["XE002"]


def test_local_wrapper_imports_make_a_streaming_lambda() -> None:
    files = [
        ("svc/tracing.py", "from opentelemetry import trace\n"),
        ("svc/app.py", "from tracing import tracer\n"),
        ("svc/pkg/__init__.py", "from ..tracing import tracer\n"),
        ("svc/pkg/handler.py", "from . import helpers\nfrom svc.pkg import x\n"),
        ("other/app.py", "from tracing import tracer\n"),  # another Lambda's directory: not that wrapper
        ("svc/lazy.py", "def f():\n    import tracing\n"),  # a function-level import does not count
    ]
    assert streaming_modules(files) == {
        "svc/tracing.py",
        "svc/app.py",
        "svc/pkg/__init__.py",
        "svc/pkg/handler.py",
    }


def test_reading_a_correlation_id_is_not_flagged(tmp_path: Path) -> None:
    _write(tmp_path, "app.py", (CORPUS / "python_misses/correlation_read.py").read_text())
    _write(tmp_path, "ids.py", "def get_correlation_id(event):\n    return event['headers']['x-id']\n")
    assert check([tmp_path], CheckConfig(root=tmp_path)).findings == []


def test_dockerfile_quotes_never_fail() -> None:
    assert _dockerfile.words_of("echo it's fine") == ["echo", "it's", "fine"]
    source = SourceFile("Dockerfile", (CORPUS / "docker/Dockerfile").read_text())
    assert _dockerfile.analyse(source) == []


# -- SARIF -------------------------------------------------------------------------------------------


def test_sarif_uris_are_percent_encoded_and_relative_to_srcroot(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        "my lambdas/h#1.py",
        "from aws_xray_sdk.core.async_context import AsyncContext\nAsyncContext()\n",
    )
    report = check([tmp_path], CheckConfig(root=tmp_path))
    log = json.loads(sarif(report.findings, report.errors, "0", root=tmp_path))
    [run] = log["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "my%20lambdas/h%231.py", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    assert artifact_location("/elsewhere/a b.py", tmp_path) == {"uri": "file:///elsewhere/a%20b.py"}


# -- the pre-filter -------------------------------------------------------------------------------


def test_files_with_nothing_of_interest_are_not_parsed(tmp_path: Path, monkeypatch: Any) -> None:
    parsed: list[str] = []
    real = _python.analyse

    def spy(source: SourceFile) -> Any:
        parsed.append(source.path)
        return real(source)

    monkeypatch.setattr(_python, "analyse", spy)
    for n in range(20):
        _write(tmp_path, f"m{n}.py", "import json\n\n\ndef f(x):\n    return json.dumps(x)\n")
    _write(
        tmp_path, "a.py", "from aws_xray_sdk.core import xray_recorder\nxray_recorder.begin_segment('s')\n"
    )
    _write(tmp_path, "main.tf", 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    report = check([tmp_path], CheckConfig(root=tmp_path))
    assert [Path(p).name for p in parsed] == ["a.py"] and report.files == 22
    assert not _terraform.needs_parse((tmp_path / "main.tf").read_text())


PITFALL_LINES = [
    "from aws_xray_sdk.core import xray_recorder, patch, patch_all",
    "from aws_lambda_powertools import Tracer, Logger",
    "from opentelemetry.sdk.trace import TracerProvider",
    "from opentelemetry import propagate",
    "import ddtrace",
    "from tracing import tracer",
    "tracer = Tracer()",
    "patch(['boto3'])",
    "CTX = propagate.extract({})",
    "s.put_annotation('ok_key', 1)",
    "s.put_annotation(f'bad-{x}', 1)",
    "s.put_annotation('k', None)",
    "logger.set_correlation_id('x')",
    "def get_correlation_id(e):\n    return str(uuid.uuid4())",
    "@tracer.capture_method\ndef g():\n    yield 1",
    "os.environ['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'https://x.example'",
    "E = OTLPSpanExporter(endpoint='https://x.example')",
    "import json",
    "x = 1",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.sampled_from(PITFALL_LINES), max_size=8), streaming=st.booleans())
def test_the_pre_filter_never_hides_a_finding(lines: list[str], streaming: bool) -> None:
    """Whenever the full analysis finds something, the pre-filter lets the file through."""
    text = "\n".join(lines) + "\n"
    hits = _python.analyse(SourceFile("a.py", text, streaming=streaming))
    if hits:
        assert _python.needs_parse(text, streaming or _python.streams_directly(text)), (text, hits)


# -- generated text of every kind: findings or XE000, never a traceback ------------------------------

HCL_PIECES = st.sampled_from(
    [
        'resource "aws_lambda_function" "f" {',
        'module "m" {',
        'source = "terraform-aws-modules/lambda/aws"',
        "}",
        "{",
        'tracing_config { mode = "Active" }',
        'dynamic "cors" {',
        "environment_variables = { OTEL_TRACES_SAMPLER = var.x }",
        "variables = merge(var.a, {",
        "x = <<EOF",
        "EOF",
        'y = "${var.a["k"]}"',
        "z = [for v in var.l : v if v != null]",
        "# comment",
        "/* open",
        "*/",
        'invoke_mode = "RESPONSE_STREAM"',
        "allow_headers = var.cors.allow_headers",
    ]
)
YAML_PIECES = st.sampled_from(
    [
        "receivers:",
        "  otlp: {protocols: {http: {}}}",
        "exporters:",
        "  otlphttp/x: {endpoint: https://x}",
        "service:",
        "  pipelines:",
        "    traces: {receivers: [otlp], exporters: [otlphttp/x]}",
        "---",
        "Value: !Ref Thing",
        "f: !!python/name:a.b",
        "endpoint: {{endpoint}}",
        "- [unclosed",
        "  : bad",
    ]
)
DOCKER_PIECES = st.sampled_from(
    [
        "FROM public.ecr.aws/aws-observability/aws-otel-lambda-extension-amd64:latest AS c",
        "FROM python:3.13",
        "ARG X=${Y:-z}",
        "COPY --from=c /opt/extensions/ /opt/extensions/",
        "RUN echo it's fine \\",
        "RUN pip install 'ddtrace",
        'ENV OTEL_EXPORTER_OTLP_ENDPOINT="https://x',
        "ENV A",
        "# comment",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["main.tf", "collector.yaml", "Dockerfile", "app.py", "x.tf.json"]),
    pieces=st.lists(
        st.one_of(
            HCL_PIECES,
            YAML_PIECES,
            DOCKER_PIECES,
            st.sampled_from(PITFALL_LINES),
            st.text(alphabet=string.printable, max_size=20),
        ),
        max_size=12,
    ),
)
def test_generated_text_never_yields_a_traceback(kind: str, pieces: list[str], tmp_path: Path) -> None:
    directory = tmp_path / kind.replace(".", "_")
    directory.mkdir(exist_ok=True)
    (directory / kind).write_text("\n".join(pieces) + "\n")
    report = check([directory], CheckConfig(root=directory))
    assert all(not e.message.startswith("internal error") for e in report.errors), report.errors
    assert all(f.line >= 1 and f.col >= 1 for f in [*report.findings, *report.errors, *report.notes])


# -- precision: what is not a Lambda's code or configuration --------------------------------------


def test_a_collector_beside_a_compose_file_is_a_container_not_a_lambda_extension(tmp_path: Path) -> None:
    config = (CORPUS / "compose" / "config.yaml").read_text()
    _write(tmp_path, "config.yaml", config)
    assert {f.code for f in check([tmp_path]).findings} == {"XE050", "XE052", "XE054"}
    _write(tmp_path, "docker-compose.yaml", (CORPUS / "compose" / "docker-compose.yaml").read_text())
    assert check([tmp_path]).findings == []
    declared = CheckConfig(root=tmp_path, streaming=("config.yaml",))  # declared a Lambda's: still judged
    assert {f.code for f in check([tmp_path], declared).findings} == {"XE050", "XE052", "XE054"}
    # A Compose file that does not name it (it runs something else) says nothing about this configuration.
    _write(tmp_path, "docker-compose.yaml", "services:\n  aws:\n    image: localstack/localstack\n")
    assert {f.code for f in check([tmp_path]).findings} == {"XE050", "XE052", "XE054"}


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("vendored/package/aws_xray_sdk/ext/patch.py", "XE010"),
        ("vendored/package/aws_lambda_powertools/logging/logger.py", "XE011"),
        ("testdata/config-info-level.yaml", "XE053"),
    ],
)
def test_library_source_and_test_fixtures_are_skipped_where_they_live(
    tmp_path: Path, source: str, code: str
) -> None:
    """The same file is judged as your code elsewhere, and skipped under the library's or testdata/."""
    text = (CORPUS / source).read_text()
    suffix = Path(source).suffix
    _write(tmp_path / "app", f"module{suffix}", text)
    assert code in {f.code for f in check([tmp_path / "app"]).findings}
    _write(tmp_path / "skipped", source, text)
    report = check([tmp_path / "skipped"])
    assert report.findings == [] and report.files == 0


def test_a_correlation_id_read_from_the_trace_header_is_not_a_second_id() -> None:
    report = check([CORPUS / "python_misses"], CheckConfig(root=CORPUS))
    flagged = {(Path(f.path).name, f.line) for f in report.findings if f.code == "XE011"}
    assert flagged == {("correlation_create.py", 9), ("correlation_create.py", 11)}


def test_a_note_on_a_variable_shows_its_default_where_the_directory_declares_one() -> None:
    report = check([CORPUS / "unresolved"], CheckConfig(root=CORPUS))
    by_line = {n.line: n.message for n in report.notes}
    assert by_line[10].endswith(
        'mode = var.tracing_mode (not a literal; the variable\'s default here is "PassThrough")'
    )
    assert by_line[35].endswith("allow_headers = var.cors.allow_headers (not a literal)")  # no such variable
    assert report.findings == []  # shown, never judged


@given(
    default=st.one_of(
        st.text(alphabet=string.printable, max_size=20).map(json.dumps),
        st.sampled_from(["true", "false", "0", "-1.5", "null", "[]", "{}"]),
    )
)
@settings(max_examples=50, deadline=None)
def test_a_variable_default_is_shown_exactly_when_it_is_a_scalar_literal(default: str) -> None:
    from xray_exclusive.check._terraform import variable_default

    text = f'variable "mode" {{\n  default = {default}\n}}\n'
    shown = variable_default("aws_lambda_function.f: mode = var.mode", [text])
    assert shown == (None if default in ("null", "[]", "{}") else default)


def test_a_configuration_in_a_directory_named_like_a_library_is_still_checked(tmp_path: Path) -> None:
    """Only the libraries' Python source is skipped: deploy/opentelemetry/collector.yaml is yours."""
    _write(
        tmp_path / "deploy" / "opentelemetry",
        "collector.yaml",
        (CORPUS / "compose" / "config.yaml").read_text(),
    )
    _write(
        tmp_path / "deploy" / "opentelemetry",
        "tracing.py",
        "from aws_xray_sdk.core import xray_recorder\nxray_recorder.begin_subsegment('x')\n",
    )
    report = check([tmp_path])
    assert {(Path(f.path).name, f.code) for f in report.findings} == {
        ("collector.yaml", "XE050"),
        ("collector.yaml", "XE052"),
        ("collector.yaml", "XE054"),
    }


@pytest.mark.parametrize(
    ("path", "flagged"),
    [
        ('headers."x-amzn-trace-id"', False),
        ('request.headers."X-Amzn-Trace-Id"', False),
        ('headers."x-amzn-trace-id" || requestContext.requestId', True),  # falls back to a second ID
        ('headers."x-request-id-not-x-amzn-trace-id"', True),
        ("requestContext.requestId", True),
    ],
)
def test_only_a_path_ending_at_the_trace_header_is_the_trace_id(
    tmp_path: Path, path: str, flagged: bool
) -> None:
    source = (
        "from aws_lambda_powertools import Logger\n\nlogger = Logger()\n\n\n"
        f"@logger.inject_lambda_context(correlation_id_path={path!r})\n"
        "def handler(event, context):\n    return {}\n"
    )
    _write(tmp_path, "app.py", source)
    assert [f.code for f in check([tmp_path]).findings] == (["XE011"] if flagged else [])
