"""Terraform rules over every scanned ``.tf`` and ``.tf.json`` file, stack by stack.

A stack is a directory (a Terraform module): a function, its Function URL and its alarms are matched
inside it, never across stacks. Calls of the well-known Lambda module (``terraform-aws-modules/lambda/aws``)
are functions too, their inputs (``tracing_mode``, ``environment_variables``, ``invoke_mode``, ``cors``...)
judged like the raw resource's attributes. A value the checker cannot resolve (``var.x``, a ``dynamic``
block, ``merge(...)``) is never judged: it is reported as a note instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ._hcl import Attribute, Block, Unknown, Value
from ._hcl import parse as parse_hcl
from ._model import Hit, Rule, SourceFile
from ._terraform_filter import needs_parse as needs_parse  # the pre-filter, importable without this module
from ._vendors import ENDPOINT_VARIABLES, is_xray_destination, traces_exporter_elsewhere, vendor_layer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Placed = tuple[str, Hit]
"""A hit and its file's path: the Terraform rules judge a directory of files at once."""

_JSON_HEADER = '"{name}"'
_REFERENCE = re.compile(
    r"\b(aws_lambda_function\.[A-Za-z0-9_-]+)\.(?:function_name|arn|id|qualified_arn|invoke_arn)\b"
    r"|\b(module\.[A-Za-z0-9_-]+)\.lambda_function_(?:name|arn|id|qualified_arn|invoke_arn)\b"
)
_LAMBDA_MODULE = re.compile(
    r"(?:^|[/:])terraform-aws-modules/(?:lambda/aws|terraform-aws-lambda(?:\.git)?)/?(?:\?[^/]*)?$"
)
_APIGW_MODULE = re.compile(
    r"(?:^|[/:])terraform-aws-modules/(?:apigateway-v2/aws|terraform-aws-apigateway-v2(?:\.git)?)/?(?:\?[^/]*)?$"
)
_ALARM_MODULE = re.compile(r"terraform-aws-modules/cloudwatch/aws//modules/metric-alarm/?(?:\?[^/]*)?$")
_OTHER_ALARM_MODULE = re.compile(r"cloudwatch.*alarm|alarm.*cloudwatch", re.IGNORECASE)
_TRACE_HEADER = "x-amzn-trace-id"
_ABSENCE_WORDS = ("canary", "heartbeat", "throughput", "ingested")
_ERROR_WORDS = ("error", "fault", "failure", "throttle", "exception")
_DEFAULT_TIMEOUT_S = 3
_ENV_CODES = "XE007, XE020, XE021, XE024, XE061"
# Blocks of the resources we read, as they appear in .tf.json (objects there, blocks in HCL).
_JSON_BLOCKS = frozenset(
    {"tracing_config", "environment", "vpc_config", "cors", "cors_configuration", "dynamic", "content"}
)


RULES = (
    Rule(
        code="XE020",
        name="otel-propagators-env",
        kind="terraform",
        severity="error",
        message="OTEL_PROPAGATORS set on a Lambda: remove it; the library installs the X-Ray Lambda "
        "propagator and overrides it silently",
        spec=("FR-068",),
        rationale="The console shows a configuration that is not the one running.",
        filename="main.tf",
    ),
    Rule(
        code="XE021",
        name="exec-wrapper-with-powertools",
        kind="terraform",
        severity="error",
        message="AWS_LAMBDA_EXEC_WRAPPER on a Lambda that uses Powertools: remove it; ADOT runs only as "
        "the OTLP receiver extension",
        spec=("FR-046",),
        rationale="The wrapper auto-instruments the handler and botocore: every handler and every boto3 "
        "call is traced twice.",
        filename="main.tf",
    ),
    Rule(
        code="XE022",
        name="vpc-on-streaming-lambda",
        kind="terraform",
        severity="error",
        message="vpc_config on a RESPONSE_STREAM Lambda: remove it, or give the VPC a route to X-Ray",
        spec=("SC-043",),
        rationale="The collector extension exports to X-Ray over the internet: in a VPC without a NAT or "
        "endpoint, every span is lost after a timeout.",
        filename="main.tf",
    ),
    Rule(
        code="XE023",
        name="tracing-not-active",
        kind="terraform",
        severity="error",
        message='Lambda without Active tracing: add tracing_config { mode = "Active" } (tracing_mode = '
        '"Active" on the Lambda module)',
        spec=("FR-013", "FR-017"),
        rationale="Without Active tracing the function's segment is not recorded and unsampled upstream "
        "headers decide alone.",
        filename="main.tf",
    ),
    Rule(
        code="XE024",
        name="otel-service-name",
        kind="terraform",
        severity="error",
        message="OTEL_SERVICE_NAME missing or different from POWERTOOLS_SERVICE_NAME on the streaming "
        "Lambda: set both to the same name",
        spec=("FR-047", "FR-071"),
        rationale="The streaming spans would appear under 'unknown_service' or a second node in the "
        "service map.",
        filename="main.tf",
    ),
    Rule(
        code="XE025",
        name="absence-alarm-not-breaching",
        kind="terraform",
        severity="error",
        message="alarm on a canary, heartbeat or throughput metric without treat_missing_data = "
        '"breaching": set it; silence is the failure',
        spec=("FR-045", "FR-020"),
        rationale="When the canary or the pipeline stops, the metric stops: a not-breaching alarm stays "
        "OK exactly when it should fire.",
        filename="alarms.tf",
    ),
    Rule(
        code="XE026",
        name="error-alarm-breaching",
        kind="terraform",
        severity="error",
        message='alarm on an error count with treat_missing_data = "breaching": use "notBreaching"; no '
        "data means no errors",
        spec=("FR-045",),
        rationale="Error metrics are only written when something fails: a breaching alarm fires in every "
        "quiet period.",
        filename="alarms.tf",
    ),
    Rule(
        code="XE027",
        name="missing-errors-alarm",
        kind="terraform",
        severity="error",
        message="Lambda without an AWS/Lambda Errors alarm (alarms are defined in this tree): add one",
        spec=("FR-040", "SC-017"),
        rationale="A function that fails on every invocation is otherwise silent.",
        filename="main.tf",
    ),
    Rule(
        code="XE028",
        name="missing-duration-alarm",
        kind="terraform",
        severity="error",
        message="Lambda without a p95 Duration alarm (alarms are defined in this tree): add one at "
        "80-90% of its timeout",
        spec=("FR-041", "SC-017"),
        rationale="Latency creeping towards the timeout is the warning before timeouts begin.",
        filename="main.tf",
    ),
    Rule(
        code="XE029",
        name="latency-threshold",
        kind="terraform",
        severity="error",
        message="p95 Duration alarm threshold outside 80-90% of the function's timeout: recalibrate it",
        spec=("FR-061",),
        rationale="At 42% of the timeout the alarm is noise; above 90% it fires after timeouts began.",
        filename="main.tf",
    ),
    Rule(
        code="XE030",
        name="cors-allow-trace-header",
        kind="terraform",
        severity="error",
        message="CORS allow_headers without x-amzn-trace-id: add it so browsers may send the trace header",
        spec=("FR-015",),
        rationale="The preflight rejects the request, or the browser drops the header: the frontend's "
        "trace never joins the backend's.",
        filename="main.tf",
    ),
    Rule(
        code="XE031",
        name="cors-expose-trace-header",
        kind="terraform",
        severity="error",
        message="RESPONSE_STREAM Function URL CORS without x-amzn-trace-id in expose_headers: add it",
        spec=("FR-082",),
        rationale="The browser cannot read the response's trace ID, so a reconnection cannot name its "
        "previous trace.",
        filename="main.tf",
    ),
    Rule(
        code="XE061",
        name="second-tracing-backend-terraform",
        kind="terraform",
        severity="error",
        message="second tracing backend (OTEL_EXPORTER_OTLP_ENDPOINT not on loopback, a non-OTLP "
        "OTEL_TRACES_EXPORTER, or a tracing vendor's layer on a Lambda): X-Ray is the fleet's "
        "only tracing system; remove it, or keep a deliberate one with `# xe: ignore[XE061]` and "
        "the reason",
        spec=(),
        rationale="The endpoint variable redirects the OpenTelemetry exporter past the collector "
        "extension: the spans leave the account for another system and never reach X-Ray.",
        filename="main.tf",
    ),
)
"""The rules this analyser emits (the registry, ``_registry.py``, gathers every analyser's)."""


class Resource:
    """One ``resource "type" "name"`` or ``module "name"`` block, with its stack (directory)."""

    # Plain classes here, not dataclasses: see check/_model.py (start-up time).
    __slots__ = ("body", "directory", "end", "key_lines", "line", "name", "source", "type")

    def __init__(
        self,
        type: str,
        name: str,
        body: Block,
        source: SourceFile,
        line: int,
        end: int = 0,
        directory: str = "",
        key_lines: dict[str, int] | None = None,
    ) -> None:
        self.type = type
        self.name = name
        self.body = body
        self.source = source
        self.line = line
        self.end = end
        self.directory = directory
        self.key_lines: dict[str, int] = {} if key_lines is None else key_lines

    def __repr__(self) -> str:
        return f"Resource({self.address!r}, line={self.line!r}, directory={self.directory!r})"

    @property
    def address(self) -> str:
        return f"module.{self.name}" if self.type == "module" else f"{self.type}.{self.name}"

    def at(self, key: str) -> int:
        """The line of ``key = ...`` inside this block, or its header line."""
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


def _string(value: Value) -> str | None:
    """A literal as text (``None``: absent, or not a literal)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, Unknown | list | dict):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _headers(value: Value) -> list[str] | None:
    """A header list in lower case; ``None`` when an item (or the list) is not a literal."""
    if isinstance(value, str):
        return [value.lower()]
    if value is None:
        return []
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        return None
    return [v.lower() for v in value]


def _block_from_json(name: str, body: dict[str, Any], labels: tuple[str, ...] = ()) -> Block:
    block = Block(name, labels)
    for key, value in body.items():
        if key == "dynamic" and isinstance(value, dict):
            for label, inner in value.items():
                for one in inner if isinstance(inner, list) else [inner]:
                    if isinstance(one, dict):
                        block.blocks.append(_block_from_json("dynamic", one, (str(label),)))
        elif key in _JSON_BLOCKS and isinstance(value, dict | list):
            for one in value if isinstance(value, list) else [value]:
                if isinstance(one, dict):
                    block.blocks.append(_block_from_json(key, one))
        else:
            block.attributes[key] = Attribute(_json_value(value), 0)
    return block


def _json_value(value: object) -> Value:
    if isinstance(value, str):
        return Unknown(value) if ("${" in value or "%{" in value) else value
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float):
        return value
    return Unknown(str(value))


def parse(source: SourceFile, directory: str = "") -> list[Resource]:
    r"""The resources and module calls of one file; raises ``ValueError`` when the file does not parse.

    Example:
        >>> tf = 'resource "aws_sns_topic" "alerts" {\n  name = "a"\n}\n'
        >>> [(r.address, r.line) for r in parse(SourceFile("main.tf", tf))]
        [('aws_sns_topic.alerts', 1)]
    """
    if source.path.endswith(".json"):
        import json  # only for .tf.json

        try:
            document = json.loads(source.text)
        except json.JSONDecodeError as error:
            raise ValueError(f"invalid JSON: {error}") from error
        return list(_from_json(document, source, directory))
    root = parse_hcl(source.text)
    found: list[Resource] = []
    for block in root.blocks:
        if block.type == "resource" and len(block.labels) == 2:
            found.append(Resource(*block.labels, block, source, block.line, block.end, directory))
        elif block.type == "module" and len(block.labels) == 1:
            found.append(Resource("module", block.labels[0], block, source, block.line, block.end, directory))
    return found


def _from_json(document: object, source: SourceFile, directory: str) -> Iterator[Resource]:
    if not isinstance(document, dict):
        return
    groups = document.get("resource", [])
    for group in groups if isinstance(groups, list) else [groups]:
        if not isinstance(group, dict):
            continue
        for type_name, instances in group.items():
            if not isinstance(instances, dict):
                continue
            for name, body in instances.items():
                for one in body if isinstance(body, list) else [body]:
                    if isinstance(one, dict):
                        line = _json_line(source, name)
                        block = _block_from_json("resource", one, (type_name, name))
                        yield Resource(type_name, name, block, source, line, line, directory)
    modules = document.get("module", {})
    for group in modules if isinstance(modules, list) else [modules]:
        for name, body in group.items() if isinstance(group, dict) else ():
            if isinstance(body, dict):
                line = _json_line(source, name)
                yield Resource(
                    "module", name, _block_from_json("module", body, (name,)), source, line, line, directory
                )


def _json_line(source: SourceFile, name: str) -> int:
    marker = _JSON_HEADER.format(name=name)
    return next((n for n, t in enumerate(source.lines, 1) if marker in t), 1)


class _Lambda:
    """A function, from an ``aws_lambda_function`` or a call of the Lambda module."""

    __slots__ = ("env", "module", "resource", "streaming")

    def __init__(
        self,
        resource: Resource,
        module: bool,
        env: dict[str, Value] | Unknown,
        streaming: bool | Unknown = False,
    ) -> None:
        self.resource = resource
        self.module = module
        self.env = env
        self.streaming = streaming

    @property
    def address(self) -> str:
        return self.resource.address

    @property
    def function_name(self) -> Value:
        return self.resource.body.get("function_name")

    @property
    def timeout(self) -> Value:
        return self.resource.body.get("timeout", _DEFAULT_TIMEOUT_S)


def _module_source(resource: Resource) -> str:
    return _string(resource.body.get("source")) or ""


def _env(resource: Resource, module: bool) -> dict[str, Value] | Unknown:
    body = resource.body
    if module:
        variables = body.get("environment_variables", {})
        return variables if isinstance(variables, dict) else Unknown(str(getattr(variables, "text", "")))
    if body.dynamic("environment"):
        return Unknown('dynamic "environment"')
    env: dict[str, Value] = {}
    for block in body.children("environment"):
        variables = block.get("variables", {})
        if not isinstance(variables, dict):
            return Unknown(getattr(variables, "text", "") or str(variables))
        env.update(variables)
    return env


class _Stack:
    """The resources of one directory, and the rules over them."""

    def __init__(self, resources: list[Resource], hits: list[Placed], notes: list[Placed]) -> None:
        self.resources = resources
        self.hits = hits
        self.notes = notes
        self.lambdas: dict[str, _Lambda] = {}
        self.alarms: list[Resource] = []
        self.unresolved_alarms: list[Resource] = []
        for resource in resources:
            if resource.type == "aws_lambda_function":
                self.lambdas[resource.address] = _Lambda(resource, False, _env(resource, False))
            elif resource.type == "aws_cloudwatch_metric_alarm":
                self.alarms.append(resource)
            elif resource.type == "module":
                source = _module_source(resource)
                if _LAMBDA_MODULE.search(source) and not self._disabled(resource):
                    self.lambdas[resource.address] = _Lambda(resource, True, _env(resource, True))
                elif _ALARM_MODULE.search(source):
                    self.alarms.append(resource)
                elif _OTHER_ALARM_MODULE.search(source):
                    self.unresolved_alarms.append(resource)
        self.urls = [r for r in resources if r.type == "aws_lambda_function_url"]

    @staticmethod
    def _disabled(resource: Resource) -> bool:
        return any(resource.body.get(key) is False for key in ("create", "create_function"))

    def hit(self, resource: Resource, code: str, key: str = "", detail: str = "") -> None:
        line = resource.at(key) if key else resource.line
        text = resource.source.line(line)
        self.hits.append((resource.source.path, (code, line, len(text) - len(text.lstrip()) + 1, detail)))

    def note(self, resource: Resource, codes: str, key: str, value: Value) -> None:
        """A value a rule would judge, left alone because it is not a literal (or a ``dynamic`` block)."""
        dynamic = key.startswith("dynamic ")
        if dynamic:
            label = key.split(" ", 1)[1]
            blocks = [b for b in resource.body.blocks if b.type == "dynamic" and b.labels[:1] == (label,)]
            line = blocks[0].line if blocks and blocks[0].line else resource.at("dynamic")
        else:
            line = resource.at(key) if key else resource.line
        text = resource.source.line(line)
        shown = " ".join((value.text if isinstance(value, Unknown) else str(value)).split())
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        detail = (
            f'{resource.address}: dynamic "{key[8:]}" block'
            if dynamic
            else f"{resource.address}: {key or 'value'} = {shown}"
        )
        self.notes.append((resource.source.path, (codes, line, len(text) - len(text.lstrip()) + 1, detail)))

    def targets(self, value: Value) -> tuple[set[str], bool]:
        """The functions of this stack a ``function_name``/``FunctionName`` value names; False: unknowable."""
        if isinstance(value, Unknown):
            named = {a or b for a, b in _REFERENCE.findall(value.text)}
            same = {address for address, fn in self.lambdas.items() if fn.function_name == value}
            return (named & set(self.lambdas)) | same, bool(named or same)
        text = _string(value)
        if text is None:
            return set(), value is None
        return {address for address, fn in self.lambdas.items() if fn.function_name == text}, True

    # -- the rules --------------------------------------------------------------------------------
    def run(self) -> None:
        self._streaming()
        for function in self.lambdas.values():
            self._function(function)
        for alarm in self.alarms:
            self._missing_data(alarm)
        for url in self.urls:
            streaming = self._invoke_mode(url.body.get("invoke_mode", "BUFFERED"))
            if url.body.dynamic("cors"):
                self.note(url, "XE030, XE031", "dynamic cors", Unknown(""))
            blocks = url.body.children("cors")
            if blocks:
                self._cors(url, blocks[0], streaming, "allow_headers", "expose_headers")
        for resource in self.resources:
            if resource.type == "aws_apigatewayv2_api":
                if resource.body.dynamic("cors_configuration"):
                    self.note(resource, "XE030", "dynamic cors_configuration", Unknown(""))
                for block in resource.body.children("cors_configuration")[:1]:
                    self._cors(resource, block, False, "allow_headers", "")
            elif resource.type == "module" and _APIGW_MODULE.search(_module_source(resource)):
                self._cors_input(resource, "cors_configuration", False)
        if self.alarms or self.unresolved_alarms:
            self._alarm_coverage()

    @staticmethod
    def _invoke_mode(value: Value) -> bool | Unknown:
        text = _string(value)
        return value if isinstance(value, Unknown) else (text or "").upper() == "RESPONSE_STREAM"

    def _streaming(self) -> None:
        for url in self.urls:
            mode = self._invoke_mode(url.body.get("invoke_mode", "BUFFERED"))
            if mode is False:
                continue
            for address in self.targets(url.body.get("function_name"))[0]:
                if self.lambdas[address].streaming is not True:
                    self.lambdas[address].streaming = mode
        for function in self.lambdas.values():
            if function.resource.source.streaming:
                function.streaming = True
            elif function.module:
                body = function.resource.body
                mode = self._invoke_mode(body.get("invoke_mode", "BUFFERED"))
                if body.get("create_lambda_function_url", False) is not False:
                    function.streaming = mode
                    if mode is not False:
                        self._cors_input(function.resource, "cors", mode)
                elif isinstance(mode, Unknown):
                    function.streaming = mode

    def _function(self, function: _Lambda) -> None:
        resource, env = function.resource, function.env
        if isinstance(env, Unknown):
            key = "environment_variables" if function.module else "variables"
            self.note(
                resource,
                _ENV_CODES,
                key if env.text != 'dynamic "environment"' else "dynamic environment",
                env,
            )
        else:
            self._environment(function, env)
        self._tracing(function)
        streaming = function.streaming
        if isinstance(streaming, Unknown):
            self.note(resource, "XE022, XE024, XE031", "invoke_mode", streaming)
        elif streaming:
            self._streaming_function(function, env)

    def _environment(self, function: _Lambda, env: dict[str, Value]) -> None:
        resource = function.resource
        if "OTEL_PROPAGATORS" in env:
            self.hit(resource, "XE020", "OTEL_PROPAGATORS", resource.address)
        if "AWS_LAMBDA_EXEC_WRAPPER" in env and self._uses_powertools(resource, env):
            self.hit(resource, "XE021", "AWS_LAMBDA_EXEC_WRAPPER", resource.address)
        sampler = env.get("OTEL_TRACES_SAMPLER")
        if isinstance(sampler, Unknown):
            self.note(resource, "XE007", "OTEL_TRACES_SAMPLER", sampler)
        elif (_string(sampler) or "").lower() == "always_on":
            self.hit(resource, "XE007", "OTEL_TRACES_SAMPLER", resource.address)
        for variable in ENDPOINT_VARIABLES:
            endpoint = env.get(variable)
            if isinstance(endpoint, Unknown):
                self.note(resource, "XE061", variable, endpoint)
            elif isinstance(endpoint, str) and not is_xray_destination(endpoint):
                self.hit(resource, "XE061", variable, f"{resource.address}: {variable} = {endpoint}")
        exporter = _string(env.get("OTEL_TRACES_EXPORTER"))
        elsewhere = traces_exporter_elsewhere(exporter) if exporter else None
        if elsewhere:
            self.hit(resource, "XE061", "OTEL_TRACES_EXPORTER", f"{resource.address}: {elsewhere} exporter")
        layers = resource.body.get("layers")
        for layer in layers if isinstance(layers, list) else []:
            arn = layer.text if isinstance(layer, Unknown) else layer
            if isinstance(arn, str) and vendor_layer(arn):
                self.hit(resource, "XE061", "layers", f"{resource.address}: layer {arn}")
                break

    @staticmethod
    def _uses_powertools(resource: Resource, env: dict[str, Value]) -> bool:
        if any(key.startswith("POWERTOOLS_") for key in env):
            return True
        layers = resource.body.get("layers")
        texts = [getattr(v, "text", v) for v in layers] if isinstance(layers, list) else []
        return any(isinstance(t, str) and "powertools" in t.lower() for t in texts)

    def _tracing(self, function: _Lambda) -> None:
        resource = function.resource
        if function.module:
            mode = resource.body.get("tracing_mode")
            if isinstance(mode, Unknown):
                self.note(resource, "XE023", "tracing_mode", mode)
            elif mode != "Active":
                key = "tracing_mode" if "tracing_mode" in resource.body.attributes else ""
                detail = (
                    f"{resource.address}: tracing_mode = {mode!r}"
                    if key
                    else f"{resource.address}: no tracing_mode"
                )
                self.hit(resource, "XE023", key, detail)
            return
        if resource.body.dynamic("tracing_config"):
            self.note(resource, "XE023", "dynamic tracing_config", Unknown(""))
            return
        modes = [b.get("mode") for b in resource.body.children("tracing_config")]
        unknown = next((m for m in modes if isinstance(m, Unknown)), None)
        if unknown is not None:
            self.note(resource, "XE023", "mode", unknown)
        elif "Active" not in modes:
            self.hit(resource, "XE023", "tracing_config" if modes else "", resource.address)

    def _streaming_function(self, function: _Lambda, env: dict[str, Value] | Unknown) -> None:
        resource = function.resource
        if function.module:
            subnets = resource.body.get("vpc_subnet_ids")
            if isinstance(subnets, Unknown):
                self.note(resource, "XE022", "vpc_subnet_ids", subnets)
            elif subnets:
                self.hit(resource, "XE022", "vpc_subnet_ids", resource.address)
        elif resource.body.children("vpc_config"):
            self.hit(resource, "XE022", "vpc_config", resource.address)
        if isinstance(env, Unknown):
            return
        service, powertools = env.get("OTEL_SERVICE_NAME"), env.get("POWERTOOLS_SERVICE_NAME")
        key = "environment_variables" if function.module else "variables"
        if isinstance(service, Unknown) or isinstance(powertools, Unknown):
            if service != powertools:
                self.note(
                    resource,
                    "XE024",
                    "OTEL_SERVICE_NAME",
                    service if isinstance(service, Unknown) else powertools,
                )
        elif not service:
            self.hit(resource, "XE024", key, f"{resource.address}: OTEL_SERVICE_NAME is not set")
        elif powertools is not None and service != powertools:
            self.hit(
                resource,
                "XE024",
                "OTEL_SERVICE_NAME",
                f"{resource.address}: OTEL_SERVICE_NAME={service!r}, POWERTOOLS_SERVICE_NAME={powertools!r}",
            )

    def _missing_data(self, alarm: Resource) -> None:
        body = alarm.body
        words = " ".join(
            (_string(body.get(k)) or "").lower() for k in ("metric_name", "namespace", "alarm_name")
        )
        treat_value = body.get("treat_missing_data", "missing")
        absence = any(word in words for word in _ABSENCE_WORDS)
        error = any(word in (_string(body.get("metric_name")) or "").lower() for word in _ERROR_WORDS)
        if isinstance(treat_value, Unknown):
            if absence or error:
                self.note(alarm, "XE025, XE026", "treat_missing_data", treat_value)
            return
        treat = _string(treat_value) or "missing"
        if absence:
            if treat != "breaching":
                self.hit(
                    alarm,
                    "XE025",
                    "treat_missing_data" if "treat_missing_data" in body.attributes else "",
                    f"{alarm.address}: treat_missing_data = {treat!r}",
                )
        elif error and treat == "breaching":
            self.hit(
                alarm, "XE026", "treat_missing_data", f"{alarm.address} on {_string(body.get('metric_name'))}"
            )

    def _alarm_coverage(self) -> None:
        errors: set[str] = set()
        durations: dict[str, list[Resource]] = {}
        unresolved = {"Errors": list(self.unresolved_alarms), "Duration": list(self.unresolved_alarms)}
        for alarm in self.alarms:
            body = alarm.body
            namespace, metric = body.get("namespace"), body.get("metric_name")
            if body.children("metric_query") or "metric_query" in body.attributes:
                unresolved["Errors"].append(alarm)
                unresolved["Duration"].append(alarm)
                continue
            if isinstance(namespace, Unknown) or isinstance(metric, Unknown):
                unresolved["Errors"].append(alarm)
                unresolved["Duration"].append(alarm)
                continue
            if namespace != "AWS/Lambda" or metric not in ("Errors", "Duration"):
                continue
            dimensions = body.get("dimensions")
            if isinstance(dimensions, dict):
                targets, known = self.targets(dimensions.get("FunctionName"))
            else:
                targets, known = set(), dimensions is None
            if not known:
                unresolved[str(metric)].append(alarm)
            if metric == "Errors":
                errors |= targets
            elif (_string(body.get("extended_statistic")) or "").lower() == "p95":
                for target in targets:
                    durations.setdefault(target, []).append(alarm)
        for address, function in self.lambdas.items():
            resource = function.resource
            if address not in errors:
                if unresolved["Errors"]:
                    self._coverage_note(resource, "XE027", unresolved["Errors"][0])
                else:
                    self.hit(resource, "XE027", detail=address)
            if address not in durations:
                if unresolved["Duration"]:
                    self._coverage_note(resource, "XE028", unresolved["Duration"][0])
                else:
                    self.hit(resource, "XE028", detail=address)
                continue
            self._threshold(function, durations[address])

    def _coverage_note(self, resource: Resource, code: str, alarm: Resource) -> None:
        self.note(
            resource, code, "", Unknown(f"alarm {alarm.address} watches a function named by an expression")
        )

    def _threshold(self, function: _Lambda, alarms: list[Resource]) -> None:
        timeout = _number(function.timeout)
        if timeout is None:
            self.note(function.resource, "XE029", "timeout", function.timeout)
            return
        for alarm in alarms:
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

    def _cors_input(self, resource: Resource, key: str, streaming: bool | Unknown) -> None:
        """A module's CORS input (an object with the resource's attribute names)."""
        cors = resource.body.get(key)
        if isinstance(cors, Unknown):
            self.note(resource, "XE030, XE031", key, cors)
        elif isinstance(cors, dict) and cors:
            block = Block(key)
            block.attributes = {k: Attribute(v, 0) for k, v in cors.items()}
            self._cors(resource, block, streaming, "allow_headers", "expose_headers")

    def _cors(
        self, resource: Resource, cors: Block, streaming: bool | Unknown, allow_key: str, expose_key: str
    ) -> None:
        allowed = _headers(cors.get(allow_key))
        if allowed is None:
            self.note(resource, "XE030", allow_key, cors.get(allow_key))
        elif _TRACE_HEADER not in allowed and "*" not in allowed:
            self.hit(resource, "XE030", allow_key if allow_key in cors.attributes else "", resource.address)
        if not expose_key or streaming is False:
            return
        exposed = _headers(cors.get(expose_key))
        if exposed is None or isinstance(streaming, Unknown):
            self.note(resource, "XE031", expose_key, cors.get(expose_key) if exposed is None else streaming)
        elif _TRACE_HEADER not in exposed and "*" not in exposed:
            self.hit(resource, "XE031", expose_key if expose_key in cors.attributes else "", resource.address)


# A note's value that is a bare variable, and that variable's literal default (one line) in its block.
_VARIABLE_VALUE = r"= var\.([A-Za-z_][A-Za-z0-9_-]*)\Z"
_DEFAULT = r'(?m)^[ \t]*default[ \t]*=[ \t]*("(?:[^"\\\n]|\\.)*"|true|false|-?\d+(?:\.\d+)?)[ \t]*$'


def variable_default(detail: str, texts: Iterable[str]) -> str | None:
    r"""The literal default of the variable a note's value is (``= var.NAME``), from its directory's texts.

    Textual (the pre-filter may have skipped ``variables.tf``): a ``variable "NAME"`` block at column 0
    whose ``default`` is a string, number or bool literal on one line; ``None`` otherwise.

    Example:
        >>> tf = 'variable "tracing_mode" {\n  type    = string\n  default = "PassThrough"\n}\n'
        >>> variable_default("aws_lambda_function.fn: mode = var.tracing_mode", [tf])
        '"PassThrough"'
        >>> variable_default("aws_lambda_function.fn: mode = var.other", [tf]) is None
        True
    """
    named = re.search(_VARIABLE_VALUE, detail)
    if named is None:
        return None
    name = named.group(1)
    for text in texts:
        if name not in text:
            continue
        block = re.search(rf'(?ms)^variable[ \t]+"{re.escape(name)}"[ \t]*\{{(.*?)^\}}', text)
        if block is not None:
            value = re.search(_DEFAULT, block.group(1))
            return value.group(1) if value else None
    return None


def analyse(resources: Iterable[Resource]) -> tuple[list[Placed], list[Placed]]:
    r"""Every Terraform rule, stack by stack (directory by directory): the findings, and the notes.

    Notes are values a rule would judge but cannot, because they are not literals; in a note's hit
    the code is then the codes left unjudged (``"XE030, XE031"``).

    Example:
        >>> tf = 'resource "aws_lambda_function" "f" {\n  function_name = "f"\n}\n'
        >>> analyse(parse(SourceFile("main.tf", tf)))
        ([('main.tf', ('XE023', 1, 1, 'aws_lambda_function.f'))], [])
    """
    stacks: dict[str, list[Resource]] = {}
    for resource in resources:
        stacks.setdefault(resource.directory, []).append(resource)
    hits: list[Placed] = []
    notes: list[Placed] = []
    for directory in sorted(stacks):
        _Stack(stacks[directory], hits, notes).run()
    return hits, notes
