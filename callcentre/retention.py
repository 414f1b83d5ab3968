"""The end of a call-back phone's retention: its row deleted from `lead_contacts`, and the parts that held it.

A contact's `purge_after` is its consent time plus the lead rule's retention_days. `purge` deletes the rows
past it by a mutation, which writes new parts without them; the old parts stay on disk until ClickHouse's
cleanup removes them. On the embedded engine that cleanup runs at irregular times, but at once when a table is
attached: the table is detached and attached again at a moment when no other query runs (collector/old_parts.py;
a consent arriving in those milliseconds is refused with 503 and sent again by the tag), and `purge` waits
until no old part is left. A server removes them after its old_parts_lifetime (8 minutes by default). The
collector purges at start and every hour (`Purger`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from collector import old_parts
from collector.ddl import mutation
from collector.periodic import Periodic
from collector.storage import Store

log = logging.getLogger("parcours.leads.retention")

EVERY = 3600.0
"""Seconds between two purges in the collector."""
TABLE = "lead_contacts"


@dataclass
class Purged:
    contacts: int
    old_parts_left: int

    def as_dict(self) -> dict:
        return {"contacts": self.contacts, "old_parts_left": self.old_parts_left}


def withdrawals(plan) -> list[tuple[str, str, str]]:
    """Per lead form of a compiled plan: (form, the step asking the phone and the box, the box's property)."""
    return [(form_id, step, spec.consent) for (form_id, step), spec in plan.lead_steps.items()]


def _withdrawn(store: Store, rules: Sequence[tuple[str, str, str]]) -> list[str]:
    """The contacts whose box was unticked since it was ticked (the step sent again without it): the latest
    answer is no, so their phone goes before its retention ends (leads.sql lists none of them)."""
    db, out = store.database, []
    for form_id, step, consent in rules:
        out += [r[0] for r in store.query(f"""
            SELECT c.event_id
            FROM {db}.{TABLE} AS c
            INNER JOIN (
                SELECT visitor_id, max(ts) AS unticked_at
                FROM {db}.events
                WHERE event = 'form_step' AND form_id = {{form:String}} AND step = {{step:String}}
                  AND JSONExtractRaw(properties, {{consent:String}}) != 'true'
                  AND ts >= (SELECT min(consented_at) FROM {db}.{TABLE} WHERE form_id = {{form:String}})
                  AND visitor_id IN (SELECT visitor_id FROM {db}.{TABLE} WHERE form_id = {{form:String}})
                GROUP BY visitor_id
            ) AS w ON w.visitor_id = c.visitor_id
            WHERE c.form_id = {{form:String}} AND w.unticked_at > c.consented_at""",
            parameters={"form": form_id, "step": step, "consent": consent}).rows]
    return out


def _superseded(store: Store) -> list[str]:
    """The contacts a later tick of the same visitor on the same form replaced (another phone, another day): only
    the latest is ever listed or sent (leads.sql), the others are kept for nothing."""
    db = store.database
    return [r[0] for r in store.query(f"""
        SELECT event_id FROM (
            SELECT event_id, consented_at, max(consented_at) OVER (PARTITION BY visitor_id, form_id) AS latest
            FROM {db}.{TABLE} FINAL)
        WHERE consented_at < latest""").rows]


def purge(store: Store, now: dt.datetime | None = None, withdrawn: Sequence[tuple[str, str, str]] = ()) -> Purged:
    """Delete the contacts whose retention has ended, whose consent was withdrawn (`withdrawn`: the plan's
    `withdrawals`) or that a later tick replaced, and the old parts that held them."""
    db = store.database
    when = "purge_after <= {now:DateTime64(3, 'UTC')}" if now else "purge_after <= now64(3)"
    ids = _withdrawn(store, withdrawn) + _superseded(store)
    parameters: dict = {"now": now} if now else {}
    if ids:  # event ids (UUIDs): nothing personal in the statement ClickHouse keeps
        when = f"({when}) OR has({{ids:Array(String)}}, event_id)"
        parameters["ids"] = ids
    (n,), = store.query(f"SELECT count() FROM {db}.{TABLE} WHERE {when}", parameters=parameters or None).rows
    if not n:
        return Purged(0, 0)
    store.query(mutation(db, store.cluster, TABLE, "DELETE", when), readonly=False, parameters=parameters or None)
    left = old_parts.drop(store, [TABLE])
    log.info("retention: %d call-back phone(s) deleted (retention ended or consent withdrawn)%s", n, f" ({left} old part(s) still on disk)" if left else "")
    return Purged(int(n), left)


class Purger(Periodic):
    """The collector's purge, at start and every EVERY seconds, on a thread of its own, with its own client;
    `plan()`: the plan in force, for the withdrawn consents."""

    def __init__(self, store: Store, plan: Callable[[], object]):
        super().__init__("parcours-leads-retention", lambda: purge(store, withdrawn=withdrawals(plan())), EVERY, log,
                         "retention: the purge")
        self.store = store

    async def stop(self, timeout: float | None = None) -> None:
        """Finish the purge under way, then close the client."""
        await super().stop(timeout)
        self.store.close()
