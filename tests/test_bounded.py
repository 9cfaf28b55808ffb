"""Property tests for the pure limits: invariants hold for any input, and no input makes them raise."""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xray_exclusive.bounded import (
    ANNOTATION_BUDGET_BYTES,
    MAX_ANNOTATIONS,
    MESSAGE_LIMIT,
    Annotation,
    SubsegmentBudget,
    annotation,
    bounded_metadata,
    bounded_stack,
    json_size,
    truncate_message,
)

KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary()
    | st.decimals()
    | st.datetimes(),
    lambda children: (
        st.lists(children, max_size=8)
        | st.dictionaries(st.text(max_size=20) | st.integers(), children, max_size=8)
        | st.tuples(children, children)
        | st.frozensets(st.integers() | st.text(max_size=5), max_size=5)
    ),
    max_leaves=60,
)


# --------------------------------------------------------------------------- truncate_message


@given(st.text(), st.integers(min_value=0, max_value=5000))
def test_truncate_never_exceeds_the_limit_and_keeps_the_start(text: str, limit: int) -> None:
    out = truncate_message(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    else:
        kept = out.split("…[truncated ")[0]
        assert text.startswith(kept)
        if limit >= 40:
            assert out.endswith(f"…[truncated {len(text) - len(kept)} chars]")


@given(st.text(), st.integers(min_value=2, max_value=3000))
def test_truncate_by_bytes(text: str, max_bytes: int) -> None:
    out = truncate_message(text, MESSAGE_LIMIT, max_bytes=max_bytes)
    assert json_size(out) <= max_bytes
    assert len(out) <= MESSAGE_LIMIT
    assert text.startswith(out.split("…[truncated ")[0])


def test_truncate_examples() -> None:
    assert len(truncate_message("x" * 10_000)) == 2048
    assert truncate_message("x" * 10_000).endswith("…[truncated 7975 chars]")
    assert truncate_message("short") == "short"
    assert truncate_message("abcdef", limit=3) == "abc"  # no room for a marker
    with pytest.raises(ValueError, match="limit"):
        truncate_message("x", limit=-1)


def test_truncate_odd_objects() -> None:
    class Exploding:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert truncate_message(Exploding()) == "<unprintable Exploding: RuntimeError>"
    assert truncate_message(12345, limit=3) == "123"
    assert type(truncate_message(type("S", (str,), {})("sub"))) is str


# --------------------------------------------------------------------------- bounded_stack


@given(st.integers(min_value=0, max_value=120), st.integers(min_value=0, max_value=15))
@settings(max_examples=40)
def test_bounded_stack(depth: int, frames: int) -> None:
    def recurse(n: int) -> None:
        if n == 0:
            raise ValueError("deep")
        recurse(n - 1)

    try:
        recurse(depth)
    except ValueError as exc:
        stack = bounded_stack(exc, frames)
    total = depth + 2  # this test's frame, recurse(depth) ... recurse(0)
    assert len(stack.frames) == min(frames, total)
    assert len(stack.frames) + stack.truncated == total
    if frames >= 2 and total > 0:
        assert stack.frames[0].label.endswith("test_bounded_stack")  # where the block was entered
        assert stack.frames[-1].label.endswith("recurse")  # where it was raised
    assert all(f.line > 0 for f in stack.frames)


def test_bounded_stack_of_nothing() -> None:
    assert bounded_stack(None) == ([], 0)
    assert bounded_stack(ValueError("never raised")) == ([], 0)
    with pytest.raises(ValueError, match="frames"):
        bounded_stack(None, frames=-1)


# --------------------------------------------------------------------------- annotations


@given(st.text() | st.integers() | st.none() | st.binary(), anything)
def test_annotation_never_raises_and_is_valid(key: Any, value: Any) -> None:
    result = annotation(key, value)
    if result is None:
        return
    assert isinstance(result, Annotation)
    assert result.key and set(result.key) <= KEY_CHARS and len(result.key) <= 250
    assert type(result.value) in (str, int, float, bool)
    if isinstance(result.value, float):
        assert math.isfinite(result.value)
    if isinstance(result.value, str):
        assert len(result.value) <= MESSAGE_LIMIT
    json.loads(json.dumps({result.key: result.value}, allow_nan=False))  # valid JSON, no NaN


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (3, 3),
        (2.5, 2.5),
        ("s", "s"),
        (Decimal("7"), 7),
        (Decimal("1.5"), 1.5),
        (2**60, str(2**60)),
        (None, None),
        (float("nan"), None),
        (float("inf"), None),
        (Decimal("NaN"), None),
        (Decimal("sNaN"), None),
        ([1], None),
        ({"a": 1}, None),
        (b"x", None),
    ],
)
def test_annotation_values(value: Any, expected: Any) -> None:
    result = annotation("k", value)
    assert (None if result is None else result.value) == expected
    if result is not None:
        assert type(result.value) is type(expected)


def test_bool_stays_bool_and_int_subclasses_become_int() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    assert annotation("flag", True) == ("flag", True)
    assert type(annotation("level", Level.HIGH).value) is int  # type: ignore[union-attr]


@given(st.dictionaries(st.text(max_size=300), anything, max_size=120))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_budget_caps_annotations(annotations: dict[str, Any]) -> None:
    budget = SubsegmentBudget()
    for key, value in annotations.items():
        budget.admit_annotation(key, value)
    assert len(budget.annotations) <= MAX_ANNOTATIONS
    assert json_size(budget.annotations) <= ANNOTATION_BUDGET_BYTES + 2  # plus the braces


# --------------------------------------------------------------------------- bounded_metadata


@given(anything, st.integers(min_value=64, max_value=20_000))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_bounded_metadata_is_plain_json_within_size(obj: Any, max_bytes: int) -> None:
    out = bounded_metadata(obj, max_bytes=max_bytes)
    text = json.dumps(out, allow_nan=False)  # plain JSON: no NaN, no objects, str keys only
    assert len(text) <= max_bytes
    assert json.loads(text) == out


def test_metadata_never_reads_bodies_or_consumes_iterators() -> None:
    import io

    body = io.BytesIO(b"secret body")
    gen = (i for i in range(3))
    out = bounded_metadata({"file": body, "gen": gen, "view": memoryview(b"abcd"), "raw": bytearray(5)})
    assert out == {
        "file": "<file-like BytesIO: not read>",
        "gen": "<iterator generator: not consumed>",
        "view": "<memoryview: 4 bytes>",
        "raw": "<bytearray: 5 bytes>",
    }
    assert body.tell() == 0
    assert list(gen) == [0, 1, 2]


def test_metadata_depth_cycles_and_objects() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Point:
        x: int
        y: float

    class Secretive:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    deep: Any = "leaf"
    for _ in range(20):
        deep = [deep]
    out: Any = bounded_metadata(
        {
            "point": Point(1, float("nan")),
            "cycle": cyclic,
            "deep": deep,
            "odd": Secretive(),
            "exc": KeyError("k"),
        },
        max_depth=5,
    )
    assert out["point"] == {"x": 1, "y": "nan"}
    assert out["cycle"] == [1, "<cycle: list>"]
    assert "deeper than 5 levels" in json.dumps(out["deep"])
    assert out["odd"] == "<unprintable Secretive: RuntimeError>"
    assert out["exc"] == {"type": "KeyError", "message": "'k'"}


def test_metadata_marks_what_it_leaves_out() -> None:
    out: Any = bounded_metadata({"items": list(range(500)), "keys": {str(i): i for i in range(500)}})
    assert out["items"][-1] == "…[+400 more items]"
    assert out["keys"]["…"] == "+400 more keys"


def test_metadata_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        bounded_metadata({}, max_bytes=10)
    with pytest.raises(ValueError, match="max_depth"):
        bounded_metadata({}, max_depth=0)


def test_import_keeps_decimal_and_datetime_lazy() -> None:
    import subprocess

    code = "import sys, xray_exclusive.bounded; print('decimal' in sys.modules, 'dataclasses' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
