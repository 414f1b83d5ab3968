"""The parts a mutation replaced, removed from disk now rather than at the engine's leisure.

A DELETE or UPDATE mutation writes new parts; the old ones, which still hold the rows it removed, stay on disk
until ClickHouse's cleanup removes them. A server does so after its old_parts_lifetime (8 minutes by default),
reliably: nothing is waited for there. The embedded engine runs that cleanup at irregular times, from seconds
to minutes (two background threads, `background_schedule_pool_size`), but at once when a table is attached.
So `drop` detaches each changed table and attaches it again (`reattach`), then waits until the old parts'
directories are gone. An erasure (journeys/erase.py) and the call-back phones' retention
(callcentre/retention.py) use it: when they return, nothing they removed is left on disk.

A query that began before a DETACH and still reads the table keeps it from being attached again until that
query ends ("Retry later"): inserts into it would fail meanwhile. So the tables are reattached at a moment
when no other query runs (`_quiet`), waited for up to QUIET_TIMEOUT seconds with every table attached and
the writer storing; if none comes, the old parts are left to the engine's cleanup and counted as left.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from collector.clickhouse import QueryRefused
from collector.storage import Store

log = logging.getLogger("parcours.old_parts")

no_pause = contextlib.nullcontext
PARTS_TIMEOUT = 60.0
"""How long `drop` waits, once the tables are reattached, for the old parts' directories to go."""
QUIET_TIMEOUT = 60.0
"""How long `reattach` waits for a moment when no other query runs."""
ATTACH_TIMEOUT = 600.0
TABLE_IN_USE = 57
"""ClickHouse's TABLE_ALREADY_EXISTS, the code of "detached but still used by some query. Retry later"."""


def drop(store: Store, tables: list[str], paused=no_pause) -> int:
    """Have the embedded engine remove now the old parts of `tables` (in the store's database); how many are
    still on disk (0 on a server: not waited for). `paused` holds the batch writer while the tables are
    detached (the collector's Writer.paused). The parts' directories are looked at, not system.parts: after
    an ATTACH the engine lists old parts only once it has loaded them again, in the background."""
    if not store.dsn.startswith("chdb:") or not tables:
        return 0
    old = [Path(r[0]) for r in store.query(
        "SELECT path FROM system.parts WHERE database = {db:String} AND table IN {tables:Array(String)} "
        "AND NOT active", parameters={"db": store.database, "tables": tables}).rows]
    deadline = time.monotonic() + (PARTS_TIMEOUT if reattach(store, tables, paused) else 0)
    while True:
        left = [path for path in old if path.exists()]
        if not left or time.monotonic() > deadline:
            return len(left)
        time.sleep(0.05)


def reattach(store: Store, tables: list[str], paused=no_pause) -> bool:
    """Detach each table and attach it again, the writes that `paused` holds paused meanwhile (a few
    milliseconds), at a moment when no other query runs (QUIET_TIMEOUT at most, inserts going on until
    then); whether it was done."""
    db = store.database
    quiet_until = time.monotonic() + QUIET_TIMEOUT
    while True:
        if _quiet(store):
            with paused():
                if _quiet(store):
                    for table in tables:
                        store.query(f"DETACH TABLE {db}.{table}", readonly=False)
                        _attach(store, f"{db}.{table}")
                    return True
        if time.monotonic() > quiet_until:
            log.warning("%s: other queries ran for %.0f s; the old parts are left to ClickHouse's cleanup",
                        ", ".join(tables), QUIET_TIMEOUT)
            return False
        time.sleep(0.05)


def _quiet(store: Store) -> bool:
    """No other query runs in the engine (the embedded engine's queries are all this process's)."""
    return not store.query("SELECT count() FROM system.processes WHERE query_id != queryID()").rows[0][0]


def _attach(store: Store, table: str) -> None:
    """ATTACH TABLE again, detached a moment before. Should a query begun before the DETACH still read the
    table (code 57, "Retry later"), the reading queries are stopped and it is tried again until they have ended
    (ATTACH_TIMEOUT at most: a writing query is waited for), never leaving the table detached while one could
    attach it (ingestion, paused meanwhile, would then stop)."""
    deadline, said = time.monotonic() + ATTACH_TIMEOUT, False
    while True:
        try:
            store.query(f"ATTACH TABLE {table}", readonly=False)
            return
        except QueryRefused as exc:
            if exc.code != TABLE_IN_USE or time.monotonic() > deadline:
                raise
            if not said:
                log.warning("%s is read by a query begun as it was detached (after the wait for a quiet moment): the "
                            "reading queries running are stopped, the table attached once they end", table)
                # Begun in the milliseconds since the quiet check, a reading query (a report, an analyst's statement,
                # up to an hour) held the batch writer paused, and the table detached, for as long as it ran; past
                # ATTACH_TIMEOUT the table stayed detached and ingestion stopped. Its caller gets an error and asks
                # again; what it read was the data the erasure removes.
                store.query("KILL QUERY WHERE Settings['readonly'] = '1' ASYNC", readonly=False)
                said = True
            time.sleep(0.05)
