"""The ``http``, ``cause``, ``aws`` and ``sql`` blocks of an X-Ray document, as the exporter builds them.

Ports of ``http.go``, ``cause.go``, ``aws.go`` and ``sql.go`` in the collector's
``exporter/awsxrayexporter/internal/translator`` (v0.109.0). Each function
takes the span attributes still unclaimed (a dict, insertion order = OTLP
order) and returns the attributes it leaves for metadata, the way the Go
functions hand a ``filtered`` map on.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
STATUS_ERROR = 2
_ATOI = re.compile(r"[+-]?[0-9]+")


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def attributes(items: Any) -> dict[str, Any]:
    """Protobuf ``KeyValue`` list to a dict (bytes stay ``bytes``, an empty value is ``None``)."""
    return {kv.key: _value(kv.value) for kv in items}


def text(value: Any) -> str:
    """``pcommon.Value.Str()``: the string, or ``""`` for any other type."""
    return value if isinstance(value, str) else ""


def integer(value: Any) -> int:
    """``pcommon.Value.Int()``: the integer, or ``0`` for any other type."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _port(value: Any) -> str:
    return text(value) or str(integer(value))


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(text(value))
    except ValueError:
        return False
    return "%" not in text(value)


def _url(parts: dict[str, str], server: bool) -> str:
    if "http.url" in parts:
        return parts["http.url"]
    scheme = parts.get("http.scheme", "http")
    port = ""
    if "http.host" in parts:
        host = parts["http.host"]
    elif server:
        host = next(
            (parts[k] for k in ("http.server_name", "net.host.name", "host.name") if k in parts),
            parts.get("server.address", ""),
        )
        port = parts.get("net.host.port", parts.get("server.port", ""))
    else:
        host = parts.get("net.peer.name", parts.get("net.peer.ip", ""))
        port = parts.get("net.peer.port", "")
    url = f"{scheme}://{host}"
    if port and not (scheme == "http" and port == "80") and not (scheme == "https" and port == "443"):
        url += ":" + port
    if "http.target" in parts:
        return url + parts["http.target"]
    return url + (parts.get("url.path", "/") if server else "/")


_URL_KEYS = {  # attribute: (url part, sets hasHTTP, sets hasHTTPRequestURLAttributes)
    "http.url": ("http.url", True, True),
    "url.full": ("http.url", True, True),
    "http.scheme": ("http.scheme", True, False),
    "url.scheme": ("http.scheme", True, False),
    "http.host": ("http.host", True, True),
    "http.target": ("http.target", True, False),
    "http.server_name": ("http.server_name", True, True),
    "host.name": ("host.name", False, True),
    "net.host.name": ("net.host.name", False, True),
    "net.peer.name": ("net.peer.name", False, False),
    "url.path": ("url.path", True, False),
    "server.address": ("server.address", False, True),
}
_PORT_KEYS = {"net.host.port": True, "net.peer.port": False, "server.port": False}  # key: sets hasHTTP


def http_block(span: Any, attrs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``makeHTTP``: the ``http`` block and the attributes it leaves (every HTTP and network key is taken)."""
    request: dict[str, Any] = {}
    response: dict[str, Any] = {}
    parts: dict[str, str] = {}
    rest: dict[str, Any] = {}
    has_http = has_url = has_peer = False
    for key, value in attrs.items():
        if key in ("http.method", "http.request.method"):
            _set(request, "method", text(value))
            has_http = True
        elif key == "http.client_ip":
            _set(request, "client_ip", text(value))
            has_http = True
        elif key in ("http.user_agent", "user_agent.original"):
            _set(request, "user_agent", text(value))
            has_http = True
        elif key in ("http.status_code", "http.response.status_code"):
            response["status"] = integer(value)
            has_http = True
        elif key in _URL_KEYS:
            part, sets_http, sets_url = _URL_KEYS[key]
            parts[part] = text(value)
            has_http, has_url = has_http or sets_http, has_url or sets_url
        elif key in _PORT_KEYS:
            parts[key] = _port(value)
            has_http = has_http or _PORT_KEYS[key]
        elif key == "net.peer.ip":  # HTTP forwarded information (http.client_ip) is preferred
            if "client_ip" not in request:
                _set(request, "client_ip", text(value))
            parts[key] = text(value)
            has_url = has_peer = True
        elif key == "network.peer.address":
            if _is_ip(value):
                if "client_ip" not in request:
                    _set(request, "client_ip", text(value))
                has_url = has_peer = True
        elif key == "client.address":
            if _is_ip(value):
                request["client_ip"] = text(value)
        else:
            rest[key] = value
    if "client_ip" in request and not has_peer:
        request["x_forwarded_for"] = True
    if not has_http:
        return rest, None
    if has_url:
        _set(request, "url", _url(parts, span.kind == SERVER))
    response["content_length"] = _response_size(span, attrs)
    return rest, {"request": request, "response": response}


def _set(block: dict[str, Any], key: str, value: str) -> None:
    if value:
        block[key] = value
    else:
        block.pop(key, None)


def _response_size(span: Any, attrs: dict[str, Any]) -> int:
    for values in [attrs, *(attributes(event.attributes) for event in span.events)]:
        if text(values.get("message.type")) == "RECEIVED":
            size = integer(values.get("messaging.message_payload_size_bytes"))
            if size:
                return size
    return 0


# ----------------------------------------------------------------------------- cause.go


def python_exceptions(first: dict[str, Any], stacktrace: str, new_id: Any) -> list[dict[str, Any]]:
    """``fillPythonStacktrace``: frames innermost first; "During handling" starts the next exception."""
    exceptions = [first]
    lines = stacktrace.split("\n")
    index = len(lines) - 2
    if index < 0:
        return exceptions
    current, line = first, lines[index]
    while True:
        if line.startswith("  File "):
            parts = line.split(",")
            if len(parts) == 3:
                number = parts[1][6:] if parts[1].startswith(" line ") else ""
                current.setdefault("stack", []).append(
                    {
                        "path": parts[0][8:-1],
                        "line": int(number) if _ATOI.fullmatch(number) else 0,
                        "label": parts[2][4:] if parts[2].startswith(" in ") else "",
                    }
                )
        elif line.startswith("During handling of the above exception, another exception occurred:"):
            following = index - 1
            while following >= 0 and not lines[following].startswith("  File "):
                following -= 1
            if following < 0:
                return exceptions
            message = "\n".join(lines[following + 2 : index - 1])
            index = following
            colon = message.find(":")
            if colon < 0:
                return exceptions
            cause = {"id": new_id(), "type": message[:colon], "remote": first["remote"]}
            cause["message"] = message[colon + 2 :]
            exceptions[-1]["cause"] = current["cause"] = cause["id"]
            exceptions.append(cause)
            current, line = cause, lines[index]
            continue
        index -= 1
        if index < 0:
            return exceptions
        line = lines[index]


def cause_block(
    span: Any, attrs: dict[str, Any], rest: dict[str, Any], resource: dict[str, Any], new_id: Any
) -> tuple[bool, bool, bool, dict[str, Any], dict[str, Any] | None]:
    """``makeCause``: (error, fault, throttle, attributes left, ``cause``)."""
    aws_sdk = text(attrs.get("rpc.system")) == "aws-api"
    cause: dict[str, Any] | None = None
    if any(
        event.name == "exception" or (aws_sdk and event.name == "HTTP request failure")
        for event in span.events
    ):
        python = text(resource.get("telemetry.sdk.language")) == "python"
        remote = span.kind in (CLIENT, PRODUCER)
        exceptions: list[dict[str, Any]] = []
        for event in span.events:
            values = attributes(event.attributes)
            if event.name == "exception":
                first = {"id": new_id(), "type": text(values.get("exception.type")), "remote": remote}
                first["message"] = text(values.get("exception.message"))
                stack = text(values.get("exception.stacktrace"))
                exceptions.extend(python_exceptions(first, stack, new_id) if python and stack else [first])
            elif aws_sdk and event.name == "HTTP request failure":
                code, message = values.get("http.response.status_code"), values.get("aws.http.error_message")
                if code is not None and message is not None:
                    when = f"{event.time_unix_nano // 1000 / 1_000_000:.6f}"
                    code_text = str(code).lower() if isinstance(code, bool) else str(code)
                    exceptions.append(
                        {"id": new_id(), "type": "aws.http.error.event", "remote": True}
                        | {"message": f"{code_text}@{when}@{text(message)}"}
                    )
        cause = {"exceptions": exceptions} if exceptions else {}
    elif span.status.code == STATUS_ERROR:
        message = span.status.message or text(rest.get("http.status_text"))
        rest = {k: v for k, v in rest.items() if k != "http.status_text"}
        if message:
            cause = {"exceptions": [{"id": new_id(), "type": "", "message": message}]}
    present = "http.status_code" in attrs
    code = integer(attrs.get("http.status_code"))
    if not present or not 400 <= code <= 599:
        return False, span.status.code == STATUS_ERROR, False, rest, cause
    if code <= 499:
        return True, False, code == 429, rest, cause
    return False, True, False, rest, cause


# ----------------------------------------------------------------------------- aws.go, sql.go

_AWS_KEYS = {
    "aws.account_id": "account_id",
    "aws.region": "region",
    "aws.request_id": "request_id",
    "aws.requestId": "request_id",
    "aws.queue_url": "queue_url",
    "aws.queue.url": "queue_url",
    "aws.table_name": "table_name",
    "aws.table.name": "table_name",
}


def aws_block(
    attrs: dict[str, Any], resource: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``makeAws`` less its ``xray`` (SDK) block: the call's operation, region, request, queue and tables."""
    block: dict[str, str | list[str]] = {"account_id": text(resource.get("cloud.account.id"))}
    block["operation"] = text(attrs["aws.operation"] if "aws.operation" in attrs else attrs.get("rpc.method"))
    rest = {}
    for key, value in attrs.items():
        if key in _AWS_KEYS:
            if key != "aws.account_id" or value is not None:
                block[_AWS_KEYS[key]] = text(value)
        elif key not in ("rpc.method", "aws.operation"):
            rest[key] = value
    if text(resource.get("cloud.provider")) not in ("aws", ""):
        return rest, None
    if "messaging.url" in attrs:
        block["queue_url"] = text(attrs["messaging.url"])
    tables = attrs.get("aws.dynamodb.table_names")
    if isinstance(tables, list) and len(tables) == 1:
        block["table_name"] = text(tables[0])
    elif isinstance(tables, list) and len(tables) > 1:
        block["table_name"], block["table_names"] = "", [text(t) for t in tables]
    elif isinstance(tables, str):
        block["table_name"] = tables
    result: dict[str, Any] = {k: v for k, v in block.items() if v}
    result.update(_platform(resource))
    groups = _log_groups(resource)
    if groups:
        result["cloudwatch_logs"] = groups
    return rest, result


def _platform(resource: dict[str, Any]) -> dict[str, Any]:
    """The ``ec2``, ``ecs``, ``elastic_beanstalk`` and ``eks`` blocks, from resource attributes."""

    def pick(**keys: str) -> dict[str, str]:
        return {field: text(resource.get(key)) for field, key in keys.items()}

    platform, blocks = text(resource.get("cloud.platform")), {}
    zone = "cloud.availability_zone"
    if platform == "aws_ec2" or text(resource.get("host.id")):
        ec2 = pick(
            instance_id="host.id", availability_zone=zone, instance_size="host.type", ami_id="host.image.id"
        )
        blocks["ec2"] = {k: v or None for k, v in ec2.items()}  # no omitempty: null when unknown
    if platform == "aws_ecs":
        ecs = pick(container="container.name", container_id="container.id", availability_zone=zone)
        ecs |= pick(container_arn="aws.ecs.container.arn", cluster_arn="aws.ecs.cluster.arn")
        ecs |= pick(
            task_arn="aws.ecs.task.arn", task_family="aws.ecs.task.family", launch_type="aws.ecs.launchtype"
        )
        blocks["ecs"] = {k: v for k, v in ecs.items() if v}
    deployment = text(resource.get("service.instance.id"))
    if platform == "aws_elastic_beanstalk" and deployment:
        beanstalk: dict[str, Any] = pick(
            environment_name="service.namespace", version_label="service.version"
        )
        beanstalk = {k: v or None for k, v in beanstalk.items()}
        blocks["elastic_beanstalk"] = beanstalk | {
            "deployment_id": int(deployment) if _ATOI.fullmatch(deployment) else 0
        }
    if platform == "aws_eks" or text(resource.get("k8s.cluster.name")):
        eks = pick(cluster_name="k8s.cluster.name", pod="k8s.pod.name", container_id="container.id")
        blocks["eks"] = {k: v or None for k, v in eks.items()}
    return blocks


def _log_groups(resource: dict[str, Any]) -> list[dict[str, str]]:
    for key, arn in (("aws.log.group.arns", True), ("aws.log.group.names", False)):
        value = resource.get(key)
        items = [i for i in value.split("&") if i] if isinstance(value, str) else value
        if isinstance(items, list) and items:
            if not arn:
                return [{"log_group": text(i)} for i in items]
            return [
                {"log_group": p[6] if len(p := text(i).split(":")) >= 7 else text(i), "arn": text(i)}
                for i in items
            ]
    return []


_SQL_KEYS = ("db.connection_string", "db.system", "db.name", "db.statement", "db.user")
_SQL_SYSTEMS = {
    "db2",
    "derby",
    "hive",
    "mariadb",
    "mssql",
    "mysql",
    "oracle",
    "postgresql",
    "sqlite",
    "teradata",
}


def sql_block(span: Any, attrs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``makeSQL``: the ``sql`` block for SQL databases (``db.system``), which takes the ``db.*`` keys."""
    system = text(attrs.get("db.system"))
    if system not in _SQL_SYSTEMS and system != "other_sql":
        return attrs, None
    sql = {
        "url": span.name,
        "connection_string": (text(attrs.get("db.connection_string")) or "localhost")
        + f"/{text(attrs.get('db.name'))}",
        "database_type": system,
        "user": text(attrs.get("db.user")),
        "sanitized_query": text(attrs.get("db.statement")),
    }
    return {k: v for k, v in attrs.items() if k not in _SQL_KEYS}, {k: v for k, v in sql.items() if v}
