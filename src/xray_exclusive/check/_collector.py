"""OpenTelemetry collector YAML rules: the traces pipeline the SSE Lambda's extension runs."""

from __future__ import annotations

from typing import Any

from ._model import SourceFile

# (code, line, col, detail)
Hit = tuple[str, int, int, str]

_EXTRA_EXTENSIONS = ("zpages", "pprof")
_DEFAULT_OTLP_HTTP_PORT = "4318"


def _type(component: str) -> str:
    return component.split("/", 1)[0]


class _Document:
    """The YAML mapping and its node tree (for line numbers)."""

    def __init__(self, source: SourceFile) -> None:
        import yaml

        try:
            self.node = yaml.compose(source.text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(source.text)
        except yaml.YAMLError as error:
            raise ValueError(str(error).replace("\n", " ")) from error

    def position(self, *path: str) -> tuple[int, int]:
        """Line and column (1-based) of the key at ``path``, or of the deepest key found."""
        import yaml

        node, line, col = self.node, 1, 1
        for key in path:
            if not isinstance(node, yaml.MappingNode):
                break
            for key_node, value_node in node.value:
                if key_node.value == key:
                    line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                    node = value_node
                    break
            else:
                break
        return line, col


def is_collector_config(data: object) -> bool:
    """A mapping with ``service.pipelines`` and ``receivers`` or ``exporters``: a collector configuration.

    Example:
        >>> is_collector_config({"receivers": {}, "service": {"pipelines": {}}})
        True
        >>> is_collector_config({"service": {}})
        False
    """
    if not isinstance(data, dict) or not isinstance(data.get("service"), dict):
        return False
    return "pipelines" in data["service"] and ("receivers" in data or "exporters" in data)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _listed(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def analyse(source: SourceFile) -> list[Hit] | None:
    r"""Every collector rule over one YAML file; ``None`` when it is not a collector configuration.

    Example:
        >>> yaml_text = "receivers: {otlp: {protocols: {http: {}}}}\nexporters: {awsxray: {}}\n" \
        ...     "service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray]}}}\n"
        >>> [hit[0] for hit in analyse(SourceFile("c.yaml", yaml_text))]
        ['XE050']
    """
    document = _Document(source)
    data = document.data
    if not is_collector_config(data):
        return None
    hits: list[Hit] = []

    def hit(code: str, path: tuple[str, ...], detail: str = "") -> None:
        line, col = document.position(*path)
        hits.append((code, line, col, detail))

    pipelines = _mapping(data["service"].get("pipelines"))
    receivers = _mapping(data.get("receivers"))
    traces = {name: _mapping(p) for name, p in pipelines.items() if _type(str(name)) == "traces"}
    if not traces:
        hit("XE052", ("service", "pipelines"), "no traces pipeline")
        hit("XE053", ("service", "pipelines"), "no traces pipeline")
    for name, pipeline in traces.items():
        where = ("service", "pipelines", name)
        processors = _listed(pipeline.get("processors"))
        decouples = [i for i, p in enumerate(processors) if _type(p) == "decouple"]
        if not decouples:
            hit("XE050", (*where, "processors") if "processors" in pipeline else where, f"pipeline {name}")
        elif decouples[-1] != len(processors) - 1:
            hit("XE051", (*where, "processors"), f"pipeline {name}: {processors}")
        if not any(
            _otlp_http_4318(receivers.get(r))
            for r in _listed(pipeline.get("receivers"))
            if _type(r) == "otlp"
        ):
            hit("XE052", (*where, "receivers") if "receivers" in pipeline else where, f"pipeline {name}")
        if not any(_type(e) == "awsxray" for e in _listed(pipeline.get("exporters"))):
            hit("XE053", (*where, "exporters") if "exporters" in pipeline else where, f"pipeline {name}")
    for name in pipelines:
        if _type(str(name)) != "traces":
            hit("XE054", ("service", "pipelines", str(name)), f"pipeline {name}")
    for section in ("receivers", "exporters"):
        for name in _mapping(data.get(section)):
            if _type(str(name)).startswith("prometheus"):
                hit("XE054", (section, str(name)), f"{section[:-1]} {name}")
    for name in _mapping(data.get("extensions")):
        if _type(str(name)) in _EXTRA_EXTENSIONS:
            hit("XE054", ("extensions", str(name)), f"extension {name}")
    return hits


def _otlp_http_4318(config: object) -> bool:
    protocols = _mapping(_mapping(config).get("protocols"))
    if "http" not in protocols:
        return False
    endpoint = str(_mapping(protocols["http"]).get("endpoint") or "")
    return not endpoint or endpoint.rsplit(":", 1)[-1] == _DEFAULT_OTLP_HTTP_PORT
