"""POST /collect: the tag's endpoint. Every event is stored, stored as rejected, or refused with a retryable status."""

from __future__ import annotations

import datetime as dt
import logging

from starlette.requests import Request
from starlette.responses import Response

from collector import ingest as ingest_mod
from collector import pixel as pixel_mod
from collector.body import BodyError, read_body
from collector.enrich import truncate_ip
from collector.errors import error
from collector.wal import WalError, WalFull

log = logging.getLogger("parcours.collect")


async def collect(request: Request) -> Response:
    app = request.app
    settings = app.state.settings
    cors = _cors_headers(request)
    if cors is None:
        origin = request.headers["origin"]
        return error(403, f'origin "{origin}" is not one of the plan\'s sites; add it to sites[].origins',
                     {"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
    if app.state.wal.full:  # before reading the body: the tag will send it again
        return _refused(app, "wal_full", cors)
    try:
        body = await read_body(request, settings.max_body)
    except BodyError as exc:
        return error(exc.status, str(exc), cors)
    req = _request_info(request, settings)
    try:
        outcome = ingest_mod.ingest(body, req, app.state.plan, settings.secret, settings.max_event)
    except ingest_mod.BadBatch as exc:
        return error(400, str(exc), cors)
    refusal = await _append(app, outcome)
    if refusal:
        return _refused(app, refusal, cors)
    return Response(b'{"accepted":%d,"rejected":%d}' % (len(outcome.events), len(outcome.rejected)),
                    media_type="application/json", headers=cors)


async def pixel(request: Request) -> Response:
    """GET /collect?e=…: one event from a page without JavaScript; the GIF is returned even when it is rejected."""
    if request.method == "HEAD":  # link checkers and prefetchers: not a page view
        return pixel_mod.gif_response()
    app = request.app
    settings = app.state.settings
    req = _request_info(request, settings)
    body = pixel_mod.batch_body(request.query_params.multi_items(), _header(request, b"referer"),
                                req.received_at, app.state.plan)
    outcome = ingest_mod.ingest(body, req, app.state.plan, settings.secret, settings.max_event)
    refusal = "wal_full" if app.state.wal.full else await _append(app, outcome)
    if refusal:
        return _refused(app, refusal, {})
    return pixel_mod.gif_response()


async def _append(app, outcome: ingest_mod.Outcome) -> str | None:
    """Append the rows to the write-ahead log (fsync'd, group commit); the refusal reason, or None once durable."""
    if outcome.events or outcome.rejected:
        try:
            await app.state.wal.append(outcome.events, outcome.rejected)
        except WalFull:
            return "wal_full"
        except WalError as exc:
            log.error("batch refused for retry: %s", exc)
            return "wal_error"
    metrics = app.state.metrics
    metrics.accepted.inc(len(outcome.events))
    metrics.rejected.inc(len(outcome.rejected))
    return None


_REFUSALS = {
    "wal_full": "the collector is behind: its write-ahead log is full (ClickHouse slow or down); retry later",
    "wal_error": "the collector cannot write its log right now; retry later",
}


def _refused(app, reason: str, cors: dict[str, str]) -> Response:
    """503 with Retry-After: the tag keeps the batch and sends it again."""
    app.state.metrics.refused.labels(reason).inc()
    return error(503, _REFUSALS[reason], {**cors, "Retry-After": str(app.state.settings.retry_after)})


def _request_info(request: Request, settings) -> ingest_mod.Request:
    return ingest_mod.Request(
        received_at=dt.datetime.now(dt.timezone.utc),
        user_agent=_header(request, b"user-agent")[:512],
        ip=truncate_ip(request.client.host if request.client else "", settings.ip_v4_bits, settings.ip_v6_bits),
    )


async def preflight(request: Request) -> Response:
    headers = _cors_headers(request)
    if headers is None:
        return Response(status_code=403)
    if headers:
        headers.update({"Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                        "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400"})
    return Response(status_code=204, headers=headers)


def _header(request: Request, name: bytes) -> str:
    """One request header, "" when absent. On the hot path: Starlette's `headers.get` builds a Headers
    object and raises KeyError inside for a missing header, several times slower."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _cors_headers(request: Request) -> dict[str, str] | None:
    """CORS headers for an allowed origin, {} without an Origin, None for a site the plan does not list.

    Allowed: the plan's site origins (all, when it lists none) and the collector's own origin
    (first-party installs). The tag reads the answer, so even a refusal carries the header:
    a 4xx it can read is not retried.
    """
    origin = _header(request, b"origin")
    if not origin:
        return {}
    allowed = request.app.state.plan.origins
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin == own or not allowed or origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return None
