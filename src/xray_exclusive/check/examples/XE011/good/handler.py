from xray_exclusive import current_trace_id


def handler(event, context):
    return {"trace_id": current_trace_id()}
