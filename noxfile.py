"""Sessions: tests, lint, typecheck, bench. Run `nox -l` to list them."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]", "mypy>=1.10")
    session.run("mypy")


# The two ends of every supported range of the core's and the [streaming] extra's dependencies. "min" is
# exactly what pyproject.toml declares; "max" the newest releases on PyPI when last checked (raise them
# with `pip index versions <name>`). No test extra: its pins (the AWS distro's exact OpenTelemetry) would
# move the ends.
COMPAT_ENDS = {
    "min": (
        "aws-lambda-powertools==3.0.0",
        "aws-xray-sdk==2.14.0",
        "opentelemetry-sdk==1.35.0",
        "opentelemetry-exporter-otlp-proto-http==1.35.0",
        "opentelemetry-sdk-extension-aws==2.0.0",
        "opentelemetry-propagator-aws-xray==1.0.2",
    ),
    "max": (
        "aws-lambda-powertools==3.37.0",
        "aws-xray-sdk==2.15.0",
        "opentelemetry-sdk==1.45.2",
        "opentelemetry-exporter-otlp-proto-http==1.45.2",
        "opentelemetry-sdk-extension-aws==2.1.0",
        "opentelemetry-propagator-aws-xray==1.0.2",
    ),
}
# The contract tests, the compat modules' doctests, and unit tests that need nothing beyond those packages.
COMPAT_TESTS = (
    "tests/test_compat.py",
    "src/xray_exclusive/_compat",
    "tests/test_correlation.py",
    "tests/test_backend_differential.py",
    "tests/test_streaming_stream.py",
    "tests/test_streaming_export.py",
)


@nox.session
@nox.parametrize("end", list(COMPAT_ENDS))
def compat(session: nox.Session, end: str) -> None:
    """The contract tests of `_compat/` against the oldest and the newest supported dependencies."""
    session.install("--no-deps", "-e", ".")
    session.install(*COMPAT_ENDS[end], "pytest>=8", "hypothesis>=6.100")
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    session.run("pytest", "-q", "-p", "no:cacheprovider", *COMPAT_TESTS, *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/bench_failure.py", *session.posargs)
    session.run("python", "benchmarks/bench_streaming.py", *session.posargs)
    session.run("python", "benchmarks/bench_correlation.py", *session.posargs)
    session.run("python", "benchmarks/bench_canary.py", *session.posargs)
    session.run("python", "benchmarks/bench_collector.py", *session.posargs)
    session.run("python", "benchmarks/bench_runtime.py", *session.posargs)
    session.run("scripts/build-peers", "collector", external=True)  # the real collector, from collector/
    session.run("python", "benchmarks/bench_aws_side.py", *session.posargs)
    session.install("ruff>=0.6")  # the anchor of the checker's benchmark
    session.run("python", "benchmarks/bench_check.py", *session.posargs)
