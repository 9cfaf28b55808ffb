"""trace_header: strict and lenient parsing, formatting, sanitising and forwarding, with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.aws import AwsXRayPropagator

from xray_exclusive import trace_header as th
from xray_exclusive.trace_header import TraceHeader, TraceHeaderError

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"

hex_digits = st.text(alphabet="0123456789abcdef", min_size=1, max_size=1)
roots = st.builds(
    lambda e, r: f"1-{e}-{r}",
    st.text(alphabet="0123456789abcdef", min_size=8, max_size=8),
    st.text(alphabet="0123456789abcdef", min_size=24, max_size=24),
).filter(lambda r: int(r[2:10] + r[11:], 16) != 0)
parents = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16).filter(lambda p: int(p, 16) != 0)
extra_keys = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12
)
extra_values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=";="),
    min_size=1,
    max_size=20,
)


@st.composite
def valid_headers(draw: st.DrawFn) -> str:
    fields = [("Root", draw(roots))]
    if draw(st.booleans()):
        fields.append(("Parent", draw(parents)))
    if draw(st.booleans()):
        fields.append(("Sampled", draw(st.sampled_from(["0", "1", "?"]))))
    if draw(st.booleans()):
        fields.append(("Lineage", f"{draw(st.integers(0, 99))}:a87bd80c:{draw(st.integers(0, 9))}"))
    for key in draw(st.lists(extra_keys, max_size=3, unique=True)):
        if key not in {"Root", "Parent", "Sampled", "Lineage"}:
            fields.append((key, draw(extra_values)))
    order = draw(st.permutations(range(len(fields))))
    return ";".join(f"{fields[i][0]}={fields[i][1]}" for i in order)


@given(valid_headers())
@example(f"Root={ROOT};Parent={PARENT};Sampled=1")
@example(f"Root={ROOT};Self=1-5759e988-00000000000000000000000a;Sampled=?")
def test_format_of_parse_is_identity_for_every_valid_header(header: str) -> None:
    assert th.format(th.parse(header)) == header


@given(st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
@example("Root=" + ROOT + ";" * 2000)
@example("Root=" + ROOT + "\r\nX-Injected: 1")
@example("Root=1-ZZZZZZZZ-bd862e3fe1be46a994272793")
def test_parse_raises_only_its_own_error(text: str) -> None:
    for strict in (True, False):
        try:
            parsed = th.parse(text, strict=strict)
        except TraceHeaderError:
            continue
        assert parsed.root.startswith("1-")
        # What was accepted formats back to a header that parses strictly.
        assert th.parse(th.format(parsed)).root == parsed.root


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (f"Root={ROOT};", "empty field"),
        (f"Root={ROOT};;Parent={PARENT}", "empty field"),
        (f"Root={ROOT}; Parent={PARENT}", "field name"),
        (f"Parent={PARENT};Sampled=1", "no Root"),
        ("Root=1-5759e988-bd862e3fe1be46a99427279", "Root"),
        (f"Root={ROOT};Parent=53995c3f42cd8ad", "Parent"),
        (f"Root={ROOT};Parent=0000000000000000", "all zeros"),
        (f"Root={ROOT};Sampled=2", "Sampled"),
        (f"Root={ROOT};Root={ROOT}", "twice"),
        (f"Root={ROOT};Parent={PARENT}=x", "Key=Value"),
        (f"Root={ROOT}\n", "control"),
        ("Root=" + ROOT + ";X=" + "a" * 1100, "characters long"),
        (b"Root=x".decode(), "Root"),
    ],
)
def test_strict_parse_names_what_is_wrong(header: str, reason: str) -> None:
    with pytest.raises(TraceHeaderError, match=reason):
        th.parse(header)


def test_non_string_is_refused() -> None:
    with pytest.raises(TraceHeaderError, match="must be a str"):
        th.parse(None)


def test_lenient_parse_repairs_and_says_what_it_repaired() -> None:
    parsed = th.parse(f" Root={ROOT} ; Parent={PARENT};Sampled=maybe;;Bad key=1;", strict=False)
    assert (parsed.root, parsed.parent, parsed.sampled) == (ROOT, PARENT, None)
    assert any("Sampled" in p for p in parsed.problems)
    assert any("empty field" in p for p in parsed.problems)
    assert any("field name" in p for p in parsed.problems)
    with pytest.raises(TraceHeaderError, match="Root"):
        th.parse("Root=nope;Parent=" + PARENT, strict=False)


def test_typed_accessors_match_opentelemetry_ids() -> None:
    header = f"Root={ROOT};Parent={PARENT};Sampled=1"
    parsed = th.parse(header)
    context = AwsXRayPropagator().extract({"X-Amzn-Trace-Id": header}, context=Context())
    span_context = trace.get_current_span(context).get_span_context()
    assert parsed.trace_id_int == span_context.trace_id
    assert parsed.parent_id_int == span_context.span_id
    assert parsed.is_sampled is True
    assert th.parse(f"Root={ROOT};Sampled=?").is_sampled is None
    assert th.parse(f"Root={ROOT}").parent_id_int is None


def test_new_validates_and_formats() -> None:
    header = TraceHeader.new(ROOT, PARENT, sampled=False, lineage="10:a87bd80c:1")
    assert th.format(header) == f"Root={ROOT};Parent={PARENT};Sampled=0;Lineage=10:a87bd80c:1"
    with pytest.raises(TraceHeaderError):
        TraceHeader.new("1-abc")


@given(valid_headers())
def test_sanitize_inbound_keeps_root_and_parent_only(header: str) -> None:
    parsed = th.parse(header)
    clean = th.sanitize_inbound(header)
    assert clean is not None
    reparsed = th.parse(clean)
    assert reparsed.root == parsed.root
    assert reparsed.parent == parsed.parent
    assert reparsed.sampled is None
    assert [k for k, _ in reparsed.fields] == [k for k, _ in parsed.fields if k in ("Root", "Parent")]


def test_sanitize_inbound_refuses_junk() -> None:
    assert th.sanitize_inbound(f"Root={ROOT}\r\nSet-Cookie: x") is None
    assert th.sanitize_inbound(12) is None
    assert th.sanitize_inbound(f"Root={ROOT};Parent={PARENT};Sampled=1") == f"Root={ROOT};Parent={PARENT}"


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=80) | st.none() | st.integers(), max_size=5))
def test_forward_never_originates_a_header(headers: dict[str, object]) -> None:
    forwarded = th.forward(headers)
    if forwarded:
        value = forwarded[th.HEADER]
        assert value in headers.values()
        th.parse(value)


def test_forward_matches_any_case_and_passes_valid_headers_unchanged() -> None:
    header = f"Root={ROOT};Parent={PARENT};Sampled=0"
    assert th.forward({"X-AMZN-TRACE-ID": header}) == {"X-Amzn-Trace-Id": header}
    assert th.forward({"x-amzn-trace-id": [header]}) == {"X-Amzn-Trace-Id": header}
    assert th.forward({"x-amzn-trace-id": [header, header]}) == {}
    assert th.forward({"x-amzn-trace-id": header + ";"}) == {}
    assert th.forward(None) == {}
    assert th.forward({}) == {}
