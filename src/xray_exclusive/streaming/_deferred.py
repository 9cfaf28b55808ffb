"""What the streaming tracer defers off the cold start: the OTLP/HTTP exporter, and the Lambda resource.

* :class:`DeferredOTLPExporter` stands for ``OTLPSpanExporter`` and builds it on first use. Its import
  (``requests``, ``urllib3``, the protobuf encoders: about 60 ms of a cold start) happens in the
  background once the first stream has sent its first chunk (:meth:`DeferredOTLPExporter.warm`), else
  on the first export, in the batch processor's thread or in the stream's closing flush; never during
  INIT, never before the first byte. A plain-HTTP loopback endpoint (the collector extension) gets a
  ``requests`` session that does not re-read the proxy, ``.netrc`` and CA bundle settings from the
  environment on every export (:func:`direct_session`).
* :func:`lambda_resource` builds the same ``Resource`` as the AWS extension's
  ``AwsLambdaResourceDetector``, without importing the package that holds it, whose ``__init__`` also
  loads the EC2, ECS and EKS detectors (``urllib.request`` and more, about 15 ms).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = [
    "OTLP_HTTP_PACKAGE",
    "DeferredOTLPExporter",
    "direct_session",
    "is_loopback",
    "lambda_resource",
    "warm_exporter",
]

_logger = logging.getLogger("xray_exclusive.streaming")

OTLP_HTTP_PACKAGE = "opentelemetry.exporter.otlp.proto.http"
"""Where ``OTLPSpanExporter`` lives (``opentelemetry-exporter-otlp-proto-http``)."""


class DeferredOTLPExporter(SpanExporter):
    """``OTLPSpanExporter(endpoint=..., timeout=...)``, built when first needed, at most once.

    The package is looked up (not imported) when this object is made, so a missing exporter still fails
    at INIT. The wrapped exporter reads its other ``OTEL_EXPORTER_OTLP_*`` variables when it is built.

    Example:
        >>> exporter = DeferredOTLPExporter("http://127.0.0.1:9/v1/traces", timeout=0.5)
        >>> exporter.built
        False
        >>> exporter.force_flush()  # nothing built, nothing to flush
        True
        >>> exporter.shutdown()
    """

    def __init__(self, endpoint: str, timeout: float) -> None:
        if importlib.util.find_spec(OTLP_HTTP_PACKAGE) is None:
            raise ModuleNotFoundError(
                f"{OTLP_HTTP_PACKAGE} is not installed: install xray-exclusive[streaming].",
                name=OTLP_HTTP_PACKAGE,
            )
        self.endpoint = endpoint
        self.timeout = timeout
        self._lock = threading.Lock()
        self._inner: SpanExporter | None = None
        self._warming = False
        self._shut = False

    @property
    def built(self) -> bool:
        """Whether the OTLP/HTTP exporter has been built (its modules imported)."""
        return self._inner is not None

    def get(self) -> SpanExporter:
        """The OTLP/HTTP exporter, built (and its modules imported) on the first call."""
        inner = self._inner
        if inner is None:
            with self._lock:
                inner = self._inner
                if inner is None:
                    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

                    inner = self._inner = OTLPSpanExporter(
                        endpoint=self.endpoint, timeout=self.timeout, session=direct_session(self.endpoint)
                    )
        return inner

    def warm(self) -> None:
        """Build the exporter in a daemon thread, once, so that no export or flush waits for its import."""
        if self._inner is not None or self._warming or self._shut:
            return
        self._warming = True
        threading.Thread(target=self._warm, name="xray-exclusive-otlp-warm", daemon=True).start()

    def _warm(self) -> None:
        try:
            self.get()
        except Exception as exc:  # the first export will try again, and fail where it is counted
            _logger.warning("Could not build the OTLP/HTTP exporter ahead of the first export: %r", exc)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export through the OTLP/HTTP exporter, building it first if needed."""
        return self.get().export(spans)

    def shutdown(self) -> None:
        """Shut the exporter down if it was built; later exports build nothing."""
        self._shut = True
        with self._lock:
            inner = self._inner
        if inner is not None:
            inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Delegate to the exporter if it was built (an unbuilt one holds nothing)."""
        inner = self._inner
        return True if inner is None else inner.force_flush(timeout_millis)


_CREDENTIAL_PROVIDERS = (
    "OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER",
    "OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER",
)
"""The variables that make ``OTLPSpanExporter`` load a session of its own (it then gets none from here)."""


def is_loopback(endpoint: str) -> bool:
    """Whether ``endpoint`` is plain HTTP to the loopback: ``localhost``, ``127.0.0.0/8``, ``::1``.

    Example:
        >>> is_loopback("http://localhost:4318/v1/traces"), is_loopback("http://[::1]:4318/v1/traces")
        (True, True)
        >>> is_loopback("https://127.0.0.1:4318/v1/traces"), is_loopback("http://collector:4318/v1/traces")
        (False, False)
    """
    import ipaddress  # here, not at INIT: only the exporter's build (off the cold start) asks
    import urllib.parse

    try:
        parsed = urllib.parse.urlsplit(endpoint)
        host = parsed.hostname
    except ValueError:
        return False
    if parsed.scheme != "http" or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def direct_session(endpoint: str) -> Any:
    """A ``requests.Session`` that ignores the environment, for a plain-HTTP loopback endpoint; else ``None``.

    ``requests`` reads the environment on every request of a session that trusts it: the proxy variables
    (``HTTP_PROXY``, ``NO_PROXY``: every variable scanned, twice), ``.netrc`` (looked for on disk), the CA
    bundle variables. That is a tenth of a millisecond or more of every flush, at the end of every stream. A
    proxy cannot reach the function's own loopback, nor does the collector extension there take ``.netrc``
    credentials or TLS, so a loopback endpoint over plain HTTP is reached directly, as it is anyway when
    ``NO_PROXY`` covers it. Any other endpoint (``None``: the exporter's own session) keeps every environment
    setting, proxies included; so does a session loaded from a credential provider
    (``OTEL_PYTHON_EXPORTER_OTLP_HTTP_*CREDENTIAL_PROVIDER``).

    Example:
        >>> direct_session("http://localhost:4318/v1/traces").trust_env
        False
        >>> direct_session("http://collector.internal:4318/v1/traces") is None
        True
    """
    if not is_loopback(endpoint) or any(os.environ.get(name) for name in _CREDENTIAL_PROVIDERS):
        return None
    import requests

    session = requests.Session()
    session.trust_env = False
    return session


def lambda_resource(environ: Any = None) -> Resource:
    """The resource ``AwsLambdaResourceDetector().detect()`` returns, from the Lambda runtime's variables.

    A missing or unusable variable gives the empty resource and a warning, as the detector does.

    Example:
        >>> lambda_resource({"AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "sse",
        ...     "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "s",
        ...     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}).attributes["faas.max_memory"]
        512
    """
    env = os.environ if environ is None else environ
    try:
        return Resource(
            {
                "cloud.provider": "aws",
                "cloud.platform": "aws_lambda",
                "cloud.region": env["AWS_REGION"],
                "faas.name": env["AWS_LAMBDA_FUNCTION_NAME"],
                "faas.version": env["AWS_LAMBDA_FUNCTION_VERSION"],
                "faas.instance": env["AWS_LAMBDA_LOG_STREAM_NAME"],
                "faas.max_memory": int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
            }
        )
    except Exception as exception:
        _logger.warning("AwsLambdaResourceDetector failed: %s", exception)
        return Resource.get_empty()


def warm_exporter(exporter: object) -> None:
    """Start building the deferred OTLP/HTTP exporter behind ``exporter`` (a ``FailFastExporter``), if any.

    Never raises: a failure here is left to the first export, where it is counted.

    Example:
        >>> warm_exporter(None)  # nothing deferred behind it: nothing to do
    """
    try:
        inner = getattr(exporter, "inner", None)
        if isinstance(inner, DeferredOTLPExporter):
            inner.warm()
    except Exception as exc:
        _logger.warning("Could not start building the OTLP/HTTP exporter: %r", exc)
