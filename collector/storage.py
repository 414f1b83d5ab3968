"""ClickHouse access: the only module that imports clickhouse_connect.

A `Store` reaches one database through clients that never share a connection:

- `store.ingest`: the batch writer's own client (`store.ingest.insert_lines`, `.missing_lines`, `.ping`).
  Nothing else uses it, so no other work can change its session or make it wait.
- `store.reads`: a few clients for everyone who reads (`store.query`, `store.raw`): analysts' SQL
  (`store.analyst`: one reading statement, `readonly = 1`, a default `max_execution_time`), exports,
  summaries, reports.
- `store.writes`: clients for the writes that are not ingestion: replay of rejected events, imports,
  migrations (`store.insert`, `store.insert_rows`, `store.insert_lines`, `store.command`, `store.migrate`,
  and `store.query(sql, readonly=False)`).

On the embedded engine each client is its own chDB connection to the one engine of the process: an insert
on one completes while a long query runs on another. Clients connect when first used, so a store can be
built while a ClickHouse server is away.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from collector.errors import Problem
from collector.rows import lines, row_keys
from collector.schema import DATABASE, MIGRATIONS, bootstrap_ddl, migration_ddl
from collector.sqlcheck import NotReading, reading_statement


class StoreError(Problem):
    """ClickHouse refused or could not be reached; the message is for people. `code` is ClickHouse's
    error code when it answered with one, None when it was not reached."""

    status = 503

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class QueryRefused(StoreError):
    """ClickHouse refused a statement it was sent (its syntax, a name, readonly): the statement is at fault."""

    status = 400


class Refused(QueryRefused):
    """An analyst's SQL that is not one reading statement (sqlcheck.py), refused before ClickHouse sees it."""


class EngineBusy(StoreError):
    """The embedded engine's data directory is owned by another process."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Timeouts:
    """Seconds. Only a ClickHouse server has a connection to time out; `query` bounds analysts' queries
    on both (ClickHouse's `max_execution_time`, which a query may set otherwise for itself)."""

    connect: int = 5
    send_receive: int = 30
    query: int = 60


def default_dsn(data_dir: Path) -> str:
    return f"chdb://{(data_dir / 'clickhouse').resolve()}"


def is_embedded(dsn: str) -> bool:
    return dsn.startswith("chdb:")


def embedded_in_use(dsn: str) -> bool:
    """Whether another process holds the embedded engine's data directory: chDB, as a ClickHouse server does,
    keeps an exclusive flock on `<path>/status` while it runs. Ask before this process opens the engine
    (a second lock from the same process conflicts as well)."""
    try:
        fd = os.open(Path(urlsplit(dsn).path) / "status", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the lock if we took it
    return False


class Client:
    """One clickhouse-connect client, one call at a time, connected on first use."""

    def __init__(self, dsn: str, settings: dict[str, Any] | None = None, *, timeouts: Timeouts = Timeouts(),
                 send_receive: int | None = None):
        self.dsn, self.settings, self.timeouts = dsn, settings or {}, timeouts
        self.send_receive = send_receive or timeouts.send_receive
        self._lock = threading.Lock()
        self._client = None

    def _connected(self):
        if self._client is None:
            self._client = _connect(self.dsn, self.settings, self.timeouts.connect, self.send_receive)
        return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None

    def query(self, sql: str, parameters: dict[str, Any] | None = None,
              settings: dict[str, Any] | None = None) -> QueryResult:
        with self._lock:
            result = self._call(lambda: self._connected().query(sql, parameters=parameters, settings=settings or {}))
        return QueryResult(list(result.column_names), [list(r) for r in result.result_rows])

    def raw(self, sql: str, fmt: str, parameters: dict[str, Any] | None = None) -> bytes:
        with self._lock:
            return self._call(lambda: self._connected().raw_query(sql, parameters=parameters, fmt=fmt))

    def command(self, sql: str) -> None:
        with self._lock:
            self._call(lambda: self._connected().command(sql))

    def raw_insert(self, table: str, data: bytes, settings: dict[str, Any], fmt: str = "JSONEachRow") -> None:
        with self._lock:
            self._call(lambda: self._connected().raw_insert(table, None, data, settings=settings, fmt=fmt))

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        with self._lock:
            self._call(lambda: self._connected().insert(table, rows, column_names=list(columns)))

    def ping(self) -> None:
        """Raise StoreError unless ClickHouse answers a trivial query."""
        self.query("SELECT 1")

    def _call(self, fn):
        """Run one client call: ClickHouse's refusals become QueryRefused (with its code), the transport's
        failures StoreError (ClickHouse out of reach, said in one line)."""
        try:
            return fn()
        except StoreError:
            raise
        except OperationalError as exc:  # out of reach, not the statement's fault
            raise _unreachable(self.dsn, exc) from None
        except ClickHouseError as exc:
            raise QueryRefused(_first_line(exc), _code(exc)) from None
        except Exception as exc:  # the transport's own errors (urllib3, sockets) when a server is away
            raise _unreachable(self.dsn, exc) from None


class Pool:
    """Up to `size` clients made alike, each lent to one caller at a time. A client whose call failed is
    closed, not lent again: a refused statement may leave its session changed."""

    def __init__(self, make, size: int):
        self._make = make
        self._idle: list[Client] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def client(self) -> Iterator[Client]:
        with self._slots:
            with self._lock:
                client = self._idle.pop() if self._idle else self._make()
            try:
                yield client
            except BaseException:
                client.close()
                raise
            with self._lock:
                self._idle.append(client)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()


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


class Store:
    """One ClickHouse database, through the clients described at the top of this module."""

    def __init__(self, dsn: str, database: str = DATABASE, cluster: str | None = None, *,
                 timeouts: Timeouts = Timeouts(), readers: int = 4):
        self.dsn, self.database, self.cluster, self.timeouts = dsn, database, cluster, timeouts
        if is_embedded(dsn):
            path = urlsplit(dsn).path
            if path:
                Path(path).mkdir(parents=True, exist_ok=True)
        self.ingest = Ingest(Client(dsn, timeouts=timeouts), database)
        # Settings ride with each query, never on a session (on the embedded engine a session SET cannot
        # be undone once readonly). The reply of a query may take as long as the query, and some more.
        self.reads = Pool(lambda: Client(dsn, timeouts=timeouts, send_receive=timeouts.query + timeouts.send_receive),
                          readers)
        self.writes = Pool(lambda: Client(dsn, timeouts=timeouts, send_receive=max(timeouts.send_receive, 300)), 2)

    def close(self) -> None:
        self.reads.close()
        self.writes.close()
        self.ingest.close()

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

    def analyst(self, statement: str) -> QueryResult:
        """An analyst's SQL: one reading statement (sqlcheck.py), on a read-only client, with the default
        max_execution_time unless the statement sets its own. Raises Refused, or StoreError."""
        try:
            reading = reading_statement(statement)
        except NotReading as exc:
            raise Refused(str(exc)) from None
        # readonly last: ClickHouse applies a query's settings in order, and refuses any after it.
        settings = {"max_execution_time": self.timeouts.query, **reading.settings, "readonly": 1}
        with self.reads.client() as client:
            return client.query(reading.statement, settings=settings)

    def query(self, sql: str, readonly: bool = True, parameters: dict[str, Any] | None = None) -> QueryResult:
        """Run one statement we wrote: with readonly (the default) on a reading client, where ClickHouse
        refuses any write; else on a writing one."""
        if not readonly:
            with self.writes.client() as client:
                return client.query(sql, parameters)
        with self.reads.client() as client:
            return client.query(sql, parameters, {"readonly": 1})

    def raw(self, sql: str, fmt: str, parameters: dict[str, Any] | None = None) -> bytes:
        """One query's result in a ClickHouse output format (CSVWithNames, JSONEachRow…), for SQL we wrote.

        No readonly setting here: the embedded engine applies a raw query's settings to the session and
        restores them after, which readonly forbids."""
        with self.reads.client() as client:
            return client.raw(sql, fmt, parameters)

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


def _connect(dsn: str, settings: dict[str, Any], connect_timeout: int, send_receive: int):
    """A clickhouse-connect client, or EngineBusy / StoreError in words for people."""
    kwargs: dict[str, Any] = {}
    if not is_embedded(dsn):
        # No session: a session keeps what a statement SETs, and lets one call at a time in.
        kwargs = {"connect_timeout": connect_timeout, "send_receive_timeout": send_receive,
                  "autogenerate_session_id": False}
    try:
        return clickhouse_connect.get_client(dsn=dsn, settings=settings, **kwargs)
    except Exception as exc:  # clickhouse-connect raises several kinds here
        # chDB says "Error initializing EmbeddedServer" (the lock error goes to stderr only): ask the lock.
        if "Cannot lock file" in str(exc) or (is_embedded(dsn) and embedded_in_use(dsn)):
            raise EngineBusy(
                f"the embedded ClickHouse data at {urlsplit(dsn).path} is in use by another process "
                "(is the collector running? then go through its admin API)"
            ) from None
        code = _code(exc)
        if code is None:  # not reached: the root cause in one line (connection refused, a timeout)
            raise _unreachable(dsn, exc) from None
        raise StoreError(f"ClickHouse at {_redact(dsn)} refused the connection: {_first_line(exc)}", code) from None


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


def _unreachable(dsn: str, exc: Exception) -> StoreError:
    """ClickHouse out of reach, said in one line: the root cause (connection refused, a timeout)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return StoreError(f"ClickHouse cannot be reached at {_redact(dsn)}: {_first_line(exc)}")


def _code(exc: Exception) -> int | None:
    code = getattr(exc, "code", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _first_line(exc: Exception) -> str:
    """ClickHouse's message without the stack trace the engine appends."""
    text = str(exc).strip()
    return text.split("\nStack trace", 1)[0].strip()


def _redact(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        return dsn.replace(f":{parts.password}@", ":***@")
    return dsn
