"""Examples run as subprocesses: each shows every path, span and metric it promises."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

from xray_exclusive import paths

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_example(*path: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<path>`` as a user would; it must exit 0."""
    return subprocess.run(
        [sys.executable, str(ROOT.joinpath("examples", *path))],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def test_seven_paths_example_runs() -> None:
    result = run_example("seven_paths.py")
    out = result.stdout
    for path in paths.ALL:
        assert path.name in out
        assert path.metric in out
    assert out.count("\n  self_healing_item_fetch ") == 3  # one subsegment per item
    assert "error+throttle" in out
    assert "Traceback" not in result.stderr


def test_sse_stream_example_keeps_every_span_in_its_invocation_trace() -> None:
    result = run_example("sse_stream.py")
    out = result.stdout
    assert out.count("invocation ") == 2
    assert "OTHER TRACE" not in out
    assert out.count("same trace") == 28
    assert out.count("DynamoDB.Query             ns=aws") == 6
    assert "spans delivered: 28, dropped: 0, lost in export: 0" in out
    assert "Traceback" not in result.stderr


def test_sendgrid_example_shows_one_remote_subsegment_per_call() -> None:
    result = run_example("sendgrid_notification.py")
    out = result.stdout
    assert out.count("sendgrid ns=remote POST") == 4
    assert "status=202 ok" in out
    assert "status=429 error+throttle" in out
    assert "status=500 fault" in out
    assert "status=- fault" in out
    assert "SG.secret" not in out
    assert "Traceback" not in result.stderr


def test_sse_lambda_runs_locally_on_the_real_runtime() -> None:
    result = run_example("sse_lambda", "run_local.py", timeout=120)
    out = result.stdout
    assert '"statusCode":200' in out and "text/event-stream" in out
    assert "retry: 3000" in out
    assert "event: sentiment" in out
    assert out.count("\ntrace 1-") == 1
    assert out.count("poll_cycle [local]") == 6
    assert "DynamoDB [aws]" in out
    assert '"session_id":"local-1"' in out


def test_sse_lambda_container_structure() -> None:
    import yaml

    here = ROOT / "examples" / "sse_lambda"
    lines = [line.strip() for line in (here / "Dockerfile").read_text().splitlines() if line.strip()]
    instructions = [line for line in lines if not line.startswith("#")]
    [base] = [line for line in instructions if line.startswith("FROM ")]
    assert base.startswith("FROM python:3.13-slim@sha256:") and len(base.split("@sha256:")[1]) == 64
    assert 'ENTRYPOINT ["python", "-m", "xray_exclusive.runtime"]' in instructions
    assert 'CMD ["handler.handler"]' in instructions
    assert "COPY --from=collector /opt/extensions/ /opt/extensions/" in instructions
    assert any("--require-hashes" in line for line in instructions)
    assert not any("AWS_LAMBDA_EXEC_WRAPPER" in line or "OTEL_PROPAGATORS" in line for line in instructions)
    config = yaml.safe_load((ROOT / "examples" / "collector" / "collector.yaml").read_text())
    processors = config["service"]["pipelines"]["traces"]["processors"]
    assert processors[-1] == "decouple"  # last, or the invocation waits for X-Ray
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "localhost:4318"
    assert "awsxray" in config["service"]["pipelines"]["traces"]["exporters"]


def test_collector_build_has_exactly_the_components_of_its_configuration() -> None:
    """examples/collector: the extension is built with the components collector.yaml uses, no more."""
    import yaml

    here = ROOT / "examples" / "collector"
    config = yaml.safe_load((here / "collector.yaml").read_text())
    pipeline = config["service"]["pipelines"]["traces"]
    used = {
        *(f"receiver.{r}" for r in pipeline["receivers"]),
        *(f"processor.{p}" for p in pipeline["processors"]),
        *(f"exporter.{e}" for e in pipeline["exporters"]),
    }
    dockerfile = (here / "Dockerfile").read_text()
    [tags] = re.findall(r'BUILDTAGS="([^"]+)"', dockerfile)
    built = {t.removeprefix("lambdacomponents.") for t in tags.split(",")} - {"custom"}
    assert built == used == {"receiver.otlp", "processor.batch", "processor.decouple", "exporter.awsxray"}
    assert pipeline["processors"][-1] == "decouple"
    go = (here / "awsxray.go").read_text()
    assert "lambdacomponents.exporter.awsxray" in go.splitlines()[0] and "awsxrayexporter.NewFactory" in go
    assert "COPY examples/collector/collector.yaml /opt/collector-config/config.yaml" in dockerfile
    assert "/opt/extensions/collector" in dockerfile
