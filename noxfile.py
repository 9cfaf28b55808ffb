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
