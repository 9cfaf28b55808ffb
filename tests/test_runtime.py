"""The custom runtime as Lambda runs it: a subprocess against a loopback Runtime API and OTLP receiver."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SSE_SERVICE, new_root, trace_header
from xray_exclusive.runtime.local import LocalRuntimeAPI as FakeRuntimeAPI

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def runtime_api() -> Iterator[FakeRuntimeAPI]:
    api = FakeRuntimeAPI()
    yield api
    api.close()


class RuntimeProcess:
    def __init__(self, api: FakeRuntimeAPI, otlp: Any, handler: str, **extra_env: str) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "AWS_", "POWERTOOLS_", "_X_AMZN", "LAMBDA_", "_HANDLER"))
        }
        env.update(
            AWS_LAMBDA_RUNTIME_API=api.address,
            _HANDLER=handler,
            LAMBDA_TASK_ROOT=str(TESTS),
            AWS_LAMBDA_FUNCTION_NAME="sse",
            OTEL_SERVICE_NAME=SSE_SERVICE,
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=otlp.endpoint,
            POWERTOOLS_METRICS_DISABLED="true",
            PYTHONPATH=str(TESTS),
        )
        env.update(extra_env)
        self.api = api
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xray_exclusive.runtime"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


@pytest.fixture
def start(runtime_api: FakeRuntimeAPI, otlp: Any) -> Iterator[Any]:
    """Start a runtime; the first one uses ``runtime_api``, each later one a Runtime API of its own.

    A stopped runtime leaves its last ``next`` call pending on the server, which would take the next
    event: one Runtime API per process, as in Lambda.
    """
    started: list[RuntimeProcess] = []
    apis: list[FakeRuntimeAPI] = []

    def run(handler: str, **extra_env: str) -> RuntimeProcess:
        api = runtime_api if not started else FakeRuntimeAPI()
        if started:
            apis.append(api)
        process = RuntimeProcess(api, otlp, handler, **extra_env)
        process.api = api
        started.append(process)
        return process

    yield run
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.communicate()
    for api in apis:
        api.close()


def prelude_and_body(body: bytes) -> tuple[dict[str, Any], bytes]:
    metadata, delimiter, rest = body.partition(b"\x00" * 8)
    assert delimiter, body[:200]
    return json.loads(metadata), rest


def test_streams_incrementally_with_the_prelude_and_the_invocation_trace(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime = start("runtime_handlers.slow_stream")
    roots = [new_root() for _ in range(3)]
    ids = [
        runtime_api.invoke({"events": 3, "pause": 0.2}, trace_header(root, sampled=True)) for root in roots
    ]
    records = [runtime_api.wait(request_id) for request_id in ids]
    code, _, err = runtime.stop()
    assert code == 0, err
    for record in records:
        assert record.kind == "response"
        assert record.headers["lambda-runtime-function-response-mode"] == "streaming"
        assert record.headers["content-type"] == "application/vnd.awslambda.http-integration-response"
        assert record.headers["transfer-encoding"] == "chunked"
        metadata, body = prelude_and_body(record.body)
        assert metadata == {
            "statusCode": 200,
            "headers": {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            },
        }
        assert body.startswith(b"retry: 3000\n\n")
        assert body.count(b"data: event") == 3
        # Incremental: the first event arrived well before the last one (0.2 s between events).
        times = [t for t, data in record.chunks if b"data: event" in data]
        assert times[-1] - times[0] > 0.3
        assert record.trailers == {}
    # Three invocations, three traces: each span carries its own invocation's trace ID.
    spans = otlp.wait_for(3 * 4)
    by_trace: dict[str, int] = {}
    for span in spans:
        by_trace[span.xray_trace_id] = by_trace.get(span.xray_trace_id, 0) + 1
    assert by_trace == dict.fromkeys(roots, 4)  # sse_stream + 3 poll cycles
    assert {s.attributes.get("stream_end_reason") for s in spans if s.name == "sse_stream"} == {"completed"}
    # One keep-alive connection for the whole process: three invocations, six calls (and a pending next).
    assert runtime_api.connections == 1
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in runtime_api.requests[:6]] == [
        ("GET", "next"),
        ("POST", "response"),
    ] * 3


def test_a_decorated_handler_is_not_wrapped_twice(runtime_api: FakeRuntimeAPI, otlp: Any, start: Any) -> None:
    runtime = start("runtime_handlers.decorated")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    runtime.stop()
    # No HttpResponse first: no prelude, the body is what the handler yielded.
    assert record.body == b"data: 0\n\ndata: 1\n\n"
    assert record.headers["content-type"] == "application/octet-stream"
    names = sorted(s.name for s in otlp.wait_for(3))
    assert names == ["decorated_stream", "poll_cycle", "poll_cycle"]


def test_error_before_the_first_byte_goes_to_the_error_endpoint(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime = start("runtime_handlers.fails_before_first_byte")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    runtime.stop()
    assert record.kind == "error"
    document = json.loads(record.body)
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "no stream for you"
    assert document["requestId"] == record.request_id
    assert "runtime_handlers.py" in document["stackTrace"][0]  # no frame of the runtime's own
    cause = json.loads(record.headers["lambda-runtime-function-xray-error-cause"])
    assert cause["exceptions"][0]["type"] == "ValueError"


def test_error_after_the_first_byte_goes_in_the_trailers(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime = start("runtime_handlers.fails_after_first_byte")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    runtime.stop()
    assert record.kind == "response"
    assert record.body == b"data: one\n\n"
    assert record.trailers["Lambda-Runtime-Function-Error-Type"] == "RuntimeError"
    document = json.loads(base64.b64decode(record.trailers["Lambda-Runtime-Function-Error-Body"]))
    assert document["errorMessage"] == "database gone mid-stream"
    span = otlp.wait_for(1)[0]
    assert span.status_code == 2  # ERROR, recorded by traced_stream before the response completed
    assert span.attributes["stream_end_reason"] == "error"


def test_a_broken_runtime_api_connection_is_not_a_client_disconnect(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime_api.drop_after = 4  # the Runtime API connection itself breaks (a fault, not a client leaving)
    runtime = start("runtime_handlers.endless")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    spans = otlp.wait_for(2)
    runtime_api.drop_after = None
    # The process is still serving: the next stream runs until its deadline's margin (0.75 s of 1.5 s).
    second = runtime_api.wait(runtime_api.invoke({}, None, timeout_s=1.5))
    code, out, err = runtime.stop()
    assert code == 0, err
    connection = next(s for s in spans if s.name == "sse_stream")
    assert connection.attributes["stream_end_reason"] == "runtime_api_closed"
    assert "client.disconnected" not in connection.attributes
    assert len(record.chunks) == 4
    assert second.kind == "response" and second.chunks and not second.timed_out
    assert runtime_api.connections == 2  # the broken one, then one new connection
    assert "Runtime API connection broke after" in out
    assert "disconnect" not in out


def test_async_generator_and_buffered_answers(runtime_api: FakeRuntimeAPI, otlp: Any, start: Any) -> None:
    runtime = start("runtime_handlers.async_stream")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    runtime.stop()
    assert record.body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"

    runtime = start("runtime_handlers.buffered")
    record = runtime.api.wait(runtime.api.invoke({}, None))
    runtime.stop()
    assert record.kind == "response"
    assert "transfer-encoding" not in record.headers
    assert json.loads(record.body) == {"statusCode": 200, "body": "hello", "remaining": True}

    runtime = start("runtime_handlers.raises")
    record = runtime.api.wait(runtime.api.invoke({}, None))
    runtime.stop()
    assert record.kind == "error"
    assert json.loads(record.body)["errorType"] == "KeyError"
    assert json.loads(record.body)["requestId"] == record.request_id


def test_init_error_is_reported(runtime_api: FakeRuntimeAPI, otlp: Any, start: Any) -> None:
    runtime = start("runtime_broken_handler.handler")
    code = runtime.process.wait(timeout=60)  # it stops by itself
    assert code == 1
    [(headers, document)] = runtime_api.init_errors
    assert document["errorType"] == "Runtime.ImportModuleError"
    assert document["errorMessage"] == (
        "Unable to import module 'runtime_broken_handler': No module named 'a_module_that_does_not_exist'"
    )
    assert document["requestId"] == ""
    assert headers["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    assert runtime_api.next_calls == 0


def test_trace_id_is_removed_when_an_invocation_has_none(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime = start("runtime_handlers.decorated")
    runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    first = len(otlp.wait_for(3))
    runtime_api.wait(runtime_api.invoke({}, None))  # no trace: spans start a new trace, not the stale one
    spans = otlp.wait_for(first + 3)
    runtime.stop()
    assert len({s.xray_trace_id for s in spans}) == 2


def stream_span(otlp: Any) -> Any:
    [span] = [s for s in otlp.wait_for(1) if s.name == "sse_stream"]
    return span


@pytest.mark.slow
def test_a_never_ending_stream_ends_before_the_deadline_with_its_trace_whole(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    """The client leaves after 5 chunks; Lambda does not tell the runtime: it streams on to the deadline."""
    runtime_api.client_leaves_after = 5
    runtime = start("runtime_handlers.endless_sse", XRAY_EXCLUSIVE_STREAM_DEADLINE_MARGIN_MS="700")
    root = new_root()
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(root, sampled=True), timeout_s=2.0))
    assert not record.timed_out  # ended by the runtime, before Lambda's deadline
    assert record.kind == "response" and record.trailers == {}  # a clean end, not an error
    assert (
        record.client_left and len(record.chunks) > 5 + 3
    )  # the connection stayed open after the client left
    _, body = prelude_and_body(record.body)
    events = [int(line.split()[2]) for line in body.decode().splitlines() if line.startswith("data: poll")]
    assert events == list(range(len(events)))
    lefts = [int(line.split()[4]) for line in body.decode().splitlines() if line.startswith("data: poll")]
    assert lefts == sorted(lefts, reverse=True) and 0 < lefts[-1] <= 2000  # get_remaining_time_in_millis
    # Every span arrived: the stream's, and one per poll cycle, the last one possibly cut by the deadline.
    stream = stream_span(otlp)
    polls = sorted(s.attributes["item_count"] for s in otlp.spans if s.name == "poll_cycle")
    assert polls[: len(events)] == events and len(polls) in (len(events), len(events) + 1)
    assert stream.attributes["stream_end_reason"] == "deadline"
    assert stream.attributes["stream.closed_early"] is True
    assert stream.status_code != 2  # not an error
    assert "client.disconnected" not in stream.attributes
    assert all(s.xray_trace_id == root for s in otlp.spans)
    code, out, _ = runtime.stop()
    assert code == 0
    assert "Ended the stream 700 ms before the invocation's deadline" in out


@pytest.mark.parametrize("handler", ["blocked_stream", "blocked_async_stream"])
def test_a_generator_blocked_past_the_deadline_is_interrupted(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any, handler: str
) -> None:
    runtime = start(f"runtime_handlers.{handler}")  # the default margin, capped at half of the 1.2 s
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True), timeout_s=1.2))
    spans = otlp.wait_for(2)
    assert runtime.process.poll() is None  # still serving
    runtime.stop()
    assert not record.timed_out and record.trailers == {}
    assert record.body == b"data: first\n\n"
    stream = next(s for s in spans if s.name == "sse_stream")
    assert stream.attributes["stream_end_reason"] == "deadline"
    poll = next(s for s in spans if s.name == "poll_cycle")
    assert poll.parent_span_id == stream.span_id


@pytest.mark.parametrize("bad", ["circular", "unprintable"])
def test_a_chunk_that_cannot_be_encoded_ends_the_invocation_not_the_process(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any, bad: str
) -> None:
    runtime = start("runtime_handlers.bad_chunk")
    first = runtime_api.wait(runtime_api.invoke({"bad": bad}, trace_header(new_root(), sampled=True)))
    second = runtime_api.wait(runtime_api.invoke({"bad": bad}, None))  # the same process, warm
    spans = otlp.wait_for(2)
    code, out, _ = runtime.stop()
    assert code == 0
    for record in (first, second):
        assert record.body == b"data: good\n\n"  # the None between them sent nothing
        assert record.trailers["Lambda-Runtime-Function-Error-Type"] == "Runtime.MarshalError"
        document = json.loads(base64.b64decode(record.trailers["Lambda-Runtime-Function-Error-Body"]))
        assert document["errorMessage"].startswith("Unable to marshal a streamed chunk: ")
        assert document["requestId"] == record.request_id
    assert runtime_api.connections == 1
    stream = next(s for s in spans if s.name == "sse_stream")
    assert stream.attributes["stream_end_reason"] == "encoding_error"
    assert stream.status_code == 2 and any(name == "exception" for name, _ in stream.events)
    assert out.count("[ERROR] Runtime.MarshalError: Unable to marshal a streamed chunk") == 2


def test_the_prelude_merges_headers_case_insensitively(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime = start("runtime_handlers.headers_stream")
    record = runtime_api.wait(runtime_api.invoke({}, None))
    runtime.stop()
    assert record.headers["content-type"] == "application/vnd.awslambda.http-integration-response"
    metadata, body = prelude_and_body(record.body)
    assert metadata == {
        "statusCode": 202,
        "headers": {"content-type": "text/plain"},
        "multiValueHeaders": {"X-Multi": ["one", "two"]},
        "cookies": ["a=1"],
    }
    assert body == "text ✓".encode()


def test_a_stream_over_the_limit_is_reported_not_called_a_disconnect(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime_api.stream_limit = 512 * 1024
    runtime = start("runtime_handlers.large_stream")
    # 64 MiB: more than the loopback socket buffers hold, so the 413 arrives while the runtime still sends.
    record = runtime_api.wait(runtime_api.invoke({"chunks": 1024}, trace_header(new_root(), sampled=True)))
    spans = otlp.wait_for(1)
    after = runtime_api.wait(runtime_api.invoke({"chunks": 1}, None))  # still serving, on a new connection
    code, out, _ = runtime.stop()
    assert code == 0
    assert record.answered == 413
    assert json.loads(record.body)["errorType"] == "Function.ResponseSizeTooLarge"
    assert "The Runtime API refused the streamed response after" in out and "HTTP 413" in out
    assert "disconnect" not in out
    assert spans[0].attributes["stream_end_reason"] == "response_rejected"
    assert after.answered == 202 and len(after.body) == 65536


def test_runtime_api_statuses_are_logged(runtime_api: FakeRuntimeAPI, otlp: Any, start: Any) -> None:
    runtime = start("rie_handlers.oversized")
    record = runtime_api.wait(runtime_api.invoke({"size": 7 * 1024 * 1024}, None))
    ok = runtime_api.wait(runtime_api.invoke({"size": 10}, None))
    _, out, _ = runtime.stop()
    assert record.answered == 413 and ok.answered == 202
    [line] = [line for line in out.splitlines() if "HTTP 413" in line]
    assert line.startswith("[ERROR]\t") and "refused the response as too large" in line
    assert "Exceeded maximum allowed payload size" in line  # the Runtime API's body


def test_system_exit_ends_the_process_as_awslambdaric_does(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime = start("runtime_handlers.exits")
    record = runtime_api.wait(runtime_api.invoke({"code": 3}, None))
    assert runtime.process.wait(timeout=30) == 3
    # Nothing was posted; Lambda answers the caller when the runtime exits.
    assert record.kind == "error"
    assert json.loads(record.body)["errorType"] == "Runtime.ExitError"
    assert [r.path.rsplit("/", 1)[-1] for r in runtime_api.requests] == ["next"]


def handler_span(otlp: Any, name: str = "handler_stream") -> Any:
    """The one span of ``name`` (waits for it: spans are flushed before the response ends)."""
    for _ in range(50):
        found = [s for s in otlp.wait_for(1) if s.name == name]
        if found:
            break
        otlp.wait_for(len(otlp.spans) + 1, timeout=0.1)
    assert len(found) == 1, [s.name for s in otlp.spans]
    return found[0]


@pytest.mark.parametrize(
    ("handler", "timeout_s", "drop_after", "reason", "failed"),
    [
        ("completes", None, None, "completed", False),
        ("fails_after_first_byte", None, None, "error", True),
        ("bad_chunk", None, None, "encoding_error", True),
        ("endless", 1.2, None, "deadline", False),
        ("blocked", 1.2, None, "deadline", False),
        ("blocked_async", 1.2, None, "deadline", False),
        ("client_gone", None, None, "client_disconnected", False),
        ("endless", None, 4, "runtime_api_closed", False),
    ],
)
def test_a_traced_handlers_own_span_says_why_its_stream_ended(
    runtime_api: FakeRuntimeAPI,
    otlp: Any,
    start: Any,
    handler: str,
    timeout_s: float | None,
    drop_after: int | None,
    reason: str,
    failed: bool,
) -> None:
    """``@traced_handler`` streams are not wrapped again, yet their span gets ``stream_end_reason`` too."""
    runtime_api.drop_after = drop_after
    runtime = start(f"streaming_runtime_handlers.{handler}")
    root = new_root()
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(root, sampled=True), timeout_s=timeout_s))
    span = handler_span(otlp)
    runtime_api.drop_after = None
    assert runtime.process.poll() is None  # still serving
    after = runtime_api.wait(runtime_api.invoke({}, None, timeout_s=5))  # loaded machines: no timeout
    code, out, err = runtime.stop()
    assert code == 0, err
    assert not record.timed_out and not after.timed_out
    assert span.attributes["stream_end_reason"] == reason
    assert "stream_end_reason" in span.attributes["aws.xray.annotations"]
    assert (span.status_code == 2) is failed
    assert span.xray_trace_id == root
    assert not [s for s in otlp.spans if s.name == "sse_stream"]  # not wrapped a second time
    if reason in ("deadline", "runtime_api_closed"):
        assert span.attributes["stream.closed_early"] is True
    if reason == "encoding_error":
        assert any(name == "exception" for name, _ in span.events)
        assert record.trailers["Lambda-Runtime-Function-Error-Type"] == "Runtime.MarshalError"
    if reason == "client_disconnected":
        assert span.attributes["client.disconnected"] is True
    if reason == "deadline":
        assert record.trailers == {} and "Ended the stream" in out


def test_the_watchdog_interrupts_a_step_never_the_runtime_nor_a_closing_generator() -> None:
    """SIGALRM at the deadline raises only inside a step: not between two, not while the runtime closes it."""
    import signal as signals
    from collections.abc import Generator

    from xray_exclusive.runtime._stream import DeadlineReached, StreamEnd, Watchdog

    state = StreamEnd()
    seen: list[str] = []

    def steps() -> Generator[bytes, None, None]:
        try:
            yield b"one"
            watchdog._fire(signals.SIGALRM, None)  # inside a step
        except DeadlineReached:
            seen.append("interrupted")
            raise
        finally:
            if state.closing:
                watchdog._fire(signals.SIGALRM, None)  # the span is ending: left alone
                seen.append("closed quietly")

    chunks = steps()
    watchdog = Watchdog(state, chunks)
    assert next(chunks) == b"one"
    watchdog._fire(signals.SIGALRM, None)  # between two steps: the runtime's own code, left alone
    assert state.reason == ""
    with pytest.raises(DeadlineReached):
        next(chunks)
    assert seen == ["interrupted"] and state.reason == "deadline"

    state = StreamEnd()
    chunks = steps()
    watchdog = Watchdog(state, chunks)
    next(chunks)
    state.closing = True
    chunks.close()
    assert seen == ["interrupted", "closed quietly"]


def test_between_streams_an_alarm_that_is_not_the_runtimes_does_what_it_did() -> None:
    """The runtime's SIGALRM handler stays installed after a stream; someone else's alarm still ends the
    process (the default action), and a handler of the function's own is never replaced."""
    script = """
import signal, time
from xray_exclusive.runtime._stream import StreamEnd, Watchdog

def steps():
    yield b"one"

state = StreamEnd(deadline_at=time.monotonic() + 60)
watchdog = Watchdog(state, steps())
watchdog.arm()
assert watchdog.armed
watchdog.disarm()
mine = lambda signum, frame: print("mine", flush=True)
signal.signal(signal.SIGALRM, mine)
other = Watchdog(StreamEnd(deadline_at=time.monotonic() + 60), steps())
other.arm()
assert not other.armed and signal.getsignal(signal.SIGALRM) is mine
signal.signal(signal.SIGALRM, signal.SIG_DFL)
watchdog.arm()
watchdog.disarm()
signal.setitimer(signal.ITIMER_REAL, 0.05)  # not the runtime's alarm
time.sleep(5)
print("survived", flush=True)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGALRM, done.stderr
    assert "survived" not in done.stdout


_ANSWERS = [
    b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Trace-Id: Root=1-a;Sampled=1\r\n\r\n"
    b'3;ext=1\r\n{"a\r\n5\r\n": 1}\r\n0\r\nX-Trailer: t\r\n\r\n',
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Repeated: first\r\nx-repeated: second\r\n"
    b"X-Folded: one\r\n  two\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\noops",
    b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
    b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
    b"HTTP/1.1 200 OK\r\nX-Empty:\r\n\r\nup to the close",
]


@pytest.mark.parametrize("answer", _ANSWERS)
def test_next_reads_its_answer_as_http_client_does(answer: bytes) -> None:
    import http.client
    import socket

    from xray_exclusive.runtime._api import _read_bare

    def read(parse: Any) -> Any:
        ours, server = socket.socketpair()
        server.sendall(answer)
        server.shutdown(socket.SHUT_WR)
        try:
            return parse(ours)
        finally:
            ours.close()
            server.close()

    def theirs(sock: socket.socket) -> Any:
        response = http.client.HTTPResponse(sock, method="GET")
        response.begin()
        return response.status, response.read(), response.headers, response.will_close

    status, body, fields, closes = read(_read_bare)
    expected_status, expected_body, headers, will_close = read(theirs)
    assert (status, body, closes) == (expected_status, expected_body, will_close)
    for name in {key.lower() for key in headers}:
        assert fields.get(name) == " ".join(headers[name].split()), name
    assert set(fields) == {key.lower() for key in headers}


def test_next_refuses_what_http_client_refuses() -> None:
    import http.client
    import socket

    from xray_exclusive.runtime._api import _read_bare

    for answer, error in (
        (b"", http.client.RemoteDisconnected),
        (b"SPDY/3 200 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", http.client.HTTPException),
    ):
        ours, server = socket.socketpair()
        server.sendall(answer)
        server.shutdown(socket.SHUT_WR)
        with pytest.raises(error):
            _read_bare(ours)
        ours.close()
        server.close()


def test_a_sigterm_lost_in_a_finaliser_still_ends_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM's handler may run inside a finaliser that drops its exception: the loop still stops."""
    import io

    from xray_exclusive.runtime import _loop

    monkeypatch.setattr(_loop, "_terminating", False)

    class Response(io.RawIOBase):  # as an http.client response closed by IOBase.__del__
        def close(self) -> None:
            if not self.closed:
                super().close()
                _loop._on_sigterm(signal.SIGTERM, None)

    Response()  # dropped at once: IOBase's finaliser calls close() and clears what it raises
    assert _loop._terminating

    class API:
        def next(self) -> Any:
            raise AssertionError("next() after SIGTERM")

    with pytest.raises(SystemExit) as stopped:
        _loop.Runtime(API(), lambda event, context: None).run_forever()  # type: ignore[arg-type]
    assert stopped.value.code == 0
