from opentelemetry.sdk.trace import TracerProvider

PROVIDER = TracerProvider()
