"""Closing sessions: the touches of the sessions that have ended kept as plain rows (`parcours.closed_touches`),
so that reports read a row per session instead of merging `parcours.sessions`' rows at each query.

A run, every `INTERVAL` seconds in the collector (journeys/background.py):
- `closed_before` is the midnight before yesterday's, by ClickHouse's clock: a session begun before it has
  ended, unless an event of it is stored later (a log replayed after an outage, a retried batch);
- it writes the touches `parcours.live_touches` gives from the beginning to `closed_before`: the sessions
  begun since the last run's `closed_before`, and those begun before with an event stored since that run began
  (less `MARGIN`, for inserts then in flight: its `late_after`), whose rows already kept are deleted first;
- it keeps the form events before `closed_before` in `parcours.closed_form_sessions`, a row per form, session
  and visitor (`closed_form_sessions.sql`): those from the last run's `closed_before` on, and every one of the
  late form sessions (a form event stored since the last run's `late_after`), whose rows it deletes first, as
  it deletes the rows a failed run left (written after the last recorded run's `closed_before`). The first run
  after migration 57 keeps every form event stored before it;
- it records itself in `parcours.touches_runs`, which both views and the funnel read: until then they read the
  sessions it is writing from `parcours.sessions` and the events, as before it ran. A run that fails half-way
  is redone by the next.

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

HERE = Path(__file__).parent
FORM_ROWS = (HERE / "closed_form_sessions.sql").read_text()
FORM_EVENTS = "('form_step', 'form_submit', 'form_abandon')"

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
    form_sessions: int = 0
    """Rows written in closed_form_sessions."""
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
            run.form_sessions = _close_forms(store, tmp, run)
        run.seconds = time.perf_counter() - began
        store.insert_rows("touches_runs", [{
            "watermark": epoch_seconds(started), "closed_before": epoch_seconds(run.closed_before),
            "late_after": epoch_seconds(started - MARGIN),
            "sessions": run.sessions, "replaced": run.replaced, "seconds": run.seconds,
            "host": host or socket.gethostname(), "forms": 1}])
        return run


def _close_forms(store: Store, tmp: persons.Staging, run: Run) -> int:
    """Keep the form events before the run's closed_before (the module docstring); the rows written."""
    db = store.database
    (recorded, lo, late_after), = store.query(
        f"SELECT count() > 0, max(closed_before), max(late_after) FROM {db}.touches_runs WHERE forms = 1").rows
    lo = naive_utc(lo) if recorded else watermarks.EPOCH
    late = tmp.table("form_id String, session_id String", [])
    if recorded:
        store.query(f"INSERT INTO {late} SELECT DISTINCT form_id, session_id FROM {db}.events "
                    f"WHERE event IN {FORM_EVENTS} AND inserted_at >= {{after:DateTime64(3, 'UTC')}} "
                    "AND ts < {lo:DateTime64(3, 'UTC')}",
                    parameters={"after": naive_utc(late_after), "lo": lo}, readonly=False)
    # The rows a failed run wrote after the last recorded one, and the late sessions': written again below.
    stale = tmp.table("form_id String, session_id String, closed_before DateTime64(3, 'UTC')", [])
    store.query(f"INSERT INTO {stale} SELECT form_id, session_id, closed_before FROM {db}.closed_form_sessions "
                "WHERE closed_before > {lo:DateTime64(3, 'UTC')} "
                f"OR (form_id, session_id) GLOBAL IN (SELECT form_id, session_id FROM {late})",
                parameters={"lo": lo}, readonly=False)
    (n,), = store.query(f"SELECT count() FROM {stale}").rows
    if n:
        persons.delete_keys(store, "closed_form_sessions", "(form_id, session_id, closed_before)",
                            f"SELECT form_id, session_id, closed_before FROM {stale}")
    (late_sessions,), = store.query(f"SELECT count() FROM {late}").rows
    if recorded and lo >= run.closed_before and not late_sessions:
        return 0  # the same closed_before, nothing late: nothing to write (most runs: the rows' query reads keys)
    staged = tmp.table_as(f"{db}.closed_form_sessions")
    store.query(f"INSERT INTO {staged} " + FORM_ROWS.replace("{db}", db).replace("{late}", late),
                parameters={"lo": lo, "hi": run.closed_before}, readonly=False)
    (rows,), = store.query(f"SELECT count() FROM {staged}").rows
    if rows:
        store.query(f"INSERT INTO {db}.closed_form_sessions SELECT * FROM {staged}", readonly=False)
    return int(rows)


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
