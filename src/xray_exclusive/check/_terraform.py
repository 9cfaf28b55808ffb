"""Terraform rules over every scanned ``.tf`` (``python-hcl2``) and ``.tf.json`` file together.

Alarms usually live in another file than the functions they watch, so the rules see the whole
tree at once. Line numbers: the parser gives none, so a finding points at the resource's header
line, or at the line of the attribute it is about when that line can be found in the resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._model import SourceFile

# (path, code, line, col, detail)
Hit = tuple[str, str, int, int, str]

_HEADER = re.compile(r'^\s*resource\s+"?([A-Za-z0-9_-]+)"?\s+"?([A-Za-z0-9_-]+)"?\s*\{')
_REFERENCE = re.compile(r"aws_lambda_function\.([A-Za-z0-9_-]+)\.(?:function_name|arn|id|qualified_arn)")
_TRACE_HEADER = "x-amzn-trace-id"
_ABSENCE_WORDS = ("canary", "heartbeat", "throughput", "ingested")
_ERROR_WORDS = ("error", "fault", "failure", "throttle", "exception")
_DEFAULT_TIMEOUT_S = 3


@dataclass
class Resource:
    """One ``resource "type" "name"`` block, wherever it came from."""

    type: str
    name: str
    body: dict[str, Any]
    source: SourceFile
    line: int
    end: int = 0
    key_lines: dict[str, int] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def at(self, key: str) -> int:
        """The line of ``key = ...`` inside this resource, or its header line."""
        if key not in self.key_lines:
            pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*[=:{{]')
            self.key_lines[key] = next(
                (
                    n
                    for n in range(self.line, max(self.end, self.line) + 1)
                    if pattern.search(self.source.line(n))
                ),
                self.line,
            )
        return self.key_lines[key]


def _blocks(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _string(value: object) -> str:
    if isinstance(value, str):
        value = value.strip()
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    return "" if value is None else str(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(_string(value))
    except ValueError:
        return None


def _strings(value: object) -> list[str]:
    if isinstance(value, list):
        return [_string(v).lower() for v in value]
    text = _string(value)
    return [text.lower()] if text else []


def _env(resource: Resource) -> dict[str, str]:
    env: dict[str, str] = {}
    for block in _blocks(resource.body, "environment"):
        variables = block.get("variables")
        if isinstance(variables, dict):
            env.update({_string(k): _string(v) for k, v in variables.items()})
    return env


def parse(source: SourceFile) -> list[Resource]:
    r"""The resources of one file; raises ``ValueError`` when the file does not parse.

    Example:
        >>> tf = 'resource "aws_sns_topic" "alerts" {\n  name = "a"\n}\n'
        >>> [(r.address, r.line) for r in parse(SourceFile("main.tf", tf))]
        [('aws_sns_topic.alerts', 1)]
    """
    if source.path.endswith(".json"):
        try:
            document = json.loads(source.text)
        except json.JSONDecodeError as error:
            raise ValueError(f"invalid JSON: {error}") from error
        return list(_from_json(document, source))
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    try:
        document = hcl2.loads(source.text, serialization_options=options)
    except Exception as error:  # lark raises its own hierarchy; any failure is a parse error
        message = str(error).strip().splitlines()
        raise ValueError(message[0] if message else type(error).__name__) from error
    headers = [
        (n, m.group(1), m.group(2)) for n, text in enumerate(source.lines, 1) if (m := _HEADER.match(text))
    ]
    found: list[Resource] = []
    for group in _blocks(document, "resource"):
        for type_name, instances in group.items():
            for name, body in (instances or {}).items():
                if isinstance(body, dict):
                    found.append(Resource(_string(type_name), _string(name), body, source, 1))
    for resource in found:
        for index, (line, type_name, name) in enumerate(headers):
            if (type_name, name) == (resource.type, resource.name):
                resource.line = line
                resource.end = headers[index + 1][0] - 1 if index + 1 < len(headers) else len(source.lines)
    return found


def _from_json(document: object, source: SourceFile) -> Iterator[Resource]:
    groups = document.get("resource", []) if isinstance(document, dict) else []
    for group in groups if isinstance(groups, list) else [groups]:
        if not isinstance(group, dict):
            continue
        for type_name, instances in group.items():
            if not isinstance(instances, dict):
                continue
            for name, body in instances.items():
                for one in body if isinstance(body, list) else [body]:
                    if isinstance(one, dict):
                        marker = f'"{name}"'
                        line = next((n for n, t in enumerate(source.lines, 1) if marker in t), 1)
                        yield Resource(type_name, name, one, source, line, line)


class _Tree:
    def __init__(self, resources: list[Resource]) -> None:
        self.resources = resources
        self.hits: list[Hit] = []
        self.functions = {r.name: r for r in resources if r.type == "aws_lambda_function"}
        self.alarms = [r for r in resources if r.type == "aws_cloudwatch_metric_alarm"]
        self.urls = [r for r in resources if r.type == "aws_lambda_function_url"]
        self.streaming = {
            target
            for url in self.urls
            if _string(url.body.get("invoke_mode")).upper() == "RESPONSE_STREAM"
            for target in self._targets(url.body.get("function_name"))
        }
        self.streaming |= {name for name, r in self.functions.items() if r.source.streaming}

    def hit(self, resource: Resource, code: str, key: str = "", detail: str = "") -> None:
        line = resource.at(key) if key else resource.line
        indent = len(resource.source.line(line)) - len(resource.source.line(line).lstrip())
        self.hits.append((resource.source.path, code, line, indent + 1, detail or resource.address))

    def _targets(self, value: object) -> set[str]:
        """Which functions of the tree a ``function_name`` / dimension value names."""
        text = _string(value)
        names = set(_REFERENCE.findall(text))
        for name, function in self.functions.items():
            if text and text == _string(function.body.get("function_name")):
                names.add(name)
        return names

    def run(self) -> list[Hit]:
        for name, function in self.functions.items():
            self._function(name, function)
        for alarm in self.alarms:
            self._missing_data(alarm)
        for url in self.urls:
            self._cors(
                url,
                _blocks(url.body, "cors"),
                streaming=_string(url.body.get("invoke_mode")).upper() == "RESPONSE_STREAM",
            )
        for api in (r for r in self.resources if r.type == "aws_apigatewayv2_api"):
            self._cors(api, _blocks(api.body, "cors_configuration"), streaming=False)
        if self.alarms:
            self._alarm_coverage()
        return self.hits

    def _function(self, name: str, function: Resource) -> None:
        env = _env(function)
        if "OTEL_PROPAGATORS" in env:
            self.hit(function, "XE020", "OTEL_PROPAGATORS")
        if "AWS_LAMBDA_EXEC_WRAPPER" in env and self._uses_powertools(function, env):
            self.hit(function, "XE021", "AWS_LAMBDA_EXEC_WRAPPER")
        if env.get("OTEL_TRACES_SAMPLER", "").lower() == "always_on":
            self.hit(function, "XE007", "OTEL_TRACES_SAMPLER")
        modes = [_string(b.get("mode")) for b in _blocks(function.body, "tracing_config")]
        if "Active" not in modes:
            self.hit(function, "XE023", "tracing_config" if modes else "", f"{function.address}")
        if name in self.streaming:
            if _blocks(function.body, "vpc_config"):
                self.hit(function, "XE022", "vpc_config")
            service, powertools = env.get("OTEL_SERVICE_NAME"), env.get("POWERTOOLS_SERVICE_NAME")
            if not service:
                self.hit(function, "XE024", "variables", f"{function.address}: OTEL_SERVICE_NAME is not set")
            elif powertools is not None and service != powertools:
                self.hit(
                    function,
                    "XE024",
                    "OTEL_SERVICE_NAME",
                    f"{function.address}: OTEL_SERVICE_NAME={service!r}, "
                    f"POWERTOOLS_SERVICE_NAME={powertools!r}",
                )

    @staticmethod
    def _uses_powertools(function: Resource, env: dict[str, str]) -> bool:
        if any(key.startswith("POWERTOOLS_") for key in env):
            return True
        return any("powertools" in layer for layer in _strings(function.body.get("layers")))

    def _missing_data(self, alarm: Resource) -> None:
        body = alarm.body
        words = " ".join(_string(body.get(k)).lower() for k in ("metric_name", "namespace", "alarm_name"))
        treat = _string(body.get("treat_missing_data")) or "missing"
        if any(word in words for word in _ABSENCE_WORDS):
            if treat != "breaching":
                self.hit(
                    alarm,
                    "XE025",
                    "treat_missing_data" if "treat_missing_data" in body else "",
                    f"{alarm.address}: treat_missing_data = {treat!r}",
                )
        elif (
            any(word in _string(body.get("metric_name")).lower() for word in _ERROR_WORDS)
            and treat == "breaching"
        ):
            self.hit(
                alarm, "XE026", "treat_missing_data", f"{alarm.address} on {_string(body.get('metric_name'))}"
            )

    def _alarm_coverage(self) -> None:
        errors: set[str] = set()
        durations: dict[str, list[Resource]] = {}
        for alarm in self.alarms:
            body = alarm.body
            if _string(body.get("namespace")) != "AWS/Lambda":
                continue
            dimensions = body.get("dimensions")
            targets = self._targets(dimensions.get("FunctionName")) if isinstance(dimensions, dict) else set()
            metric = _string(body.get("metric_name"))
            if metric == "Errors":
                errors |= targets
            elif metric == "Duration" and _string(body.get("extended_statistic")).lower() == "p95":
                for target in targets:
                    durations.setdefault(target, []).append(alarm)
        for name, function in self.functions.items():
            if name not in errors:
                self.hit(function, "XE027", detail=function.address)
            if name not in durations:
                self.hit(function, "XE028", detail=function.address)
                continue
            timeout = _number(function.body.get("timeout")) or _DEFAULT_TIMEOUT_S
            for alarm in durations[name]:
                threshold = _number(alarm.body.get("threshold"))
                if threshold is None:
                    continue
                share = threshold / (timeout * 1000)
                if not 0.8 <= share <= 0.9:
                    low, high = int(timeout * 800), int(timeout * 900)
                    self.hit(
                        alarm,
                        "XE029",
                        "threshold",
                        f"{alarm.address}: {threshold:g} ms is {share:.0%} of the {timeout:g} s timeout; "
                        f"use {low}-{high}",
                    )

    def _cors(self, resource: Resource, blocks: list[dict[str, Any]], *, streaming: bool) -> None:
        if not blocks:
            return
        cors = blocks[0]
        allowed = _strings(cors.get("allow_headers"))
        if _TRACE_HEADER not in allowed and "*" not in allowed:
            self.hit(resource, "XE030", "allow_headers" if "allow_headers" in cors else "", resource.address)
        exposed = _strings(cors.get("expose_headers"))
        if streaming and _TRACE_HEADER not in exposed and "*" not in exposed:
            self.hit(
                resource, "XE031", "expose_headers" if "expose_headers" in cors else "", resource.address
            )


def analyse(resources: list[Resource]) -> list[Hit]:
    r"""Every Terraform rule over the resources of all scanned files.

    Example:
        >>> tf = 'resource "aws_lambda_function" "f" {\n  function_name = "f"\n}\n'
        >>> analyse(parse(SourceFile("main.tf", tf)))
        [('main.tf', 'XE023', 1, 1, 'aws_lambda_function.f')]
    """
    return _Tree(resources).run()
