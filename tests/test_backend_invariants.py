"""Never mask, never lose: hostile exceptions and annotations, at every entry point, on all three backends.

Whatever the caller throws (properties that raise, frozen dataclasses, 200,000-character names and
messages, cyclic causes, ``__str__`` that raises, recursion to the limit, a deleted working
directory) and whatever it annotates with, through ``failure_path`` (``with`` and decorator, sync and
async), ``fp.fail``, ``fp.annotate`` and ``http_subsegment``, alone or from 200 concurrent asyncio
tasks and several threads:

* the caller gets its own exception object back, with nothing of ours chained to it;
* every failure has its metric line on stdout;
* every subsegment reached X-Ray's side, closed, under the right parent.

Each backend is observed on its real wire (``conftest.Backend``: UDP datagrams or OTLP spans).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TRACE_PARENT, Backend, Recorded, emf_lines
from xray_exclusive import FailurePath, failure_path, http_subsegment

OUTER = FailurePath("hostile_outer", namespace="Test/Hostile")
INNER = FailurePath("hostile_inner", namespace="Test/Hostile")

# --------------------------------------------------------------------------- hostile exceptions


class ResponseRaises(Exception):
    @property
    def response(self) -> Any:
        raise RuntimeError("reading .response exploded")


class StatusRaises(Exception):
    @property
    def status_code(self) -> Any:
        raise KeyError("reading .status_code exploded")


class ExplodingMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("getitem exploded")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iter exploded")

    def __len__(self) -> int:
        return 1

    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("response.get exploded")


class ResponseGetRaises(Exception):
    def __init__(self) -> None:
        super().__init__("a botocore-like error whose response.get raises")
        self.response = ExplodingMapping()


@dataclass(frozen=True)
class FrozenError(Exception):
    detail: str = "frozen"
    status_code: int = 503


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ exploded")


def huge_name() -> Exception:
    return type("E" * 200_000, (Exception,), {})("m" * 200_000)


def cyclic() -> Exception:
    first, second = ValueError("first"), ValueError("second")
    first.__cause__, second.__cause__ = second, first
    first.__context__, second.__context__ = second, first
    return first


class BadInt(int):
    def __int__(self) -> int:
        raise RuntimeError("__int__ exploded")

    def __index__(self) -> int:
        raise RuntimeError("__index__ exploded")


class BadStr(str):
    def __str__(self) -> str:
        raise RuntimeError("str subclass __str__ exploded")


HOSTILE: dict[str, Callable[[], BaseException]] = {
    "response_raises": ResponseRaises,
    "status_code_raises": StatusRaises,
    "response_get_raises": ResponseGetRaises,
    "frozen_dataclass": FrozenError,
    "huge_name_and_message": huge_name,
    "cyclic_cause_and_context": cyclic,
    "str_and_repr_raise": Unprintable,
    "status_is_bad_int": lambda: _with_status(BadInt(503)),
    "plain": lambda: ConnectionResetError("peer went away"),
}


def _with_status(status: Any) -> Exception:
    exc = RuntimeError("odd status")
    exc.status_code = status  # type: ignore[attr-defined]
    return exc


class ItemsRaise(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("annotations iterate exploded")

    def __len__(self) -> int:
        raise RuntimeError("annotations len exploded")

    def items(self) -> Any:
        raise RuntimeError("annotations items exploded")


annotation_keys = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.none(),
    st.tuples(st.integers()),
    st.just("k" * 5_000),
    st.just(BadStr("bad_key")),
)
annotation_values = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=20),
    st.just(BadInt(7)),
    st.just(BadStr("bad value")),
    st.just(Unprintable()),
    st.just("v" * 100_000),
)
hostile_annotations = st.one_of(
    st.dictionaries(annotation_keys, annotation_values, max_size=8),
    st.just(ItemsRaise()),
    st.just([("not", "a mapping")]),
)
ENTRY_POINTS = ["with", "decorator", "async_with", "async_decorator", "fail", "annotate", "http"]


def _inner(entry: str, exc: BaseException | None, annotations: Any) -> BaseException | None:
    """Run one entry point inside the outer path; return what the caller caught (None: nothing raised)."""
    try:
        with failure_path(OUTER):
            if entry == "with":
                with failure_path(INNER, annotations=annotations):
                    raise exc  # type: ignore[misc]
            elif entry == "decorator":

                @failure_path(INNER, annotations=annotations)
                def work() -> None:
                    raise exc  # type: ignore[misc]

                work()
            elif entry in ("async_with", "async_decorator"):
                _run(_async_inner(entry, exc, annotations))
            elif entry == "fail":
                with failure_path(INNER, annotations=annotations) as fp:
                    fp.fail(BadStr("hostile reason"), count=BadInt(3))  # type: ignore[arg-type]
                    fp.fail("m" * 200_000, count=2, **_str_keyed(annotations))
            elif entry == "annotate":
                with failure_path(INNER) as fp:
                    fp.annotate(**_str_keyed(annotations))
                    fp.put_metadata(BadStr("meta"), annotations)  # type: ignore[arg-type]
                    raise exc  # type: ignore[misc]
            else:
                with http_subsegment(
                    INNER.name, method=BadStr("post"), url=BadStr("http://h/x"), annotations=annotations
                ) as call:
                    call.status(BadInt(500))
                    raise exc  # type: ignore[misc]
    except BaseException as caught:
        return caught
    return None


def _run(coroutine: Any) -> Any:
    """``asyncio.run`` without its SIGINT handling, which itself calls ``repr()`` on the task's exception
    (CPython 3.11, ``runners.py``): an exception whose ``__repr__`` raises would be masked by asyncio."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


async def _async_inner(entry: str, exc: BaseException | None, annotations: Any) -> None:
    if entry == "async_with":
        with failure_path(INNER, annotations=annotations):
            await asyncio.sleep(0)
            raise exc  # type: ignore[misc]

    @failure_path(INNER, annotations=annotations)
    async def work() -> None:
        await asyncio.sleep(0)
        raise exc  # type: ignore[misc]

    await work()


def _str_keyed(annotations: Any) -> dict[str, Any]:
    if not isinstance(annotations, dict):
        return {}
    return {k: v for k, v in annotations.items() if type(k) is str and k.isidentifier()}


def _metrics(text: str, name: str) -> int:
    return sum(1 for m in emf_lines(text) if name in m)


def _expected_metrics(entry: str, exc: BaseException | None) -> tuple[int, int]:
    """(inner, outer) metric lines: http writes none, fail() one per call, an exception one per path."""
    raised = isinstance(exc, Exception) and entry != "fail"
    inner = 2 if entry == "fail" else (1 if raised and entry != "http" else 0)
    return inner, 1 if raised else 0


def _check_tree(records: list[Recorded], backend: Backend, inner_count: int = 1) -> None:
    by_name: dict[str, list[Recorded]] = {}
    for record in records:
        by_name.setdefault(record.name, []).append(record)
    assert sorted(by_name) == ["hostile_inner", "hostile_outer"], sorted(by_name)
    [outer] = by_name["hostile_outer"]
    assert outer.parent_id == TRACE_PARENT
    assert len(by_name["hostile_inner"]) == inner_count
    for inner in by_name["hostile_inner"]:
        assert inner.parent_id == outer.id
        assert inner.trace_id == outer.trace_id == backend.root


SETTINGS = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    entry=st.sampled_from(ENTRY_POINTS),
    kind=st.sampled_from(sorted(HOSTILE)),
    annotations=hostile_annotations,
)
def test_hostile_exceptions_and_annotations_never_mask_never_lose(
    backend: Backend, capsys: pytest.CaptureFixture[str], entry: str, kind: str, annotations: Any
) -> None:
    backend.clear()
    capsys.readouterr()
    exc = HOSTILE[kind]()
    caught = _inner(entry, exc, annotations)
    out = capsys.readouterr().out
    if entry == "fail":
        assert caught is None
    else:
        assert caught is exc, f"the caller got {type(caught).__name__} instead of its own exception"
        assert exc.__context__ is None or kind == "cyclic_cause_and_context"  # nothing of ours chained
    inner_metrics, outer_metrics = _expected_metrics(entry, exc)
    assert _metrics(out, "HostileInnerFailure") == inner_metrics
    assert _metrics(out, "HostileOuterFailure") == outer_metrics
    _check_tree(backend.recorded(), backend)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_each_hostile_exception_through_a_decorated_async_function(
    backend: Backend, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    exc = HOSTILE[kind]()
    assert _inner("async_decorator", exc, {5: "x", "ok": 1}) is exc
    out = capsys.readouterr().out
    assert (_metrics(out, "HostileInnerFailure"), _metrics(out, "HostileOuterFailure")) == (1, 1)
    _check_tree(backend.recorded(), backend)
    [inner] = [r for r in backend.recorded() if r.name == "hostile_inner"]
    assert inner.annotations.get("ok") == 1
    assert inner.annotations.get("failure_path") == "hostile_inner"


def test_a_non_string_annotation_key_is_dropped_before_anything_opens(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    with failure_path(OUTER), failure_path(INNER, annotations={5: "x", "kept": "y"}):
        pass
    with failure_path(INNER):  # nothing was left open: a sibling, not a child, of the first inner
        pass
    records = backend.recorded()
    outer = next(r for r in records if r.name == "hostile_outer")
    inners = [r for r in records if r.name == "hostile_inner"]
    assert [r.parent_id for r in inners] == [outer.id, TRACE_PARENT]
    assert inners[0].annotations == {"kept": "y"}
    assert "key must be a str, not int" in caplog.text


def test_recursion_to_the_limit_in_a_decorated_function(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    levels = 0

    @failure_path(INNER)
    def recurse() -> None:
        nonlocal levels
        levels += 1
        recurse()

    limit = sys.getrecursionlimit()
    with pytest.raises(RecursionError) as info:
        recurse()
    assert sys.getrecursionlimit() == limit  # the headroom lent to the exits was given back
    assert info.value.__context__ is None
    assert levels > 50
    assert _metrics(capsys.readouterr().out, "HostileInnerFailure") == levels
    records = backend.recorded()
    ids = {r.id for r in records}
    assert all(r.parent_id in ids or r.parent_id == TRACE_PARENT for r in records)
    assert sum(r.parent_id == TRACE_PARENT for r in records) == 1
    assert len(records) >= levels - 5  # the innermost levels may have had no stack to open with


def test_a_deleted_working_directory(
    backend: Backend, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    here = os.getcwd()
    gone = tmp_path / "gone"
    gone.mkdir()
    os.chdir(gone)
    try:
        gone.rmdir()
        exc = ValueError("cwd is gone")
        assert _inner("with", exc, {"k": 1}) is exc
    finally:
        os.chdir(here)
    out = capsys.readouterr().out
    assert (_metrics(out, "HostileInnerFailure"), _metrics(out, "HostileOuterFailure")) == (1, 1)
    _check_tree(backend.recorded(), backend)


# --------------------------------------------------------------------------- concurrency

TASKS = 200
KINDS = [k for k in sorted(HOSTILE) if k != "huge_name_and_message"]  # 400 x 20 KB would fill the socket


async def _task(i: int, exc: BaseException) -> None:
    @failure_path(OUTER)
    async def outer() -> None:
        await asyncio.sleep(0)
        with failure_path(INNER, annotations={"task": i, 5: "dropped"}):
            for _ in range(3):
                await asyncio.sleep(0)  # every task interleaves with the others here
            raise exc

    await outer()


def _check_concurrent(records: list[Recorded], count: int, outer_parent: str = TRACE_PARENT) -> None:
    outers = {r.id: r for r in records if r.name == "hostile_outer"}
    inners = [r for r in records if r.name == "hostile_inner"]
    assert len(outers) == len(inners) == count
    assert all(o.parent_id == outer_parent for o in outers.values())
    assert sorted(r.annotations["task"] for r in inners) == list(range(count))
    parents = [r.parent_id for r in inners]
    assert set(parents) == set(outers), "an inner subsegment is parented to something else than an outer one"
    assert len(set(parents)) == count, "two inner subsegments share an outer one"


def _run_tasks() -> tuple[list[BaseException], list[Any]]:
    errors = [HOSTILE[KINDS[i % len(KINDS)]]() for i in range(TASKS)]

    async def main() -> list[Any]:
        return await asyncio.gather(*(_task(i, e) for i, e in enumerate(errors)), return_exceptions=True)

    return errors, _run(main())


def test_200_concurrent_asyncio_tasks(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    errors, results = _run_tasks()
    assert all(got is sent for got, sent in zip(results, errors, strict=True)), "a caller lost its exception"
    out = capsys.readouterr().out
    assert _metrics(out, "HostileInnerFailure") == _metrics(out, "HostileOuterFailure") == TASKS
    _check_concurrent(backend.recorded(), TASKS)


def test_threads(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    count, barrier = 40, threading.Barrier(8)
    errors = [HOSTILE[KINDS[i % len(KINDS)]]() for i in range(count)]
    caught: dict[int, BaseException] = {}

    def worker(first: int) -> None:
        barrier.wait()
        for i in range(first, count, 8):

            @failure_path(OUTER)
            def outer(i: int = i) -> None:
                with failure_path(INNER, annotations={"task": i}):
                    raise errors[i]

            try:
                outer()
            except BaseException as exc:
                caught[i] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(caught[i] is errors[i] for i in range(count))
    out = capsys.readouterr().out
    assert _metrics(out, "HostileInnerFailure") == _metrics(out, "HostileOuterFailure") == count
    _check_concurrent(backend.recorded(), count)


@pytest.mark.parametrize("name", ["native", "xray-sdk"])
def test_concurrent_tasks_under_a_powertools_handler_keep_its_parentage(
    name: str, xray: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Powertools' `## handler` subsegment (the SDK's thread-local stack) is every task's outer parent."""
    from aws_lambda_powertools.tracing import Tracer

    from xray_exclusive import set_default_backend

    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", name)
    set_default_backend(None)
    tracer = Tracer(auto_patch=False)
    outcome: dict[str, Any] = {}

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> None:
        outcome["errors"], outcome["results"] = _run_tasks()

    handler({}, None)
    assert all(got is sent for got, sent in zip(outcome["results"], outcome["errors"], strict=True))
    docs = xray.documents()
    [handler_doc] = [d for d in docs if d["name"] == "## handler"]
    assert handler_doc["parent_id"] == TRACE_PARENT
    assert "subsegments" not in handler_doc  # ours are sent on their own, never inside the SDK's tree
    records = [
        Recorded(d["name"], d["id"], d["parent_id"], d["trace_id"], d.get("annotations", {}))
        for d in docs
        if d["name"] != "## handler"
    ]
    _check_concurrent(records, TASKS, outer_parent=handler_doc["id"])
