"""http_subsegment: real urllib calls to a loopback server; subsegments asserted on the UDP datagrams."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import XRayDaemon
from tests.otlp_receiver import closed_port
from xray_exclusive import http_subsegment, set_default_backend
from xray_exclusive.http import sanitize_url

SECRET_BODY = b'{"personalizations":[{"to":[{"email":"secret-recipient@example.com"}]}]}'
SECRET_QUERY = "api_key=SG.very-secret"


@pytest.fixture(autouse=True, params=["native", "xray-sdk"])
def backend_name(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs on both X-Ray backends: the same datagrams are expected."""
    monkeypatch.setenv("XRAY_EXCLUSIVE_BACKEND", request.param)
    set_default_backend(None)
    return str(request.param)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = int(self.path.split("/")[2].split("?")[0])
        body = b'{"errors":[{"message":"response body with secret-response-data"}]}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sendgrid() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://user:password@127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def send(url: str) -> int:
    """What SendGrid's python-http-client does: a urllib request with a JSON body."""
    clean = url.replace("user:password@", "")
    request = urllib.request.Request(clean, data=SECRET_BODY, method="POST")
    with (
        http_subsegment("sendgrid", method="post", url=url, annotations={"recipient_count": 3}) as call,
        urllib.request.urlopen(request, timeout=5) as response,
    ):
        call.status(response.status)
        return int(response.status)


@pytest.mark.parametrize(
    ("status", "marks"),
    [
        (202, {}),
        (429, {"error": True, "throttle": True}),
        (400, {"error": True}),
        (500, {"fault": True}),
    ],
)
def test_status_marks_and_no_body(
    xray: XRayDaemon, sendgrid: str, status: int, marks: dict[str, bool]
) -> None:
    url = f"{sendgrid}/status/{status}?{SECRET_QUERY}"
    if status < 400:
        assert send(url) == status
    else:
        with pytest.raises(urllib.error.HTTPError):
            send(url)
    [raw] = xray.datagrams()
    for secret in (b"secret-recipient", b"secret-response-data", b"SG.very-secret", b"password"):
        assert secret not in raw
    sub = xray.one("sendgrid")
    assert sub["namespace"] == "remote"
    base = sendgrid.replace("user:password@", "")
    assert sub["http"]["request"] == {"method": "POST", "url": f"{base}/status/{status}"}
    assert sub["http"]["response"]["status"] == status
    assert {k: sub[k] for k in ("error", "throttle", "fault") if k in sub} == marks
    assert sub["annotations"] == {"recipient_count": 3}
    assert sub["end_time"] > sub["start_time"]
    if status >= 400:
        [exc] = sub["cause"]["exceptions"]
        assert exc["type"] == "HTTPError"
        assert exc["remote"] is True
        assert 1 <= len(exc["stack"]) <= 10


def test_refused_connection_is_a_fault(xray: XRayDaemon) -> None:
    with pytest.raises(urllib.error.URLError):
        send(f"http://127.0.0.1:{closed_port()}/v3/mail/send")
    sub = xray.one("sendgrid")
    assert sub["fault"] is True
    assert "status" not in sub["http"].get("response", {})
    assert sub["cause"]["exceptions"][0]["type"] == "URLError"


def test_unsampled_request_sends_nothing(unsampled: XRayDaemon, sendgrid: str) -> None:
    assert send(f"{sendgrid}/status/202") == 202
    assert unsampled.documents() == []


def test_inside_a_traced_stream_it_is_an_opentelemetry_client_span(streaming: Any, sendgrid: str) -> None:
    from xray_exclusive.streaming import traced_stream

    def events() -> Iterator[bytes]:
        with contextlib.suppress(urllib.error.HTTPError):
            send(f"{sendgrid}/status/429?{SECRET_QUERY}")
        yield b"x"

    list(traced_stream(events()))
    span = streaming.one("sendgrid")
    assert span.kind == 3  # CLIENT: the exporter files it in the remote namespace
    assert span.attributes["http.request.method"] == "POST"
    assert span.attributes["url.full"].endswith("/status/429")
    assert "password" not in span.attributes["url.full"]
    assert span.attributes["http.response.status_code"] == 429
    assert span.attributes["recipient_count"] == 3


@given(st.text(max_size=200))
def test_sanitize_url_never_raises_nor_leaks_a_query(url: str) -> None:
    clean = sanitize_url(url)
    assert len(clean) <= 2048
    assert "?" not in clean
    assert "#" not in clean
    if "://" in clean:  # an absolute URL: no credentials left in its authority
        assert "@" not in clean.split("://", 1)[1].split("/", 1)[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.sendgrid.com/v3/mail/send?key=1#x", "https://api.sendgrid.com/v3/mail/send"),
        ("https://u:p@host:8443/a", "https://host:8443/a"),
        ("http://[::1]:8080/x?y", "http://[::1]:8080/x"),
        ("http://[::1", "<unparseable URL>"),
    ],
)
def test_sanitize_url_examples(url: str, expected: str) -> None:
    assert sanitize_url(url) == expected


def test_odd_status_is_dropped_with_a_reason(xray: XRayDaemon, caplog: pytest.LogCaptureFixture) -> None:
    with http_subsegment("x", method="GET", url="http://h/") as call:
        call.status("200")
        call.status(True)
        call.status(99)
    assert call.response_status is None
    assert caplog.text.count("not an HTTP status code") == 3


@pytest.mark.parametrize("error_type", [ConnectionRefusedError, RecursionError])
def test_recording_that_hits_the_recursion_limit_even_with_borrowed_depth_still_closes(
    xray: XRayDaemon, caplog: pytest.LogCaptureFixture, error_type: type[Exception]
) -> None:
    """Recording raises RecursionError every time (fault injected): one warning, the subsegment still sent.

    Before the shared guard, that RecursionError left the subsegment open (never sent to X-Ray).
    """
    limit = sys.getrecursionlimit()
    error = error_type("the caller's own")
    no_stack = RecursionError("no stack left, even borrowed")
    url = "https://api.sendgrid.com/v3/mail/send"
    with (
        mock.patch("xray_exclusive.http.record_cause", side_effect=no_stack) as broken,
        pytest.raises(error_type) as raised,
        http_subsegment("sendgrid", method="POST", url=url),
    ):
        raise error
    assert raised.value is error and error.__context__ is None
    sub = xray.one("sendgrid")
    assert "end_time" in sub and not sub.get("in_progress")
    assert broken.call_count == (1 if error_type is RecursionError else 2)
    assert sys.getrecursionlimit() == limit
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "Subsegment 'sendgrid': recording the call failed (RecursionError: no stack left, even borrowed); "
        "the caller's code and exception are unaffected."
    ]


def test_a_close_that_hits_the_recursion_limit_once_is_tried_again(xray: XRayDaemon) -> None:
    from xray_exclusive._backend import get_default_backend

    backend = get_default_backend()
    real_close = backend.close
    calls: list[object] = []

    def close_at_the_limit(span: Any) -> None:
        calls.append(span)
        if len(calls) == 1:
            raise RecursionError("maximum recursion depth exceeded")
        real_close(span)

    with (
        mock.patch.object(type(backend), "close", side_effect=close_at_the_limit),
        http_subsegment("sendgrid", method="GET", url="https://api.sendgrid.com/v3/x") as call,
    ):
        call.status(200)
    assert len(calls) == 2 and calls[0] is calls[1]
    assert "end_time" in xray.one("sendgrid")
