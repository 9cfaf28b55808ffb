from xray_exclusive.streaming import invocation_context


def handler(event, context):
    parent = invocation_context(event.get("headers"))
    return parent
