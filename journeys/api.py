"""The reports' admin API: GET /api/reports/NAME?from=…&to=…&format=json, the same runner as the CLI."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from collector.admin import authorized
from collector.errors import error
from collector.storage import StoreError
from journeys import reports


async def report(request: Request) -> Response:
    """One report, its options in the query string; JSON unless format=table|csv."""
    if not authorized(request):
        return error(401, "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)")
    raw = dict(request.query_params)
    raw.setdefault("format", "json")
    state = request.app.state
    try:
        body, media_type = await run_in_threadpool(reports.respond, state.store, state.plan,
                                                   request.path_params["name"], raw)
    except reports.ReportError as exc:
        return error(404 if request.path_params["name"] not in reports.REPORTS else 400, str(exc))
    except StoreError as exc:
        return error(503, f"the report could not be computed: {exc}", headers={"Retry-After": "5"})
    return Response(body, media_type=media_type)
