from xray_exclusive.streaming import dispatch_span, traced_handler


@traced_handler(name="global_stream")
def handler(event, context):
    for item in event["items"]:
        with dispatch_span(item["type"]):
            yield item
