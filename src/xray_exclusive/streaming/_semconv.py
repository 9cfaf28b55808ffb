"""Span helpers that the collector's ``awsxray`` exporter turns into the right X-Ray subsegments.

How the exporter decides (read from its Go source in opentelemetry-collector-contrib):

* ``rpc.system="aws-api"`` puts a span in the ``aws`` namespace, named by
  ``rpc.service`` (``DynamoDB``, ``CloudWatch``): a typed node in the service
  map. ``aws.dynamodb.table_names`` becomes ``aws.table_name``.
* Other CLIENT spans land in ``remote``; INTERNAL spans with a parent become
  local subsegments.
* Attributes are **metadata** unless their keys are listed in the span
  attribute ``aws.xray.annotations``: :func:`annotate` keeps that list.
* ``error``/``throttle`` come only from an HTTP status of 4xx/429; ``fault``
  from a 5xx or from status ERROR without a status code. Exceptions become
  ``cause`` from ``exception`` events, whose Python stack text it parses.

The helpers live in one module per job: ``_annotate.py`` (annotations and
metadata), ``_record.py`` (a failure's marks: exception events, classification,
HTTP status, client disconnects) and ``_scopes.py`` (spans made current for a
block: ``SpanScope``, ``poll_cycle``, ``dynamodb_span`` ...). This module keeps
their names importable from one place, as the package has always imported them.
"""

from __future__ import annotations

from ._annotate import (
    ANNOTATIONS_ATTRIBUTE,
    METADATA_PREFIX,
    annotate,
    annotate_cache,
    annotate_connection,
    annotate_event,
    annotate_poll,
    annotate_session,
    index_key,
    set_metadata,
)
from ._record import (
    DISCONNECT_ERRORS,
    DISCONNECTED_ATTRIBUTE,
    HTTP_STATUS_ATTRIBUTES,
    apply_classification,
    mark_disconnected,
    python_stacktrace,
    record_bounded_exception,
    record_exception_event,
    set_http_status,
)
from ._scopes import SpanScope, cloudwatch_span, dispatch_span, dynamodb_span, poll_cycle

__all__ = [
    "ANNOTATIONS_ATTRIBUTE",
    "DISCONNECTED_ATTRIBUTE",
    "DISCONNECT_ERRORS",
    "HTTP_STATUS_ATTRIBUTES",
    "METADATA_PREFIX",
    "SpanScope",
    "annotate",
    "annotate_cache",
    "annotate_connection",
    "annotate_event",
    "annotate_poll",
    "annotate_session",
    "apply_classification",
    "cloudwatch_span",
    "dispatch_span",
    "dynamodb_span",
    "index_key",
    "mark_disconnected",
    "poll_cycle",
    "python_stacktrace",
    "record_bounded_exception",
    "record_exception_event",
    "set_http_status",
    "set_metadata",
]
