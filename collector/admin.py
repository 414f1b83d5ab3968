"""The admin API: everything under /api, behind one bearer-token check.

`mount()` is the `/api` Mount; `RequireToken` checks `Authorization: Bearer <admin token>` once for every
route under it, so an endpoint is a plain route. Adding one (a conversions import, a report, an erasure):

1. the work is a function of a Store in its concept's module (the same function the CLI runs when no
   collector does: target.py);
2. its handler reads the request's parameters and returns `await run(request, fn, *args)` (a JSON
   document) or `await stream(request, fn, *args, media_type=…)` (a download);
3. its Route goes in `ROUTES` below, or in the routes a package passes to `mount(*routes)` (app.py).

Errors need no code in the handler: a `Problem` raised (errors.py: a bad parameter 400, ClickHouse out of
reach 503) is answered `{"error": …}` with its status by `problem_response`, which the app registers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from collector import export as export_mod
from collector import auth, output, planwatch, rejected
from collector.errors import BadParameter, Cutoff, Problem, error, flag
from collector.messages import answer
from collector.since import BadTime, parse_since
from collector.storage import ANALYSTS, TICKET, Cancelled, QueryResult, Store, Ticket

log = logging.getLogger("parcours.admin")

class RequireToken:
    """ASGI middleware of the /api mount: 401 unless the request carries `Authorization: Bearer <token>`, or is
    a dashboard viewer's read of a report (collector/auth.py)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A dashboard viewer's session may read the reports (auth.viewer_refusal says exactly what); the rest
        # of /api is the admin token's alone. A refused session hears why in its own words, not the token's.
        if scope["type"] == "http" and not _authorized(scope) and (why := auth.viewer_refusal(scope)) is not None:
            response = error(401, answer(why), {"WWW-Authenticate": 'Bearer realm="parcours admin API"'}, code=why)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _authorized(scope: Scope) -> bool:
    scheme, _, given = Headers(scope=scope).get("authorization", "").strip().partition(" ")
    given = given.strip()
    expected = scope["app"].state.settings.admin_token
    # RFC 9110: the scheme is case-insensitive; a bare token (no scheme) is refused.
    return scheme.lower() == "bearer" and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


async def problem_response(request: Request, exc: Problem) -> Response:
    """A Problem raised under /api, as its status and `{"error": message}` (with `code` and `values` when it
    has a code: errors.Problem)."""
    return error(exc.status, str(exc), code=exc.error_code, values=getattr(exc, "error_values", None))


async def too_deep_response(request: Request, exc: RecursionError) -> Response:
    """A request whose JSON an endpoint could not read for its depth (msgspec and Python stop at ~1,000
    levels): the sender's doing, a 400, never a 500 with a traceback."""
    log.warning("%s %s: a request nested too deeply to be read, answered 400", request.method, request.url.path)
    return error(400, answer("too_deep_request"), code="too_deep_request")


def _store(request: Request) -> Store:
    return request.app.state.store


async def run(request: Request, fn: Callable[..., Any], *args: Any) -> Response:
    """`fn(store, *args)` in a thread; its result as the JSON document the CLI prints (output.encode)."""
    result = await run_in_threadpool(fn, _store(request), *args)
    return Response(output.encode(result), media_type="application/json")


async def stream(request: Request, fn: Callable[..., Iterable[bytes]], *args: Any, media_type: str,
                 headers: dict[str, str] | None = None) -> Response:
    """`fn(store, *args)`'s chunks as a streamed answer. A failure before the first chunk is answered with its
    status; one after the 200 is sent cuts the answer off (errors.Cutoff), so the client sees it incomplete."""
    chunks = iter(fn(_store(request), *args))
    first = await run_in_threadpool(next, chunks, b"")

    async def body():
        yield first
        try:
            async for chunk in iterate_in_threadpool(chunks):
                yield chunk
        except Problem as exc:
            log.error("%s stopped after its 200 was sent; the answer is cut off: %s", request.url.path, exc)
            raise Cutoff(f"{request.url.path}: {exc}") from None

    return StreamingResponse(body(), media_type=media_type, headers=headers)


class TooLarge(BadParameter):
    status = 413


async def bounded_body(request: Request, limit: int, too_large: str) -> bytes:
    """A request's body, refused (413, `too_large`) past `limit` bytes before it is held whole: by its
    Content-Length when it gives one, else as it streams in (a chunked upload has no length to refuse it by)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise TooLarge(too_large, error_code="body_too_large", limit=limit)
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise TooLarge(too_large, error_code="body_too_large", limit=limit)
        parts.append(part)
    return b"".join(parts)


T = TypeVar("T")

WATCH_SECONDS = 0.2
"""How often a request whose queries are watched (`watched`) checks that its caller is still there."""


class Gone(Exception):
    """The caller of a watched request went away; its queries were stopped. Says how its work ended."""


async def watched(request: Request, fn: Callable[..., T], *args: Any, gone: Callable[[], None] | None = None) -> T:
    """`fn(*args)` in a thread, its reading queries named by a ticket of their own: stopped when the caller
    goes away (`gone()` is called, then Gone raised once `fn` has ended: answer `Cancelled.status`), or when
    the request is cancelled (the collector stops, its grace period over: `--shutdown-timeout`), so that no
    query runs on for nobody, holding a client and the engine's cores, or the collector's stop."""
    store, ticket = _store(request), Ticket()
    work = asyncio.ensure_future(run_in_threadpool(_with_ticket, ticket, fn, *args))
    try:
        while not (await asyncio.wait({work}, timeout=WATCH_SECONDS))[0]:
            if await request.is_disconnected():
                await run_in_threadpool(store.cancel, ticket)
                if gone is not None:
                    gone()
                try:
                    await work
                except Exception as exc:  # noqa: BLE001  (stopped, or failed: nobody to tell)
                    raise Gone(str(exc) if isinstance(exc, Cancelled) else "it failed") from exc
                raise Gone("it had finished")
    except asyncio.CancelledError:
        store.cancel(ticket)  # no thread to wait for: the loop is stopping this request
        work.add_done_callback(_ended)
        raise
    return work.result()


def _ended(work: asyncio.Future) -> None:
    """A request's work that ends after the request was cut off: its outcome read (nobody waits for it), so that
    the loop does not log it as an exception never retrieved."""
    if not work.cancelled():
        work.exception()


def _with_ticket(ticket: Ticket, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args), its reading queries named by the ticket (in the worker thread's context)."""
    token = TICKET.set(ticket)
    try:
        return fn(*args)
    finally:
        TICKET.reset(token)


def query_time(request: Request, name: str, default: str | None = None):
    """The time the query parameter `name` gives (`default` when absent or empty); a BadParameter naming it."""
    try:
        return parse_since(request.query_params.get(name) or default)
    except BadTime as exc:
        raise BadParameter(answer("bad_parameter", name=name, problem=exc)) from None


def query(store: Store, statement: str, parameters: dict[str, str] | None = None) -> QueryResult:
    """One reading SQL statement, as analysts send it (`POST /api/sql`, `parcours sql`), with the values of its
    `{name:Type}` parameters (given, or set by the lines it begins with): Store.analyst, on a client of its own;
    anything else refused (400) before ClickHouse sees it."""
    return store.analyst(*_set_parameters(statement, parameters or {}))


_SET_PARAMETER = re.compile(r"""
    (?:\s+|--[^\n]*(?:\n|$))*                                    # blank and comment lines before it (CRLF too)
    SET\s+param_(\w+)\s*=\s*'((?:[^'\\]|\\.|'')*)'\s*;      # a quote in the value: \' or ''
    [ \t]*(?:--[^\n]*)?(?:\r?\n|$)                               # a note after it
""", re.I | re.X)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f"}


def _set_parameters(statement: str, given: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The statement without the `SET param_NAME = 'value';` lines it begins with, and their values with those given
    (--param, ?param_NAME=): what `parcours report NAME --sql` prints and clickhouse-client reads, so that its
    output runs as it is (`parcours report levers --sql | parcours sql -`, or POSTed). A name set twice is refused."""
    out = dict(given)
    while (m := _SET_PARAMETER.match(statement)) is not None:
        value = re.sub(r"\\(.)|''", lambda e: _ESCAPES.get(e.group(1), e.group(1)) if e.group(1) else "'",
                       m.group(2), flags=re.S)
        _give(out, m.group(1), value)
        statement = statement[m.end():]
    return statement, out


def _give(parameters: dict[str, str], name: str, value: str) -> None:
    """A parameter's value added, each name given once (a second value: which was meant?)."""
    if name in parameters:
        raise BadParameter(answer("sql_parameter_twice", name=name[:64]))
    parameters[name] = value


SQL_BODY_BYTES = 16 << 20
"""The largest body POST /api/sql reads: the statement (sqlcheck.MAX_STATEMENT_BYTES at most) and the values of the
`SET param_…` lines before it. Read whole, a body of any size was held in the collector's memory."""

PARAMETER = "param_"
"""The query string's prefix of a statement's parameter, as ClickHouse's HTTP interface spells it."""


async def sql(request: Request) -> Response:
    """POST /api/sql?param_NAME=VALUE…: one reading statement in the body, the values of its parameters in the
    query string (or in `SET param_NAME = '…';` lines before it), rows back as JSON."""
    parameters: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith(PARAMETER):
            _give(parameters, key[len(PARAMETER):], value)
    statement = (await bounded_body(request, SQL_BODY_BYTES, answer("sql_body_too_big", limit=SQL_BODY_BYTES))
                 ).decode("utf-8", "replace")
    # Those waiting for one of the analysts' clients wait here, holding no thread: the threads answer everyone.
    async with _analysts(request):
        if await request.is_disconnected():
            return Response(status_code=Cancelled.status)
        try:
            result = await watched(request, query, _store(request), statement, parameters,
                                   gone=lambda: log.info("/api/sql: its caller went away; the statement is stopped"))
        except Gone:
            return Response(status_code=Cancelled.status)
    # Written on a thread, a slice of rows at a time (output.SLICE): a million rows written at once held every
    # other request.
    return Response(await run_in_threadpool(output.encode, result), media_type="application/json")


def _analysts(request: Request) -> asyncio.Semaphore:
    """As many turns as the store has analysts' clients (storage.ANALYSTS), for the app's requests."""
    state = request.app.state
    if getattr(state, "analyst_turns", None) is None:
        state.analyst_turns = asyncio.Semaphore(ANALYSTS)
    return state.analyst_turns


async def export(request: Request) -> Response:
    """GET /api/export?table=events&since=7d&until=…&format=csv|jsonl: rows streamed a day at a time."""
    params = request.query_params
    table, fmt = params.get("table", "events"), params.get("format", "csv")
    export_mod.check(table, fmt)
    since = query_time(request, "since")
    until = query_time(request, "until") if params.get("until") else None
    return await stream(request, export_mod.chunks, table, fmt, since, until, media_type=export_mod.FORMATS[fmt][0],
                        headers={"Content-Disposition": f'attachment; filename="{table}.{fmt}"'})


async def rejected_summary(request: Request) -> Response:
    """GET /api/rejected/summary?since=7d: rejections grouped by reason."""
    return await run(request, rejected.summary, query_time(request, "since"))


async def rejected_replay(request: Request) -> Response:
    """POST /api/rejected/replay?since=7d&dry_run=true: re-validate rejected events against the current plan."""
    params = request.query_params
    if not params.get("since"):
        raise BadParameter(answer("since_required"))
    dry_run = flag(params, "dry_run")
    state = request.app.state
    return await run(request, rejected.replay, state.plan, state.settings.secret, query_time(request, "since"), dry_run,
                     None, state.settings.time_bounds)


ROUTES: list[BaseRoute] = [
    Route("/sql", sql, methods=["POST"]),
    Route("/export", export, methods=["GET"]),
    Route("/rejected/summary", rejected_summary, methods=["GET"]),
    Route("/rejected/replay", rejected_replay, methods=["POST"]),
    Route("/plan/reload", planwatch.reload_endpoint, methods=["POST"]),
]
"""The collector's own admin endpoints, relative to /api."""


def mount(*routes: BaseRoute) -> Mount:
    """`/api`: ROUTES and the given ones (a package's admin endpoints), all behind the admin token."""
    return Mount("/api", routes=[*ROUTES, *routes], middleware=[Middleware(RequireToken)])
