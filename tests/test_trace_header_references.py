"""trace headers held to the references: the X-Ray SDKs' and OpenTelemetry propagator's own cases, and the
propagator installed in the venv as a differential oracle (hypothesis).

Reference cases restated as data (never their code):

* aws/aws-xray-sdk-python ``tests/test_trace_header.py`` (``test_from_str``, ``test_invalid_str``);
* open-telemetry/opentelemetry-python-contrib
  ``propagator/opentelemetry-propagator-aws-xray/tests/test_aws_xray_propagator.py`` (the extract tests,
  their trace and span IDs);
* aws/aws-xray-sdk-go ``header/header_test.go`` (``TestLonghFromStringWithSpaces``: ``; `` separators);
* the repeated-field reading (the last one wins) of aws/aws-xray-sdk-go ``header/header.go``,
  aws/aws-xray-sdk-java ``TraceHeader.fromString``, aws-xray-sdk-python ``TraceHeader.from_header_str``
  and the propagator's ``_extract_span_properties``: each loops over the pairs and overwrites.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.propagators.aws import AwsXRayPropagator

from xray_exclusive import correlation
from xray_exclusive import trace_header as th
from xray_exclusive.streaming._context import invocation_context
from xray_exclusive.trace_header import TraceHeaderError

OTEL_TRACE = (
    "1-8a3c60f7-d188f8fa79d48a391a778fa6"  # the propagator tests' TRACE_ID_BASE16, as X-Ray writes it
)
OTEL_SPAN = "53995c3f42cd8ad8"
SDK_TRACE = "1-5759e988-bd862e3fe1be46a994272793"  # aws-xray-sdk-python tests' TRACE_ID
ORACLE = AwsXRayPropagator()


def oracle(header: str) -> tuple[int, int, bool] | None:
    """What OpenTelemetry's propagator reads: (trace id, span id, sampled), or None for no context."""
    context = trace.get_current_span(ORACLE.extract({"X-Amzn-Trace-Id": header})).get_span_context()
    if not context.is_valid:
        return None
    return context.trace_id, context.span_id, context.trace_flags.sampled


def ours(header: str) -> tuple[int, int, bool] | None:
    """What invocation_context reads from the same header sent as a request header."""
    context = trace.get_current_span(invocation_context({"X-Amzn-Trace-Id": header})).get_span_context()
    if not context.is_valid:
        return None
    return context.trace_id, context.span_id, context.trace_flags.sampled


@pytest.fixture(autouse=True)
def _no_runtime_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)


# aws-xray-sdk-python tests/test_trace_header.py, test_from_str: root, parent, sampled of three headers.
SDK_PYTHON_FROM_STR = [
    (f"Root={SDK_TRACE};Parent={OTEL_SPAN};Sampled=1", SDK_TRACE, OTEL_SPAN, "1"),
    (f"Root={SDK_TRACE};Sampled=0", SDK_TRACE, None, "0"),
    (f"Root={SDK_TRACE};Parent={OTEL_SPAN}", SDK_TRACE, OTEL_SPAN, None),
]


@pytest.mark.parametrize(("header", "root", "parent", "sampled"), SDK_PYTHON_FROM_STR)
def test_the_python_sdk_from_str_cases(
    header: str, root: str, parent: str | None, sampled: str | None
) -> None:
    for strict in (True, False):
        parsed = th.parse(header, strict=strict)
        assert (parsed.root, parsed.parent, parsed.sampled) == (root, parent, sampled)


def test_the_python_sdk_invalid_str_case() -> None:
    # test_invalid_str: the SDK reads no root from it; we refuse it, in both modes.
    for strict in (True, False):
        with pytest.raises(TraceHeaderError):
            th.parse("some invalid string", strict=strict)
    assert th.forward({"X-Amzn-Trace-Id": "some invalid string"}) == {}


# opentelemetry-propagator-aws-xray tests/test_aws_xray_propagator.py: the extract tests that give a context.
PROPAGATOR_VALID = [
    (f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=0", False),  # test_extract_not_sampled_context
    (f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=1", True),  # test_extract_sampled_context
    (f"Sampled=0;Parent={OTEL_SPAN};Root={OTEL_TRACE}", False),  # test_extract_different_order
    (f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=0;Foo=Bar", False),  # test_extract_with_additional_fields
    (
        f"  Root  =  {OTEL_TRACE}  ;  Parent  =  {OTEL_SPAN}  ;  Sampled  =  0   ",
        False,
    ),  # ..._extra_whitespace
]


@pytest.mark.parametrize(("header", "sampled"), PROPAGATOR_VALID)
def test_the_propagator_extract_cases(header: str, sampled: bool) -> None:
    expected = (int("8a3c60f7d188f8fa79d48a391a778fa6", 16), int(OTEL_SPAN, 16), sampled)
    assert oracle(header) == expected
    assert ours(header) == expected
    parsed = th.parse(header, strict=False)
    assert (parsed.trace_id_int, parsed.parent_id_int, bool(parsed.is_sampled)) == expected
    forwarded = th.forward({"x-amzn-trace-id": header})[th.HEADER]
    th.parse(forwarded)  # canonical: the strict grammar accepts what is forwarded
    assert oracle(forwarded) == expected
    assert correlation._root_of(header) == OTEL_TRACE


# test_extract_invalid_to_implicit_ctx: the propagator gives no context for any of these. (Its list joins
# two of them by a missing comma; they are separate here.)
PROPAGATOR_INVALID = [
    f"Root=1-12345678-abcdefghijklmnopqrstuvwx;Parent={OTEL_SPAN};Sampled=0",  # invalid trace id
    f"Root={OTEL_TRACE}00;Parent={OTEL_SPAN};Sampled=0",  # invalid size trace id
    f"Root={OTEL_TRACE};Parent=abcdefghijklmnop;Sampled=0",  # invalid span id
    f"Root={OTEL_TRACE};Parent={OTEL_SPAN}00;Sampled=0",  # invalid size span id
    f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=",  # no sampled flag
    f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=011",  # invalid size sampled
    f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=a",  # non numeric sampled flag
    "",  # test_extract_invalid_xray_trace_header
]


@pytest.mark.parametrize("header", PROPAGATOR_INVALID)
def test_the_propagator_invalid_cases_are_never_forwarded(header: str) -> None:
    assert oracle(header) is None
    assert th.forward({"X-Amzn-Trace-Id": header}) == {}
    # A bad Root or Parent gives no parent here either; a bad Sampled is dropped (not sampled) so that the
    # Lambda's streaming spans still join the trace: the one documented difference.
    result = ours(header)
    if result is not None:
        assert "Sampled=" in header and result[2] is False


def test_fields_separated_by_semicolon_space_as_the_go_sdk_reads_them() -> None:
    # header_test.go TestLonghFromStringWithSpaces: "Sampled=?; Root=...; Parent=foo; Self=2; Foo=bar"
    # (its Root and Parent are placeholders; real ones here).
    header = f"Sampled=1; Root={SDK_TRACE}; Parent={OTEL_SPAN}; Self=2; Foo=bar"
    parsed = th.parse(header, strict=False)
    assert (parsed.root, parsed.parent, parsed.sampled, parsed.get("Foo")) == (
        SDK_TRACE,
        OTEL_SPAN,
        "1",
        "bar",
    )
    assert th.forward({"X-Amzn-Trace-Id": header}) == {
        "X-Amzn-Trace-Id": f"Sampled=1;Root={SDK_TRACE};Parent={OTEL_SPAN};Self=2;Foo=bar"
    }


REPEATED = [
    # (header, root, parent, sampled) as every SDK and the propagator read them: the last one wins.
    (f"Root={SDK_TRACE};Parent={OTEL_SPAN};Sampled=0;Sampled=1", SDK_TRACE, OTEL_SPAN, "1"),
    (f"Root={SDK_TRACE};Parent={OTEL_SPAN};Sampled=1;Sampled=0", SDK_TRACE, OTEL_SPAN, "0"),
    (f"Root={SDK_TRACE};Parent=0000000000000009;Parent={OTEL_SPAN}", SDK_TRACE, OTEL_SPAN, None),
    (
        f"Root=1-00000000-000000000000000000000005;Parent={OTEL_SPAN};Root={SDK_TRACE}",
        SDK_TRACE,
        OTEL_SPAN,
        None,
    ),
]


@pytest.mark.parametrize(("header", "root", "parent", "sampled"), REPEATED)
def test_a_repeated_field_is_read_as_the_sdks_and_the_propagator_read_it(
    header: str, root: str, parent: str, sampled: str | None
) -> None:
    parsed = th.parse(header, strict=False)
    assert (parsed.root, parsed.parent, parsed.sampled) == (root, parent, sampled)
    assert any("repeated" in p for p in parsed.problems)
    assert ours(header) == oracle(header) == (parsed.trace_id_int, int(parent, 16), sampled == "1")
    inbound = th.sanitize_inbound(header)
    assert inbound is not None and sorted(inbound.split(";")) == [f"Parent={parent}", f"Root={root}"]
    assert correlation._root_of(header) == root
    with pytest.raises(TraceHeaderError, match="twice"):
        th.parse(header)  # the strict grammar still refuses it
    forwarded = th.forward({"X-Amzn-Trace-Id": header})[th.HEADER]
    assert oracle(forwarded) == oracle(header)


def test_a_repeated_parent_whose_last_is_invalid_gives_no_parent() -> None:
    header = f"Root={SDK_TRACE};Parent={OTEL_SPAN};Parent=0000000000000000;Sampled=1"
    assert th.parse(header, strict=False).parent is None
    assert ours(header) is None and oracle(header) is None


def test_the_exact_spelling_wins_over_another_one() -> None:
    exact = f"Root={SDK_TRACE};Parent={OTEL_SPAN};Sampled=1"
    other = f"Root={OTEL_TRACE};Parent=0000000000000009;Sampled=0"
    for headers in (
        {"x-amzn-trace-id": other, "X-Amzn-Trace-Id": exact},
        {"X-Amzn-Trace-Id": exact, "X-AMZN-TRACE-ID": other},
    ):
        assert th.find(headers) == exact
        assert th.forward(headers) == {th.HEADER: exact}
        assert ours(exact) == oracle(exact)
        context = trace.get_current_span(invocation_context(headers)).get_span_context()
        assert f"{context.span_id:016x}" == OTEL_SPAN


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Root = {SDK_TRACE} ; Sampled=1", SDK_TRACE),
        (f"Root={SDK_TRACE.upper().replace('1-', '1-', 1)}", SDK_TRACE),
        ("Root=1-00000000-000000000000000000000000;Sampled=1", None),  # all zeros: no trace ID
        (f"Root={SDK_TRACE};Root=1-00000000-000000000000000000000000", None),  # the last Root wins
        (f"Self={SDK_TRACE}", None),
    ],
)
def test_current_trace_id_reads_root_as_the_propagator_does(
    header: str, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    assert correlation.current_trace_id() == expected


# -- the propagator as a differential oracle -------------------------------------------------------

_values = {
    "Root": st.sampled_from(
        [OTEL_TRACE, SDK_TRACE, "1-00000000-000000000000000000000000", "1-zz", OTEL_TRACE.upper(), ""]
    ),
    "Parent": st.sampled_from(
        [OTEL_SPAN, "0000000000000009", "0000000000000000", "xyz", OTEL_SPAN + "0", ""]
    ),
    "Sampled": st.sampled_from(["0", "1", "?", "", "2"]),
    "Lineage": st.sampled_from(["a87bd80c:1|68fd508a:5", ""]),
    "Foo": st.sampled_from(["Bar", "a b", ""]),
}
_pair = st.one_of(
    *(st.builds(lambda k, v: (k, v), st.just(k), s) for k, s in _values.items()),
    st.just(("", "")),  # an empty pair
    st.just(("Self", "1-5759e988-00000000000000000000000a")),
)
_space = st.sampled_from(["", " ", "  "])


@st.composite
def propagator_headers(draw: st.DrawFn) -> str:
    pieces = []
    for key, value in draw(st.lists(_pair, min_size=1, max_size=7)):
        if not key:
            pieces.append(draw(_space))
            continue
        pieces.append(f"{draw(_space)}{key}{draw(_space)}={draw(_space)}{value}{draw(_space)}")
    return ";".join(pieces)


@given(propagator_headers())
@example(f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=1;Sampled=0")
@example(f"Root={OTEL_TRACE} ; Parent={OTEL_SPAN} ;Sampled=1")
def test_whenever_the_propagator_reads_a_context_we_read_the_same_one(header: str) -> None:
    expected = oracle(header)
    forwarded = th.forward({"X-Amzn-Trace-Id": header})
    if expected is None:
        # What it refuses is never forwarded, unless it is a canonical X-Ray header (Sampled=? is one).
        if forwarded:
            th.parse(forwarded[th.HEADER])
            assert forwarded[th.HEADER] == header
        return
    assert ours(header) == expected
    parsed = th.parse(header, strict=False)
    assert (parsed.trace_id_int, parsed.parent_id_int, bool(parsed.is_sampled)) == expected
    assert oracle(forwarded[th.HEADER]) == expected
    th.parse(forwarded[th.HEADER])  # always canonical
    root = f"{expected[0]:032x}"
    assert correlation._root_of(header) == f"1-{root[:8]}-{root[8:]}"


def test_the_oracle_is_the_installed_propagator() -> None:
    extracted: Any = oracle(f"Root={OTEL_TRACE};Parent={OTEL_SPAN};Sampled=1")
    assert extracted is not None and extracted[2] is True
