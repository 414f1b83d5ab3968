"""The admin API, behind a bearer token: read-only SQL for analysts and the CLI."""

from __future__ import annotations

import hmac

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from collector.errors import error
from collector.storage import StoreError


def authorized(request: Request) -> bool:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return bool(given) and hmac.compare_digest(given.encode(), request.app.state.settings.admin_token.encode())


async def sql(request: Request) -> Response:
    """POST /api/sql: one statement in the body, run with readonly=1, rows back as JSON."""
    if not authorized(request):
        return error(401, "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)")
    statement = (await request.body()).decode("utf-8", "replace").strip()
    if not statement:
        return error(400, "send one SQL statement as the request body")
    try:
        result = await run_in_threadpool(request.app.state.store.query, statement, True)
    except StoreError as exc:
        return error(400, str(exc))
    body = msgspec.json.encode({"columns": result.columns, "rows": result.rows}, enc_hook=str)
    return Response(body, media_type="application/json")
