from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

PROVIDER = TracerProvider(sampler=ALWAYS_ON, shutdown_on_exit=False)
