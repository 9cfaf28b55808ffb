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
    def __init__(self, api: FakeRuntimeAPI, otlp: Any, handler: str) -> None:
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

    def run(handler: str) -> RuntimeProcess:
        api = runtime_api if not started else FakeRuntimeAPI()
        if started:
            apis.append(api)
        process = RuntimeProcess(api, otlp, handler)
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
    code, out, err = runtime.stop()
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
    # Three invocations, three traces: each span carries its own invocation's trace ID (SC-026).
    spans = otlp.wait_for(3 * 4)
    by_trace: dict[str, int] = {}
    for span in spans:
        by_trace[span.xray_trace_id] = by_trace.get(span.xray_trace_id, 0) + 1
    assert by_trace == dict.fromkeys(roots, 4)  # sse_stream + 3 poll cycles
    assert "SIGTERM" in out


def test_a_decorated_handler_is_not_wrapped_twice(runtime_api: FakeRuntimeAPI, otlp: Any, start: Any) -> None:
    runtime = start("runtime_handlers.decorated")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    runtime.stop()
    _, body = prelude_and_body(record.body)
    assert body == b"data: 0\n\ndata: 1\n\n"
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
    assert isinstance(document["stackTrace"], list)


def test_error_after_the_first_byte_goes_in_the_trailers(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime = start("runtime_handlers.fails_after_first_byte")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    runtime.stop()
    assert record.kind == "response"
    _, body = prelude_and_body(record.body)
    assert body == b"data: one\n\n"
    assert record.trailers["Lambda-Runtime-Function-Error-Type"] == "RuntimeError"
    document = json.loads(base64.b64decode(record.trailers["Lambda-Runtime-Function-Error-Body"]))
    assert document["errorMessage"] == "database gone mid-stream"
    span = otlp.wait_for(1)[0]
    assert span.status_code == 2  # ERROR, recorded by traced_stream before the response completed


def test_connection_dropped_mid_stream_is_a_client_disconnect(
    runtime_api: FakeRuntimeAPI, otlp: Any, start: Any
) -> None:
    runtime_api.drop_after = 4  # prelude + 3 events, then the client is gone
    runtime = start("runtime_handlers.endless")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    spans = otlp.wait_for(2)
    code, out, err = runtime.stop()
    assert code == 0, err
    connection = next(s for s in spans if s.name == "sse_stream")
    assert connection.attributes["client.disconnected"] is True
    assert connection.status_code == 1  # OK: a client going away is not a fault
    assert len(record.chunks) == 4
    assert "disconnected mid-stream" in out


def test_async_generator_and_buffered_answers(runtime_api: FakeRuntimeAPI, otlp: Any, start: Any) -> None:
    runtime = start("runtime_handlers.async_stream")
    record = runtime_api.wait(runtime_api.invoke({}, trace_header(new_root(), sampled=True)))
    runtime.stop()
    _, body = prelude_and_body(record.body)
    assert body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"

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


def test_init_error_is_reported(runtime_api: FakeRuntimeAPI, otlp: Any, start: Any) -> None:
    runtime = start("runtime_broken_handler.handler")
    code = runtime.process.wait(timeout=60)  # it stops by itself
    assert code == 1
    [(headers, document)] = runtime_api.init_errors
    assert document["errorType"] == "Runtime.ImportModuleError"
    assert "a_module_that_does_not_exist" in document["errorMessage"]
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
