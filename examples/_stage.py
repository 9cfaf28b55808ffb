"""The example scripts' stage: one sampled Lambda-like invocation, its X-Ray daemon a loopback socket.

Not a Lambda: what the Lambda service provides around one (the environment, the daemon), for
``seven_paths.py`` and ``sendgrid_notification.py``. No AWS account, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LAMBDAS = Path(__file__).resolve().parent / "lambdas"


def lambda_stage(function: str) -> tuple[socket.socket, str, str]:
    """Bind the daemon and make this process a sampled invocation of ``function``: (daemon, address, root).

    Also puts ``examples/lambdas`` on ``sys.path``: import the handler module *after* this call, because
    Powertools decides at ``Tracer()`` whether it runs in Lambda, for the whole process.
    """
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{daemon.getsockname()[1]}"
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    os.environ.update(
        LAMBDA_TASK_ROOT=os.getcwd(),
        AWS_LAMBDA_FUNCTION_NAME=function,
        AWS_XRAY_DAEMON_ADDRESS=address,
        _X_AMZN_TRACE_ID=f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1",
    )
    sys.path.insert(0, str(LAMBDAS))
    return daemon, address, root


def received(daemon: socket.socket) -> Iterator[tuple[dict[str, Any], int]]:
    """Each subsegment the SDK sent (its JSON document and datagram size), until 0.2 s of silence."""
    daemon.settimeout(0.2)
    while True:
        try:
            data = daemon.recv(70_000)
        except TimeoutError:
            return
        yield json.loads(data.split(b"\n", 1)[1]), len(data)
