from opentelemetry import trace

tracer = trace.get_tracer("sse")


def stream(items):
    for item in items:
        with tracer.start_as_current_span("dispatch"):
            yield item
