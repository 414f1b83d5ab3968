"""Runs that read what was stored since the last one: identity stitching (persons.py) and the sales recorded as
events (event_conversions.py).

A run's watermark is ClickHouse's time at its start (not this machine's, which may differ from the server's),
recorded in the module's runs table when the run ends. The next run reads the rows stored (`inserted_at`)
from the last watermark, less a margin for inserts that were still in flight then, up to its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from collector.since import naive_utc
from collector.storage import Store

EPOCH = dt.datetime(1970, 1, 1)
"""The beginning, as ClickHouse returns it (naive UTC): what a first run reads from."""


@dataclasses.dataclass
class Run:
    """What a run did: its watermark, then its counts (named by each module's subclass)."""

    watermark: dt.datetime

    def as_dict(self) -> dict:
        """For JSON: the watermark in ISO 8601, a duration rounded to the millisecond."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return round(value, 3) if isinstance(value, float) else value


def now(store: Store) -> dt.datetime:
    """ClickHouse's time: the watermark of a run starting now."""
    return naive_utc(store.query("SELECT now64(3, 'UTC')").rows[0][0])


def read_from(store: Store, runs: str, margin: dt.timedelta) -> dt.datetime:
    """Where a run starts reading: the last watermark recorded in the table `runs`, less `margin`; EPOCH first."""
    last = naive_utc(store.query(f"SELECT max(watermark) FROM {store.database}.{runs}").rows[0][0])
    return max(EPOCH, last - margin) if last > EPOCH else EPOCH
