from opentelemetry.sdk.trace import TracerProvider

PROVIDER = TracerProvider(shutdown_on_exit=False)


def handler(event, context):
    return PROVIDER.get_tracer("sse")
