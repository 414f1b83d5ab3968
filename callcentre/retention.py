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


def purge(store: Store, now: dt.datetime | None = None) -> Purged:
    """Delete the contacts whose retention has ended, and the old parts that held them."""
    db = store.database
    when = "purge_after <= {now:DateTime64(3, 'UTC')}" if now else "purge_after <= now64(3)"
    parameters = {"now": now} if now else None
    (n,), = store.query(f"SELECT count() FROM {db}.{TABLE} WHERE {when}", parameters=parameters).rows
    if not n:
        return Purged(0, 0)
    store.query(mutation(db, store.cluster, TABLE, "DELETE", when), readonly=False, parameters=parameters)
    left = old_parts.drop(store, [TABLE])
    log.info("retention: %d call-back phone(s) deleted%s", n, f" ({left} old part(s) still on disk)" if left else "")
    return Purged(int(n), left)


class Purger(Periodic):
    """The collector's purge, at start and every EVERY seconds, on a thread of its own, with its own client."""

    def __init__(self, store: Store):
        super().__init__("parcours-leads-retention", lambda: purge(store), EVERY, log, "retention: the purge")
        self.store = store

    async def stop(self, timeout: float | None = None) -> None:
        """Finish the purge under way, then close the client."""
        await super().stop(timeout)
        self.store.close()
