"""The Notification Lambda: its SendGrid call as an explicit X-Ray subsegment.

SendGrid's SDK posts through ``python-http-client`` over ``urllib``, which the X-Ray SDK does not patch, so
the call is wrapped in ``http_subsegment``: method, URL (without its query string), status, duration, and a
bounded cause on failure. With the SDK the wiring is the same::

    with http_subsegment("sendgrid", method="POST", url=SEND_URL, annotations=...) as call:
        response = SendGridAPIClient(api_key).send(message)
        call.status(response.status_code)

Run by ``xray-exclusive demo`` (against a loopback stand-in for SendGrid) and
``examples/sendgrid_notification.py``; deploy with handler ``notification.handler``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from aws_lambda_powertools import Tracer

from xray_exclusive import http_subsegment

tracer = Tracer(auto_patch=False)
SENDGRID_URL = os.environ.get("SENDGRID_API_URL", "https://api.sendgrid.com")


def send_email(base_url: str, recipients: list[str], want_status: int | None = None) -> str:
    """Send one email; on failure, continue (the caller queues a retry). ``want_status``: for stand-ins."""
    body = json.dumps({"personalizations": [{"to": [{"email": r} for r in recipients]}]}).encode()
    headers = {"Authorization": "Bearer SG.secret", "Content-Type": "application/json"}
    if want_status is not None:
        headers["X-Want-Status"] = str(want_status)
    request = urllib.request.Request(f"{base_url}/v3/mail/send", data=body, method="POST", headers=headers)
    try:
        with (
            http_subsegment(
                "sendgrid",
                method="POST",
                url=f"{base_url}/v3/mail/send?api_key=SG.secret",  # the query string never reaches X-Ray
                annotations={"recipient_count": len(recipients)},
            ) as call,
            urllib.request.urlopen(request, timeout=2) as response,
        ):
            call.status(response.status)
            return f"sent ({response.status})"
    except urllib.error.URLError as exc:
        return f"not sent ({exc}); queued for retry"


@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = send_email(SENDGRID_URL, event.get("recipients", []), event.get("want_status"))
    return {"notification": outcome}
