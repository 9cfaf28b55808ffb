"""failure_path() against the real X-Ray SDK: subsegments captured as UDP datagrams, metrics from stdout."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from tests import emf_spec
from tests import example_paths as paths
from tests.conftest import FUNCTION_NAME, TRACE_PARENT, XRayDaemon, emf_lines
from xray_exclusive import FailurePath, classify, failure_path, set_default_backend
from xray_exclusive.bounded import MESSAGE_LIMIT, STACK_FRAMES


def client_error(code: str, status: int, operation: str = "GetItem", message: str = "boom") -> ClientError:
    """A ClientError exactly as botocore builds one from a parsed error response."""
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": "R1",
            "HTTPStatusCode": status,
            "HTTPHeaders": {},
            "RetryAttempts": 0,
        },
    }
    return ClientError(response, operation)


THROTTLED = client_error("ProvisionedThroughputExceededException", 400)
ACCESS_DENIED = client_error("AccessDeniedException", 403)
SERVER_ERROR = client_error("InternalServerError", 500)


@pytest.fixture(autouse=True, params=["native", "xray-sdk"])
def backend_name(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs on both X-Ray backends: the same datagrams are expected."""
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", request.param)
    set_default_backend(None)
    return str(request.param)


def raise_in(path: Any, exc: BaseException, **kwargs: Any) -> BaseException:
    try:
        with failure_path(path, **kwargs):
            raise exc
    except BaseException as caught:
        return caught
    raise AssertionError("failure_path swallowed the exception")


# --------------------------------------------------------------------------- the seven paths


@pytest.mark.parametrize("path", paths.ALL, ids=lambda p: p.name)
def test_each_catalogued_path_success(
    path: FailurePath, xray: XRayDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    with failure_path(path):
        pass
    doc = xray.one(path.name)
    assert doc["type"] == "subsegment"
    assert doc["trace_id"] == xray.root
    assert doc["parent_id"] == TRACE_PARENT
    assert doc["namespace"] == "local"
    assert not {"error", "fault", "throttle", "cause"} & set(doc)
    assert emf_lines(capsys.readouterr().out) == []


@pytest.mark.parametrize("path", paths.ALL, ids=lambda p: p.name)
def test_each_catalogued_path_failure(
    path: FailurePath, xray: XRayDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    caught = raise_in(path, SERVER_ERROR)
    assert caught is SERVER_ERROR
    doc = xray.one(path.name)
    assert doc["fault"] is True
    assert "error" not in doc
    exception = doc["cause"]["exceptions"][0]
    assert exception["type"] == "ClientError"
    assert "InternalServerError" in exception["message"]
    assert exception["remote"] is True
    assert doc["annotations"]["failure_path"] == path.name
    failure = doc["metadata"]["xray_exclusive"]["failure"]
    assert failure["error_code"] == "InternalServerError"
    assert failure["http_status"] == 500

    [metric] = emf_lines(capsys.readouterr().out)
    emf_spec.validate(metric)
    [directive] = metric["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == path.namespace
    assert directive["Metrics"] == [{"Name": path.metric, "Unit": "Count"}]
    assert directive["Dimensions"] == [["Lambda", *path.dimensions]]
    assert metric["Lambda"] == FUNCTION_NAME
    assert metric[path.metric] == 1
    for key, value in path.dimensions.items():
        assert metric[key] == value


def test_catalogue_matches_the_spec_table() -> None:
    table = {
        "circuit_breaker_load": (
            "CircuitBreakerPersistenceFailure",
            "SentimentAnalyzer/Reliability",
            {"Operation": "load"},
        ),
        "circuit_breaker_save": (
            "CircuitBreakerPersistenceFailure",
            "SentimentAnalyzer/Reliability",
            {"Operation": "save"},
        ),
        "audit_trail_persist": ("AuditEventPersistenceFailure", "SentimentAnalyzer/Compliance", {}),
        "downstream_notification_publish": (
            "DownstreamNotificationFailure",
            "SentimentAnalyzer/Reliability",
            {},
        ),
        "timeseries_fanout_batch_write": ("TimeseriesFanoutPartialFailure", "SentimentAnalyzer/Data", {}),
        "self_healing_item_fetch": ("SelfHealingItemFetchFailure", "SentimentAnalyzer/Reliability", {}),
        "parallel_fetch_aggregate": ("ParallelFetcherErrors", "SentimentAnalyzer/Reliability", {}),
    }
    assert {p.name: (p.metric, p.namespace, dict(p.dimensions)) for p in paths.ALL} == table


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("exc", "flags"),
    [
        (THROTTLED, {"error": True, "throttle": True}),
        (client_error("ThrottlingException", 400), {"error": True, "throttle": True}),
        (client_error("TooManyRequestsException", 429), {"error": True, "throttle": True}),
        (ACCESS_DENIED, {"error": True}),
        (client_error("ConditionalCheckFailedException", 400), {"error": True}),
        (SERVER_ERROR, {"fault": True}),
        (client_error("ServiceUnavailable", 503), {"fault": True}),
        (ValueError("unknown"), {"fault": True}),
        (ConnectionRefusedError("refused"), {"fault": True}),
    ],
    ids=["throttled", "throttling", "429", "denied", "conditional", "500", "503", "unknown", "refused"],
)
def test_marks_follow_xray_semantics(exc: Exception, flags: dict[str, bool], xray: XRayDaemon) -> None:
    raise_in(paths.CIRCUIT_BREAKER_LOAD, exc)
    doc = xray.one("circuit_breaker_load")
    assert {k: doc[k] for k in ("error", "fault", "throttle") if k in doc} == flags


def test_urllib_http_error_is_classified_by_status() -> None:
    import urllib.error

    err = urllib.error.HTTPError("http://x", 404, "Not Found", None, None)  # type: ignore[arg-type]
    assert classify(err) is not None
    assert classify(err).label == "error"  # type: ignore[union-attr]
    assert classify(urllib.error.HTTPError("http://x", 502, "Bad", None, None)).label == "fault"  # type: ignore[arg-type,union-attr]


@pytest.mark.parametrize(("mark", "expected"), [("error", {"error": True}), ("fault", {"fault": True})])
def test_a_path_may_force_its_mark(mark: Any, expected: dict[str, bool], xray: XRayDaemon) -> None:
    path = FailurePath("custom_mark", namespace="Test/NS", mark=mark)
    raise_in(path, SERVER_ERROR if mark == "error" else ACCESS_DENIED)
    doc = xray.one("custom_mark")
    assert {k: doc[k] for k in ("error", "fault", "throttle") if k in doc} == expected


@pytest.mark.parametrize(
    "exc",
    [GeneratorExit(), KeyboardInterrupt(), SystemExit(3), asyncio.CancelledError()],
    ids=lambda e: type(e).__name__,
)
def test_control_flow_exceptions_are_not_failures(
    exc: BaseException, xray: XRayDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert raise_in(paths.SELF_HEALING_ITEM_FETCH, exc) is exc
    doc = xray.one("self_healing_item_fetch")
    assert not {"error", "fault", "throttle", "cause"} & set(doc)
    assert emf_lines(capsys.readouterr().out) == []


def test_exception_is_reraised_unchanged(xray: XRayDaemon) -> None:
    exc = ACCESS_DENIED
    try:
        with failure_path(paths.AUDIT_TRAIL_PERSIST):
            raise exc
    except ClientError as caught:
        assert caught is exc
        assert caught.response["Error"]["Code"] == "AccessDeniedException"
        assert caught.__traceback__ is not None
        # the caller's own frame is still the first in the traceback
        assert caught.__traceback__.tb_frame.f_code.co_name == "test_exception_is_reraised_unchanged"


# --------------------------------------------------------------------------- sampling and environments


def test_unsampled_request_still_emits_the_metric(
    unsampled: XRayDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    raise_in(paths.DOWNSTREAM_NOTIFICATION_PUBLISH, SERVER_ERROR)
    assert unsampled.documents() == []
    [metric] = emf_lines(capsys.readouterr().out)
    assert metric["DownstreamNotificationFailure"] == 1


def test_outside_lambda_works_and_emits(outside_lambda: None, capsys: pytest.CaptureFixture[str]) -> None:
    with failure_path(paths.CIRCUIT_BREAKER_SAVE) as fp:
        fp.fail("not persisted")
    assert raise_in(paths.CIRCUIT_BREAKER_SAVE, THROTTLED) is THROTTLED
    metrics = emf_lines(capsys.readouterr().out)
    assert [m["Operation"] for m in metrics] == ["save", "save"]
    assert all(m["Lambda"] == "unknown" for m in metrics)


def test_tracing_disabled_still_emits(xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    raise_in(paths.AUDIT_TRAIL_PERSIST, ACCESS_DENIED)
    assert xray.documents() == []
    assert len(emf_lines(capsys.readouterr().out)) == 1


def test_no_segment_during_init_still_emits(
    xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID")  # the INIT phase: no trace yet
    raise_in(paths.CIRCUIT_BREAKER_LOAD, SERVER_ERROR)
    assert xray.documents() == []
    assert len(emf_lines(capsys.readouterr().out)) == 1


def test_metrics_disabled_by_env(xray: XRayDaemon, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    raise_in(paths.CIRCUIT_BREAKER_LOAD, SERVER_ERROR)
    assert emf_lines(capsys.readouterr().out) == []
    assert xray.one("circuit_breaker_load")["fault"] is True


# --------------------------------------------------------------------------- fail()


def test_fail_records_a_failure_without_exception(
    xray: XRayDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    with failure_path(paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations={"ticker": "AAPL"}) as fp:
        unprocessed = ["a", "b", "c"]
        fp.fail(
            "unprocessed items after retries",
            count=len(unprocessed),
            unprocessed_count=3,
            resolutions="1m,5m",
        )
    doc = xray.one("timeseries_fanout_batch_write")
    assert doc["error"] is True
    assert "fault" not in doc
    assert doc["annotations"] == {
        "ticker": "AAPL",
        "unprocessed_count": 3,
        "resolutions": "1m,5m",
        "failure_path": "timeseries_fanout_batch_write",
    }
    [exception] = doc["cause"]["exceptions"]
    assert exception["type"] == "TimeseriesFanoutPartialFailure"
    assert exception["message"] == "unprocessed items after retries"
    [metric] = emf_lines(capsys.readouterr().out)
    emf_spec.validate(metric)
    assert metric["TimeseriesFanoutPartialFailure"] == 3
    assert fp.failures == 1


@pytest.mark.parametrize("count", [0, -2, float("nan"), float("inf"), "3", None, True])
def test_fail_with_an_odd_count_counts_one(count: Any, xray: XRayDaemon, capsys: Any, caplog: Any) -> None:
    with failure_path(paths.PARALLEL_FETCH_AGGREGATE) as fp:
        fp.fail("errors collected", count=count)
    [metric] = emf_lines(capsys.readouterr().out)
    assert metric["ParallelFetcherErrors"] == 1
    assert "counting 1" in caplog.text


def test_parallel_fetcher_pattern_aggregate_after_join(
    xray: XRayDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    errors: list[str] = []
    lock = threading.Lock()

    def fetch(i: int) -> None:
        if i % 3 == 0:
            with lock:
                errors.append(f"source {i} timed out")

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with failure_path(paths.PARALLEL_FETCH_AGGREGATE, annotations={"source_count": 9}) as fp:
        if errors:
            fp.fail("; ".join(errors), count=len(errors), error_count=len(errors))
    doc = xray.one("parallel_fetch_aggregate")
    assert doc["annotations"]["error_count"] == 3
    assert doc["parent_id"] == TRACE_PARENT
    assert emf_lines(capsys.readouterr().out)[0]["ParallelFetcherErrors"] == 3


def test_failure_paths_inside_threads(xray: XRayDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    def work(i: int) -> None:
        try:
            with failure_path(paths.SELF_HEALING_ITEM_FETCH, annotations={"source_id": f"s{i}"}):
                if i == 1:
                    raise SERVER_ERROR
        except ClientError:
            pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    docs = [d for d in xray.documents() if d["name"] == "self_healing_item_fetch"]
    assert sorted(d["annotations"]["source_id"] for d in docs) == ["s0", "s1", "s2"]
    assert all(d["parent_id"] == TRACE_PARENT and d["trace_id"] == xray.root for d in docs)
    assert [d["annotations"]["source_id"] for d in docs if d.get("fault")] == ["s1"]
    assert len(emf_lines(capsys.readouterr().out)) == 1


def test_self_healing_one_subsegment_per_item(xray: XRayDaemon) -> None:
    for source_id in ("a", "b", "c"):
        try:
            with failure_path(paths.SELF_HEALING_ITEM_FETCH, annotations={"source_id": source_id}):
                if source_id == "b":
                    raise THROTTLED
        except ClientError:
            continue
    docs = [d for d in xray.documents() if d["name"] == "self_healing_item_fetch"]
    assert [d["annotations"]["source_id"] for d in docs] == ["a", "b", "c"]
    assert [bool(d.get("throttle")) for d in docs] == [False, True, False]


# --------------------------------------------------------------------------- bounds


def test_huge_message_and_deep_stack_stay_bounded(xray: XRayDaemon) -> None:
    def recurse(n: int) -> None:
        if n == 0:
            raise ValueError("x" * 10_000)
        recurse(n - 1)

    raise_in(paths.CIRCUIT_BREAKER_LOAD, _capture(lambda: recurse(200)))
    exception = xray.one("circuit_breaker_load")["cause"]["exceptions"][0]
    assert len(exception["message"]) <= MESSAGE_LIMIT
    assert exception["message"].startswith("xxxx")
    assert "truncated" in exception["message"]
    assert len(exception["stack"]) <= STACK_FRAMES
    assert exception["truncated"] > 180
    assert exception["stack"][-1]["label"].endswith("recurse")


def _capture(func: Any) -> BaseException:
    try:
        func()
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


def test_odd_annotations_are_dropped_not_raised(xray: XRayDaemon, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="xray_exclusive")
    odd: dict[str, Any] = {
        "none": None,
        "mapping": {"a": 1},
        "listed": [1],
        "nan": float("nan"),
        "inf": float("-inf"),
        "user.id": "u-1",
        "": "empty",
        "ok": 1.5,
        "flag": False,
    }
    with failure_path(paths.AUDIT_TRAIL_PERSIST, annotations=odd) as fp:
        fp.annotate(**{"bytes": b"x"})
    doc = xray.one("audit_trail_persist")
    assert doc["annotations"] == {"user_id": "u-1", "ok": 1.5, "flag": False}
    for reason in (
        "value is None",
        "unsupported value type dict",
        "not a finite number",
        "empty key",
        "normalised",
    ):
        assert reason in caplog.text


def test_more_than_fifty_annotations_are_capped(xray: XRayDaemon) -> None:
    with failure_path(paths.AUDIT_TRAIL_PERSIST, annotations={f"k{i}": i for i in range(80)}):
        pass
    assert len(xray.one("audit_trail_persist")["annotations"]) == 50


def test_metadata_is_bounded_plain_json(xray: XRayDaemon) -> None:
    def gen() -> Any:
        yield 1

    g = gen()
    with failure_path(paths.AUDIT_TRAIL_PERSIST) as fp:
        fp.put_metadata("response", {"body": b"\x00" * 100_000, "stream": g, "text": "y" * 50_000})
    meta = xray.one("audit_trail_persist")["metadata"]["xray_exclusive"]["response"]
    assert meta["body"] == "<bytes: 100000 bytes>"
    assert "not consumed" in meta["stream"]
    assert next(g) == 1  # the generator was not consumed
    assert len(meta["text"]) <= 1024


# --------------------------------------------------------------------------- decorator, nesting, FR-018


def test_decorator_sync_and_async(xray: XRayDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    @failure_path(paths.DOWNSTREAM_NOTIFICATION_PUBLISH)
    def publish(fail: bool) -> str:
        if fail:
            raise SERVER_ERROR
        return "sent"

    @failure_path("async_publish", namespace="Test/NS")
    async def apublish() -> str:
        raise ACCESS_DENIED

    assert publish(False) == "sent"
    with pytest.raises(ClientError):
        publish(True)
    with pytest.raises(ClientError):
        asyncio.run(apublish())
    names = [d["name"] for d in xray.documents()]
    assert names.count("downstream_notification_publish") == 2
    assert "async_publish" in names
    metrics = emf_lines(capsys.readouterr().out)
    assert [next(iter(m["_aws"]["CloudWatchMetrics"]))["Metrics"][0]["Name"] for m in metrics] == [
        "DownstreamNotificationFailure",
        "AsyncPublishFailure",
    ]


def test_decorating_a_generator_function_is_refused() -> None:
    with pytest.raises(TypeError, match="generator function"):

        @failure_path(paths.SELF_HEALING_ITEM_FETCH)
        def stream() -> Any:
            yield 1


def test_string_path_with_keywords(xray: XRayDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    raise_in(
        "payment_capture", ACCESS_DENIED, namespace="Shop/Reliability", dimensions={"Provider": "stripe"}
    )
    [metric] = emf_lines(capsys.readouterr().out)
    emf_spec.validate(metric)
    assert metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Lambda", "Provider"]]
    assert metric["PaymentCaptureFailure"] == 1
    assert xray.one("payment_capture")["error"] is True


def test_bad_arguments_raise_at_once() -> None:
    with pytest.raises(TypeError, match="not both"):
        failure_path(paths.CIRCUIT_BREAKER_LOAD, namespace="X/Y")
    with pytest.raises(TypeError):
        failure_path(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="characters X-Ray removes"):
        failure_path("bad(name)")
    with pytest.raises(ValueError, match="reserved"):
        FailurePath("x", dimensions={"Lambda": "y"})


def test_nested_failure_paths_each_record_the_exception(xray: XRayDaemon) -> None:
    try:
        with failure_path(paths.CIRCUIT_BREAKER_LOAD), failure_path(paths.AUDIT_TRAIL_PERSIST):
            raise SERVER_ERROR
    except ClientError:
        pass
    inner, outer = xray.one("audit_trail_persist"), xray.one("circuit_breaker_load")
    assert inner["parent_id"] == outer["id"]
    # Each named failure subsegment carries the exception itself, not a pointer to a streamed child.
    [inner_exc], [outer_exc] = inner["cause"]["exceptions"], outer["cause"]["exceptions"]
    assert inner_exc["type"] == outer_exc["type"] == "ClientError"
    assert inner_exc["id"] != outer_exc["id"]


def test_subsegment_left_open_inside_is_closed_too(xray: XRayDaemon, caplog: Any) -> None:
    with failure_path(paths.AUDIT_TRAIL_PERSIST):
        failure_path(paths.SELF_HEALING_ITEM_FETCH).__enter__()  # entered, never exited
    outer, leaked = xray.one("audit_trail_persist"), xray.one("self_healing_item_fetch")
    assert leaked["parent_id"] == outer["id"]
    assert "left open" in caplog.text
    with failure_path(paths.CIRCUIT_BREAKER_LOAD):  # the stack is clean again
        pass
    assert xray.one("circuit_breaker_load")["parent_id"] == TRACE_PARENT


def test_a_failing_tracing_call_never_masks_the_exception(
    xray: XRayDaemon, backend_name: str, caplog: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The backend failing inside a failure path (fault injected): a warning, the caller's exception."""
    if backend_name == "xray-sdk":
        from aws_xray_sdk.core.models.entity import Entity as target
    else:
        from xray_exclusive._xray.native import _NativeSpan as target  # type: ignore[assignment]

    error = ValueError("user error")
    with mock.patch.object(target, "add_fault_flag" if backend_name == "xray-sdk" else "mark") as broken:
        broken.side_effect = RuntimeError("sdk broke")
        assert raise_in(paths.CIRCUIT_BREAKER_LOAD, error) is error
    assert error.__context__ is None  # nothing of ours was chained to it
    assert "recording the exception failed (RuntimeError: sdk broke)" in caplog.text
    assert emf_lines(capsys.readouterr().out)[0]["CircuitBreakerPersistenceFailure"] == 1
    assert "fault" not in xray.one("circuit_breaker_load")  # still sent, closed


@pytest.mark.parametrize("error_type", [ValueError, RecursionError])
def test_recording_that_hits_the_recursion_limit_even_with_borrowed_depth_still_closes_and_counts(
    xray: XRayDaemon,
    error_type: type[Exception],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Recording raises RecursionError every time (fault injected): one warning, nothing else lost.

    The subsegment is still closed and sent, the metric line still written, the depth lent to the
    exit given back, and the caller gets its own exception back, a RecursionError of its own too.
    """
    limit = sys.getrecursionlimit()
    error = error_type("the caller's own")
    no_stack = RecursionError("no stack left, even borrowed")
    with mock.patch("xray_exclusive._failure_context.record_failure", side_effect=no_stack) as broken:
        assert raise_in(paths.CIRCUIT_BREAKER_LOAD, error) is error
    assert error.__context__ is None  # nothing of ours chained to it
    document = xray.one("circuit_breaker_load")  # closed: sent to the daemon
    assert "end_time" in document and not document.get("in_progress")
    assert [line["CircuitBreakerPersistenceFailure"] for line in emf_lines(capsys.readouterr().out)] == [1]
    # Tried again with borrowed depth; the caller's own RecursionError had it lent before the first try.
    assert broken.call_count == (1 if error_type is RecursionError else 2)
    assert sys.getrecursionlimit() == limit
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "Subsegment 'circuit_breaker_load': recording the exception failed (RecursionError: no stack left, "
        "even borrowed); the caller's code and exception are unaffected."
    ]


def test_a_metric_step_that_hits_the_recursion_limit_twice_still_records_and_closes(
    xray: XRayDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    """The steps after a failed one still run: the metric step (fault injected) fails, the record does not."""
    no_stack = RecursionError("no stack left, even borrowed")
    with mock.patch("xray_exclusive._emf.emit_failure", side_effect=no_stack) as broken:
        assert raise_in(paths.CIRCUIT_BREAKER_LOAD, SERVER_ERROR) is SERVER_ERROR
    document = xray.one("circuit_breaker_load")
    assert document["fault"] is True
    assert document["cause"]["exceptions"][0]["type"] == "ClientError"
    assert broken.call_count == 2
    assert "writing the metric failed (RecursionError: no stack left, even borrowed)" in caplog.text


def test_a_failing_metric_sink_never_masks_the_exception(xray: XRayDaemon, caplog: Any) -> None:
    class BrokenSink:
        def write(self, line: str) -> None:
            raise OSError("stdout closed")

    exc = raise_in(paths.CIRCUIT_BREAKER_LOAD, THROTTLED, sink=BrokenSink())
    assert exc is THROTTLED
    assert "Could not write the CircuitBreakerPersistenceFailure metric" in caplog.text
    assert xray.one("circuit_breaker_load")["throttle"] is True


def test_application_tracer_keeps_its_auto_patch_default(xray: XRayDaemon) -> None:
    from aws_lambda_powertools.tracing import Tracer

    with failure_path(paths.AUDIT_TRAIL_PERSIST):
        pass
    assert Tracer._config["auto_patch"] is True  # a later Tracer() of the app still patches


def test_sdk_enabled_without_any_segment_gives_none_and_still_emits(
    outside_lambda: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """FACTS.md §a.1: the SDK enabled, no segment open: begin_subsegment returns None. Still a metric."""
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.context import Context

    monkeypatch.setenv("AWS_XRAY_SDK_ENABLED", "true")  # wins over Powertools' process-wide disable
    previous = xray_recorder.context
    xray_recorder.configure(context=Context(context_missing="LOG_ERROR"))
    try:
        assert xray_recorder.begin_subsegment("probe") is None
        assert raise_in(paths.AUDIT_TRAIL_PERSIST, ACCESS_DENIED) is ACCESS_DENIED
        with failure_path(paths.AUDIT_TRAIL_PERSIST) as fp:
            fp.fail("not persisted", count=2)
    finally:
        xray_recorder.configure(context=previous)
    values = [m["AuditEventPersistenceFailure"] for m in emf_lines(capsys.readouterr().out)]
    assert values == [1, 2]
