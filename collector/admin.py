"""The admin API, behind a bearer token: read-only SQL, exports, rejected events summary and replay."""

from __future__ import annotations

import hmac
import logging

import msgspec
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from collector import export as export_mod
from collector import rejected
from collector.errors import error
from collector.since import BadTime, parse_since
from collector.storage import StoreError

log = logging.getLogger("parcours.admin")


def authorized(request: Request) -> bool:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return bool(given) and hmac.compare_digest(given.encode(), request.app.state.settings.admin_token.encode())


async def sql(request: Request) -> Response:
    """POST /api/sql: one reading statement in the body (Store.analyst), rows back as JSON."""
    if not authorized(request):
        return error(401, "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)")
    statement = (await request.body()).decode("utf-8", "replace")
    try:
        result = await run_in_threadpool(request.app.state.store.analyst, statement)
    except StoreError as exc:  # Refused (not one reading statement) or ClickHouse's own refusal
        return error(400, str(exc))
    body = msgspec.json.encode({"columns": result.columns, "rows": result.rows}, enc_hook=str)
    return Response(body, media_type="application/json")


async def export(request: Request) -> Response:
    """GET /api/export?table=events&since=7d&until=…&format=csv|jsonl: rows streamed a day at a time."""
    if not authorized(request):
        return error(401, "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)")
    params = request.query_params
    table, fmt = params.get("table", "events"), params.get("format", "csv")
    try:
        export_mod.check(table, fmt)
        since = parse_since(params.get("since"))
        until = parse_since(params["until"]) if params.get("until") else None
    except export_mod.BadExport as exc:
        return error(400, str(exc))
    except BadTime as exc:
        return error(400, f"since/until: {exc}")
    rows = export_mod.chunks(request.app.state.store, table, fmt, since, until)
    try:
        first = await run_in_threadpool(next, rows, b"")
    except StoreError as exc:
        return error(400, str(exc))

    async def body():
        yield first
        try:
            async for chunk in iterate_in_threadpool(rows):
                yield chunk
        except StoreError as exc:  # the status is sent: all that can be done is stop and say so in the log
            log.error("export of %s stopped: %s", table, exc)

    return StreamingResponse(body(), media_type=export_mod.FORMATS[fmt][0],
                             headers={"Content-Disposition": f'attachment; filename="{table}.{fmt}"'})


async def rejected_summary(request: Request) -> Response:
    """GET /api/rejected/summary?since=7d: rejections grouped by reason."""
    if not authorized(request):
        return error(401, "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)")
    try:
        since = parse_since(request.query_params.get("since"))
        result = await run_in_threadpool(rejected.summary, request.app.state.store, since)
    except BadTime as exc:
        return error(400, f"since: {exc}")
    except StoreError as exc:
        return error(400, str(exc))
    return Response(msgspec.json.encode({"columns": result.columns, "rows": result.rows}, enc_hook=str),
                    media_type="application/json")


async def rejected_replay(request: Request) -> Response:
    """POST /api/rejected/replay?since=7d&dry_run=true: re-validate rejected events against the current plan."""
    if not authorized(request):
        return error(401, "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)")
    params = request.query_params
    if not params.get("since"):
        return error(400, "since: required (e.g. since=7d or since=2026-11-20), so a replay covers a known period")
    dry_run = params.get("dry_run", "false").lower() in ("1", "true", "yes")
    state = request.app.state
    try:
        since = parse_since(params["since"])
        result = await run_in_threadpool(rejected.replay, state.store, state.plan, state.settings.secret, since, dry_run,
                                         bounds=state.settings.time_bounds)
    except BadTime as exc:
        return error(400, f"since: {exc}")
    except StoreError as exc:
        return error(503, f"replay stopped, storage failed: {exc}; run it again, it does not duplicate")
    return JSONResponse(result.as_dict())


