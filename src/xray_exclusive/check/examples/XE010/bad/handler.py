from aws_xray_sdk.core import xray_recorder


def handler(event, context):
    subsegment = xray_recorder.begin_subsegment("load")
    xray_recorder.end_subsegment()
    return subsegment
