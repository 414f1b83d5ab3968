"""The baseline of bench_collector.py: a bare Starlette endpoint that reads the body and answers 204."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def collect(request: Request) -> Response:
    await request.body()
    return Response(status_code=204)


app = Starlette(routes=[Route("/collect", collect, methods=["POST"])])
