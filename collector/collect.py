"""POST /collect: the tag's endpoint. Every event is stored, stored as rejected, or refused with a retryable status."""

from __future__ import annotations

import datetime as dt
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collector import ingest as ingest_mod
from collector import pixel as pixel_mod
from collector.body import BodyError, read_body
from collector.enrich import truncate_ip
from collector.errors import error
from collector.storage import StoreError

log = logging.getLogger("parcours.collect")


async def collect(request: Request) -> Response:
    app = request.app
    settings = app.state.settings
    cors = _cors_headers(request)
    if cors is None:
        origin = request.headers["origin"]
        return error(403, f'origin "{origin}" is not one of the plan\'s sites; add it to sites[].origins',
                     {"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
    try:
        body = await read_body(request, settings.max_body)
    except BodyError as exc:
        return error(exc.status, str(exc), cors)
    req = _request_info(request, settings)
    try:
        outcome = ingest_mod.ingest(body, req, app.state.plan, settings.secret, settings.max_event)
    except ingest_mod.BadBatch as exc:
        return error(400, str(exc), cors)
    try:
        await run_in_threadpool(_store, app.state.store, outcome)
    except StoreError as exc:
        log.error("store unavailable, batch refused for retry: %s", exc)
        return error(503, "storage unavailable, retry later", {**cors, "Retry-After": "5"})
    return JSONResponse({"accepted": len(outcome.events), "rejected": len(outcome.rejected)}, headers=cors)


async def pixel(request: Request) -> Response:
    """GET /collect?e=…: one event from a page without JavaScript; the GIF is returned even when it is rejected."""
    if request.method == "HEAD":  # link checkers and prefetchers: not a page view
        return pixel_mod.gif_response()
    app = request.app
    settings = app.state.settings
    req = _request_info(request, settings)
    body = pixel_mod.batch_body(request.query_params.multi_items(), request.headers.get("referer", ""),
                                req.received_at, app.state.plan)
    outcome = ingest_mod.ingest(body, req, app.state.plan, settings.secret, settings.max_event)
    try:
        await run_in_threadpool(_store, app.state.store, outcome)
    except StoreError as exc:
        log.error("store unavailable, pixel event refused: %s", exc)
        return error(503, "storage unavailable, retry later", {"Retry-After": "5"})
    return pixel_mod.gif_response()


def _request_info(request: Request, settings) -> ingest_mod.Request:
    return ingest_mod.Request(
        received_at=dt.datetime.now(dt.timezone.utc),
        user_agent=request.headers.get("user-agent", "")[:512],
        ip=truncate_ip(request.client.host if request.client else "", settings.ip_v4_bits, settings.ip_v6_bits),
    )


def _store(store, outcome: ingest_mod.Outcome) -> None:
    store.insert_events(outcome.events)
    store.insert_rejected(outcome.rejected)


async def preflight(request: Request) -> Response:
    headers = _cors_headers(request)
    if headers is None:
        return Response(status_code=403)
    if headers:
        headers.update({"Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                        "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400"})
    return Response(status_code=204, headers=headers)


def _cors_headers(request: Request) -> dict[str, str] | None:
    """CORS headers for an allowed origin, {} without an Origin, None for a site the plan does not list.

    Allowed: the plan's site origins (all, when it lists none) and the collector's own origin
    (first-party installs). The tag reads the answer, so even a refusal carries the header:
    a 4xx it can read is not retried.
    """
    origin = request.headers.get("origin", "")
    if not origin:
        return {}
    allowed = request.app.state.plan.origins
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin == own or not allowed or origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return None
