"""Sales recorded as events, stored as conversions: a back office's `track("Contract Signed", …)` through the
Segment-compatible API, or any event the plan marks with `conversion:` (tagplan/conversions.py).

The event is stored first, as any event (validated, its phone kept only as its keyed hash); a run then reads
the conversion events stored since the last run (by `inserted_at`, with a margin for inserts still in flight,
as stitching does) and imports their sales through `conversions.import_records`, the one function every
conversion goes through: the same checks, the same idempotency (a sale is keyed by its `conversion_id`; the
same sale read twice changes nothing; a corrected one, sent again with other values, replaces it). The
phone is already a key (`phone_key`): the same HMAC an imported line's phone gets, so they match.

A sale's `source` is `<event source>:<event>` (`back_office:contract_signed`, `tag:contract_signed`); its
`source_line` (and a rejected sale's `line` in import_rejects) is a number derived from the event id, since
events have no line. The collector runs this in its background turn, before stitching
(journeys/background.py); `parcours persons stitch` and the admin endpoint run it too.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from collector.storage import Store
from journeys import conversions, watermarks
from journeys.imports import Context
from journeys.profiles import Record

MARGIN = dt.timedelta(minutes=2)
"""How far before the last watermark a run reads again (inserts in flight at the last run)."""
_locks: dict[tuple[str, str], threading.Lock] = {}


@dataclass
class Run(watermarks.Run):
    """What one run did."""

    events: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


def sync(store: Store, ctx: Context, *, host: str = "") -> Run:
    """Import the sales of the conversion events stored since the last run."""
    with _locks.setdefault((store.dsn, store.database), threading.Lock()):
        started = watermarks.now(store)
        run = Run(started)
        maps = ctx.plan.conversions
        if not maps:
            return run
        lo = watermarks.read_from(store, "event_conversion_runs", MARGIN)
        by_source: dict[str, dict[str, Record]] = {}
        for source, record in _records(store, ctx, lo, started):
            run.events += 1
            key = str(record.values.get("conversion_id"))
            by_source.setdefault(source, {})[key] = record  # in the order stored: the last one sent of a sale wins
        for source, records in sorted(by_source.items()):
            summary = conversions.import_records(store, ctx, records.values(), source=source, whole=False)
            run.imported += summary.imported
            run.updated += summary.updated
            run.unchanged += summary.unchanged
            run.rejected += summary.rejected
        store.insert("event_conversion_runs", [[started, started, run.events, run.imported, run.updated,
                                                run.rejected, host or socket.gethostname()]],
                     ["watermark", "started_at", "events", "imported", "updated", "rejected", "host"])
        return run


def _records(store: Store, ctx: Context, lo: dt.datetime, hi: dt.datetime) -> Iterator[tuple[str, Record]]:
    """(sale source, record of canonical fields) for each conversion event stored in (lo, hi], in the order they
    were stored: a sale sent again with other values (a correction, signed at the same time) comes after."""
    maps = ctx.plan.conversions
    result = store.query(
        f"SELECT toString(event_id), event, source, toUnixTimestamp64Milli(ts), phone_key, properties, broker_id "
        f"FROM {store.database}.events WHERE event IN {{names:Array(String)}} "
        "AND inserted_at > {lo:DateTime64(3, 'UTC')} AND inserted_at <= {hi:DateTime64(3, 'UTC')} "
        "ORDER BY inserted_at, ts, event_id", parameters={"names": sorted(maps), "lo": lo, "hi": hi})
    for event_id, event, source, ts_ms, phone_key, properties, broker_id in result.rows:
        cmap = maps.get(event)
        if cmap is None:
            continue
        props = _props(properties)
        values: dict[str, Any] = {field: props.get(prop) for field, prop in cmap.fields.items() if field != "phone"}
        if not values.get("channel") and cmap.channel:
            values["channel"] = cmap.channel
        if not values.get("broker_id") and broker_id:
            values["broker_id"] = broker_id  # the broker the visitor came through, for a sale the tag sent
        values["ts"] = dt.datetime.fromtimestamp(ts_ms / 1000, dt.timezone.utc).isoformat()
        if phone_key:
            values["phone_key"] = phone_key  # hashed by the collector with the same key: never a number here
        yield f"{source}:{event}", Record(zlib.crc32(event_id.encode()) & 0x7FFFFFFF, values)


def _props(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text or "{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
