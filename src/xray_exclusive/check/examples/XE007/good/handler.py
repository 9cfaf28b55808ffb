from opentelemetry.sdk.trace import TracerProvider

PROVIDER = TracerProvider(shutdown_on_exit=False)  # ParentBased(ALWAYS_ON): the default
