"""The admin API of journeys/, under the collector's authenticated /api mount (collector/admin.py).

- `POST /api/conversions`, `/api/brokers`, `/api/costs`: the file as the body (CSV or JSON), with
  `?profile=NAME&source=NAME&dry_run=true`; the summary as JSON, or with `?progress=true` JSON lines of
  progress then the summary (journeys.imports.ndjson).
- `GET /api/import/rejects?kind=&source=&all=true`: the rejected lines still to fix.
- `POST /api/persons/stitch`: a stitching run now; `GET /api/persons/status`: persons, keys, the last run.
- `GET /api/reports/NAME?from=…&to=…&format=json`: a report (journeys.reports), the figures the CLI prints.

The work is the same function the command line runs when no collector does (journeys/cli.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from collector import output
from collector.errors import BadParameter
from collector.storage import Store
from journeys import brokers, conversions, costs, imports, persons, reports
from journeys.imports import Context

MAX_IMPORT_BYTES = 1 << 30
"""The largest file the API takes in one request (a million sales lines are ~120 MB)."""


def store_of(request: Request) -> Store:
    """The store journeys/ works on: its own clients, never the batch writer's."""
    state = request.app.state
    return getattr(state, "journeys_store", None) or state.store


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() in ("1", "true", "yes")


async def _import(request: Request, import_file: Callable) -> Response:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_IMPORT_BYTES:
        raise BadParameter(f"the file is larger than {MAX_IMPORT_BYTES} bytes: split it")
    body = await request.body()
    params = request.query_params
    store = store_of(request)
    ctx = Context(request.app.state.plan, request.app.state.settings.secret)
    profile, source, dry_run = params.get("profile") or None, params.get("source") or "api", _flag(request, "dry_run")

    def work(progress):
        return import_file(store, ctx, io.BytesIO(body), source=source, profile=profile, dry_run=dry_run,
                           progress=progress)

    if _flag(request, "progress"):
        return StreamingResponse(iterate_in_threadpool(imports.ndjson(work)), media_type="application/x-ndjson")
    summary = await run_in_threadpool(work, None)
    return Response(output.encode(summary.as_dict()), media_type="application/json")


async def import_conversions(request: Request) -> Response:
    """POST /api/conversions: offline sales (CSV or JSON body)."""
    return await _import(request, conversions.import_file)


async def import_brokers(request: Request) -> Response:
    """POST /api/brokers: the broker and adviser table."""
    return await _import(request, brokers.import_file)


async def import_costs(request: Request) -> Response:
    """POST /api/costs: campaign costs per day."""
    return await _import(request, costs.import_file)


async def import_rejects(request: Request) -> Response:
    """GET /api/import/rejects?kind=conversions&source=FILE&all=true: rejected lines (unresolved unless all)."""
    params = request.query_params
    result = await run_in_threadpool(imports.rejects, store_of(request), params.get("kind") or None,
                                     params.get("source") or None, _flag(request, "all"))
    return Response(output.encode(result), media_type="application/json")


async def persons_stitch(request: Request) -> Response:
    """POST /api/persons/stitch: a stitching run now (and the plan's brokers), rather than at the next turn."""
    background = getattr(request.app.state, "journeys", None)
    if background is not None:
        run = await run_in_threadpool(background.turn)
    else:
        run = await run_in_threadpool(persons.stitch, store_of(request), persons.config(request.app.state.plan))
    return Response(output.encode(run.as_dict()), media_type="application/json")


async def persons_status(request: Request) -> Response:
    """GET /api/persons/status: persons, keys, keys left out, the last run."""
    doc = await run_in_threadpool(persons.status, store_of(request))
    background = getattr(request.app.state, "journeys", None)
    doc["error"] = background.error if background is not None else None
    return Response(output.encode(doc), media_type="application/json")


async def report(request: Request) -> Response:
    """GET /api/reports/NAME: one report, its options in the query string; JSON unless format=table|csv.
    A bad option is a 400 saying what to fix, an unknown report a 404 (reports.ReportError, a Problem)."""
    raw = dict(request.query_params)
    raw.setdefault("format", "json")
    body, media_type = await run_in_threadpool(reports.respond, store_of(request), request.app.state.plan,
                                               request.path_params["name"], raw)
    return Response(body, media_type=media_type)


ROUTES: list[BaseRoute] = [
    Route("/conversions", import_conversions, methods=["POST"]),
    Route("/brokers", import_brokers, methods=["POST"]),
    Route("/costs", import_costs, methods=["POST"]),
    Route("/import/rejects", import_rejects, methods=["GET"]),
    Route("/persons/stitch", persons_stitch, methods=["POST"]),
    Route("/persons/status", persons_status, methods=["GET"]),
    Route("/reports/{name}", report, methods=["GET"]),
]
"""journeys' admin endpoints, relative to /api."""
