"""Contract tests for ``xray_exclusive._compat``: each private layout we read, on the real dependency.

Each contract test fails the day a dependency changes the internal its compat function reads;
each fallback test removes the internal and checks the function fails open (one warning, a safe
value, no exception). ``nox -s compat`` runs this file at both ends of every supported range.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import types
from collections.abc import AsyncGenerator, Generator, Iterator
from typing import Any

import pytest

from xray_exclusive import _compat
from xray_exclusive._compat import cpython, otel, powertools, xray_sdk


@pytest.fixture(autouse=True)
def _warn_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the once-per-process warnings again."""
    monkeypatch.setattr(_compat, "_warned", set())


def _fell_back(caplog: pytest.LogCaptureFixture, what: str) -> bool:
    return any(
        r.name == "xray_exclusive" and r.levelno == logging.WARNING and what in r.getMessage()
        for r in caplog.records
    )


# --- CPython: os.environ._data -----------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX keeps os.environ in bytes")
def test_bytes_environ_is_os_environ_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    data = cpython.bytes_environ()
    assert data is cpython.BYTES_ENVIRON
    assert isinstance(data, dict)
    monkeypatch.setenv("XRAY_EXCLUSIVE_COMPAT_PROBE", "é1")
    assert data[b"XRAY_EXCLUSIVE_COMPAT_PROBE"] == "é1".encode()
    monkeypatch.delenv("XRAY_EXCLUSIVE_COMPAT_PROBE")
    assert b"XRAY_EXCLUSIVE_COMPAT_PROBE" not in data


@pytest.mark.skipif(os.name != "posix", reason="the warning is for POSIX only")
def test_bytes_environ_fails_open(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    assert cpython.bytes_environ(object()) is None  # not os.environ: no warning
    assert not caplog.records
    monkeypatch.setattr(os.environ, "encodekey", lambda key: key)  # a str-keyed layout
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        assert cpython.bytes_environ() is None
    monkeypatch.undo()
    assert _fell_back(caplog, "os.environ._data")


# --- OpenTelemetry SDK: the BatchSpanProcessor's queue ------------------------------------------------


class _BlockingExporter:
    """Holds the export worker in its first export until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.names: list[str] = []

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.entered.set()
        self.release.wait(10)
        self.names += [span.name for span in spans]
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def test_batch_queue_is_the_deque_that_drops_the_oldest_span() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = _BlockingExporter()
    processor = BatchSpanProcessor(
        exporter,  # type: ignore[arg-type]
        max_queue_size=3,
        max_export_batch_size=1,
        schedule_delay_millis=60_000,
    )
    queue = otel.batch_queue(processor)
    assert queue is not None
    assert queue.maxlen == 3
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("compat")
    tracer.start_span("s0").end()
    assert exporter.entered.wait(10), "the worker never exported"
    for i in range(1, 5):  # s1 .. s4 into a queue of three, while the worker is held
        tracer.start_span(f"s{i}").end()
    assert [span.name for span in queue] == ["s4", "s3", "s2"]  # newest on the left; s1, the oldest, dropped
    exporter.release.set()
    provider.shutdown()
    assert exporter.names == ["s0", "s2", "s3", "s4"]  # exported from the right: oldest first


def test_batch_queue_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    changed = types.SimpleNamespace(_batch_processor=types.SimpleNamespace(_queue=[]))
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        assert otel.batch_queue(changed) is None
        assert otel.batch_queue(object()) is None
    assert _fell_back(caplog, "_batch_processor._queue")
    assert len(caplog.records) == 1  # once per process


def test_accounting_processor_counts_drops_without_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from xray_exclusive.streaming import _export

    monkeypatch.setattr(_export, "batch_queue", lambda processor: None)
    accounting = _export.AccountingSpanProcessor(BatchSpanProcessor(InMemorySpanExporter()))
    assert accounting.queue_size == 0
    assert accounting.reconcile(delivered=0, failed=0) == 0
    accounting.shutdown()


# --- OpenTelemetry SDK: Sampler.get_description() -----------------------------------------------------


def test_sampler_descriptions_say_what_the_samplers_do() -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, DEFAULT_ON, Decision, ParentBased
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    refusing = ParentBased(ALWAYS_OFF, remote_parent_not_sampled=ALWAYS_ON)
    assert ALWAYS_ON.get_description() == "AlwaysOnSampler"
    assert "remoteParentNotSampled:AlwaysOffSampler" in DEFAULT_ON.get_description()
    assert "remoteParentNotSampled:AlwaysOnSampler" in refusing.get_description()
    assert otel.ignores_unsampled_parent(ALWAYS_ON)
    assert otel.ignores_unsampled_parent(refusing)
    assert not otel.ignores_unsampled_parent(DEFAULT_ON)
    assert not otel.ignores_unsampled_parent(ParentBased(ALWAYS_ON))
    # What the text says is what the samplers do under a remote parent X-Ray did not sample.
    parent = SpanContext(0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, True, TraceFlags(0))
    context = set_span_in_context(NonRecordingSpan(parent))
    for sampler, sampled in ((refusing, True), (DEFAULT_ON, False)):
        decision = sampler.should_sample(context, parent.trace_id, "span").decision
        assert (decision is Decision.RECORD_AND_SAMPLE) is sampled


def test_sampler_check_fails_open(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, StaticSampler

    monkeypatch.setattr(otel, "_description_format_known", None)
    monkeypatch.setattr(StaticSampler, "get_description", lambda self: "Static")
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        assert otel.ignores_unsampled_parent(ALWAYS_ON)  # the object itself is still known
        assert not otel.ignores_unsampled_parent(ParentBased(ALWAYS_OFF, remote_parent_not_sampled=ALWAYS_ON))
    assert _fell_back(caplog, "Sampler.get_description()")


def test_lambda_resource_is_the_public_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    # The streaming resource is built by hand instead of importing the AWS extension's detector package.
    from opentelemetry.sdk.extension.aws.resource import AwsLambdaResourceDetector

    from xray_exclusive.streaming._deferred import lambda_resource

    for name, value in (
        ("AWS_REGION", "eu-west-1"),
        ("AWS_LAMBDA_FUNCTION_NAME", "sse"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/29/[$LATEST]abc"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
    ):
        monkeypatch.setenv(name, value)
    assert dict(lambda_resource().attributes) == dict(AwsLambdaResourceDetector().detect().attributes)


# --- Powertools: the capture_response closure cell ----------------------------------------------------


@pytest.fixture
def tracer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from aws_lambda_powertools import Tracer

    monkeypatch.delenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", raising=False)
    Tracer._reset_config()
    yield Tracer(auto_patch=False, disabled=True)
    Tracer._reset_config()
    _enable_xray_sdk()


def _enable_xray_sdk() -> None:
    """A disabled Powertools Tracer switches the whole X-Ray SDK off (its documented reset: on again)."""
    import aws_xray_sdk

    aws_xray_sdk.global_sdk_config.set_sdk_enabled(True)


@pytest.mark.parametrize("capture", [True, False, None])
def test_every_powertools_wrapper_holds_capture_response(tracer: Any, capture: bool | None) -> None:
    options = {} if capture is None else {"capture_response": capture}
    expected = capture is not False  # Powertools captures by default

    def handler(event: Any, context: Any) -> Generator[bytes, None, None]:
        yield b"x"

    def method() -> int:
        return 1

    def generator() -> Generator[int, None, None]:
        yield 1

    async def coroutine() -> int:
        return 1

    async def async_generator() -> AsyncGenerator[int, None]:
        yield 1

    wrapped = [tracer.capture_lambda_handler(handler, **options)]
    wrapped += [tracer.capture_method(f, **options) for f in (method, generator, coroutine, async_generator)]
    for func in wrapped:
        assert func.__globals__["__name__"] == powertools.TRACER_MODULE
        assert powertools.tracer_captures_response(func) is expected, func
    assert asyncio.run(wrapped[3]()) == 1  # still the function it wraps


def test_capture_response_from_the_environment(tracer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "false")

    @tracer.capture_method
    def method() -> int:
        return 1

    assert powertools.tracer_captures_response(method) is False


def test_capture_response_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    def no_cell() -> None:
        pass

    changed = types.FunctionType(no_cell.__code__, {"__name__": powertools.TRACER_MODULE})
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        assert powertools.tracer_captures_response(changed) is False
    assert _fell_back(caplog, "capture_response closure cell")
    assert powertools.tracer_captures_response(no_cell) is False  # not Powertools': no warning needed


def test_streaming_handler_is_not_refused_when_the_cell_is_gone(caplog: pytest.LogCaptureFixture) -> None:
    from xray_exclusive.streaming._stream import _refuse_powertools_capture

    def no_cell(event: Any, context: Any) -> None:
        pass

    changed = types.FunctionType(no_cell.__code__, {"__name__": powertools.TRACER_MODULE})
    _refuse_powertools_capture(changed)  # a warning, not a TypeError
    assert _fell_back(caplog, "capture_response closure cell")


# --- X-Ray SDK: patcher._PATCHED_MODULES --------------------------------------------------------------


def test_patched_modules_reflects_patch_requests() -> None:
    # In a process of its own: patching `requests` is for the rest of the process.
    code = (
        "from xray_exclusive._compat.xray_sdk import requests_patched\n"
        "from aws_xray_sdk.core import patch, patcher\n"
        "before = requests_patched()\n"
        "patch(['requests'])\n"
        "print(before, requests_patched(), sorted(patcher._PATCHED_MODULES))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "['requests']"]


def test_patched_modules_fails_open(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    from aws_xray_sdk.core import patcher

    monkeypatch.setattr(patcher, "_PATCHED_MODULES", {"requests"})
    assert xray_sdk.requests_patched()
    monkeypatch.delattr(patcher, "_PATCHED_MODULES")
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        assert xray_sdk.requests_patched() is False
    assert _fell_back(caplog, "_PATCHED_MODULES")


# --- X-Ray SDK: the recorder context's thread-local entities ------------------------------------------


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.context import Context

    _enable_xray_sdk()
    monkeypatch.setattr(xray_recorder, "context", Context())
    yield xray_recorder
    xray_recorder.context.clear_trace_entities()


def test_thread_entities_after_begin_segment(recorder: Any) -> None:
    assert xray_sdk.thread_entities() is None
    assert xray_sdk.current_entity() is None
    segment = recorder.begin_segment("compat", sampling=1)
    assert xray_sdk.thread_entities() == [segment]
    subsegment = recorder.begin_subsegment("inner")
    assert xray_sdk.thread_entities() == [segment, subsegment]
    assert xray_sdk.current_entity() is subsegment is recorder.get_trace_entity()
    seen: list[Any] = []
    other = threading.Thread(target=lambda: seen.append(xray_sdk.thread_entities()))
    other.start()
    other.join()
    assert seen == [None]  # per thread


def test_lambda_context_keeps_the_facade_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

    root = "1-5759e988-bd862e3fe1be46a994272793"
    monkeypatch.setenv("LAMBDA_TASK_ROOT", os.getcwd())
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1")
    context = LambdaContext()
    monkeypatch.setattr(xray_recorder, "context", context)
    facade = context.get_trace_entity()
    assert facade.trace_id == root
    assert xray_sdk.current_entity() is facade
    assert not xray_sdk.thread_entities()


def test_thread_entities_fail_open(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from aws_xray_sdk.core import xray_recorder

    from xray_exclusive.correlation import current_trace_id

    root = "1-5759e988-bd862e3fe1be46a994272793"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Sampled=1")
    entity = types.SimpleNamespace(trace_id="1-5759e988-000000000000000000000000", id="53995c3f42cd8ad8")
    changed = types.SimpleNamespace(get_trace_entity=lambda: entity)  # a context without `_local`
    monkeypatch.setattr(xray_recorder, "_context", changed)
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        assert xray_sdk.thread_entities() is None
        assert xray_sdk.current_entity() is entity  # the public lookup
        assert current_trace_id() == root  # the environment's header
    assert _fell_back(caplog, "_local")
    assert len(caplog.records) == 1


# --- X-Ray SDK: Throwable and Entity.cause ------------------------------------------------------------


def test_throwable_built_by_hand_serialises_as_the_sdks_own() -> None:
    import json

    from aws_xray_sdk.core.models.segment import Segment
    from aws_xray_sdk.core.models.throwable import Throwable

    stack = [{"path": "app.py", "line": 3, "label": "handler"}]
    segment = Segment("compat")
    segment.add_fault_flag()
    segment.cause = "0123456789abcdef"  # a cause id the SDK leaves when a child recorded the exception
    xray_sdk.record_exception(segment, "0123456789abcdef", "ValueError", "bad", stack, 2, True, "/work")
    xray_sdk.record_exception(segment, "fedcba9876543210", "KeyError", "k", [], 0, False, "/work")
    cause = json.loads(segment.serialize())["cause"]
    assert cause == {
        "working_directory": "/work",
        "exceptions": [
            {"id": "0123456789abcdef", "message": "bad", "type": "ValueError", "remote": True, "stack": stack,
             "truncated": 2},
            {"id": "fedcba9876543210", "message": "k", "type": "KeyError", "remote": False},
        ],
    }  # fmt: skip
    # The SDK's own Throwable writes the same fields, and no other.
    error = ValueError("bad")
    theirs = Throwable(error, [("/src/app.py", 3, "handler", "raise")], remote=True).to_dict()
    assert set(theirs) == {"id", "message", "type", "remote", "stack"}
    assert theirs["stack"] == stack
    assert getattr(error, "_recorded", None) is True  # why it is built by hand: it writes on the exception


def test_record_exception_fails_open(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    from aws_xray_sdk.core.models import throwable
    from aws_xray_sdk.core.models.segment import Segment

    class Slotted:
        __slots__ = ()

    monkeypatch.setattr(throwable, "Throwable", Slotted)
    segment = Segment("compat")
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        xray_sdk.record_exception(segment, "0123456789abcdef", "ValueError", "bad", [], 0, False, "/")
    assert _fell_back(caplog, "Throwable")
    assert segment.serialize()  # still a valid document


# --- X-Ray SDK: the SDK backend's hot path (Subsegment fields, put_*, serialize, UDPEmitter) ------------

ROOT_ID = "1-5759e988-bd862e3fe1be46a994272793"


class _Root:
    trace_id = ROOT_ID


def _without_times_and_ids(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("id", "start_time", "end_time")}


@pytest.mark.parametrize("namespace", ["local", "remote"])
def test_new_subsegment_is_the_constructors_subsegment(namespace: str) -> None:
    from aws_xray_sdk.core.models.segment import Segment
    from aws_xray_sdk.core.models.subsegment import Subsegment

    root = Segment("function", traceid=ROOT_ID)
    theirs = Subsegment("circuit_breaker_load", namespace, root)
    theirs.parent_id = "53995c3f42cd8ad8"
    ours = xray_sdk.new_subsegment(
        "circuit_breaker_load", namespace, root, "53995c3f42cd8ad8", "0123456789abcdef"
    )
    assert type(ours) is Subsegment
    assert list(vars(ours)) == list(vars(theirs)) == list(xray_sdk._SUBSEGMENT_FIELDS)
    assert _without_times_and_ids(vars(ours)) == _without_times_and_ids(vars(theirs))
    assert ours.id == "0123456789abcdef" and isinstance(ours.start_time, float)
    for sub in (ours, theirs):
        sub.put_annotation("ticker", "AAPL")
        sub.close()  # Subsegment.close: the SDK's own, on the model built field by field too
    assert _without_times_and_ids(ours.to_dict()) == _without_times_and_ids(theirs.to_dict())


def test_new_subsegment_leaves_a_name_the_sdk_strips_to_the_constructor(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING):
        sub = xray_sdk.new_subsegment(
            "send (grid)!", "remote", _Root(), "53995c3f42cd8ad8", "0123456789abcdef"
        )
    assert sub.name == "send grid"  # stripped by the SDK, which also warns
    assert (sub.id, sub.parent_id) == ("0123456789abcdef", "53995c3f42cd8ad8")


def test_new_subsegment_fails_open(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    from aws_xray_sdk.core.models.subsegment import Subsegment

    original = Subsegment.__init__

    def changed(self: Any, name: str, namespace: str, segment: Any) -> None:
        original(self, name, namespace, segment)
        self.links = []  # a field a later SDK might add

    monkeypatch.setattr(Subsegment, "__init__", changed)
    monkeypatch.setattr(xray_sdk, "_models", xray_sdk._Models())
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        sub = xray_sdk.new_subsegment("load", "local", _Root(), "53995c3f42cd8ad8", "0123456789abcdef")
    assert _fell_back(caplog, "Subsegment fields")
    assert sub.links == [] and (sub.id, sub.parent_id) == ("0123456789abcdef", "53995c3f42cd8ad8")
    assert xray_sdk.serialize_subsegment(sub) == sub.serialize()  # still the SDK's document


def test_put_annotation_and_put_metadata_write_what_the_sdks_write() -> None:
    from aws_xray_sdk.core.exceptions.exceptions import AlreadyEndedException
    from aws_xray_sdk.core.models.entity import Entity

    ours, theirs = (
        xray_sdk.new_subsegment("load", "local", _Root(), "53995c3f42cd8ad8", "0123456789abcdef")
        for _ in (1, 2)
    )
    for key, value in (("ticker", "AAPL"), ("count", 3), ("ratio", 0.5), ("ok", False), ("ticker", "MSFT")):
        xray_sdk.put_annotation(ours, key, value)
        theirs.put_annotation(key, value)
    for namespace, key, value in (
        ("xray_exclusive", "failure", {"classification": "throttle"}),
        ("xray_exclusive", "event", [1, "é", None]),
        ("other", "x", {}),
        ("AWS.reserved", "dropped", 1),  # the SDK refuses the AWS. prefix
    ):
        xray_sdk.put_metadata(ours, namespace, key, value)
        theirs.put_metadata(key, value, namespace)
    assert ours.annotations == theirs.annotations and ours.metadata == theirs.metadata
    assert "AWS.reserved" not in ours.metadata
    Entity.close(ours)
    with pytest.raises(AlreadyEndedException):  # an ended entity refuses, as put_annotation does
        xray_sdk.put_annotation(ours, "late", 1)
    with pytest.raises(AlreadyEndedException):
        xray_sdk.put_metadata(ours, "xray_exclusive", "late", 1)


def _entities() -> dict[str, Any]:
    """Subsegments filled every way the SDK backend fills them, and some ways it never does."""

    def new(name: str = "circuit_breaker_load", namespace: str = "local") -> Any:
        return xray_sdk.new_subsegment(name, namespace, _Root(), "53995c3f42cd8ad8", "0123456789abcdef")

    empty = new()
    annotated = new()
    for key, value in (("ticker", "AAPL"), ("n", 3), ("r", 1.5), ("f", False), ("u", "ünï ✓ \U0001f600")):
        xray_sdk.put_annotation(annotated, key, value)
    xray_sdk.put_metadata(
        annotated,
        "xray_exclusive",
        "response",
        {"text": "é" * 50, "items": list(range(20)), "nested": {"a": [None, True, 1e-7, {"b": []}]}, "": ""},
    )
    xray_sdk.put_metadata(annotated, "xray_exclusive", "empty", {})
    xray_sdk.put_metadata(annotated, "xray_exclusive", "nothing", None)
    failed = new()
    failed.add_fault_flag()
    failed.add_throttle_flag()
    failed.add_error_flag()
    stack = [{"path": "app.py", "line": 3, "label": "handler"}]
    xray_sdk.record_exception(
        failed, "0123456789abcdef", "ValueError", "bad \u2028", stack, 4, True, "/var/task"
    )
    xray_sdk.record_exception(failed, "fedcba9876543210", "", "", [], 0, False, "")
    http = new("api.sendgrid.com", "remote")
    http.put_http_meta("method", "POST")
    http.put_http_meta("url", "https://api.sendgrid.com/v3/mail/send")
    http.put_http_meta("status", 429)
    http.put_http_meta("content_length", 12)
    pointer = new()
    pointer.add_fault_flag()
    pointer.cause = "0123456789abcdef"  # the id of a child's recorded exception
    traced = new()
    traced.save_origin_trace_header("Root=x")  # never written
    traced.set_sql({"url": "postgres://db"})
    traced.set_aws({"operation": "GetItem"})
    return {
        "empty": empty,
        "annotated": annotated,
        "failed": failed,
        "http": http,
        "pointer": pointer,
        "traced": traced,
    }


@pytest.mark.parametrize("name", sorted(_entities()))
@pytest.mark.parametrize("closed", [False, True])
def test_serialize_subsegment_writes_what_serialize_writes(name: str, closed: bool) -> None:
    entity = _entities()[name]
    if closed:
        from aws_xray_sdk.core.models.entity import Entity

        Entity.close(entity)
    assert xray_sdk.serialize_subsegment(entity) == entity.serialize()


def test_serialize_subsegment_leaves_other_entities_to_the_sdk() -> None:
    from aws_xray_sdk.core.models.segment import Segment
    from aws_xray_sdk.core.models.subsegment import Subsegment

    class Mine(Subsegment):
        pass

    parent = xray_sdk.new_subsegment("load", "local", _Root(), "53995c3f42cd8ad8", "0123456789abcdef")
    parent.subsegments.append(
        xray_sdk.new_subsegment("child", "local", _Root(), parent.id, "fedcba9876543210")
    )
    assert xray_sdk.serialize_subsegment(parent) is None  # children: the SDK's to_dict() writes them
    assert xray_sdk.serialize_subsegment(Segment("doc")) is None
    assert xray_sdk.serialize_subsegment(Mine("mine", "local", _Root())) is None


# --- CPython: json's C encoder, made once (both X-Ray backends) --------------------------------------


def test_json_encoder_writes_what_json_dumps_writes() -> None:
    import json

    encode = cpython.json_encoder()
    assert encode.__qualname__ == "json_encoder.<locals>.encode"  # CPython's C encoder, made once
    for name, entity in _entities().items():
        doc = entity.to_dict()
        assert encode(doc) == json.dumps(doc, default=str), name


def test_json_encoder_is_shared_by_both_x_ray_backends() -> None:
    from xray_exclusive._xray import native

    assert native._encode.__qualname__ == "json_encoder.<locals>.encode"
    state = xray_sdk._emitter if xray_sdk._emitter.ready else xray_sdk._load_emitter()
    assert state.encode.__qualname__ == "json_encoder.<locals>.encode"


def test_json_encoder_c_make_encoder_contract() -> None:
    # The private function and its argument order: (markers, default, encoder, indent, key_separator,
    # item_separator, sort_keys, skipkeys, allow_nan), called as (document, indent level).
    import json

    make = json.encoder.c_make_encoder
    assert make is not None
    encoder = make(None, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    assert "".join(encoder({"é": [1.5, float("nan")], "o": object}, 0)) == json.dumps(
        {"é": [1.5, float("nan")], "o": object}, default=str
    )


def _is_json_dumps(encode: Any) -> bool:
    import json

    return isinstance(getattr(encode, "__self__", None), json.JSONEncoder) and encode.__name__ == "encode"


def test_json_encoder_fails_open(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import json

    doc = _entities()["failed"].to_dict()
    real = json.encoder.c_make_encoder
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)  # PyPy, or a CPython without _json
    fallback = cpython.json_encoder()
    assert _is_json_dumps(fallback)
    assert fallback.__self__.default is str  # type: ignore[attr-defined]
    assert fallback(doc) == json.dumps(doc, default=str)
    monkeypatch.setattr(json.encoder, "c_make_encoder", real)

    def writes_otherwise(markers: Any, *args: Any) -> Any:  # json.dumps' own call (markers {}) unchanged
        if markers is None:
            return lambda document, level: ['{"changed": true}']
        return real(markers, *args)

    monkeypatch.setattr(json.encoder, "c_make_encoder", writes_otherwise)
    encode = cpython.json_encoder()
    assert _is_json_dumps(encode)
    assert encode(doc) == json.dumps(doc, default=str)

    def refuses(markers: Any, *args: Any) -> Any:  # a future signature our call no longer fits
        if markers is None:
            raise TypeError("make_encoder() takes 10 arguments")
        return real(markers, *args)

    monkeypatch.setattr(json.encoder, "c_make_encoder", refuses)
    encode = cpython.json_encoder()
    assert _is_json_dumps(encode)
    assert encode(doc) == json.dumps(doc, default=str)
    assert not caplog.records  # only speed is lost: no warning


def _cycles() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    items: list[Any] = [1]
    items.append(items)
    deep: dict[str, Any] = {"a": {}}
    deep["a"]["b"] = [deep]
    return {
        "dict": {"metadata": {"user": {"loop": loop}}},
        "list": {"metadata": {"user": {"items": items}}},
        "through_a_list": {"metadata": {"user": deep}},
    }


@pytest.mark.parametrize("name", sorted(_cycles()))
@pytest.mark.parametrize("fast", [True, False], ids=["c-encoder", "fallback"])
def test_json_encoder_raises_json_dumps_circular_error(
    name: str, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    if not fast:
        monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = cpython.json_encoder()
    doc = _cycles()[name]
    with pytest.raises(ValueError, match=r"^Circular reference detected$") as theirs:
        json.dumps(doc, default=str)
    with pytest.raises(ValueError, match=r"^Circular reference detected$") as ours:
        encode(doc)
    assert type(ours.value) is type(theirs.value)
    assert encode({"after": [1]}) == '{"after": [1]}'  # nothing left behind by the failed document


def test_json_encoder_raises_json_dumps_recursion_error_on_a_deep_document() -> None:
    import json

    deep: list[Any] = []
    for _ in range(sys.getrecursionlimit() * 50):
        deep = [deep]
    with pytest.raises(RecursionError):
        json.dumps(deep, default=str)
    with pytest.raises(RecursionError):
        cpython.json_encoder()(deep)


def test_json_encoder_equals_json_dumps_on_any_document() -> None:
    import datetime
    import decimal
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    encode = cpython.json_encoder()
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e-7, 1e300, 1795986122.5561094]),
        st.text(),
        st.text(alphabet=st.characters(min_codepoint=0x80)),  # non-ASCII only: every character escaped
        st.binary(max_size=20),  # not JSON: written by default=str, as str(b"...")
        st.binary(max_size=20).map(bytearray),
        st.decimals(allow_nan=False),
        st.datetimes().map(lambda d: d),
        st.just(datetime.date(2026, 11, 29)),
        st.just(decimal.Decimal("NaN")),
        st.just(object),
        st.builds(ValueError, st.text(max_size=5)),
    )
    keys = st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none())
    documents = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.lists(inner, max_size=5).map(tuple),
            st.dictionaries(keys, inner, max_size=5),
        ),
        max_leaves=40,
    )

    @settings(max_examples=500, deadline=None)
    @given(documents)
    def same(document: Any) -> None:
        assert encode(document) == json.dumps(document, default=str)

    same()


class _Receiver:
    def __init__(self) -> None:
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def recv(self) -> bytes:
        return self.sock.recv(70_000)


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    daemon = _Receiver()
    yield daemon
    daemon.sock.close()


@pytest.mark.parametrize("name", sorted(_entities()))
def test_send_subsegment_sends_the_datagram_send_entity_sends(name: str, receiver: _Receiver) -> None:
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
    from aws_xray_sdk.core.models.entity import Entity

    emitter = UDPEmitter(receiver.address)
    entity = _entities()[name]
    Entity.close(entity)
    xray_sdk.send_subsegment(emitter, entity)
    ours = receiver.recv()
    emitter.send_entity(entity)
    assert ours == receiver.recv()
    assert ours.startswith(b'{"format":"json","version":1}\n{"id": "0123456789abcdef"')


def test_send_subsegment_hands_other_emitters_and_debug_logging_to_send_entity(
    receiver: _Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

    sent: list[Any] = []

    class Custom(UDPEmitter):  # a subclass may serialise or send otherwise: its own send_entity
        def send_entity(self, entity: Any) -> None:
            sent.append(entity)

    entity = _entities()["failed"]
    xray_sdk.send_subsegment(Custom(receiver.address), entity)
    assert sent == [entity]
    with caplog.at_level(logging.DEBUG, "aws_xray_sdk.core.emitters.udp_emitter"):
        xray_sdk.send_subsegment(UDPEmitter(receiver.address), entity)
    assert receiver.recv().endswith(entity.serialize().encode())
    assert any(r.getMessage().startswith("sending: ") for r in caplog.records)  # the SDK's own debug line


def test_send_subsegment_leaves_a_failed_send_to_the_sdk(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

    emitter = UDPEmitter("127.0.0.1:2000")
    calls: list[str] = []

    def broken(data: str) -> None:
        calls.append(data)
        raise OSError("no buffer space")

    monkeypatch.setattr(emitter, "_send_data", broken)
    with caplog.at_level(logging.ERROR):
        xray_sdk.send_subsegment(emitter, _entities()["failed"])  # never raises
    assert len(calls) == 2  # ours, then the SDK's send_entity, which logs the failure its way
    assert calls[0] == calls[1]
    assert "Failed to send entity to Daemon." in caplog.text


def test_send_subsegment_fails_open(
    monkeypatch: pytest.MonkeyPatch, receiver: _Receiver, caplog: Any
) -> None:
    from aws_xray_sdk.core.emitters import udp_emitter

    monkeypatch.setattr(xray_sdk, "_emitter", xray_sdk._Emitter())
    monkeypatch.delattr(udp_emitter.UDPEmitter, "_send_data")
    sent: list[Any] = []
    monkeypatch.setattr(udp_emitter.UDPEmitter, "send_entity", lambda self, entity: sent.append(entity))
    entity = _entities()["failed"]
    with caplog.at_level(logging.WARNING, "xray_exclusive"):
        xray_sdk.send_subsegment(udp_emitter.UDPEmitter(receiver.address), entity)
    assert _fell_back(caplog, "UDPEmitter._send_data")
    assert sent == [entity]


def test_every_sdk_backend_document_is_what_serialize_writes(
    xray: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    """The differential scenarios on the SDK backend: each document it writes is ``serialize()``'s text."""
    from tests.test_backend_differential import SCENARIOS, _deleted_cwd, _success
    from xray_exclusive import set_default_backend
    from xray_exclusive._backend import resolve_backend

    original = xray_sdk.serialize_subsegment
    written: list[tuple[str, str | None, str]] = []

    def checked(entity: Any) -> str | None:
        text = original(entity)
        written.append((entity.name, text, entity.serialize()))
        return text

    monkeypatch.setattr(xray_sdk, "serialize_subsegment", checked)
    scenarios = {**SCENARIOS, "success": _success, "deleted_cwd": _deleted_cwd(str(tmp_path / "gone"))}
    set_default_backend(resolve_backend("xray-sdk"))
    try:
        for scenario in scenarios.values():
            scenario()
    finally:
        set_default_backend(None)
    capsys.readouterr()
    assert len(written) >= len(scenarios)
    assert [(name, theirs) for name, ours, theirs in written if ours != theirs] == []
    assert len(xray.datagrams()) == len(written)  # each one sent once, by the fast path


# -- CPython's C modules alone (cmodules) ----------------------------------------------------------


def test_ast_nodes_are_asts_own_classes() -> None:
    import ast
    import pathlib
    import re

    import xray_exclusive.check._python as checker
    from xray_exclusive._compat.cmodules import ast_nodes

    used = set(re.findall(r"\bast\.([A-Za-z_]+)", pathlib.Path(checker.__file__).read_text("utf-8")))
    assert used, "the checker's node classes"
    classes = {name for name in used if isinstance(getattr(ast, name, None), type)} | {"PyCF_ONLY_AST"}
    assert {"Call", "stmt", "expr"} <= classes
    for name in sorted(classes):
        assert getattr(ast_nodes, name) is getattr(ast, name), name
    text = "def f(x):\n    return g(x, *y, k=1)\n"
    tree = compile(text, "<t>", "exec", ast_nodes.PyCF_ONLY_AST, dont_inherit=True)
    assert ast.dump(tree, include_attributes=True) == ast.dump(ast.parse(text), include_attributes=True)


def test_socket_module_makes_sockets_socket_makes() -> None:
    import socket

    from xray_exclusive._compat.cmodules import socket_module

    module = socket_module()
    assert (module.AF_INET, module.SOCK_DGRAM) == (socket.AF_INET, socket.SOCK_DGRAM)
    assert issubclass(socket.socket, module.socket)
    sock = module.socket(module.AF_INET, module.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.sendto(b"{}", ("127.0.0.1", 9))  # loopback discard port: a datagram is never refused here
    finally:
        sock.close()


def test_json_quote_is_json_dumps_string_encoder() -> None:
    import json

    from hypothesis import given
    from hypothesis import strategies as st

    from xray_exclusive._compat.cmodules import json_quote

    quote = json_quote()

    @given(st.text())
    def same(text: str) -> None:
        assert quote(text) == json.dumps(text)

    same()
