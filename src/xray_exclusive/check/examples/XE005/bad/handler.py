from opentelemetry.sdk.trace import TracerProvider


def handler(event, context):
    provider = TracerProvider(shutdown_on_exit=False)
    return provider.get_tracer("sse")
