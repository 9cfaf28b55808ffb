from aws_lambda_powertools import Tracer

tracer = Tracer()


async def fetch_pages(client):
    async for page in client.pages():
        with tracer.provider.in_subsegment("fetch_page"):
            yield page
