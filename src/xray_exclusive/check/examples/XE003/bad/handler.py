from aws_lambda_powertools import Tracer

tracer = Tracer()


@tracer.capture_method
async def fetch_pages(client):
    async for page in client.pages():
        yield page
