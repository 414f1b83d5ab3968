"""The call centre inside the collector: what runs for its lifetime, and its endpoints.

- Call-back consents are stored as they arrive (contacts.py), on a ClickHouse client of their own.
- `GET /api/leads?since=24h&form=&min_step=`: the call-back leads, phones opened (leads.py); the same function
  `parcours leads` runs when no collector does.
- With a webhook (--leads-webhook), its dispatcher pushes each lead as it qualifies (outbox.py), in the first
  worker only.
- The phones whose retention ended are deleted at start and every hour (retention.py), in the first worker;
  `POST /api/leads/purge` (`parcours leads purge`) does it now.
- `POST <collect path>/number`: the tag's numbers add-on asks its session's tracking number (numbers.py);
  `{"v": visitor id, "s": session id, "u": page URL}` in, `{"n": E.164, "d": as shown, "r": seconds to
  renew}` out. Not under /api: pages call it, with the CORS rules of /collect.
- `GET /api/calls?since=&until=`: the calls and what each matched (calls.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

import msgspec

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcentre import leads as leads_mod
from callcentre.contacts import ContactWriter
from callcentre import calls as calls_mod
from callcentre import numbers as numbers_mod
from callcentre import retention
from callcentre.outbox import Dispatcher, Outbox
from callcentre.seal import LeadsKeyError, Sealer, leads_off, parse_keys
from collector import admin, output, redact, repeats, useragent
from collector.collect import _cors_headers
from collector.enrich import client_address
from collector.errors import BadParameter
from collector.messages import answer
from collector.periodic import runs_background, slot
from collector.storage import Store
from collector.wire import MAX_URL, MAX_USER_AGENT

log = logging.getLogger("parcours.callcentre")
_FAR = dt.datetime(2299, 12, 31, tzinfo=dt.timezone.utc)


def sealer(settings, plan=None) -> Sealer | None:
    """The sealer of the settings' leads key; None without a usable one. Then no call-back phone is kept and,
    when the plan has lead rules, one line says why: the collector serves and stores events as ever (a key
    mistake must not stop ingestion), and the leads found wait, without their phone, for a collector with
    the key."""
    try:
        if not settings.leads_key:
            raise LeadsKeyError("PARCOURS_LEADS_KEY is not set")
        if settings.leads_key.strip() == settings.secret.decode(errors="replace").strip():
            raise LeadsKeyError("PARCOURS_LEADS_KEY is the secret, and the key that opens call-back phones must "
                                "not be the one that hashes every phone")
        return Sealer(parse_keys(settings.leads_key))
    except LeadsKeyError as exc:
        if plan is not None and plan.plan.call_centre.leads:
            log.error("%s", leads_off(str(exc)))
        return None


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[None]:
    """The call centre for the collector's lifetime (entered from its lifespan)."""
    settings = app.state.settings
    contacts = ContactWriter(Store(settings.clickhouse, settings.database, settings.cluster, timeouts=settings.timeouts))
    app.state.contacts = contacts
    numbers = numbers_mod.Service(app.state, Store(settings.clickhouse, settings.database, settings.cluster, timeouts=settings.timeouts),
                                  (slot(app), settings.workers), registry=app.state.metrics.registry)
    await numbers.start(settings.timeouts.connect)
    app.state.numbers = numbers
    dispatcher = purger = None
    if runs_background(app):
        purger = retention.Purger(Store(settings.clickhouse, settings.database, settings.cluster, timeouts=settings.timeouts),
                                  lambda: app.state.plan)
        purger.start()
    if settings.leads_webhook and runs_background(app):
        outbox = Outbox(Store(settings.clickhouse, settings.database, settings.cluster, timeouts=settings.timeouts), settings.leads_webhook,
                        settings.leads_webhook_secret)
        dispatcher = Dispatcher(outbox, app.state)
        dispatcher.start()
        log.info("leads webhook: each call-back lead is pushed to %s as it qualifies", settings.leads_webhook)
    try:
        yield
    finally:
        if dispatcher is not None:
            await dispatcher.stop()
            await run_in_threadpool(dispatcher.outbox.store.close)
        if purger is not None:
            await purger.stop(timeout=settings.shutdown_timeout)  # a purge waiting on a hung ClickHouse is left
        await numbers.stop()
        await run_in_threadpool(numbers.book.store.close)
        await run_in_threadpool(contacts.close)


def _store(request: Request) -> Store:
    state = request.app.state
    return getattr(state, "journeys_store", None) or state.store


async def list_leads(request: Request) -> Response:
    """GET /api/leads?since=24h&form=moto_quote&min_step=3."""
    params = request.query_params
    since = admin.query_time(request, "since", "24h")
    min_step = params.get("min_step") or "0"
    if not min_step.isdigit():
        raise BadParameter(answer("bad_parameter", name="min_step", problem="expected a step number, 1 or more"))
    state = request.app.state
    result = await run_in_threadpool(leads_mod.find, _store(request), state.plan, state.sealer, since, None,
                                     params.get("form") or None, int(min_step))
    return Response(output.encode(result), media_type="application/json")


async def purge_leads(request: Request) -> Response:
    """POST /api/leads/purge: delete now the phones whose retention ended or whose consent was withdrawn."""
    result = await run_in_threadpool(retention.purge, _store(request), None,
                                     retention.withdrawals(request.app.state.plan))
    return Response(output.encode(result.as_dict()), media_type="application/json")


MAX_NUMBER_BODY = 4096
_number_request = msgspec.json.Decoder(dict)


async def number(request: Request) -> Response:
    """POST <collect path>/number: the session's tracking number (see the module docstring)."""
    cors = _cors_headers(request)
    if cors is None:
        return JSONResponse({"error": answer("origin", origin=request.headers.get("origin", ""))}, 403)
    headers = {**cors, "Cache-Control": "no-store"}
    service = getattr(request.app.state, "numbers", None)
    if service is None or service.pool is None:
        return JSONResponse({"error": "the plan has no tracking numbers (call_centre.numbers)"}, 404, headers)
    body = await request.body()
    try:
        if len(body) > MAX_NUMBER_BODY:
            raise ValueError(f"larger than {MAX_NUMBER_BODY} bytes")
        doc = _number_request.decode(body)
        if isinstance(doc, dict) and (path := repeats.repeated_key(body)):
            raise ValueError(f"{'.'.join(path)}: given more than once; send each key once")
        visitor, session, url = doc.get("v"), doc.get("s"), doc.get("u", "")
        if not all(isinstance(x, str) and 0 < len(x) <= 128 for x in (visitor, session)) or \
                not isinstance(url, str):
            raise ValueError('expected {"v": visitor id, "s": session id, "u": page URL}')
    except (ValueError, msgspec.DecodeError) as exc:
        return JSONResponse({"error": f"not a number request: {exc}"}, 400, headers)
    bot = useragent.parse(request.headers.get("user-agent", "")[:MAX_USER_AGENT]).is_bot
    # The page's URL and the ids as the events keep them (collector/ingest.py): personal data in them (an e-mail,
    # a phone in a query, a phone given as an id) removed; the URL redacted before it is cut (cut first, a
    # number across the cut kept 9 of its digits, which no longer read as a number).
    r = redact.of(request.app.state.plan)
    url, visitor, session = r.url(url)[:MAX_URL], r.ident(visitor), r.ident(session)
    address = client_address(request.client.host if request.client else "")
    chosen = await service.take(visitor, session, url, bot, address)
    return JSONResponse({"n": chosen, "d": numbers_mod.display(chosen), "r": numbers_mod.RENEW}, headers=headers)


def public_routes(settings) -> list[BaseRoute]:
    """The routes pages call, beside /collect."""
    return [Route(settings.collect_path + "/number", number, methods=["POST"])]


async def list_calls(request: Request) -> Response:
    """GET /api/calls?since=30d&until=: the calls started then, and what each matched."""
    since = admin.query_time(request, "since", "30d")
    until = admin.query_time(request, "until") if request.query_params.get("until") else _FAR
    result = await run_in_threadpool(calls_mod.matches, _store(request), since, until)
    return Response(output.encode(result), media_type="application/json")


ROUTES: list[BaseRoute] = [
    Route("/calls", list_calls, methods=["GET"]),
    Route("/leads", list_leads, methods=["GET"]),
    Route("/leads/purge", purge_leads, methods=["POST"]),
]
"""The call centre's admin endpoints, relative to /api."""
