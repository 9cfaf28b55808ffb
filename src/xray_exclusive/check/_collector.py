"""OpenTelemetry collector YAML rules: the traces pipeline the SSE Lambda's extension runs."""

from __future__ import annotations

import re

from ._model import Hit, Rule, SourceFile
from ._vendors import LOCAL_EXPORTERS, is_xray_destination

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_EXTRA_EXTENSIONS = ("zpages", "pprof")
_DEFAULT_OTLP_HTTP_PORT = "4318"


RULES = (
    Rule(
        code="XE050",
        name="collector-without-decouple",
        kind="collector",
        severity="error",
        message="traces pipeline without the decouple processor: add decouple as its last processor",
        spec=("FR-075", "FR-090", "SC-031"),
        rationale="Without it the extension lets Lambda freeze while exports are in flight (the ~30% "
        "span loss of aws-otel-lambda#886); containers get no automatic injection. Neither prebuilt layer "
        "has both decouple and the awsxray exporter (ADOT's registers no processor at all): build the "
        "collector with both, as examples/collector/Dockerfile does.",
        filename="collector.yaml",
    ),
    Rule(
        code="XE051",
        name="decouple-not-last",
        kind="collector",
        severity="error",
        message="decouple is not the last processor of the traces pipeline: move it last (after batch)",
        spec=("FR-075", "SC-044"),
        rationale="The decouple processor's README: it 'should always be the last processor in the "
        "list'. Placed before batch, it hands spans to a processor that may still hold them "
        "when the environment freezes.",
        filename="collector.yaml",
    ),
    Rule(
        code="XE052",
        name="collector-without-otlp-http",
        kind="collector",
        severity="error",
        message="traces pipeline without an OTLP HTTP receiver on port 4318: add otlp.protocols.http "
        "(endpoint localhost:4318)",
        spec=("FR-064",),
        rationale="The library's exporter posts to localhost:4318/v1/traces.",
        filename="collector.yaml",
    ),
    Rule(
        code="XE053",
        name="collector-without-awsxray",
        kind="collector",
        severity="error",
        message="traces pipeline without the awsxray exporter: add it",
        spec=("FR-064",),
        rationale="Spans that do not reach X-Ray are spans the operator never sees.",
        filename="collector.yaml",
    ),
    Rule(
        code="XE054",
        name="collector-extra-components",
        kind="collector",
        severity="warning",
        message="collector component a Lambda's tracing extension does not need (metrics/logs pipeline, "
        "prometheus, zpages, pprof): remove it",
        spec=("FR-064",),
        rationale="Every component costs extension memory and INIT time.",
        filename="collector.yaml",
    ),
    Rule(
        code="XE062",
        name="second-tracing-backend-collector",
        kind="collector",
        severity="error",
        message="second tracing backend (an exporter in a traces pipeline that sends spans somewhere "
        "other than X-Ray (otlphttp/otlp to a remote endpoint, a vendor exporter)): X-Ray is the "
        "fleet's only tracing system; remove it from the pipeline, or keep a deliberate one with "
        "`# xe: ignore[XE062]` and the reason",
        spec=(),
        rationale="Every exporter of the traces pipeline receives every span: a second one is a second "
        "tracing system, and one more export the extension waits for before Lambda freezes.",
        filename="collector.yaml",
    ),
)
"""The rules this analyser emits (the registry, ``_registry.py``, gathers every analyser's)."""


def _type(component: str) -> str:
    return component.split("/", 1)[0]


# Receivers that only run outside Lambda (hosts, containers, clusters, log files, daemons): a configuration
# with one of them is another platform's collector, not a Lambda extension's.
_NOT_LAMBDA_RECEIVERS = frozenset(
    {
        "awsecscontainermetrics",
        "awscontainerinsightreceiver",
        "awsxray",
        "hostmetrics",
        "kubeletstats",
        "k8s_cluster",
        "k8s_events",
        "k8sobjects",
        "docker_stats",
        "podman_stats",
        "filelog",
        "journald",
        "statsd",
        "jaeger",
        "zipkin",
        "syslog",
        "tcplog",
        "udplog",
        "collectd",
        "carbon",
        "fluentforward",
        "windowseventlog",
        "windowsperfcounters",
    }
)
_OTHER_PLATFORMS = frozenset({"ecs", "eks", "ec2", "apprunner", "k8s", "kubernetes", "helm", "fargate"})
_PLACEHOLDER = re.compile(r"(:[ \t]+|-[ \t]+)(\{\{[^{}\n]*\}\})")
_TOP_LEVEL = re.compile(r"^(service|receivers|exporters)[ \t]*:", re.M)


def looks_like_collector(text: str) -> bool:
    r"""The textual pre-filter: a collector configuration names ``pipelines`` and receivers or exporters.

    Example:
        >>> looks_like_collector("on: push\njobs: {}\n")
        False
        >>> looks_like_collector("service:\n  pipelines: {}\nexporters: {}")
        True
    """
    return "pipelines" in text and "service" in text and ("receivers" in text or "exporters" in text)


def lambda_extension(data: dict[str, Any], path: str) -> bool:
    """Whether a collector configuration can be a Lambda extension's.

    It has a traces pipeline, no receiver that only runs on hosts, containers or clusters, and is not under
    a directory named for another platform.

    Example:
        >>> config = {"receivers": {"otlp": {}}, "service": {"pipelines": {"traces": {}}}}
        >>> lambda_extension(config, "sse/collector.yaml"), lambda_extension(config, "config/ecs/otel.yaml")
        (True, False)
    """
    if any(_type(str(name)) in _NOT_LAMBDA_RECEIVERS for name in _mapping(data.get("receivers"))):
        return False
    if not any(
        _type(str(name)) == "traces" for name in _mapping(_mapping(data.get("service")).get("pipelines"))
    ):
        return False
    return not (_OTHER_PLATFORMS & {part.lower() for part in path.replace("\\", "/").split("/")[:-1]})


def _collector_at_top_level(text: str) -> bool:
    """``service:`` and ``receivers:``/``exporters:`` at column 0: meant as a collector configuration."""
    keys = set(_TOP_LEVEL.findall(text))
    return "service" in keys and len(keys) >= 2


def _loader_class() -> Any:
    """A safe loader that reads other tools' tags as plain values.

    CloudFormation's ``!Ref``/``!Sub``, mkdocs' ``!!python/name:``: they never matter to a collector.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    def plain(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", plain)
    return Loader


_LOADER: Any = None


class _Document:
    """The YAML mapping and its node tree (for line numbers): the first document that is a collector's."""

    def __init__(self, source: SourceFile) -> None:
        import yaml

        global _LOADER
        if _LOADER is None:
            _LOADER = _loader_class()
        loader = _LOADER(source.text)
        self.node: Any = None
        self.data: Any = None
        try:
            while loader.check_node():
                node = loader.get_node()
                data = loader.construct_document(node)
                if is_collector_config(data):
                    self.node, self.data = node, data
                    break
        except (yaml.YAMLError, TypeError, ValueError, RecursionError) as error:
            raise ValueError(str(error).replace("\n", " ")) from error
        finally:
            loader.dispose()

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
    if not looks_like_collector(source.text):
        return None
    try:
        document = _Document(source)
    except ValueError:
        if "{{" in source.text:  # `endpoint: {{endpoint}}`: a template's placeholders, read as strings
            try:
                document = _Document(SourceFile(source.path, _PLACEHOLDER.sub(r'\1"\2"', source.text)))
            except ValueError:
                retried = None
            else:
                retried = document
        else:
            retried = None
        if retried is None:
            if _collector_at_top_level(source.text):
                raise
            return None  # a template or another tool's YAML that only mentions the words
    data = document.data
    if data is None or not (source.streaming or lambda_extension(data, source.path)):
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
        _second_backend(data, pipeline, where, hit)
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


def _second_backend(data: dict[str, Any], pipeline: dict[str, Any], where: tuple[str, ...], hit: Any) -> None:
    """XE062: an exporter of the traces pipeline that sends spans anywhere but X-Ray (or this machine)."""
    exporters = _mapping(data.get("exporters"))
    connectors = _mapping(data.get("connectors"))
    elsewhere: list[str] = []
    for name in _listed(pipeline.get("exporters")):
        kind = _type(name)
        if kind in LOCAL_EXPORTERS or name in connectors:
            continue
        if kind in ("otlp", "otlphttp"):
            config = _mapping(exporters.get(name))
            endpoint = config.get("endpoint") or config.get("traces_endpoint")
            if not isinstance(endpoint, str) or "${" in endpoint or is_xray_destination(endpoint):
                continue  # no endpoint, one from the environment, or this machine: not judged
            elsewhere.append(f"{name} -> {endpoint}")
        else:
            elsewhere.append(name)
    if elsewhere:
        hit("XE062", (*where, "exporters"), f"pipeline {where[-1]}: {', '.join(elsewhere)}")


def _otlp_http_4318(config: object) -> bool:
    protocols = _mapping(_mapping(config).get("protocols"))
    if "http" not in protocols:
        return False
    endpoint = str(_mapping(protocols["http"]).get("endpoint") or "")
    return not endpoint or endpoint.rsplit(":", 1)[-1] == _DEFAULT_OTLP_HTTP_PORT
