"""The rows the collector writes: one Struct per table, its fields named as the table's columns.

A row is encoded once, by ingest, as one JSONEachRow line. The write-ahead log keeps the lines as they
are and the batch writer hands ClickHouse their concatenation, which it parses in C++ (the embedded
engine outside the GIL): no Python serialisation per column on the way in. Lines name their columns,
so a line written before a migration added a column takes that column's default.

Times are Unix seconds with millisecond decimals (`DateTime64(3)` parses them as such), event ids
canonical UUID strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec


class EventRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One valid event in `parcours.events`. A field left at its default is left out of the line and
    ClickHouse gives the column the same default: shorter lines to log, fsync and parse."""

    event_id: str
    event: str
    ts: float
    client_ts: float
    client_ts_original: float | None = None
    sent_at: float
    received_at: float
    visitor_id: str = ""
    session_id: str = ""
    seq: int = 0
    url: str = ""
    referrer: str = ""
    broker_id: str = ""
    broker_name: str = ""
    lever: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    click_id: str = ""
    click_id_type: str = ""
    captured: dict[str, str] = {}
    form_id: str = ""
    step: str = ""
    step_index: int = 0
    properties: str  # "{}" when none: the column's own default is ""
    phone_key: str = ""
    user_agent: str = ""
    ip: str = ""
    plan_version: str = ""
    browser: str = ""
    browser_version: str = ""
    os: str = ""
    os_version: str = ""
    device_type: str = ""
    is_bot: bool = False
    step_elapsed_ms: int = 0
    source: str = ""
    """"" for the tag (the column's default, `tag`), else the server source whose write key sent it."""
    user_id: str = ""
    message_id: str = ""


class RejectedRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One event that failed validation, in `parcours.rejected_events`, with every reason."""

    received_at: float
    event_id: str
    event: str
    reasons: list[str]
    raw: str
    user_agent: str = ""
    ip: str = ""
    plan_version: str = ""
    sent_at: float = 0.0
    phone_key: str = ""
    source: str = ""


class DeadLetterRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A row ClickHouse refused for what it holds, in `parcours.dead_letters`, as it was written."""

    id: str
    set_aside_at: float
    target: str
    event_id: str = ""
    event: str = ""
    error: str
    error_code: int = 0
    line: str
    replayed_at: float = 0.0


_encoder = msgspec.json.Encoder()


def seconds(ms: int) -> float:
    """A time column's value from Unix milliseconds."""
    return ms / 1000


def lines(rows: Iterable[msgspec.Struct]) -> bytes:
    """Rows as JSONEachRow: one JSON object per line, each line ending in a newline."""
    return _encoder.encode_lines(rows)


def count(data: bytes) -> int:
    """How many rows a JSONEachRow block holds (a newline never occurs inside a JSON line)."""
    return data.count(b"\n")


def row_keys(table: str, data: bytes) -> tuple[list[tuple[str, int] | None], tuple[float, float]]:
    """What identifies each line's row in its table, for checking which rows a table already holds:
    events by event_id, rejected rows by event_id and receipt time (in ms); None for a line that does
    not say. With the span of the time the table is sorted by (events: client_ts, rejected: received_at),
    so the check reads little."""
    keys: list[tuple[str, int] | None] = []
    times = []
    for line in data.splitlines():
        try:
            doc = _key_decoder.decode(line)
        except msgspec.DecodeError:
            keys.append(None)
            continue
        if table == "rejected_events":
            keys.append((doc.event_id, round(doc.received_at * 1000)))
            times.append(doc.received_at)
        else:
            keys.append((doc.event_id, 0))
            times.append(doc.client_ts)
    return keys, (min(times, default=0.0), max(times, default=0.0))


class _Key(msgspec.Struct):
    event_id: str
    received_at: float = 0.0
    client_ts: float = 0.0


_key_decoder = msgspec.json.Decoder(_Key)


def legacy_lines(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """JSONEachRow from the positional rows of a format-1 log segment (written before rows were lines).

    Their datetimes are encoded as RFC 3339 text, which DateTime64 parses too; their UUIDs are strings.
    """
    return _encoder.encode_lines([dict(zip(columns, row)) for row in rows])
