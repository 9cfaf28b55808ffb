import os

from opentelemetry import propagate

CONTEXT = propagate.extract({"X-Amzn-Trace-Id": os.environ.get("_X_AMZN_TRACE_ID", "")})
