"""The call centre inside the collector: what runs for its lifetime, and its endpoints.

- Call-back consents are stored as they arrive (contacts.py), on a ClickHouse client of their own.
- `GET /api/leads?since=24h&form=&min_step=`: the call-back leads, phones opened (leads.py); the same function
  `parcours leads` runs when no collector does.
- With a webhook (--leads-webhook), its dispatcher pushes each lead as it qualifies (outbox.py), in the first
  worker only.
- The phones whose retention ended are deleted at start and every hour (retention.py), in the first worker;
  `POST /api/leads/purge` (`parcours leads purge`) does it now.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from callcentre import leads as leads_mod
from callcentre.contacts import ContactWriter
from callcentre import retention
from callcentre.outbox import Dispatcher, Outbox
from callcentre.seal import Sealer, parse_keys
from collector import output
from collector.errors import BadParameter
from collector.messages import answer
from collector.since import BadTime, parse_since
from collector.storage import Store

log = logging.getLogger("parcours.callcentre")


def sealer(settings) -> Sealer | None:
    """The sealer of the settings' leads key, None without one (no call-back phone is then kept)."""
    return Sealer(parse_keys(settings.leads_key)) if settings.leads_key else None


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[None]:
    """The call centre for the collector's lifetime (entered from its lifespan)."""
    settings = app.state.settings
    contacts = ContactWriter(Store(settings.clickhouse, settings.database, settings.cluster))
    app.state.contacts = contacts
    dispatcher = purger = None
    if _first_worker(app):
        purger = retention.Purger(Store(settings.clickhouse, settings.database, settings.cluster))
        purger.start()
    if settings.leads_webhook and _first_worker(app):
        outbox = Outbox(Store(settings.clickhouse, settings.database, settings.cluster), settings.leads_webhook,
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
            await purger.stop()
        await run_in_threadpool(contacts.close)


def _first_worker(app) -> bool:
    """Whether this process holds the first write-ahead log slot (`--workers N`: one runs the dispatcher)."""
    wal = getattr(app.state, "wal", None)
    return wal is None or wal.directory.name == "0"


def _store(request: Request) -> Store:
    state = request.app.state
    return getattr(state, "journeys_store", None) or state.store


async def list_leads(request: Request) -> Response:
    """GET /api/leads?since=24h&form=moto_quote&min_step=3."""
    params = request.query_params
    try:
        since = parse_since(params.get("since") or "24h")
    except BadTime as exc:
        raise BadParameter(answer("bad_parameter", name="since", problem=exc)) from None
    min_step = params.get("min_step") or "0"
    if not min_step.isdigit():
        raise BadParameter(answer("bad_parameter", name="min_step", problem="expected a step number, 1 or more"))
    state = request.app.state
    result = await run_in_threadpool(leads_mod.find, _store(request), state.plan, state.sealer, since, None,
                                     params.get("form") or None, int(min_step))
    return Response(output.encode(result), media_type="application/json")


async def purge_leads(request: Request) -> Response:
    """POST /api/leads/purge: delete now the phones whose retention ended."""
    result = await run_in_threadpool(retention.purge, _store(request))
    return Response(output.encode(result.as_dict()), media_type="application/json")


ROUTES: list[BaseRoute] = [
    Route("/leads", list_leads, methods=["GET"]),
    Route("/leads/purge", purge_leads, methods=["POST"]),
]
"""The call centre's admin endpoints, relative to /api."""
