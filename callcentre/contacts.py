"""Call-back consents, from the tag to `lead_contacts` without the phone ever written in clear.

A form step that asks the phone and the call-back box (the plan's call_centre.leads) reaches ingest with the
number as typed. Ingest removes it from the event, as every phone (the event keeps its keyed hash); when the
box is ticked, `contact_row` also seals it (seal.py) into a contact row, with the proof of the consent: its
time, the wording version, the page. Without the box, nothing but the hash is left.

The contact row does not go through the write-ahead log: it is inserted into ClickHouse directly
(`ContactWriter`), before the collector answers, so the sealed number never rests in a log segment after
its retention; when ClickHouse cannot take it the request is refused with 503 and the tag sends it again
(its events are deduplicated by id).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import msgspec

from callcentre.seal import Sealer
from collector.enrich import phone_key
from collector.storage import Store, StoreError
from tagplan.compile import LeadStep
from tagplan.phone import e164

DAY = 86_400


class ContactRow(msgspec.Struct, kw_only=True):
    """One ticked call-back box with its phone, sealed: a row of `lead_contacts`."""

    event_id: str
    consented_at: float
    visitor_id: str
    session_id: str
    form_id: str
    step: str
    step_index: int
    phone_key: str
    sealed: str
    wording: str
    url: str
    plan_version: str
    purge_after: float



def contact_row(properties: dict, row, spec: LeadStep, sealer: Sealer, secret: bytes) -> ContactRow | None:
    """The contact of a valid step event (`row`, its EventRow; `properties` as sent), or None when the box was
    not ticked (exactly true) or no valid phone came with it."""
    if properties.get(spec.consent) is not True:
        return None
    raw = properties.get(spec.phone)
    number = e164(raw, spec.region) if isinstance(raw, str) else None
    if not number:
        return None
    return ContactRow(
        event_id=row.event_id, consented_at=row.ts, visitor_id=row.visitor_id, session_id=row.session_id,
        form_id=row.form_id, step=row.step, step_index=row.step_index,
        phone_key=row.phone_key or phone_key(number, spec.region, secret),
        sealed=sealer.seal(number, row.event_id), wording=spec.wording, url=row.url,
        plan_version=row.plan_version, purge_after=row.ts + spec.retention_days * DAY,
    )


class ContactsRefused(Exception):
    """ClickHouse did not take the contacts: the request is refused for the tag to send again."""


class ContactWriter:
    """Inserts contact rows on a ClickHouse client of its own, off the event loop."""

    def __init__(self, store: Store):
        self.store = store
        self._io = ThreadPoolExecutor(1, thread_name_prefix="parcours-contacts")

    async def write(self, rows: Sequence[ContactRow]) -> None:
        """Store the rows (a row sent twice is kept once: the table is replaced by event id); raises
        ContactsRefused when ClickHouse cannot take them."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._io, self._insert, list(rows))
        except StoreError as exc:
            raise ContactsRefused(str(exc)) from None

    def _insert(self, rows: list[ContactRow]) -> None:
        self.store.insert_rows("lead_contacts", rows)

    def close(self) -> None:
        self._io.shutdown(wait=True)
        self.store.close()
