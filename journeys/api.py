"""The reports' admin API: GET /api/reports/NAME?from=…&to=…&format=json, the same runner as the CLI."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from journeys import reports


async def report(request: Request) -> Response:
    """One report, its options in the query string; JSON unless format=table|csv. A bad option is a 400
    saying what to fix, an unknown report a 404 (reports.ReportError, a Problem)."""
    raw = dict(request.query_params)
    raw.setdefault("format", "json")
    state = request.app.state
    body, media_type = await run_in_threadpool(reports.respond, state.store, state.plan,
                                               request.path_params["name"], raw)
    return Response(body, media_type=media_type)


ROUTES = [Route("/reports/{name}", report, methods=["GET"])]
"""Mounted under the authenticated /api (collector/admin.py)."""
