import uuid


def get_correlation_id(event):
    return event.get("correlation_id") or str(uuid.uuid4())
