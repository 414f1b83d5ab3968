"""The store: one ClickHouse database, reached through clients that never share a connection.

- `store.ingest`: the batch writer's own client (`store.ingest.insert_lines`, `.missing_lines`, `.ping`).
  Nothing else uses it, so no other work can change its session or make it wait.
- `store.reads`: a few clients for everyone who reads (`store.query`, `store.raw`): analysts' SQL
  (`store.analyst`: one reading statement, `readonly = 1`, a default `max_execution_time`), exports,
  summaries, reports. A request's reading queries carry a `Ticket` (`TICKET`): named by it (their
  `log_comment`), they can be stopped when nobody waits for them any more (`store.cancel`), and each is
  bounded by the default `max_execution_time` too.
- `store.writes`: clients for the writes that are not ingestion: replay of rejected events, imports,
  migrations (`store.insert`, `store.insert_rows`, `store.insert_lines`, `store.command`, `store.migrate`,
  and `store.query(sql, readonly=False)`).

On the embedded engine each client is its own chDB connection to the one engine of the process: an insert
on one completes while a long query runs on another. The clients and their errors are clickhouse.py's,
the only module that imports clickhouse_connect; the names others need are imported from here.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from collector.clickhouse import (  # noqa: F401  (the store's public names, used from here)
    Client,
    EngineBusy,
    Pool,
    QueryRefused,
    QueryResult,
    Refused,
    StoreError,
    Timeouts,
    Written,
    default_dsn,
    embedded_in_use,
    is_embedded,
)
from collector.ddl import migration_ddl
from collector.rows import lines, row_keys
from collector.schema import DATABASE, MIGRATIONS, bootstrap_ddl
from collector.sqlcheck import NotReading, reading_statement


log = logging.getLogger("parcours.storage")


class Sink(Protocol):
    """Where the batch writer's batches go: `Ingest`, or a fault-injecting wrapper around it in tests."""

    def insert_lines(self, table: str, data: bytes, token: str | None = None) -> None: ...
    def missing_lines(self, table: str, data: bytes) -> bytes: ...
    def ping(self) -> None: ...


class Ingest:
    """The batch writer's side of a store: its own client, which nothing else uses (the writer's sink)."""

    def __init__(self, client: Client, database: str):
        self.client, self.database = client, database

    def insert_lines(self, table: str, data: bytes, token: str | None = None) -> None:
        _insert_lines(self.client, self.database, table, data, token)

    def missing_lines(self, table: str, data: bytes) -> bytes:
        return _missing_lines(self.client, self.database, table, data)

    def ping(self) -> None:
        """The writer's client reaches ClickHouse, or StoreError."""
        self.client.ping()

    def close(self) -> None:
        self.client.close()


CALLS = f"parcours-call-{uuid.uuid4().hex[:12]}-"
"""The start of this process's tickets' tags: its queries still running when it stops are stopped with it
(`Store.stop_calls`), and no other collector's on the same server."""


@dataclass
class Ticket:
    """The reading queries of one request, named by their `log_comment` setting so that they can be stopped
    when nobody waits for them any more: a dashboard call the page gave up (a newer period, a panel reloaded).
    Not by a comment in their text: the engine lists a query with parameters as it formatted it, comments
    gone, so such a query was never found (and one that never ended ran on)."""

    tag: str = field(default_factory=lambda: CALLS + uuid.uuid4().hex)
    cancelled: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    """Settings its queries run with (a background computation: one thread, a low priority)."""


ANALYSTS = 2
"""Analysts' statements (POST /api/sql, `parcours sql`) run at once; more wait for one of them to end."""

ANALYST_SECONDS = 3600
"""The most an analyst's statement may run (its `max_execution_time`, which it may set lower, never higher nor
0, ClickHouse's "no limit"): a statement never ends otherwise, holding its client for good."""

ANALYST_MEMORY_SHARE = 0.2
"""An analyst's statement may hold this share of the engine's memory bound: the analysts' clients (2) busy
with the largest statements leave the rest to the batch writer's inserts, the reports and merges, where one
statement could take it all (a `groupArray` over 300 million numbers: 8 GB in the collector's process)."""

ANALYST_DISK_SHARE = 0.1
"""An analyst's statement may write this share of the free space of the engine's disk as temporary data (a
GROUP BY or ORDER BY larger than its memory spills to disk, by default past half of it): without a bound one
statement wrote 50 MB/s into the data directory for up to ANALYST_SECONDS, until the disk holding the
write-ahead log and the tables was full and every event was refused."""

ANALYST_ROWS = 1_000_000
ANALYST_BYTES = 256 << 20
"""The most rows, and bytes, an analyst's statement may answer (`max_result_rows`, `max_result_bytes`, which it may
set lower, never higher nor 0; `result_overflow_mode = 'break'` for the first rows instead of a refusal): the rows
are held in the collector's process, then written as JSON, holding the interpreter, so every other request, for
as long (15 million rows: 23 s of memory and pauses of 1.5 to 2 s in ingestion). A table's rows come out with
`parcours export`, a day at a time."""

READ_SETTINGS = {"os_thread_priority": 19}
"""Every reading query (reports, the dashboard, analysts' SQL) runs its threads at the lowest CPU priority (a
Linux nice value; a no-op where ClickHouse may not change it, without CAP_SYS_NICE): the batch writer's inserts
go first when both want the CPU. On the 10-million-event seed, the writer kept 89-100% of its rate alone
while five reports ran beside it, against 69-74% without (bench/README.md); the reports took 10-20% longer
there, about the same alone."""

TICKET: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar("parcours_ticket", default=None)
"""The ticket of the request whose queries run in this context (`Store.query` names them with it)."""


class Cancelled(StoreError):
    """Its caller went away: the query was stopped, or never started."""

    status = 499
    error_code = "cancelled"


class Store:
    """One ClickHouse database, through the clients described at the top of this module."""

    def __init__(self, dsn: str, database: str = DATABASE, cluster: str | None = None, *,
                 timeouts: Timeouts = Timeouts(), readers: int = 4):
        self.dsn, self.database, self.cluster, self.timeouts = dsn, database, cluster, timeouts
        self._analyst_memory: int | None = None
        self._analyst_disk: int | None = None
        # On a cluster our queries read Distributed tables with subqueries (IN, JOIN) on other Distributed
        # tables, which ClickHouse refuses by default: each such subquery runs once, on the server asked, and
        # its result goes to the shards (GLOBAL IN / GLOBAL JOIN: a person's rows are spread over them). On
        # one server the setting changes nothing.
        self.cluster_settings: dict[str, Any] = {"distributed_product_mode": "global"} if cluster else {}
        if is_embedded(dsn):
            path = urlsplit(dsn).path
            if path:
                Path(path).mkdir(parents=True, exist_ok=True)
        self.ingest = Ingest(Client(dsn, timeouts=timeouts), database)
        # Settings ride with each query, never on a session (on the embedded engine a session SET cannot
        # be undone once readonly). The reply of a query may take as long as the query, and some more.
        reading = lambda: Client(dsn, timeouts=timeouts, send_receive=timeouts.query + timeouts.send_receive)  # noqa: E731
        self.reads = Pool(reading, readers)
        # Analysts' statements on clients of their own (ANALYSTS at once, the others wait for one): however many
        # and however long, they never take the clients the reports, the dashboard and the APIs read with.
        self.analysts = Pool(reading, ANALYSTS)
        self.writes = Pool(lambda: Client(dsn, timeouts=timeouts, send_receive=max(timeouts.send_receive, 300)), 2)

    def close(self) -> None:
        self.reads.close()
        self.analysts.close()
        self.writes.close()
        self.ingest.close()

    def answers(self) -> None:
        """StoreError unless the ClickHouse server answers a trivial query within its connect timeout
        (`--clickhouse-connect-timeout`). A server that takes connections and never answers (hung, stopped,
        a proxy whose back end is gone) held the collector's start on the migrations' clients, which wait
        300 s a call: nothing was answered, not even /healthz, for minutes."""
        with self._brief() as client:
            client.ping()

    # ---- everyone else's

    def insert_lines(self, table: str, data: bytes, token: str | None = None) -> None:
        """Insert a block of JSONEachRow lines (rows.py) into one table, on a writing client; the same
        `token` twice stores them once (see schema migration 3); without a token, no deduplication."""
        with self.writes.client() as client:
            _insert_lines(client, self.database, table, data, token)

    def missing_lines(self, table: str, data: bytes) -> bytes:
        """The lines of a block whose rows `table` does not hold yet (see `Ingest.missing_lines`)."""
        with self.reads.client() as client:
            return _missing_lines(client, self.database, table, data)

    def analyst(self, statement: str, parameters: dict[str, str] | None = None) -> QueryResult:
        """An analyst's SQL: one reading statement (sqlcheck.py), on a read-only client, with the default
        max_execution_time unless the statement sets its own, and at most `analyst_memory()` bytes of memory and
        `analyst_disk()` of temporary data on disk (a statement may ask for less); `parameters` the values of its `{name:Type}`, bound by ClickHouse.
        Raises Refused, or StoreError."""
        try:
            reading = reading_statement(statement, parameters)
        except NotReading as exc:
            raise Refused(str(exc)) from None
        bound = self.analyst_memory()
        bounds = {"max_memory_usage": _at_most(reading.settings.get("max_memory_usage"), bound)} if bound else {}
        disk = self.analyst_disk()
        if disk:
            bounds["max_temporary_data_on_disk_size_for_query"] = _at_most(
                reading.settings.get("max_temporary_data_on_disk_size_for_query"), disk)
        # Named by the request's ticket (admin.watched): stopped when its caller goes away or the collector stops.
        ticket = TICKET.get() or Ticket()
        # readonly last: ClickHouse applies a query's settings in order, and refuses any after it.
        settings = {**self.cluster_settings, **reading.settings, **bounds,
                    "max_result_rows": _at_most(reading.settings.get("max_result_rows"), ANALYST_ROWS),
                    "max_result_bytes": _at_most(reading.settings.get("max_result_bytes"), ANALYST_BYTES),
                    "result_overflow_mode": reading.settings.get("result_overflow_mode", "throw"),
                    "max_execution_time": _analyst_seconds(reading.settings.get("max_execution_time"),
                                                           self.timeouts.query),
                    "log_comment": ticket.tag,
                    **READ_SETTINGS, "readonly": 1}  # an analyst's statement cannot put itself before ingestion
        written = {name: Written(value) for name, value in reading.parameters.items()}
        with self.analysts.client() as client:
            return _ticketed(ticket, lambda: client.query(reading.statement, written or None, settings))

    def analyst_memory(self) -> int:
        """The memory an analyst's statement may take: `ANALYST_MEMORY_SHARE` of the engine's own bound
        (`max_server_memory_usage`, the embedded engine's 90% of the machine's memory), read once; 0 (no bound
        of ours: the server's profile decides) when the server sets none or cannot say."""
        if self._analyst_memory is None:
            try:
                with self.reads.client() as client:
                    rows = client.query("SELECT toUInt64OrZero(value) FROM system.server_settings "
                                        "WHERE name = 'max_server_memory_usage'").rows
                self._analyst_memory = int(rows[0][0] * ANALYST_MEMORY_SHARE) if rows else 0
            except StoreError:
                return 0  # asked again next time
        return self._analyst_memory

    def analyst_disk(self) -> int:
        """The temporary data an analyst's statement may write: `ANALYST_DISK_SHARE` of the free space of the
        engine's disk, read once; 0 (no bound of ours) when the server cannot say."""
        if self._analyst_disk is None:
            try:
                with self.reads.client() as client:
                    rows = client.query("SELECT free_space FROM system.disks WHERE name = 'default'").rows
                self._analyst_disk = int(rows[0][0] * ANALYST_DISK_SHARE) if rows else 0
            except StoreError:
                return 0  # asked again next time
        return self._analyst_disk

    def query(self, sql: str, readonly: bool = True, parameters: dict[str, Any] | None = None) -> QueryResult:
        """Run one statement we wrote: with readonly (the default) on a reading client, where ClickHouse
        refuses any write; else on a writing one."""
        if not readonly:
            with self.writes.client() as client:
                return client.query(sql, parameters, self.cluster_settings)
        ticket = TICKET.get()
        # A request's query: named by its ticket, and bounded (a report asked for over the API, whatever its
        # options, never runs on for hours holding a core and the collector's shutdown).
        named = {"max_execution_time": self.timeouts.query, "log_comment": ticket.tag, **ticket.settings} \
            if ticket is not None else {}
        with self.reads.client() as client:
            return _ticketed(ticket, lambda: client.query(sql, parameters, {**self.cluster_settings, **READ_SETTINGS,
                                                                            **named, "readonly": 1}))

    def cancel(self, ticket: Ticket) -> None:
        """Stop the reading queries of a ticket (those running now; those not started yet never start)."""
        ticket.cancelled = True
        try:
            self._kill(f"KILL QUERY WHERE Settings['log_comment'] = '{ticket.tag}' ASYNC")
        except StoreError as exc:  # a user that may not KILL, ClickHouse away: the query runs to its end
            log.warning("could not stop the queries of a call nobody waits for: %s", exc)

    def _kill(self, sql: str) -> None:
        """A `KILL QUERY … ASYNC`, which a server answers at once: on a client of its own bounded by the connect
        timeout. On a writing client (300 s a call), a server that takes connections and never answers held the
        collector's shutdown that long, on its event loop (`stop_calls`), and every other request with it when a
        caller went away (`cancel`)."""
        if is_embedded(self.dsn):
            with self.writes.client() as client:
                client.query(sql, None, self.cluster_settings)
            return
        with self._brief() as client:
            client.query(sql, None, self.cluster_settings)

    @contextlib.contextmanager
    def _brief(self) -> Iterator[Client]:
        """A client of its own whose every call is bounded by the connect timeout, closed after: for a statement
        a server answers at once (`answers`, `_kill`), so that one that never answers holds nothing for long."""
        client = Client(self.dsn, timeouts=self.timeouts, send_receive=self.timeouts.connect)
        try:
            yield client
        finally:
            client.close()

    def stop_calls(self) -> None:
        """Stop every reading query of this process's requests still running (the collector stops)."""
        try:
            self._kill(f"KILL QUERY WHERE startsWith(Settings['log_comment'], '{CALLS}') ASYNC")
        except StoreError as exc:
            log.warning("could not stop the queries still running: %s", exc)

    def raw(self, sql: str, fmt: str, parameters: dict[str, Any] | None = None) -> bytes:
        """One query's result in a ClickHouse output format (CSVWithNames, JSONEachRow…), for SQL we wrote.

        No readonly setting here: the embedded engine applies a raw query's settings to the session and
        restores them after, which readonly forbids."""
        with self.reads.client() as client:
            return client.raw(sql, fmt, parameters, {**self.cluster_settings, **READ_SETTINGS})

    def command(self, sql: str) -> None:
        """A statement without a result (DDL), on a writing client."""
        with self.writes.client() as client:
            client.command(sql)

    def insert_rows(self, table: str, rows: Sequence[Any], token: str | None = None) -> None:
        """Rows of rows.py (EventRow, RejectedRow) into their table, on a writing client: replay, imports."""
        self.insert_lines(table, lines(rows), token)

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Positional rows into one table of the database, columns named."""
        if not rows:
            return
        with self.writes.client() as client:
            try:
                client.insert(f"{self.database}.{table}", rows, columns)
            except StoreError as exc:
                raise type(exc)(f"insert into {table} failed: {exc}", exc.code) from None

    def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded; return the versions applied."""
        db = self.database
        applied: list[int] = []
        try:
            with self.writes.client() as client:
                for statement in bootstrap_ddl(db, self.cluster):
                    client.command(statement)
                done = {r[0] for r in client.query(f"SELECT version FROM {db}.schema_migrations").rows}
                for migration in MIGRATIONS:
                    if migration.version in done:
                        continue
                    for statement in migration_ddl(migration, db, self.cluster):
                        client.command(statement)
                    client.insert(f"{db}.schema_migrations", [[migration.version, migration.name]],
                                  ["version", "name"])
                    applied.append(migration.version)
        except EngineBusy:
            raise
        except StoreError as exc:
            done_text = f" (applied before the failure: {applied})" if applied else ""
            raise type(exc)(f"schema migration failed{done_text}: {exc}", exc.code) from None
        return applied


def _insert_lines(client: Client, database: str, table: str, data: bytes, token: str | None) -> None:
    """A block of JSONEachRow lines into one table, ClickHouse parsing it; deduplicated by `token` (schema
    migration 3), or not at all without one."""
    if not data:
        return
    # Lines name their columns: one written before a column was dropped carries it still.
    settings: dict[str, Any] = {"input_format_skip_unknown_fields": 1}
    if token:
        settings["insert_deduplication_token"] = token
    else:
        settings["insert_deduplicate"] = 0
    try:
        client.raw_insert(f"{database}.{table}", data, settings)
    except StoreError as exc:
        raise type(exc)(f"insert into {table} failed: {exc}", exc.code) from None


def _missing_lines(client: Client, database: str, table: str, data: bytes) -> bytes:
    """The lines of a block whose rows `table` does not hold yet (by rows.row_keys), for a block that may
    have been inserted before: after a crash, or a failed attempt."""
    if not data:
        return b""
    keys, (lo, hi) = row_keys(table, data)
    ids = sorted({k[0] for k in keys if k})
    if table == "rejected_events":
        sql = (f"SELECT event_id, toUnixTimestamp64Milli(received_at), count() FROM {database}.{table} "
               "WHERE received_at BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
               "AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND event_id IN {ids:Array(String)} GROUP BY 1, 2")
    else:
        sql = (f"SELECT toString(event_id), 0, count() FROM {database}.{table} "
               "WHERE client_ts BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
               "AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND event_id IN {ids:Array(UUID)} GROUP BY 1, 2")
    parameters = {"ids": ids, "lo": int(lo * 1000) - 1, "hi": int(hi * 1000) + 1}
    held = Counter({(r[0], int(r[1])): int(r[2]) for r in client.query(sql, parameters).rows})
    out = []
    for key, line in zip(keys, data.splitlines(keepends=True)):
        if key is not None and held[key] > 0:
            held[key] -= 1
        else:
            out.append(line)
    return b"".join(out)


def _ticketed(ticket: Ticket | None, run: Callable[[], QueryResult]) -> QueryResult:
    """run(), a query of `ticket`'s: never started once the ticket is cancelled, and its refusal after a
    cancellation (the KILL) said as Cancelled, not as ClickHouse's error."""
    if ticket is not None and ticket.cancelled:
        raise Cancelled("the caller went away before the query started")
    try:
        return run()
    except QueryRefused:
        if ticket is not None and ticket.cancelled:
            raise Cancelled("the caller went away: the query was stopped") from None
        raise


def _at_most(asked: str | None, bound: int) -> int:
    """A bound an analyst's statement sets (as the text of its SETTINGS clause), held to `bound`: 0 (no limit),
    anything larger or not a number is `bound` (`'²'`, a digit to str.isdigit that int() refuses, too)."""
    return min(int(asked), bound) if asked and asked.isascii() and asked.isdigit() and int(asked) else bound


def _analyst_seconds(asked: str | None, default: int) -> float | str:
    """The `max_execution_time` an analyst's statement runs with: the one it asked for, within ANALYST_SECONDS;
    `default` when it asked for none. A value that is no number is handed on, for ClickHouse to refuse."""
    if asked is None:
        return default
    try:
        seconds = float(asked)
    except ValueError:
        return asked
    return seconds if 0 < seconds <= ANALYST_SECONDS else ANALYST_SECONDS
