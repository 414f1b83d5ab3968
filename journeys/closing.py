"""Closing sessions: the touches of the sessions that have ended kept as plain rows (`parcours.closed_touches`),
so that reports read a row per session instead of merging `parcours.sessions`' rows at each query.

A run, every `INTERVAL` seconds in the collector (journeys/background.py):
- `closed_before` is the midnight before yesterday's, by ClickHouse's clock: a session begun before it has
  ended, unless an event of it is stored later (a log replayed after an outage, a retried batch);
- it writes the touches `parcours.live_touches` gives from the beginning to `closed_before`: the sessions
  begun since the last run's `closed_before`, and those begun before with an event stored since that run began
  (less `MARGIN`, for inserts then in flight: its `late_after`), whose rows already kept are deleted first;
- it records itself in `parcours.touches_runs`, which both views read: until then they read the sessions it
  is writing from `parcours.sessions`, as before it ran. A run that fails half-way is redone by the next.

One run at a time: per process, the persons' lock (an erasure holds it, so no run re-creates what it
deletes); per machine (`--workers N`), a lock file in the data directory, a run finding it taken is skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from collector.since import epoch_seconds, naive_utc
from collector.storage import Store
from journeys import persons, watermarks

INTERVAL = 300.0
MARGIN = dt.timedelta(seconds=60)
"""For inserts in flight when a run begins: an event stored up to this long before its start makes its session
late for the next run (written again, in place of its row)."""


@dataclasses.dataclass
class Run(watermarks.Run):
    closed_before: dt.datetime
    sessions: int = 0
    """Rows written."""
    replaced: int = 0
    """Of those, rows that replaced a late session's."""
    seconds: float = 0.0


def closed_before(now: dt.datetime) -> dt.datetime:
    """The midnight before yesterday's: every session begun before it has had a whole day to end."""
    return dt.datetime.combine(now.date() - dt.timedelta(days=1), dt.time())


def close(store: Store, *, host: str = "") -> Run:
    """One run (see the module docstring)."""
    db = store.database
    with persons.lock(store):
        began = time.perf_counter()
        started = watermarks.now(store)
        (last,), = store.query(f"SELECT max(closed_before) FROM {db}.touches_runs").rows
        run = Run(started, max(closed_before(started), naive_utc(last)))
        with persons.Staging(store) as tmp:
            staged = tmp.table_as(f"{db}.closed_touches")
            store.query(f"INSERT INTO {staged} SELECT * FROM {db}.live_touches(from = {{lo:DateTime64(3, 'UTC')}}, "
                        "to = {hi:DateTime64(3, 'UTC')})", parameters={"lo": watermarks.EPOCH, "hi": run.closed_before},
                        readonly=False)
            (run.sessions,), = store.query(f"SELECT count() FROM {staged}").rows
            if run.sessions:
                run.replaced = _delete_kept(store, staged)
                store.query(f"INSERT INTO {db}.closed_touches SELECT * FROM {staged}", readonly=False)
        run.seconds = time.perf_counter() - began
        store.insert_rows("touches_runs", [{
            "watermark": epoch_seconds(started), "closed_before": epoch_seconds(run.closed_before),
            "late_after": epoch_seconds(started - MARGIN),
            "sessions": run.sessions, "replaced": run.replaced, "seconds": run.seconds,
            "host": host or socket.gethostname()}])
        return run


def _delete_kept(store: Store, staged: str) -> int:
    """Delete the rows already kept of the sessions staged (late ones, or a failed run's), as erasure deletes
    keys (persons.delete_keys: a mutation, by hashes on a cluster); how many."""
    staged_ids = f"SELECT session_id FROM {staged}"
    # GLOBAL: on a cluster the staging table is this server's only.
    (kept,), = store.query(f"SELECT count() FROM {store.database}.closed_touches "
                           f"WHERE session_id GLOBAL IN ({staged_ids})").rows
    if kept:
        persons.delete_keys(store, "closed_touches", "session_id", staged_ids)
    return int(kept)


@contextlib.contextmanager
def machine_lock(data_dir: Path) -> Iterator[bool]:
    """The machine's closing lock, if free: True when held (released on exit), False when another process has it."""
    with open(data_dir / "closing.lock", "a+") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
