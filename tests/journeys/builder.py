"""Small hand-written journeys for report tests: events as the collector stores them, built by name."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from collector.rows import EventRow, lines
from collector.storage import Store

SITE = "https://www.motoassur.example"


def at(text: str) -> dt.datetime:
    """A UTC time from "2026-03-02 10:00" or "2026-03-02 10:00:05.250"."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


class Journeys:
    """Rows of parcours.events, added one by one; `store` inserts them (as the writer would)."""

    def __init__(self) -> None:
        self.rows: list[EventRow] = []
        self._seq: dict[str, int] = {}

    def add(self, event: str, visitor: str, session: str, when: str, *, url: str = SITE + "/",
            properties: dict[str, Any] | None = None, **fields: Any) -> EventRow:
        t = at(when).timestamp()
        self._seq[session] = seq = self._seq.get(session, 0) + 1
        row = EventRow(event_id=fields.pop("event_id", str(uuid.uuid4())), event=event, ts=t, client_ts=t,
                       sent_at=t, received_at=t, visitor_id=visitor, session_id=session,
                       seq=fields.pop("seq", seq), url=url, properties=json.dumps(properties or {}), **fields)
        self.rows.append(row)
        return row

    def page(self, visitor: str, session: str, when: str, **fields: Any) -> EventRow:
        return self.add("page_view", visitor, session, when, **fields)

    def step(self, form: str, step: str, index: int, visitor: str, session: str, when: str,
             elapsed_ms: int = 0, **fields: Any) -> EventRow:
        return self.add("form_step", visitor, session, when, form_id=form, step=step, step_index=index,
                        step_elapsed_ms=elapsed_ms, **fields)

    def submit(self, form: str, visitor: str, session: str, when: str, **fields: Any) -> EventRow:
        return self.add("form_submit", visitor, session, when, form_id=form, **fields)

    def abandon(self, form: str, step: str, index: int, visitor: str, session: str, when: str) -> EventRow:
        return self.add("form_abandon", visitor, session, when, form_id=form, step=step, step_index=index)

    def store(self, store: Store, rows: list[EventRow] | None = None) -> None:
        """Insert as one batch. Its own deduplication token: the same rows stored again are a retried batch
        that reached the collector twice (the embedded engine deduplicates a block sent without a token)."""
        store.insert_lines("events", lines(self.rows if rows is None else rows), token=str(uuid.uuid4()))


def sale(store: Store, conversion_id: str, when: str, *, channel: str = "shop", broker_id: str = "",
         premium: str = "0", phone_key: str = "", crm_id: str = "", imported_at: str | None = None) -> None:
    """One row of parcours.conversions, as `parcours import conversions` writes it."""
    import decimal

    store.insert("conversions", [[conversion_id, at(when), channel, broker_id, decimal.Decimal(premium), "EUR",
                                  phone_key, crm_id, "test.csv", 1, at(imported_at or when)]],
                 ["conversion_id", "ts", "channel", "broker_id", "premium", "currency", "phone_key", "crm_id",
                  "source", "source_line", "imported_at"])


def person(store: Store, person_id: str, *, visitors: tuple[str, ...] = (), phones: tuple[str, ...] = (),
           crm_ids: tuple[str, ...] = ()) -> None:
    """The stitching's result for one person: parcours.person_keys rows."""
    keys = [("visitor", v) for v in visitors] + [("phone", p) for p in phones] + [("crm", c) for c in crm_ids]
    store.insert("person_keys", [[kind, key, person_id, at("2026-01-01 00:00")] for kind, key in keys],
                 ["key_type", "key", "person_id", "updated_at"])


def broker(store: Store, broker_id: str, name: str, lever: str, shop: str = "") -> None:
    """One row of parcours.brokers."""
    store.insert("brokers", [[broker_id, name, lever, shop, "", "test", at("2026-01-01 00:00")]],
                 ["broker_id", "name", "lever", "shop", "network", "source", "updated_at"])


def cost(store: Store, day: str, lever: str, campaign: str, amount: str) -> None:
    """One row of parcours.costs, as `parcours import costs` writes it."""
    import datetime as dt
    import decimal

    store.insert("costs", [[dt.date.fromisoformat(day), lever, campaign, decimal.Decimal(amount), "EUR", "test.csv", 1,
                            at(day + " 00:00")]],
                 ["day", "lever", "campaign", "amount", "currency", "source", "source_line", "imported_at"])
