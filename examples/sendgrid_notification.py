"""The Notification Lambda's SendGrid call as an explicit X-Ray subsegment.

    python examples/sendgrid_notification.py

The code is the reference Notification Lambda's (``examples/lambdas/notification.py``).
SendGrid's SDK posts through ``python-http-client`` over ``urllib``, which
the X-Ray SDK does not patch. With the real SDK, the wiring is::

    from sendgrid import SendGridAPIClient
    from xray_exclusive import http_subsegment

    sg = SendGridAPIClient(api_key)
    with http_subsegment("sendgrid", method="POST", url="https://api.sendgrid.com/v3/mail/send",
                         annotations={"recipient_count": len(recipients)}) as call:
        response = sg.send(message)        # python_http_client raises HTTPError on 4xx/5xx
        call.status(response.status_code)  # 202 on success

Here the same call is made with ``urllib`` against a loopback server that
answers like SendGrid (202, 429, 500, then a refused connection), inside one
sampled Lambda-like invocation whose X-Ray daemon is a loopback UDP socket.
It prints each subsegment the SDK sent. No AWS account, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _stage import lambda_stage, received

from xray_exclusive import current_trace_id


class FakeSendGrid(BaseHTTPRequestHandler):
    """Answers POST /v3/mail/send with the status in the X-Want-Status header."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = int(self.headers.get("X-Want-Status", "202"))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> int:
    daemon, address, root = lambda_stage("notification")
    from notification import send_email  # after the stage: see lambda_stage

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSendGrid)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    live = f"http://127.0.0.1:{server.server_address[1]}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"

    print(f"trace {root} (current_trace_id() = {current_trace_id()})\n")
    for base, status in ((live, 202), (live, 429), (live, 500), (dead, 0)):
        print(f"  send_email -> {send_email(base, ['a@example.com', 'b@example.com'], status)}")
    server.shutdown()

    print(f"\nX-Ray subsegments received by the daemon on {address}:")
    for doc, _ in received(daemon):
        marks = "+".join(k for k in ("error", "throttle", "fault") if doc.get(k)) or "ok"
        http = doc.get("http", {})
        status = http.get("response", {}).get("status", "-")
        duration_ms = (doc["end_time"] - doc["start_time"]) * 1000
        cause = (doc.get("cause") or {}).get("exceptions", [{}])[0]
        print(
            f"  {doc['name']} ns={doc.get('namespace')} {http['request']['method']} {http['request']['url']}"
            f" status={status} {marks} {duration_ms:.1f} ms annotations={doc.get('annotations', {})}"
        )
        if cause:
            print(f"    cause: {cause.get('type')}: {cause.get('message')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
