"""sse: the encoder and parser round-trip any events (hypothesis), the resume contract, headers, sessions."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xray_exclusive import sse
from xray_exclusive.sse import Event, EventStream, SSEParser, encode, parse, session_annotations

texts = st.text(max_size=60)
event_names = st.text(max_size=20).filter(lambda name: name != "")
events = st.lists(st.tuples(texts, st.none() | event_names), max_size=8)


def normalised(text: str) -> str:
    """What SSE can carry: CRLF and CR arrive as LF."""
    return re.sub(r"\r\n|\r", "\n", text)


@given(events, st.lists(st.integers(min_value=1, max_value=40), max_size=10))
def test_any_events_survive_encode_then_parse_in_any_chunking(
    items: list[tuple[str, str | None]], cuts: list[int]
) -> None:
    stream = EventStream(retry_ms=1500)
    wire = b"".join(stream.start()) + b"".join(stream.send(data, event=name) or b"" for data, name in items)
    # Split the bytes anywhere, also inside a UTF-8 character or between CR and LF.
    parser, received, position = SSEParser(), [], 0
    for cut in cuts:
        received += parser.feed_bytes(wire[position : position + cut])
        position += cut
    received += parser.feed_bytes(wire[position:])
    assert parser.retry == 1500
    assert [e.data for e in received] == [normalised(data) for data, _ in items]
    expected_names = [
        "message" if name is None else (re.sub(r"\r\n|\r|\n", " ", name) or "message") for _, name in items
    ]
    assert [e.event for e in received] == expected_names
    assert [e.id for e in received] == [str(i) for i in range(1, len(items) + 1)]


@given(texts)
def test_text_without_carriage_returns_is_unchanged(data: str) -> None:
    data = data.replace("\r", "")
    assert parse(encode(data)) == [Event(data)]


@given(st.text(max_size=40))
def test_no_field_can_smuggle_a_new_field(name: str) -> None:
    frame = encode("payload", event=name, id=f"7{name}")
    fields = [line.split(":", 1)[0] for line in re.split(r"\r\n|\r|\n", frame.decode()) if line]
    assert fields == ["id", "event", "data"]


def test_retry_comes_first_and_defaults_to_3000(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSE_RETRY_MS", raising=False)
    assert next(EventStream().start()) == b"retry: 3000\n\n"
    monkeypatch.setenv("SSE_RETRY_MS", "5000")
    assert next(EventStream().start()) == b"retry: 5000\n\n"
    monkeypatch.setenv("SSE_RETRY_MS", "soon")
    assert next(EventStream().start()) == b"retry: 3000\n\n"  # malformed: the default, with a warning
    assert next(EventStream(retry_ms=100).start()) == b"retry: 100\n\n"
    with pytest.raises(ValueError, match="retry_ms"):
        EventStream(retry_ms=-1)


def test_without_replay_the_client_is_told_to_deduplicate_and_ids_continue() -> None:
    stream = EventStream(headers={"last-event-id": "41"})
    assert stream.response_headers["X-SSE-Resume-Supported"] == "false"
    assert list(stream.start()) == [b"retry: 3000\n\n"]
    assert stream.send("x") == b"id: 42\ndata: x\n\n"


def test_replay_never_resends_what_the_client_has() -> None:
    stored = [(1, "a"), (2, "b"), (3, "c", "sentiment"), (5, "e")]
    asked = []

    def replay(after: int) -> list[tuple[int, object] | tuple[int, object, str]]:
        asked.append(after)
        return list(stored)  # a sloppy store that returns everything

    stream = EventStream(headers={"Last-Event-ID": "2"}, replay=replay)
    frames = list(stream.start())
    assert asked == [2]
    got = parse(b"".join(frames))
    assert [(e.id, e.data, e.event) for e in got] == [("3", "c", "sentiment"), ("5", "e", "message")]
    assert stream.response_headers["X-SSE-Resume-Supported"] == "true"
    assert stream.send("late", id=4) is None  # below what was sent: never out of order
    assert stream.send("f") == b"id: 6\ndata: f\n\n"


def test_first_connection_has_no_last_event_id() -> None:
    stream = EventStream(replay=lambda after: [(1, "never")])
    assert list(stream.start()) == [b"retry: 3000\n\n"]
    assert stream.send("first") == b"id: 1\ndata: first\n\n"


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", "", " ", "9" * 30])
def test_invalid_last_event_id_is_a_first_connection(value: str) -> None:
    assert sse.parse_last_event_id({"Last-Event-ID": value}) is None


def test_bad_explicit_ids_are_dropped_with_a_reason(caplog: pytest.LogCaptureFixture) -> None:
    stream = EventStream()
    with caplog.at_level(logging.WARNING, logger="xray_exclusive"):
        assert stream.send("x", id=0) is None
        assert stream.send("x", id=True) is None  # type: ignore[arg-type]
    assert "not a positive integer" in caplog.text
    assert stream.send("x", id=10) == b"id: 10\ndata: x\n\n"


def test_headers_for_sse_and_cors() -> None:
    assert sse.RESPONSE_HEADERS["Content-Type"].startswith("text/event-stream")
    assert sse.RESPONSE_HEADERS["Cache-Control"] == "no-cache"
    cors = sse.cors_headers("https://app.example")
    assert "X-Amzn-Trace-Id" in cors["Access-Control-Allow-Headers"]  # FR-015
    assert "Last-Event-ID" in cors["Access-Control-Allow-Headers"]
    assert "x-amzn-trace-id" in cors["Access-Control-Expose-Headers"]  # FR-082
    assert "x-sse-resume-supported" in cors["Access-Control-Expose-Headers"]
    assert cors["Access-Control-Allow-Origin"] == "https://app.example"
    assert "\n" not in sse.cors_headers("https://evil\r\nSet-Cookie: x")["Access-Control-Allow-Origin"]


def test_session_annotations_from_headers_or_query(caplog: pytest.LogCaptureFixture) -> None:
    root = "1-5759E988-bd862e3fe1be46a994272793"
    assert session_annotations(
        {"X-SSE-Session-Id": "tab-42", "x-sse-previous-trace-id": root, "X-SSE-Connection-Sequence": "3"}
    ) == {"session_id": "tab-42", "previous_trace_id": root.lower(), "connection_sequence": 3}
    assert session_annotations(None, {"session_id": "q", "connection_sequence": "1"}) == {
        "session_id": "q",
        "connection_sequence": 1,
    }
    with caplog.at_level(logging.WARNING, logger="xray_exclusive"):
        bad = session_annotations(
            {"X-SSE-Session-Id": "a b", "X-SSE-Previous-Trace-Id": "1-zz", "X-SSE-Connection-Sequence": "0"}
        )
    assert bad == {}
    assert caplog.text.count("Ignoring SSE") == 3


@given(
    st.dictionaries(st.text(max_size=30), st.text(max_size=200) | st.integers() | st.none(), max_size=6),
    st.dictionaries(st.text(max_size=30), st.text(max_size=200), max_size=6),
)
def test_session_annotations_never_raise_and_stay_valid(
    headers: dict[str, object], query: dict[str, object]
) -> None:
    found = session_annotations(headers, query)
    assert set(found) <= {"session_id", "previous_trace_id", "connection_sequence"}
    if "session_id" in found:
        assert re.fullmatch(r"[A-Za-z0-9_.:\-]{1,128}", str(found["session_id"]))
    if "connection_sequence" in found:
        assert isinstance(found["connection_sequence"], int) and found["connection_sequence"] >= 1


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("\ufeffdata: bom\n\n", [Event("bom")]),
        (": comment\ndata:no-space\n\n", [Event("no-space")]),
        ("data\n\n", [Event("")]),
        ("data:  two spaces\n\n", [Event(" two spaces")]),
        ("event: a\n\n", []),  # no data: nothing dispatched, the event type is reset
        ("event: a\n\ndata: x\n\n", [Event("x")]),
        ("id: 1\0\ndata: x\n\n", [Event("x", id="")]),  # an id with NUL is ignored
        ("id: 3\ndata: x\n\ndata: y\n\n", [Event("x", id="3"), Event("y", id="3")]),
        ("data: unfinished", []),
        ("data: a\r\rdata: b\r\n\r\n", [Event("a"), Event("b")]),
    ],
)
def test_parser_follows_the_whatwg_rules(stream: str, expected: list[Event]) -> None:
    assert parse(stream) == expected


def test_retry_only_with_digits() -> None:
    parser = SSEParser()
    parser.feed("retry: 10s\n\nretry: 2500\n\nretry: -1\n\n")
    assert parser.retry == 2500


VECTORS = json.loads((Path(__file__).parent / "data" / "sse_vectors.json").read_text(encoding="utf-8"))[
    "vectors"
]


def _chunkings(wire: bytes) -> list[list[bytes]]:
    """The whole stream, byte by byte with an empty chunk after each, and split in two at every position."""
    return [
        [wire],
        [part for i in range(len(wire)) for part in (wire[i : i + 1], b"")],
        *([wire[:k], wire[k:]] for k in range(1, len(wire))),
    ]


def _text_chunkings(text: str) -> list[list[str]]:
    """The same as text: whole, character by character with empty chunks, split in two at every position."""
    return [
        [text],
        [part for c in text for part in (c, "")],
        *([text[:k], text[k:]] for k in range(1, len(text))),
    ]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_shared_parser_vectors(vector: dict[str, Any]) -> None:
    """The same vectors as the browser client's parser (tests/js/sse_client.test.mjs).

    The vectors that name a ``source`` restate a web-platform-tests EventSource case
    (web-platform-tests/wpt, eventsource/format-*): its stream and the events its assertions expect.
    """
    wire = vector["stream"].encode("utf-8")
    expected = [Event(e["data"], e["event"], e["id"]) for e in vector["events"]]
    feeds: list[tuple[str, list[Any]]] = [("bytes", c) for c in _chunkings(wire)]
    if len(vector["stream"]) < 600:  # text chunkings too, except for the two 4 KB comment fests
        feeds += [("text", c) for c in _text_chunkings(vector["stream"])]
    else:
        feeds.append(("text", [vector["stream"]]))
    for kind, chunks in feeds:
        parser = SSEParser()
        feed = parser.feed_bytes if kind == "bytes" else parser.feed
        received = [event for chunk in chunks for event in feed(chunk)]
        assert received == expected, (kind, chunks)
        assert parser.retry == vector["retry"]
        assert parser.last_event_id == vector["lastEventId"]
        if "resendId" in vector:
            assert parser.dispatched_id == vector["resendId"]


# -- hostile input: size limits, linear time, never a repr on the wire -----------------------------


@given(st.text(alphabet="da:t \r\n\ufeffi\0ry5", max_size=120), st.lists(st.integers(0, 30), max_size=12))
def test_any_text_in_any_chunking_parses_as_the_whole_stream(text: str, cuts: list[int]) -> None:
    """Chunking never changes the result (empty chunks included), and nothing but SSEError escapes."""
    whole = SSEParser(max_event_size=16)
    try:
        expected = whole.feed(text)
    except sse.SSEError as exc:
        expected = exc.events
    parser, received, position = SSEParser(max_event_size=16), [], 0
    for cut in [*cuts, len(text)]:
        try:
            received += parser.feed(text[position : position + cut])
        except sse.SSEError as exc:
            received += exc.events
        position += cut
    assert received == expected
    assert (parser.retry, parser.last_event_id, parser.dispatched_id) == (
        whole.retry,
        whole.last_event_id,
        whole.dispatched_id,
    )
    assert all(len(e.data) <= 16 for e in received)


def test_an_oversized_event_is_skipped_with_a_clear_error_and_the_stream_goes_on() -> None:
    parser = SSEParser(max_event_size=10)
    with pytest.raises(sse.SSEError, match="past 10 characters") as caught:
        parser.feed("data: ok\n\ndata: 0123456789ABC\ndata: rest of it\n\ndata: next\n\n")
    assert caught.value.events == [Event("ok"), Event("next")]
    # The same over many chunks: a line that never ends is dropped as it arrives.
    parser.feed("x" * 7)
    with pytest.raises(sse.SSEError):
        parser.feed("x" * 7)
    parser.feed("x" * 7)  # still skipped, no second error for the same line
    assert parser.feed("\n\ndata: aft\n\n") == [Event("aft")]  # the long line's event is skipped
    # Many data lines adding up past the limit count too; a long comment costs no event.
    parser = SSEParser(max_event_size=12)
    with pytest.raises(sse.SSEError, match="event's data") as caught:
        parser.feed("data: 123456\ndata: 123456\n\ndata: 123456\n\n")
    assert caught.value.events == [Event("123456")]
    with pytest.raises(sse.SSEError, match="a line") as caught:
        parser.feed(": " + "c" * 20 + "\ndata: kept\n\n")
    assert caught.value.events == [Event("kept")]
    assert sse.MAX_EVENT_SIZE == SSEParser().max_event_size == 4 * 1024 * 1024


def test_memory_stays_bounded_on_a_line_that_never_ends() -> None:
    """64 MiB without a line break, in 64 KiB chunks: the parser never holds more than its limit."""
    import tracemalloc

    parser = SSEParser(max_event_size=1024 * 1024)
    chunk = "a" * 65536
    tracemalloc.start()
    try:
        errors = 0
        for _ in range(1024):
            try:
                parser.feed(chunk)
            except sse.SSEError:
                errors += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert errors == 1  # one line, one error
    assert peak < 4 * 1024 * 1024, peak  # the limit (1 MiB) plus one chunk, with room to spare
    assert parser.feed("\n\ndata: x\n\n") == [Event("x")]


def _parse_cost(size: int, chunk: int = 1024) -> float:
    """CPU seconds to parse one line of ``size`` characters fed in ``chunk``-character pieces (best of 3)."""
    import time

    piece = "d" * chunk
    best = float("inf")
    for _ in range(3):
        parser = SSEParser(max_event_size=size + 16)
        start = time.process_time()
        parser.feed("data: ")
        for _ in range(size // chunk):
            parser.feed(piece)
        events = parser.feed("\n\n")
        best = min(best, time.process_time() - start)
        assert len(events[0].data) == size
    return best


def test_parsing_a_long_line_in_small_chunks_is_linear() -> None:
    """Growth, not time: 4x the input must cost well under 16x (quadratic) — we allow 8x, plus noise.

    A parser that re-joins its buffer on every chunk costs n²/chunk: 16x here. The absolute times
    are never compared with a constant.
    """
    small, large = _parse_cost(1024 * 1024), _parse_cost(4 * 1024 * 1024)
    assert large < 8 * small + 0.05, (small, large)


def test_data_is_json_never_a_python_repr() -> None:
    stream = EventStream()
    assert stream.send({"n": 1}) == b'id: 1\ndata: {"n":1}\n\n'
    assert stream.send([1, "é", None, True]) == 'id: 2\ndata: [1,"é",null,true]\n\n'.encode()
    assert stream.send(False) == b"id: 3\ndata: false\n\n"
    assert sse.encode(("a", 2)) == b'data: ["a",2]\n\n'
    assert parse(sse.encode({"text": "line\nbreak"})) == [Event('{"text":"line\\nbreak"}')]
    with pytest.raises(TypeError, match="pass a str"):
        stream.send(object())
    with pytest.raises(TypeError, match="pass a str"):
        stream.send(b"bytes")
    with pytest.raises(TypeError, match="not JSON-serializable"):
        stream.send({"when": object()})
    with pytest.raises(TypeError, match="not JSON-serializable"):
        stream.send(float("nan"))
    with pytest.raises(TypeError, match="event must be a str"):
        sse.encode("x", event=5)  # type: ignore[arg-type]
    assert stream.last_sent_id == 3  # a refused event consumed no id


def test_retry_of_any_length_never_raises_and_is_clamped() -> None:
    parser = SSEParser()
    assert parser.feed("retry: " + "7" * 100_000 + "\ndata: kept\n\n") == [Event("kept")]
    assert parser.retry == sse.MAX_RETRY_MS == 2**31 - 1
