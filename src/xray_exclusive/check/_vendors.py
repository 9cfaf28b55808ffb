"""What a second tracing backend looks like: vendor SDKs, layers, images, exporters, and remote endpoints.

X-Ray is the fleet's only tracing system: spans go to X-Ray directly (X-Ray SDK, Powertools) or through
the collector extension on loopback (OTLP to ``localhost:4318``). Anything else is a second destination.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Python distributions' import names -> the backend they send traces to.
_PYTHON_MODULES = {
    "ddtrace": "Datadog",
    "datadog_lambda": "Datadog",
    "newrelic": "New Relic",
    "newrelic_lambda": "New Relic",
    "lumigo_tracer": "Lumigo",
    "lumigo_opentelemetry": "Lumigo",
    "epsagon": "Epsagon",
    "thundra": "Thundra",
    "elasticapm": "Elastic APM",
    "beeline": "Honeycomb",
    "honeycomb": "Honeycomb",
    "instana": "Instana",
    "oneagent": "Dynatrace",
    "jaeger_client": "Jaeger",
    "py_zipkin": "Zipkin",
    "splunk_otel": "Splunk",
    "signalfx_tracing": "SignalFx",
    "scout_apm": "Scout APM",
    "skywalking": "SkyWalking",
    "lightstep": "Lightstep",
}
# OpenTelemetry exporters that send spans somewhere other than an OTLP endpoint.
_OTEL_EXPORTERS = {
    "opentelemetry.exporter.jaeger": "Jaeger",
    "opentelemetry.exporter.zipkin": "Zipkin",
    "opentelemetry.exporter.cloud_trace": "Google Cloud Trace",
    "opentelemetry.exporter.datadog": "Datadog",
    "azure.monitor.opentelemetry": "Azure Monitor",
}
# Modules of those distributions that do not trace (Datadog's metric submission, for instance).
_NOT_TRACING = ("datadog_lambda.metric",)
_TEXTUAL = (*_PYTHON_MODULES, "opentelemetry.exporter.", "azure.monitor.opentelemetry")

# Lambda layers, container images and packages of tracing vendors (lower case, matched as substrings).
# (Patterns compiled by `re` on first use and cached there, not at import: start-up.)
_VENDOR_LAYER = (
    r":layer:[^:]*(datadog|newrelic|lumigo|dynatrace|instana|epsagon|thundra|honeycomb|appdynamics)"
)
_VENDOR_IMAGE = (
    r"(?:^|/)(datadog/lambda-extension|newrelic/newrelic-lambda-extension|lumigo/|dynatrace/|instana/"
    r"|epsagon/|thundra/|honeycombio/|elastic/apm-lambda-extension)"
)
_VENDOR_PACKAGES = frozenset(
    {
        "ddtrace",
        "datadog-lambda",
        "datadog_lambda",
        "dd-trace",
        "newrelic",
        "newrelic-lambda",
        "lumigo-tracer",
        "lumigo_tracer",
        "@lumigo/tracer",
        "epsagon",
        "thundra",
        "elastic-apm",
        "elastic-apm-node",
        "honeycomb-beeline",
        "instana",
        "@instana/aws-lambda",
        "splunk-opentelemetry",
        "opentelemetry-exporter-jaeger",
        "opentelemetry-exporter-zipkin",
    }
)
# Collector exporters that keep traces on the machine (or send them to X-Ray).
LOCAL_EXPORTERS = frozenset({"awsxray", "debug", "logging", "nop", "file"})
_LOOPBACK_HOSTS = frozenset({"localhost", "::1", "0.0.0.0", "ip6-localhost"})
_NON_OTLP_TRACES_EXPORTERS = frozenset({"jaeger", "zipkin", "datadog", "gcp_trace", "azure_monitor"})


def vendor_module(name: str, *, textual: bool = False) -> str | None:
    """The backend a Python module sends traces to (``None``: not a tracing vendor).

    With ``textual``, ``name`` is a whole file and the answer only says "some vendor word appears in one of
    its import statements" (see :func:`imports_a_vendor`).

    Example:
        >>> vendor_module("ddtrace.auto"), vendor_module("opentelemetry.exporter.zipkin.json")
        ('Datadog', 'Zipkin')
        >>> vendor_module("json") is None
        True
    """
    if textual:
        return "?" if imports_a_vendor(name) else None
    top = name.split(".", 1)[0]
    if name.startswith(_NOT_TRACING):
        return None
    if top in _PYTHON_MODULES:
        return _PYTHON_MODULES[top]
    for prefix, vendor in _OTEL_EXPORTERS.items():
        if name == prefix or name.startswith(prefix + "."):
            return vendor
    return None


def imports_a_vendor(text: str) -> bool:
    r"""Whether a vendor's module name appears in a line of ``text`` that says ``import``.

    The checker's textual pre-filter, so over-inclusive (a comment, a string, ``import_module(...)`` count).

    Only the lines around each ``import`` are searched (with their backslash continuations), once, joined:
    three times faster than searching the whole file for each name.

    Example:
        >>> imports_a_vendor("import json\nfrom opentelemetry.exporter import jaeger\n")
        True
        >>> imports_a_vendor("# ddtrace: see its docs\nimport json\n")
        False
    """
    lines = []
    size = len(text)
    at = text.find("import")
    while at != -1:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = size if end == -1 else end
        while end < size and text[start:end].rstrip().endswith("\\"):
            following = text.find("\n", end + 1)
            end = size if following == -1 else following
        lines.append(text[start:end])
        at = text.find("import", end)
    imports = "\n".join(lines).replace(" import ", ".")  # `from a.b import c` also as `a.b.c`
    return any(word in imports for word in _TEXTUAL)


def is_loopback(endpoint: str) -> bool:
    """Whether an endpoint (URL or ``host:port``) is this machine: the collector extension's side of Lambda.

    Example:
        >>> is_loopback("http://localhost:4318"), is_loopback("127.0.0.1:4317")
        (True, True)
        >>> is_loopback("https://api.honeycomb.io")
        False
    """
    text = endpoint.strip()
    if not text:
        return True  # empty: the exporter's default, localhost
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    except ValueError:
        return False
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


_XRAY_OTLP_HOST = r"^xray\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"


ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
"""The variables that send OTLP traces somewhere, in the order the Terraform analyser reports them."""


def is_xray_destination(endpoint: str) -> bool:
    """Loopback (the collector extension) or X-Ray's own OTLP endpoint (Transaction Search): not a second one.

    Example:
        >>> is_xray_destination("https://xray.eu-west-1.amazonaws.com/v1/traces")
        True
        >>> is_xray_destination("localhost:4318")
        True
        >>> is_xray_destination("https://otlp.eu-west-1.example.com/v1/traces")
        False
    """
    if is_loopback(endpoint):
        return True
    text = endpoint.strip()
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    except ValueError:
        return False
    return bool(re.match(_XRAY_OTLP_HOST, host))


def vendor_layer(arn: str) -> bool:
    """A Lambda layer ARN of a tracing vendor (Datadog, New Relic, Lumigo...)."""
    return bool(re.search(_VENDOR_LAYER, arn, re.IGNORECASE))


def vendor_image(reference: str) -> bool:
    """A container image of a tracing vendor's Lambda extension."""
    return bool(re.search(_VENDOR_IMAGE, reference, re.IGNORECASE))


def vendor_package(requirement: str) -> str | None:
    """A pip/npm install argument naming a tracing vendor's package (``ddtrace==2.1``, ``dd-trace``)."""
    name = re.split(r"[=<>!~\[;@ ]", requirement.strip("'\""), maxsplit=1)[0] if requirement else ""
    if requirement.startswith("@"):
        name = "@" + re.split(r"[=<>!~\[;@ ]", requirement[1:].strip("'\""), maxsplit=1)[0]
    return name if name.lower() in _VENDOR_PACKAGES else None


def traces_exporter_elsewhere(value: str) -> str | None:
    """``OTEL_TRACES_EXPORTER`` naming a non-OTLP exporter (``zipkin``, ``jaeger``...)."""
    names = {v.strip().lower() for v in value.split(",")}
    found = sorted(names & _NON_OTLP_TRACES_EXPORTERS)
    return found[0] if found else None
