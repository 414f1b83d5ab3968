"""Exports: a table's rows in a period as CSV or JSON lines, a day at a time so memory stays bounded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from collector.errors import BadParameter
from collector.output import spreadsheet_sql
from collector.since import utc
from collector.storage import Store

TABLES = {"events": "events FINAL", "rejected_events": "rejected_events", "rejected_replays": "rejected_replays"}
"""Exportable tables; events through FINAL, so a retried event is exported once."""
FORMATS = {"csv": ("text/csv; charset=utf-8", "CSVWithNames", "CSV"),
           "jsonl": ("application/x-ndjson", "JSONEachRow", "JSONEachRow")}
"""format -> (media type, ClickHouse format of the first window, of the next ones)."""
_WINDOW = dt.timedelta(days=1)
_MS = dt.timedelta(milliseconds=1)


class BadExport(BadParameter):
    """An unknown table or format; the message lists the known ones."""


def check(table: str, fmt: str) -> None:
    if table not in TABLES:
        raise BadExport(f'table "{table[:64]}" cannot be exported; use one of {", ".join(TABLES)}')
    if fmt not in FORMATS:
        raise BadExport(f'format "{fmt[:64]}" is not known; use {" or ".join(FORMATS)}')


def chunks(store: Store, table: str, fmt: str, since: dt.datetime, until: dt.datetime | None = None) -> Iterator[bytes]:
    """The rows received in [since, until), oldest first, as bytes in the format (CSV has one header line)."""
    check(table, fmt)
    column = "replayed_at" if table == "rejected_replays" else "received_at"
    lo, hi = (utc(v) for v in store.query(
        f"SELECT min({column}), max({column}) FROM {store.database}.{table}").rows[0])
    start, end = max(since, lo), min(until or hi + _MS, hi + _MS)
    _, first_format, next_format = FORMATS[fmt]
    sql = (f"SELECT {_columns(store, table) if fmt == 'csv' else '*'} FROM {store.database}.{TABLES[table]} "
           f"WHERE {column} >= {{lo:DateTime64(3, 'UTC')}} AND {column} < {{hi:DateTime64(3, 'UTC')}} "
           f"ORDER BY {column}")
    if start >= end:
        if fmt == "csv":  # the header alone, so an empty export is still a valid CSV file
            yield store.raw(sql, first_format, {"lo": start, "hi": start})
        return
    window, first = start, True
    # The embedded engine returns a whole result at once: a day per query bounds memory.
    while window < end:
        upper = min(window + _WINDOW, end)
        data = store.raw(sql, first_format if first else next_format, {"lo": window, "hi": upper})
        if data:
            yield data
        first, window = False, upper


def _columns(store: Store, table: str) -> str:
    """The table's columns for a CSV a marketer may open in a spreadsheet: a text one that starts like a
    formula (a campaign is anyone's URL text) gets a leading quote (collector/output.py's rule)."""
    columns = store.query(f"SELECT name, type FROM system.columns WHERE database = {{db:String}} "
                          f"AND table = {{table:String}} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') "
                          f"ORDER BY position", parameters={"db": store.database, "table": table}).rows
    return ", ".join(spreadsheet_sql(f"`{name}`") + f" AS `{name}`" if type_.removeprefix("LowCardinality(")
                     .removeprefix("Nullable(").startswith("String") else f"`{name}`" for name, type_ in columns)
