"""The native backend on its own: no SDK on the path, its switches, the daemon's wire, selection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests import example_paths as paths
from tests.conftest import FUNCTION_NAME, PROTOCOL_HEADER, TRACE_PARENT, XRayDaemon, emf_lines, trace_header
from xray_exclusive import failure_path, set_default_backend
from xray_exclusive._backend import get_default_backend, resolve_backend
from xray_exclusive._xray import _daemon

FRESH_PROCESS = """
import sys
from xray_exclusive import FailurePath, failure_path
from xray_exclusive._backend import get_default_backend
path = FailurePath("circuit_breaker_load", "CircuitBreakerPersistenceFailure")
try:
    with failure_path(path, annotations={"attempt": 1}):
        raise ConnectionError("dynamodb unreachable")
except ConnectionError:
    pass
chosen = type(get_default_backend()).__name__
heavy = sorted(m for m in ("aws_xray_sdk", "aws_lambda_powertools", "botocore", "socket") if m in sys.modules)
import aws_xray_sdk.core  # what a Powertools Tracer or a patched client does
print(chosen, type(get_default_backend()).__name__, heavy, file=sys.stderr)
"""


def test_a_fresh_process_never_imports_the_sdk_and_sends_the_subsegment(xray: XRayDaemon) -> None:
    env = {k: v for k, v in os.environ.items() if k != "XRAY_EXCLUSIVE_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], env=env, capture_output=True, text=True, check=True
    )
    # Native, before and after the SDK is imported; import + a failure: no SDK, no Powertools.
    assert done.stderr.strip().splitlines()[-1] == "NativeBackend NativeBackend []"
    [metric] = emf_lines(done.stdout)
    assert metric["CircuitBreakerPersistenceFailure"] == 1
    assert metric["Lambda"] == FUNCTION_NAME
    doc = xray.one("circuit_breaker_load")
    assert doc["trace_id"] == xray.root
    assert doc["parent_id"] == TRACE_PARENT
    assert doc["fault"] is True
    assert doc["annotations"] == {"attempt": 1, "failure_path": "circuit_breaker_load"}
    assert doc["cause"]["exceptions"][0]["type"] == "ConnectionError"


@pytest.fixture
def native(xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch) -> XRayDaemon:
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", "native")
    set_default_backend(None)
    return xray


def _fail() -> None:
    try:
        with failure_path(paths.AUDIT_TRAIL_PERSIST):
            raise TimeoutError("slow")
    except TimeoutError:
        pass


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("POWERTOOLS_TRACE_DISABLED", "true"),
        ("POWERTOOLS_TRACE_DISABLED", "1"),
        ("AWS_XRAY_SDK_ENABLED", "false"),
        ("AWS_SAM_LOCAL", "true"),
        ("AWS_CHALICE_CLI_MODE", "true"),
        ("LAMBDA_TASK_ROOT", None),
        ("_X_AMZN_TRACE_ID", None),
        ("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"),
        ("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?"),
        ("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"),
    ],
)
@pytest.mark.parametrize("backend_name", ["native", "xray-sdk"])
def test_switched_off_sends_nothing_and_still_writes_the_metric(
    xray: XRayDaemon,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    backend_name: str,
    variable: str,
    value: str | None,
) -> None:
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", backend_name)
    set_default_backend(None)
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    _fail()
    assert xray.datagrams() == []
    assert len(emf_lines(capsys.readouterr().out)) == 1


def test_the_sdk_disabled_in_code_switches_native_off_too(native: XRayDaemon) -> None:
    import aws_xray_sdk

    aws_xray_sdk.global_sdk_config.set_sdk_enabled(False)
    _fail()
    assert native.datagrams() == []


def test_sampled_header_without_the_sdk_entity_records(native: XRayDaemon) -> None:
    _fail()
    assert native.one("audit_trail_persist")["parent_id"] == TRACE_PARENT


def test_a_stale_sdk_entity_of_an_earlier_invocation_is_not_the_parent(
    native: XRayDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_xray_sdk.core import xray_recorder

    leaked = xray_recorder.begin_subsegment("leaked_by_the_last_invocation")  # never ended
    assert leaked is not None
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header("1-6a000000-000000000000000000000001", sampled=True))
    _fail()
    doc = native.one("audit_trail_persist")
    assert doc["trace_id"] == "1-6a000000-000000000000000000000001"
    assert doc["parent_id"] == TRACE_PARENT


def test_the_sdk_current_subsegment_is_the_parent(native: XRayDaemon) -> None:
    from aws_xray_sdk.core import xray_recorder

    with xray_recorder.in_subsegment("sdk_outer") as outer:
        _fail()
    doc = native.one("audit_trail_persist")
    assert doc["parent_id"] == outer.id
    assert native.one("sdk_outer")["id"] == outer.id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1:2000", ("127.0.0.1", 2000)),
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("tcp:127.0.0.1:3000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
        ("udp:10.0.0.1:2002 tcp:10.0.0.2:3000", ("10.0.0.1", 2002)),
    ],
)
def test_daemon_address_forms(raw: str, expected: tuple[str, int]) -> None:
    assert _daemon.parse_address(raw) == expected


@pytest.mark.parametrize("raw", ["", "nohost", "127.0.0.1:port", "127.0.0.1:0", "a:1 b:2", "x y z"])
def test_malformed_daemon_address_raises(raw: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        _daemon.parse_address(raw)


def test_a_malformed_address_falls_back_with_a_warning(
    native: XRayDaemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "not-an-address")
    _fail()
    assert "Ignoring malformed AWS_XRAY_DAEMON_ADDRESS" in caplog.text
    assert native.datagrams() == []  # sent to 127.0.0.1:2000 instead, not to this daemon


def test_the_double_address_form_is_followed(native: XRayDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"tcp:127.0.0.1:1 udp:{native.address}")
    _fail()
    assert native.one("audit_trail_persist")["name"] == "audit_trail_persist"


def test_one_socket_per_process(native: XRayDaemon) -> None:
    _fail()
    first = _daemon._socket
    _fail()
    assert first is not None and _daemon._socket is first
    assert len(native.datagrams()) == 2


def test_a_document_over_64_kb_is_dropped_with_a_warning(
    native: XRayDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    assert _daemon.send(json.dumps({"name": "x" * 70_000})) is False
    assert "daemon drops datagrams over 65536 bytes" in caplog.text
    assert _daemon.send(json.dumps({"name": "small"})) is True
    [raw] = native.datagrams()
    assert raw == PROTOCOL_HEADER + b'{"name": "small"}'


def test_environment_override_and_alias(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for value, expected in [
        ("native", "NativeBackend"),
        ("xray", "XRaySdkBackend"),
        ("XRAY-SDK", "XRaySdkBackend"),
    ]:
        monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", value)
        set_default_backend(None)
        assert type(get_default_backend()).__name__ == expected
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", "jaeger")
    set_default_backend(None)
    assert (
        type(get_default_backend()).__name__ == "NativeBackend"
    )  # auto, though this process imported the SDK
    assert "Ignoring malformed XRAY_EXCLUSIVE_BACKEND='jaeger'" in caplog.text
    set_default_backend(None)


def test_resolve_backend_names() -> None:
    assert type(resolve_backend("native")).__name__ == "NativeBackend"
    assert type(resolve_backend("xray-sdk")).__name__ == type(resolve_backend("xray")).__name__
    with pytest.raises(ValueError, match=r"known: .*native.*otel.*xray-sdk"):
        resolve_backend("jaeger")


def test_inert_outside_lambda(outside_lambda: None, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", "native")
    set_default_backend(None)
    with failure_path(paths.AUDIT_TRAIL_PERSIST) as fp:
        fp.fail("not persisted")
        fp.annotate(ticker="AAPL")
        fp.put_metadata("k", {"v": 1})
    assert emf_lines(capsys.readouterr().out)[0]["AuditEventPersistenceFailure"] == 1


def _circular_dict() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    return loop


def _circular_list() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


def test_circular_user_metadata_is_recorded_bounded(native: XRayDaemon) -> None:
    error = ConnectionError("dynamodb unreachable")

    def fail() -> None:
        with failure_path(paths.AUDIT_TRAIL_PERSIST) as fp:
            fp.put_metadata("loop", _circular_dict())  # the public way: a bounded copy, the cycle marked
            fp.put_metadata("items", _circular_list())
            raise error

    with pytest.raises(ConnectionError) as caught:
        fail()
    assert caught.value is error
    metadata = native.one(paths.AUDIT_TRAIL_PERSIST.name)["metadata"]["xray_exclusive"]
    assert metadata["loop"] == {"name": "loop", "self": "<cycle: dict>"}
    assert metadata["items"] == [1, "<cycle: list>"]


@pytest.mark.parametrize("cycle", [_circular_dict, _circular_list], ids=["dict", "list"])
def test_a_circular_document_is_our_failure_logged_never_the_callers(
    cycle: Any, native: XRayDaemon, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Past the bounded copy (a backend's own caller could do it): the document itself has a cycle. As with
    # json.dumps(check_circular=True), its serialisation raises ValueError("Circular reference detected"),
    # which the failure path logs as its own failure; the caller's exception comes back untouched.
    error = ConnectionError("dynamodb unreachable")

    def fail() -> None:
        with failure_path(paths.AUDIT_TRAIL_PERSIST) as fp:
            span = fp._span
            assert span is not None and span.recording
            span.add_metadata("user", "loop", cycle())
            raise error

    with pytest.raises(ConnectionError) as caught:
        fail()
    assert caught.value is error
    assert error.__context__ is None and error.__cause__ is None
    assert "closing its subsegment failed (ValueError: Circular reference detected)" in caplog.text
    assert "RecursionError" not in caplog.text
    assert native.documents() == []  # nothing half-written was sent
    [metric] = emf_lines(capsys.readouterr().out)  # the metric line first: never lost
    assert metric[paths.AUDIT_TRAIL_PERSIST.metric] == 1
