"""The differential: the same handlers under AWS's ``awslambdaric`` and under our runtime must look the same.

Both run as subprocesses against one recording ``LocalRuntimeAPI``. Every request they send (path, headers,
body, the X-Ray error cause), the ``context`` a handler sees and what they write to the log are compared,
after replacing what differs by nature: request ids, timestamps, the ``Host`` port and ``User-Agent``. The
documented differences (docs/runtime.md) are asserted as such, so that a new one fails here.
"""

from __future__ import annotations

import decimal
import json
import math
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xray_exclusive.runtime import _marshal
from xray_exclusive.runtime.local import LocalRuntimeAPI

ROOT = Path(__file__).resolve().parents[1]
HANDLER = "tests/awslambdaric_handlers.dispatch"  # sub/module.function, as _HANDLER may name it
TIMEOUT = 30.0
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")
XRAY_CAUSE = "lambda-runtime-function-xray-error-cause"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
RUNTIMES = {"awslambdaric": "awslambdaric", "ours": "xray_exclusive.runtime"}


@dataclass
class Run:
    """What one runtime process did: its requests (normalised), its log, its exit code, the answers."""

    requests: list[tuple[str, str, dict[str, Any], str]]
    out: str
    code: int | None
    answers: list[Any]
    frames: list[tuple[int, str]]


def function_env(api: LocalRuntimeAPI, **extra: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        AWS_LAMBDA_RUNTIME_API=api.address,
        LAMBDA_TASK_ROOT=str(ROOT),
        AWS_LAMBDA_FUNCTION_NAME="differential",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/differential",
        AWS_LAMBDA_LOG_STREAM_NAME="2026/01/01/[$LATEST]abc",
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def normalise(text: str, ids: dict[str, str]) -> str:
    def name(match: re.Match[str]) -> str:
        return ids.setdefault(match.group(0), f"<id{len(ids)}>")

    return STAMP.sub("<time>", UUID.sub(name, text))


def read_frames(data: bytes, ids: dict[str, str]) -> list[tuple[int, str]]:
    frames = []
    while data:
        kind, length = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
        frames.append((kind, normalise(data[16 : 16 + length].decode(), ids)))
        data = data[16 + length :]
    return frames


def run(
    runtime: str,
    api: LocalRuntimeAPI,
    invocations: list[dict[str, Any]],
    handler: str = HANDLER,
    root: Path = ROOT,
    framed: bool = False,
    **extra_env: str,
) -> Run:
    """Start ``runtime`` with ``handler``, invoke it with each of ``invocations``, then stop it."""
    first_request = len(api.requests)
    env = function_env(api, LAMBDA_TASK_ROOT=str(root), PYTHONPATH=f"{root}{os.pathsep}{ROOT}", **extra_env)
    read_fd = write_fd = -1
    if framed:
        read_fd, write_fd = os.pipe()
        env["_LAMBDA_TELEMETRY_LOG_FD"] = str(write_fd)
    process = subprocess.Popen(
        [sys.executable, "-m", RUNTIMES[runtime], handler],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(write_fd,) if framed else (),
    )
    if framed:
        os.close(write_fd)
    records = []
    for invocation in invocations:
        kwargs = dict(invocation)
        event = kwargs.pop("event")
        records.append(api.wait(api.invoke(event, **kwargs), timeout=TIMEOUT))
    if api.init_failure is not None or any(b"Runtime.ExitError" in record.body for record in records):
        process.wait(timeout=TIMEOUT)  # INIT failed, or the function exited: the runtime is ending by itself
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=TIMEOUT)
    frames_data = b""
    if framed:
        with os.fdopen(read_fd, "rb") as pipe:
            frames_data = pipe.read()
    ids: dict[str, str] = {}
    requests = []
    for request in api.requests[first_request:]:
        headers = {
            k.lower(): normalise(v, ids)
            for k, v in request.headers
            if k.lower() not in ("host", "user-agent")
        }
        cause = headers.pop(XRAY_CAUSE, None)
        if cause is not None:
            cause = json.loads(cause)
            cause["paths"] = sorted(cause["paths"])
            headers[XRAY_CAUSE] = cause
        body = normalise(request.body.decode("utf-8", "replace"), ids)
        requests.append((request.method, normalise(request.path, ids), headers, body))
    if requests and requests[-1][0] == "GET":  # the next `next`, pending (or not yet sent) at the kill
        requests.pop()
    # Under load, the previous runtime's last `next`, sent just before it was killed, can be recorded after
    # this run began: a GET followed by another GET was never answered with an event, by either runtime.
    requests = [
        r
        for i, r in enumerate(requests)
        if not (r[0] == "GET" and i + 1 < len(requests) and requests[i + 1][0] == "GET")
    ]
    answers = [normalise(record.body.decode("utf-8", "replace"), ids) for record in records]
    text = normalise(out.decode("utf-8", "replace"), ids)
    return Run(requests, text, process.returncode, answers, read_frames(frames_data, ids))


@pytest.fixture
def api() -> Iterator[LocalRuntimeAPI]:
    local = LocalRuntimeAPI()
    yield local
    local.close()


def both(api: LocalRuntimeAPI, invocations: list[dict[str, Any]], **kwargs: Any) -> tuple[Run, Run]:
    return run("awslambdaric", api, invocations, **kwargs), run("ours", api, invocations, **kwargs)


BUFFERED_CASES = [
    "hello",
    "unicode_text",
    "decimals",
    "not_a_number",
    "raw_bytes",
    "nothing",
    "unserialisable",
    "circular",
    "a_set",
    "raises",
    "raises_chained",
    "logs",
    "logs_exception",
]
MOBILE = {
    "client_context": {
        "custom": {"k": "v"},
        "env": {"platform": "android"},
        "client": {"app_title": "app", "installation_id": "i-1"},
        "w3c": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "x": "dropped"},
    },
    "cognito_identity": {"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "us-east-1:pool"},
    "tenant_id": "tenant-7",
}


def test_buffered_handlers_are_served_exactly_as_awslambdaric_serves_them(api: LocalRuntimeAPI) -> None:
    invocations: list[dict[str, Any]] = [{"event": {"case": case}} for case in BUFFERED_CASES]
    invocations += [
        {"event": {"case": "context_probe"}, "trace_id": TRACE_HEADER, **MOBILE},
        {"event": {"case": "context_probe"}},  # no trace header: _X_AMZN_TRACE_ID is removed
        {
            "event": b"raw \xff bytes",
            "content_type": "application/octet-stream",
        },  # not JSON: bytes as they are
        {"event": b"not json"},  # declared JSON, is not: Runtime.UnmarshalError
    ]
    theirs, ours = both(api, invocations)
    assert len(ours.requests) == len(theirs.requests) == 2 * len(invocations)
    for mine, reference in zip(ours.requests, theirs.requests, strict=True):
        assert mine == reference
    assert ours.answers == theirs.answers
    # The cases say what they check: spot-check the answers themselves.
    answers = dict(zip(BUFFERED_CASES, ours.answers, strict=False))
    assert answers["hello"] == '"hello"'
    assert json.loads(answers["decimals"].replace("NaN", "null"))["price"] == 1.5
    assert '"exact": 12345678901234567890.123456789' in answers["decimals"]
    assert answers["not_a_number"] == '{"nan": NaN, "inf": Infinity, "ninf": -Infinity}'
    assert json.loads(answers["unserialisable"])["errorType"] == "Runtime.MarshalError"
    probe = json.loads(ours.answers[len(BUFFERED_CASES)])
    assert probe["identity_id"] == "us-east-1:abc" and probe["custom"] == {"k": "v"}
    assert probe["tenant_id"] == "tenant-7" and probe["app_title"] == "app"
    assert probe["w3c"] == {"traceparent": MOBILE["client_context"]["w3c"]["traceparent"]}
    assert probe["trace_env"] == TRACE_HEADER and probe["class"] == "LambdaContext"
    bare = json.loads(ours.answers[len(BUFFERED_CASES) + 1])
    assert bare["trace_env"] is None and bare["identity_id"] is None and bare["custom"] is None
    errors = [body for method, path, _, body in ours.requests if path.endswith("/error")]
    documents = [json.loads(body) for body in errors]
    assert all(list(d) == ["errorMessage", "errorType", "requestId", "stackTrace"] for d in documents)
    raised = next(d for d in documents if d["errorType"] == "ValueError")
    assert raised["requestId"].startswith("<id") and "xray_exclusive" not in json.dumps(raised)
    assert [frame.split(", in ")[1].split("\n")[0] for frame in raised["stackTrace"]] == [
        "dispatch",
        "raises",
        "inner",
    ]
    # The log: the same lines, except that ours keeps a multi-line record in one CloudWatch event.
    assert "[WARNING]\t<time>\t<id" in theirs.out and "first line\nsecond line" in theirs.out
    start = theirs.out.index("\tcaught\n")
    end = theirs.out.index("KeyError: 'gone'", start)
    traceback_record = theirs.out[start:end]
    assert traceback_record.count("\n") >= 3  # awslambdaric on stdout: one CloudWatch event per line
    expected = theirs.out.replace(traceback_record, traceback_record.replace("\n", "\r"))
    assert ours.out == expected.replace("first line\nsecond line", "first line\rsecond line")
    assert "info line" not in ours.out  # WARNING by default, as awslambdaric


def test_json_logs_and_log_level_as_awslambdaric(api: LocalRuntimeAPI) -> None:
    invocations = [{"event": {"case": case}} for case in ("logs", "logs_exception", "raises")]
    theirs, ours = both(api, invocations, AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="DEBUG")
    assert ours.requests == theirs.requests
    assert ours.out == theirs.out
    records = [json.loads(line) for line in ours.out.splitlines() if line.startswith("{")]
    assert {"debug line", "info line", "an error with args"} <= {r.get("message") for r in records}
    assert next(r for r in records if r.get("message") == "an error with args")["order_id"] == 42


def test_the_telemetry_log_descriptor_gets_the_same_frames(api: LocalRuntimeAPI) -> None:
    invocations = [{"event": {"case": case}} for case in ("logs", "raises")]
    theirs, ours = both(api, invocations, framed=True, AWS_LAMBDA_LOG_LEVEL="INFO")
    assert theirs.frames and ours.frames == theirs.frames
    assert any("first line\nsecond line" in text for _, text in ours.frames)  # one frame, one record
    assert ours.out == theirs.out == "printed line\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "handler"),
    [
        pytest.param("def handler(event, context:\n    pass\n", "fn.handler", id="syntax_error"),
        pytest.param("import json\nraise RuntimeError('at import')\n", "fn.handler", id="import_exception"),
        pytest.param("import a_module_that_does_not_exist\n", "fn.handler", id="import_error"),
        pytest.param("def handler(event, context):\n    return 1\n", "fn.missing", id="handler_not_found"),
        pytest.param("", "no_dot_in_it", id="malformed_name"),
        pytest.param("", "sys.handler", id="built_in_module"),
    ],
)
def test_init_errors_as_awslambdaric(api: LocalRuntimeAPI, tmp_path: Path, source: str, handler: str) -> None:
    (tmp_path / "fn.py").write_text(source)
    invocations = [{"event": {}}]
    theirs = run("awslambdaric", api, invocations, handler=handler, root=tmp_path)
    fresh = LocalRuntimeAPI()  # after an INIT error, an API answers every invocation with it
    try:
        ours = run("ours", fresh, invocations, handler=handler, root=tmp_path)
    finally:
        fresh.close()
    assert ours.requests == theirs.requests
    assert theirs.code == ours.code == 1
    [(_, path, headers, body)] = ours.requests
    assert path == "/2018-06-01/runtime/init/error"
    document = json.loads(body)
    assert headers["lambda-runtime-function-error-type"] == document["errorType"]
    assert document["errorType"] != "Runtime.HandlerNotFound" or handler == "fn.missing"
    # awslambdaric also logs a warning about managed runtime updates, which does not apply to this runtime.
    warning = [line for line in theirs.out.splitlines(keepends=True) if "LAMBDA_WARNING" in line]
    assert ours.out == theirs.out.replace("".join(warning), "")


def test_system_exit_ends_the_process_in_both(api: LocalRuntimeAPI) -> None:
    theirs, ours = both(api, [{"event": {"case": "exits", "code": 3}}])
    assert theirs.code == ours.code == 3
    assert ours.requests == theirs.requests  # only the `next`: nothing is posted
    assert ours.answers == theirs.answers
    assert json.loads(ours.answers[0])["errorType"] == "Runtime.ExitError"


def test_one_connection_for_the_whole_process_in_both(api: LocalRuntimeAPI) -> None:
    before = api.connections
    run("awslambdaric", api, [{"event": {"case": "hello"}}] * 5)
    middle = api.connections
    run("ours", api, [{"event": {"case": "hello"}}] * 5)
    assert middle - before == api.connections - middle == 1


# ------------------------------------------------------------------------- the encoder, property-based

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.decimals(allow_nan=True, allow_infinity=True, places=None)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize("execution_env", [None, "AWS_Lambda_python3.13"])
@settings(max_examples=300, deadline=None)
@given(value=values)
@example(value="\u2028 \u2029")  # found by hypothesis: simplejson 4 writes both raw, without ensure_ascii
def test_json_encoding_is_awslambdaric_s(execution_env: str | None, value: Any) -> None:
    from awslambdaric import lambda_runtime_marshaller as reference

    saved = os.environ.get("AWS_EXECUTION_ENV")
    try:
        if execution_env is None:
            os.environ.pop("AWS_EXECUTION_ENV", None)
        else:
            os.environ["AWS_EXECUTION_ENV"] = execution_env
        try:
            expected: Any = reference.LambdaMarshaller().marshal_response(value)
        except Exception as exc:
            expected = ("error", getattr(exc, "exception_type", None), getattr(exc, "msg", None))
        try:
            body, content_type = _marshal.marshal_response(value)
            actual: Any = (body.decode(), content_type)
        except _marshal.MarshalError as exc:
            actual = ("error", exc.error_type, exc.message)
    finally:
        if saved is None:
            os.environ.pop("AWS_EXECUTION_ENV", None)
        else:
            os.environ["AWS_EXECUTION_ENV"] = saved
    assert actual == expected


def test_a_decimal_is_written_as_the_number_it_holds() -> None:
    assert _marshal.to_json([decimal.Decimal("0.10"), decimal.Decimal("sNaN")]) == "[0.10, NaN]"
    assert math.isnan(json.loads(_marshal.to_json(decimal.Decimal("NaN"))))
