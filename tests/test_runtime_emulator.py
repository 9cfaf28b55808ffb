"""The custom runtime under AWS's Lambda Runtime Interface Emulator, and ``LocalRuntimeAPI`` held against it.

The emulator (``scripts/build-peers rie``, from its pinned Go module) runs as a function's container runs it,
``aws-lambda-rie python -m xray_exclusive.runtime <handler>``. It takes the handler from its last argument
and hands it to the runtime as ``_HANDLER`` (with ``AWS_LAMBDA_RUNTIME_API`` set to its own Runtime API),
starts the runtime on the first invocation, and serves ``POST /2015-03-31/functions/function/invocations``.
Both of its ports are bound to 127.0.0.1 here. Every scenario then runs again with the same handler against
``LocalRuntimeAPI``, and a caller must see the same thing from both: status and body, byte for byte. The
emulator forwards no header of the runtime's to its caller (its ``Content-Type`` is Go's content sniffing), so
there are no headers to compare; ``test_streamed_response_arrives_whole`` trips if that changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import rie_handlers
from tests.otlp_receiver import OTLPReceiver
from xray_exclusive.runtime import HTTP_INTEGRATION, HttpResponse
from xray_exclusive.runtime.local import MAX_PAYLOAD_SIZE, LocalRuntimeAPI

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
HTTP_TIMEOUT = 30.0  # every HTTP call and every process wait is bounded by this
EVENT = b'{"key": "v"}'
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

# Every difference the emulator showed between itself and LocalRuntimeAPI, now fixed in LocalRuntimeAPI:
# (scenario, what the emulator does, what LocalRuntimeAPI did before). The test of each scenario fails if
# LocalRuntimeAPI goes back.
DIFFERENCES_FIXED: list[tuple[str, str, str]] = [
    (
        "init_error_import, init_error_missing_handler",
        "the invocation is answered 502 with the INIT error document, and so is every later one",
        "INIT error recorded; the invocation was never answered (wait timed out)",
    ),
    (
        "oversized_buffered_response",
        "a buffered response over 6 MiB + 100 bytes: 413 to the runtime; the caller gets 200 and "
        '{"errorType": "Function.ResponseSizeTooLarge", "errorMessage": "Response payload size exceeded '
        'maximum allowed payload size (6291556 bytes)."}',
        "accepted (202) and recorded as the response",
    ),
    (
        "context_seen_by_the_handler",
        "aws_request_id is a UUID (36 characters)",
        "16 hex digits",
    ),
    (
        "context_seen_by_the_handler",
        "invoked_function_arn is arn:aws:lambda:us-east-1:012345678912:function:<AWS_LAMBDA_FUNCTION_NAME, "
        "default test_function>",
        "always arn:aws:lambda:eu-west-1:123456789012:function:sse",
    ),
    (
        "context_seen_by_the_handler",
        "the deadline is AWS_LAMBDA_FUNCTION_TIMEOUT seconds away, 300 by default",
        "always 60 seconds",
    ),
    (
        "invalid_json_event",
        "the request body reaches the runtime as it is (the runtime answers Runtime.UnmarshalError)",
        "invoke() JSON-encoded every event: a body that is not JSON could not be sent",
    ),
]

# Where the emulator differs from Lambda itself; LocalRuntimeAPI keeps Lambda's behaviour.
EMULATOR_LIMITATIONS: list[tuple[str, str, str]] = [
    (
        "stream_fails_after_first_byte",
        "the error trailers are dropped: the caller sees 200 and the partial body, no error",
        "the trailers are recorded (Received.trailers), as Lambda reports them",
    ),
    (
        "context_seen_by_the_handler",
        "no Lambda-Runtime-Trace-Id, even when the caller sends X-Amzn-Trace-Id",
        "sends the trace header given to invoke()",
    ),
    (
        "(streamed responses)",
        "buffers the whole stream and caps it at 6 MiB + 100 bytes, as a buffered response",
        "no cap on a stream (Lambda streams up to 20 MiB and more)",
    ),
]


# ------------------------------------------------------------------------------------------- processes


@pytest.fixture(scope="session")
def rie_binary() -> Path:
    """The emulator, built (or reused) from its pinned Go module by scripts/build-peers."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-peers"), "rie"],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,  # a first build downloads the module; later runs reuse the binary
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("rie ")]
    assert lines, result.stdout + result.stderr
    match = re.fullmatch(r"rie (built|reused) (\d+) (\S+)", lines[-1])
    assert match, lines[-1]
    path = Path(match.group(3))
    assert path.is_file() and os.access(path, os.X_OK), path
    return path


@pytest.fixture(scope="module")
def collector() -> Iterator[OTLPReceiver]:
    """The loopback OTLP receiver the streaming spans go to."""
    receiver = OTLPReceiver()
    yield receiver
    receiver.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def function_env(collector: OTLPReceiver) -> dict[str, str]:
    """The function's configuration, as its image and Terraform would set it; nothing from this process."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update(
        LAMBDA_TASK_ROOT=str(TESTS),
        OTEL_SERVICE_NAME="rie-function",
        POWERTOOLS_SERVICE_NAME="rie-function",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=collector.endpoint,
        AWS_REGION="us-east-1",
        POWERTOOLS_METRICS_DISABLED="true",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@dataclass
class Seen:
    """What a caller sees of one invocation."""

    status: int
    body: bytes
    headers: dict[str, str]

    def document(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict), self.body[:200]
        return value


class Process:
    """A process in a session of its own, so that it and its children end together."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, cwd=TESTS, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the whole group (the emulator then kills its runtime), SIGKILL if it lingers."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=HTTP_TIMEOUT / 3)
            except subprocess.TimeoutExpired:
                continue
            if sig == signal.SIGTERM:  # a child that outlived its parent goes too
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            return
        raise AssertionError(f"process {self.process.pid} survived SIGKILL")


class Emulator(Process):
    """``aws-lambda-rie python -m xray_exclusive.runtime <handler>`` on loopback ports."""

    def __init__(self, binary: Path, handler: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.runtime_api = f"127.0.0.1:{free_port()}"
        argv = [
            str(binary),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            self.runtime_api,
            sys.executable,
            "-m",
            "xray_exclusive.runtime",
            handler,
        ]
        super().__init__(argv, env, log)
        deadline = time.monotonic() + HTTP_TIMEOUT
        while True:
            assert self.process.poll() is None, f"the emulator exited:\n{self.output()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"the emulator never listened:\n{self.output()}"
                time.sleep(0.02)

    def invoke(self, body: bytes = EVENT, headers: dict[str, str] | None = None) -> Seen:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{INVOKE_PATH}", data=body, method="POST", headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                return Seen(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as error:
            with error:
                return Seen(error.code, error.read(), dict(error.headers))


class LocalFunction(Process):
    """The same runtime and handler against ``LocalRuntimeAPI``, as tests/test_runtime.py runs it."""

    def __init__(self, handler: str, env: dict[str, str], log: Path) -> None:
        self.api = LocalRuntimeAPI()
        env = {**env, "AWS_LAMBDA_RUNTIME_API": self.api.address, "_HANDLER": handler}
        super().__init__([sys.executable, "-m", "xray_exclusive.runtime"], env, log)

    def invoke(self, body: bytes = EVENT, trace_id: str | None = None) -> Seen:
        record = self.api.wait(self.api.invoke(body, trace_id), timeout=HTTP_TIMEOUT)
        return Seen(record.status, record.body, record.headers)

    def stop(self) -> None:
        super().stop()
        self.api.close()


@pytest.fixture
def emulator(rie_binary: Path, collector: OTLPReceiver, tmp_path: Path) -> Iterator[Any]:
    """Start the emulator with a handler; each one is stopped (with its runtime) at the end."""
    started: list[Emulator] = []

    def start(handler: str) -> Emulator:
        emulator = Emulator(
            rie_binary, handler, function_env(collector), tmp_path / f"rie-{len(started)}.log"
        )
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def local(collector: OTLPReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start the runtime against a LocalRuntimeAPI of its own; each one is stopped at the end."""
    # LocalRuntimeAPI reads these as the emulator does; the emulator has none set here either.
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    started: list[LocalFunction] = []

    def start(handler: str) -> LocalFunction:
        function = LocalFunction(handler, function_env(collector), tmp_path / f"local-{len(started)}.log")
        started.append(function)
        return function

    yield start
    for function in started:
        function.stop()


def same_for_the_caller(rie: Seen, ours: Seen) -> None:
    """The differential: status and body, byte for byte (JSON compared parsed first, for a readable diff).

    An error document's ``requestId`` is the invocation's own: each side's is replaced by the same marker.
    """
    assert ours.status == rie.status
    bodies = []
    for seen in (rie, ours):
        body = seen.body
        with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
            request_id = json.loads(body)["requestId"]
            if request_id:
                assert uuid.UUID(request_id).version == 4
                body = body.replace(request_id.encode(), b"<request id>")
        bodies.append(body)
    with contextlib.suppress(ValueError):
        assert json.loads(bodies[1]) == json.loads(bodies[0])
    assert bodies[1] == bodies[0]


# ----------------------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        pytest.param(
            "returns_dict",
            b'{"statusCode": 200, "body": "hello", "echo": {"key": "v"}, "request_id_set": true}',
            id="dict",
        ),
        # A str is JSON-encoded, as awslambdaric does (ASCII-only outside the managed python3.12+ runtimes).
        pytest.param("returns_string", b'"plain text, not JSON \\u2713"', id="string"),
        pytest.param("returns_none", b"null", id="none"),
    ],
)
def test_buffered_results(emulator: Any, local: Any, handler: str, expected: bytes) -> None:
    rie = emulator(f"rie_handlers.{handler}")
    first, second = rie.invoke(), rie.invoke()  # the second is a warm invocation of the same runtime
    assert (first.status, first.body) == (200, expected)
    assert (second.status, second.body) == (200, expected)
    ours = local(f"rie_handlers.{handler}")
    same_for_the_caller(first, ours.invoke())
    same_for_the_caller(second, ours.invoke())


def assert_error_document(document: dict[str, Any], error_type: str, message: str, last_frame: str) -> None:
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorType"] == error_type
    assert document["errorMessage"] == message
    trace = document["stackTrace"]
    if not last_frame:  # an INIT fault of the runtime's (as awslambdaric): no stack trace
        assert trace == [], trace
        return
    assert isinstance(trace, list) and trace, document
    assert all(isinstance(frame, str) and frame.startswith('  File "') for frame in trace), trace
    assert last_frame in trace[-1], trace[-1]
    assert "xray_exclusive" not in "".join(trace)  # no frame of the runtime's own


def test_handler_exception(emulator: Any, local: Any) -> None:
    rie = emulator("rie_handlers.raises")
    seen = rie.invoke()
    assert seen.status == 200  # a function error is a successful invocation: the document is the body
    assert_error_document(seen.document(), "ValueError", "bad input: 'v'", "rie_handlers.py")
    assert 'raise ValueError(f"bad input:' in seen.document()["stackTrace"][-1]
    again = rie.invoke().document()  # the runtime survives its handler's exceptions
    assert again.pop("requestId") != seen.document()["requestId"]
    assert again == {k: v for k, v in seen.document().items() if k != "requestId"}
    same_for_the_caller(seen, local("rie_handlers.raises").invoke())


@pytest.mark.parametrize(
    ("handler", "error_type", "message", "last_frame"),
    [
        pytest.param(
            "runtime_broken_handler.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'runtime_broken_handler': "
            "No module named 'a_module_that_does_not_exist'",
            "",
            id="init_error_import",
        ),
        pytest.param(
            "rie_handlers.no_such_function",
            "Runtime.HandlerNotFound",
            "Handler 'no_such_function' missing on module 'rie_handlers'",
            "",
            id="init_error_missing_handler",
        ),
    ],
)
def test_init_error(
    emulator: Any, local: Any, handler: str, error_type: str, message: str, last_frame: str
) -> None:
    rie = emulator(handler)
    first = rie.invoke()
    assert first.status == 502
    assert_error_document(first.document(), error_type, message, last_frame)
    second = rie.invoke()  # the emulator runs INIT again for the next invocation: same answer
    assert (second.status, second.document()) == (502, first.document())

    ours = local(handler)
    ours_first = ours.invoke()
    assert ours.process.wait(timeout=HTTP_TIMEOUT) == 1  # INIT failed: the runtime exits
    ours_second = ours.invoke()  # nothing serves it any more: answered with the INIT error at once
    same_for_the_caller(first, ours_first)
    same_for_the_caller(second, ours_second)
    assert ours.api.next_calls == 0
    [(headers, document)] = ours.api.init_errors
    assert headers["lambda-runtime-function-error-type"] == error_type
    assert document == first.document()


def expected_stream() -> bytes:
    prelude = HttpResponse(201, rie_handlers.STREAM_HEADERS, ("session=abc; Secure",)).prelude()
    return prelude + b"".join(rie_handlers.stream_payload())


def test_streamed_response_arrives_whole(emulator: Any, local: Any, collector: OTLPReceiver) -> None:
    collector.clear()
    rie = emulator("rie_handlers.streamed")
    seen = rie.invoke()
    # The span is at the collector once the caller has the body: flushed before the response completed.
    connection = collector.one("sse_stream")
    assert connection.status_code != 2  # not ERROR
    expected = expected_stream()
    assert seen.status == 200
    assert len(seen.body) == len(expected) > 256 * 1024
    assert seen.body == expected
    metadata, _, _ = seen.body.partition(b"\x00" * 8)
    assert json.loads(metadata) == {
        "statusCode": 201,
        "headers": rie_handlers.STREAM_HEADERS,
        "cookies": ["session=abc; Secure"],
    }
    # Tripwire: the emulator passes no header of the runtime's through. If this fails, it now does:
    # compare the headers with LocalRuntimeAPI's too.
    assert seen.headers.get("Content-Type") != HTTP_INTEGRATION
    assert rie.invoke().body == expected  # and again, warm

    ours = local("rie_handlers.streamed").invoke()
    same_for_the_caller(seen, ours)
    assert ours.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert ours.headers["content-type"] == HTTP_INTEGRATION


def test_stream_that_fails_before_its_first_byte(emulator: Any, local: Any) -> None:
    seen = emulator("rie_handlers.stream_fails_before_first_byte").invoke()
    assert seen.status == 200
    assert_error_document(seen.document(), "LookupError", "no stream for you", "rie_handlers.py")
    same_for_the_caller(seen, local("rie_handlers.stream_fails_before_first_byte").invoke())


def test_stream_that_fails_after_its_first_byte(emulator: Any, local: Any) -> None:
    seen = emulator("rie_handlers.stream_fails_after_first_byte").invoke()
    # The emulator drops the error trailers: the caller gets what was streamed, and no error.
    assert seen.status == 200
    assert seen.body == b"data: one\n\n"  # no HttpResponse first: no prelude
    ours = local("rie_handlers.stream_fails_after_first_byte")
    record_seen = ours.invoke()
    same_for_the_caller(seen, record_seen)
    [record] = ours.api.received.values()
    assert record.trailers["Lambda-Runtime-Function-Error-Type"] == "RuntimeError"


def test_invalid_json_event(emulator: Any, local: Any) -> None:
    seen = emulator("rie_handlers.returns_dict").invoke(b"not json")
    assert seen.status == 200
    document = seen.document()
    assert document["errorType"] == "Runtime.UnmarshalError"
    assert document["errorMessage"].startswith("Unable to unmarshal input: Expecting value")
    same_for_the_caller(seen, local("rie_handlers.returns_dict").invoke(b"not json"))


def test_oversized_buffered_response(emulator: Any, local: Any) -> None:
    rie = emulator("rie_handlers.oversized")
    fits = json.dumps({"size": MAX_PAYLOAD_SIZE}).encode()
    too_large = json.dumps({"size": MAX_PAYLOAD_SIZE + 1}).encode()
    seen_fits, seen_too_large = rie.invoke(fits), rie.invoke(too_large)
    assert (seen_fits.status, len(seen_fits.body)) == (200, MAX_PAYLOAD_SIZE)
    assert seen_too_large.status == 200
    assert seen_too_large.document() == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    }
    ours = local("rie_handlers.oversized")
    same_for_the_caller(seen_fits, ours.invoke(fits))
    same_for_the_caller(seen_too_large, ours.invoke(too_large))


def test_context_seen_by_the_handler(emulator: Any, local: Any) -> None:
    rie = emulator("rie_handlers.context_probe")
    # The emulator sends no Lambda-Runtime-Trace-Id, even for a caller's X-Amzn-Trace-Id.
    seen = rie.invoke(b"{}", {"X-Amzn-Trace-Id": TRACE_HEADER}).document()
    ours = local("rie_handlers.context_probe").invoke(b"{}").document()
    for probe in (seen, ours):
        request_id = probe.pop("aws_request_id")
        assert len(request_id) == 36 and uuid.UUID(request_id).version == 4, request_id
        remaining = probe.pop("remaining_ms")
        assert 60_000 < remaining <= 300_000  # 300 s by default, as AWS_LAMBDA_FUNCTION_TIMEOUT is unset
    assert seen == {
        "invoked_function_arn": "arn:aws:lambda:us-east-1:012345678912:function:test_function",
        "function_name": "test_function",  # set by the emulator in the runtime's environment
        "trace_env": None,
        "client_context": None,
        "identity": [None, None],  # an object, as in awslambdaric, with no Cognito identity
        "tenant_id": None,
    }
    assert ours == {**seen, "function_name": None}  # the environment is the caller's business locally
