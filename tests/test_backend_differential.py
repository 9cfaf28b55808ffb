"""The native backend writes what the X-Ray SDK writes: the same scenarios through both, compared.

Each scenario runs once on the ``xray-sdk`` backend (the SDK's own ``Subsegment`` models, serialised
by the SDK's ``UDPEmitter``) and once on the ``native`` one, against the same loopback daemon. The
datagrams must be equal byte for byte once ids and times are replaced: same fields, same values,
same key order, same JSON formatting (which is what the 64 KB budgets are computed against).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests import example_paths as paths
from tests.conftest import PROTOCOL_HEADER, TRACE_PARENT, XRayDaemon
from xray_exclusive import FailurePath, failure_path, http_subsegment, set_default_backend
from xray_exclusive._backend import resolve_backend

HEX16 = re.compile(r"[0-9a-f]{16}\Z")


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PutItem",
    )


@dataclass(frozen=True)
class Frozen(Exception):
    reason: str = "frozen"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


class ResponseRaises(Exception):
    @property
    def response(self) -> Any:
        raise RuntimeError("no")


def _raise(exc: BaseException, path: Any = paths.AUDIT_TRAIL_PERSIST, **kwargs: Any) -> None:
    try:
        with failure_path(path, **kwargs):
            raise exc
    except BaseException as caught:
        assert caught is exc


def _deep(n: int) -> None:
    if n == 0:
        raise ValueError("é deep " * 2_000)
    _deep(n - 1)


def _deep_stack() -> None:
    try:
        _deep(40)
    except ValueError as exc:
        _raise(exc, paths.CIRCUIT_BREAKER_LOAD)


def _fail_with_annotations() -> None:
    with failure_path(paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": "AAPL"}) as fp:
        fp.fail("unprocessed items after retries", count=3, unprocessed_count=3, resolutions="1m,5m")
        fp.fail("second reason", count=1)


def _odd_annotations_and_metadata() -> None:
    odd = {5: "x", "user.id": "u-1", "nan": float("nan"), "big": 2**60, "ok": 1.5, "flag": False}
    odd.update({f"k{i}": i for i in range(60)})
    with failure_path(paths.AUDIT_TRAIL_PERSIST, annotations=odd) as fp:
        fp.put_metadata("response", {"body": b"\x00" * 1000, "text": "y" * 5_000, "items": list(range(300))})
        fp.put_metadata("unicode", "ünïcödé ✓ \U0001f600")


def _nested() -> None:
    try:
        with failure_path(paths.CIRCUIT_BREAKER_LOAD), failure_path(paths.AUDIT_TRAIL_PERSIST):
            raise client_error("InternalServerError", 500)
    except ClientError:
        pass


def _decorated() -> None:
    @failure_path(paths.DOWNSTREAM_NOTIFICATION_PUBLISH)
    def publish() -> None:
        with failure_path(paths.SELF_HEALING_ITEM_FETCH, annotations={"source_id": "n#1"}):
            raise TimeoutError("slow")

    with contextlib.suppress(TimeoutError):
        publish()


def _http(status: int | None, make: Callable[[], BaseException] | None = None) -> Callable[[], None]:
    def scenario() -> None:
        exc = make() if make is not None else None
        try:
            with http_subsegment(
                "send (grid)!",
                method="post",
                url="https://user:pw@api.sendgrid.com/v3/mail/send?api_key=secret#x",
                annotations={"recipient_count": 3, 7: "dropped"},
            ) as call:
                if status is not None:
                    call.status(status)
                if exc is not None:
                    raise exc
        except BaseException as caught:
            assert caught is exc

    return scenario


def _deleted_cwd(tmp: str) -> Callable[[], None]:
    def scenario() -> None:
        here = os.getcwd()
        gone = os.path.join(tmp, "gone")
        os.makedirs(gone)
        os.chdir(gone)
        try:
            os.rmdir(gone)
            _raise(ConnectionResetError("reset"))
        finally:
            os.chdir(here)

    return scenario


SCENARIOS: dict[str, Callable[[], None]] = {
    "success": lambda: _success(),
    "throttled": lambda: _raise(client_error("ProvisionedThroughputExceededException", 400)),
    "http_429": lambda: _raise(client_error("TooManyRequestsException", 429)),
    "denied_403": lambda: _raise(client_error("AccessDeniedException", 403)),
    "server_500": lambda: _raise(client_error("InternalServerError", 500)),
    "connection": lambda: _raise(ConnectionRefusedError("refused")),
    "urllib_404": lambda: _raise(urllib.error.HTTPError("http://x", 404, "Not Found", None, None)),  # type: ignore[arg-type]
    "forced_fault": lambda: _raise(
        client_error("AccessDeniedException", 403), FailurePath("forced", namespace="T/NS", mark="fault")
    ),
    "fail_with_annotations": _fail_with_annotations,
    "odd_annotations_and_metadata": _odd_annotations_and_metadata,
    "nested": _nested,
    "decorated_nested": _decorated,
    "deep_stack_long_unicode_message": _deep_stack,
    "frozen_dataclass": lambda: _raise(Frozen()),
    "huge_class_name": lambda: _raise(type("E" * 200_000, (Exception,), {})("m" * 200_000)),
    "unprintable": lambda: _raise(Unprintable()),
    "response_raises": lambda: _raise(ResponseRaises("r")),
    "http_202": _http(202),
    "http_status_429": _http(429),
    "http_500_exception": _http(None, lambda: urllib.error.HTTPError("http://x", 500, "Bad", None, None)),  # type: ignore[arg-type]
    "http_refused": _http(None, lambda: urllib.error.URLError("connection refused")),
}


def _success() -> None:
    with failure_path(paths.CIRCUIT_BREAKER_SAVE, annotations={"attempt": 1}):
        pass


def _datagrams(daemon: XRayDaemon, backend: str, scenario: Callable[[], None]) -> list[bytes]:
    daemon.clear()
    set_default_backend(resolve_backend(backend))
    try:
        scenario()
    finally:
        set_default_backend(None)
    raw = daemon.datagrams()
    assert raw, f"{backend}: nothing was sent"
    return raw


def normalised(raw: list[bytes]) -> list[str]:
    """Each document as its JSON text (key order kept), ids numbered by first appearance, times removed."""
    names: dict[str, str] = {TRACE_PARENT: "<function segment>"}

    def ident(value: str) -> str:
        assert HEX16.match(value), value
        return names.setdefault(value, f"<id {len(names)}>")

    out = []
    for datagram in raw:
        assert datagram.startswith(PROTOCOL_HEADER)
        text = datagram[len(PROTOCOL_HEADER) :].decode()
        doc = json.loads(text)
        assert json.dumps(doc) == text, "not serialised as json.dumps does (separators, ASCII escapes)"
        assert isinstance(doc.pop("start_time"), float) and isinstance(doc.pop("end_time"), float)
        doc["id"] = ident(doc["id"])
        doc["parent_id"] = ident(doc["parent_id"])
        for exception in doc.get("cause", {}).get("exceptions", []):
            exception["id"] = "<exception id>" if HEX16.match(exception["id"]) else exception["id"]
        out.append(json.dumps(doc))
    return out


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_native_documents_equal_the_sdk_documents(
    name: str, xray: XRayDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = SCENARIOS[name]
    sdk = normalised(_datagrams(xray, "xray-sdk", scenario))
    sdk_metrics = capsys.readouterr().out
    native = normalised(_datagrams(xray, "native", scenario))
    native_metrics = capsys.readouterr().out
    assert native == sdk
    assert re.sub(r'"Timestamp":\d+', "", native_metrics) == re.sub(r'"Timestamp":\d+', "", sdk_metrics)


def test_deleted_working_directory(xray: XRayDaemon, tmp_path: Any) -> None:
    sdk = normalised(_datagrams(xray, "xray-sdk", _deleted_cwd(str(tmp_path / "a"))))
    native = normalised(_datagrams(xray, "native", _deleted_cwd(str(tmp_path / "b"))))
    assert native == sdk
    assert json.loads(native[0])["cause"]["working_directory"] == ""


def test_under_a_powertools_handler(xray: XRayDaemon) -> None:
    """Both backends file the failure path under Powertools' `## handler`, read from the SDK's stack."""
    from aws_lambda_powertools.tracing import Tracer

    tracer = Tracer(auto_patch=False)

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> None:
        _nested()

    sdk = normalised(_datagrams(xray, "xray-sdk", lambda: handler({}, None)))
    native = normalised(_datagrams(xray, "native", lambda: handler({}, None)))
    assert native[:2] == sdk[:2]  # the two failure paths; the handler's own document differs in its metadata
    handler_doc = json.loads(native[2])
    assert handler_doc["name"] == "## handler"
    assert json.loads(native[1])["parent_id"] == handler_doc["id"]  # circuit_breaker_load under the handler


def test_the_native_document_is_what_the_sdk_recorder_itself_writes(xray: XRayDaemon) -> None:
    """Not only our SDK backend: the SDK's own begin/end_subsegment writes the same success document."""
    from aws_xray_sdk.core import xray_recorder

    def by_the_sdk() -> None:
        subsegment = xray_recorder.begin_subsegment("circuit_breaker_save")
        subsegment.put_annotation("attempt", 1)
        xray_recorder.end_subsegment()

    sdk = normalised(_datagrams(xray, "xray-sdk", by_the_sdk))
    native = normalised(_datagrams(xray, "native", _success))
    assert native == sdk
