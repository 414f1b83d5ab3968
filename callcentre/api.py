"""The call centre inside the collector: what runs for its lifetime, and its endpoints.

- Call-back consents are stored as they arrive (contacts.py), on a ClickHouse client of their own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from callcentre.contacts import ContactWriter
from callcentre.seal import Sealer, parse_keys
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
    try:
        yield
    finally:
        await run_in_threadpool(contacts.close)


ROUTES: list[BaseRoute] = []
"""The call centre's admin endpoints, relative to /api."""
