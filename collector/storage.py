"""ClickHouse access: the only module that imports clickhouse_connect."""

from __future__ import annotations

import fcntl
import os
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from collector.errors import Problem
from collector.rows import lines, row_keys
from collector.schema import DATABASE, MIGRATIONS, bootstrap_ddl, migration_ddl


class StoreError(Problem):
    """ClickHouse refused or could not be reached; the message is for people."""

    status = 503


class QueryRefused(StoreError):
    """ClickHouse refused a statement it was sent (its syntax, a name, readonly): the statement is at fault."""

    status = 400


class EngineBusy(StoreError):
    """The embedded engine's data directory is owned by another process."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


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


class Store:
    """One ClickHouse client, serialised by a lock (the chdb handle is not thread-safe)."""

    def __init__(self, dsn: str, database: str = DATABASE, cluster: str | None = None):
        self.dsn, self.database, self.cluster = dsn, database, cluster
        self._lock = threading.Lock()
        if is_embedded(dsn):
            path = urlsplit(dsn).path
            if path:
                Path(path).mkdir(parents=True, exist_ok=True)
        try:
            self._client = clickhouse_connect.get_client(dsn=dsn)
        except Exception as exc:  # clickhouse-connect raises several kinds here
            # chDB says "Error initializing EmbeddedServer" (the lock error goes to stderr only): ask the lock.
            if "Cannot lock file" in str(exc) or (is_embedded(dsn) and embedded_in_use(dsn)):
                raise EngineBusy(
                    f"the embedded ClickHouse data at {urlsplit(dsn).path} is in use by another process "
                    "(is the collector running? then go through its admin API)"
                ) from None
            raise StoreError(f"cannot connect to ClickHouse at {_redact(dsn)}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._client.close()

    def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded; return the versions applied."""
        db = self.database
        applied: list[int] = []
        try:
            with self._lock:
                for statement in bootstrap_ddl(db, self.cluster):
                    self._client.command(statement)
                done = {r[0] for r in self._client.query(f"SELECT version FROM {db}.schema_migrations").result_rows}
                for migration in MIGRATIONS:
                    if migration.version in done:
                        continue
                    for statement in migration_ddl(migration, db, self.cluster):
                        self._client.command(statement)
                    self._client.insert(f"{db}.schema_migrations", [[migration.version, migration.name]],
                                        column_names=["version", "name"])
                    applied.append(migration.version)
        except Exception as exc:  # ClickHouseError, and the transport's own errors when a server is away
            done_text = f" (applied before the failure: {applied})" if applied else ""
            raise StoreError(f"schema migration failed{done_text}: {_first_line(exc)}") from None
        return applied

    def insert_lines(self, table: str, data: bytes, token: str | None = None) -> None:
        """Insert a block of JSONEachRow lines (rows.py) into one table; the same `token` twice stores
        them once (see schema migration 3); without a token, no deduplication at all. ClickHouse parses
        the block itself."""
        if not data:
            return
        # Lines name their columns: one written before a column was dropped carries it still.
        settings: dict[str, Any] = {"input_format_skip_unknown_fields": 1}
        if token:
            settings["insert_deduplication_token"] = token
        else:
            settings["insert_deduplicate"] = 0
        try:
            with self._lock:
                self._client.raw_insert(f"{self.database}.{table}", None, data, settings=settings, fmt="JSONEachRow")
        except Exception as exc:  # ClickHouseError, and the transport's own errors when a server is away
            raise StoreError(f"insert into {table} failed: {_first_line(exc)}") from None

    def missing_lines(self, table: str, data: bytes) -> bytes:
        """The lines of a block whose rows `table` does not hold yet (by rows.row_keys), for a block
        that may have been inserted before: after a crash, or a failed attempt."""
        if not data:
            return b""
        keys, (lo, hi) = row_keys(table, data)
        ids = sorted({k[0] for k in keys})
        if table == "rejected_events":
            sql = (f"SELECT event_id, toUnixTimestamp64Milli(received_at), count() FROM {self.database}.{table} "
                   "WHERE received_at BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
                   "AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND event_id IN {ids:Array(String)} GROUP BY 1, 2")
        else:
            sql = (f"SELECT toString(event_id), 0, count() FROM {self.database}.{table} "
                   "WHERE client_ts BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
                   "AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND event_id IN {ids:Array(UUID)} GROUP BY 1, 2")
        parameters = {"ids": ids, "lo": int(lo * 1000) - 1, "hi": int(hi * 1000) + 1}
        held = Counter({(r[0], int(r[1])): int(r[2]) for r in self.query(sql, parameters=parameters).rows})
        out = []
        for key, line in zip(keys, data.splitlines(keepends=True)):
            if held[key] > 0:
                held[key] -= 1
            else:
                out.append(line)
        return b"".join(out)

    def insert_rows(self, table: str, rows: Sequence[Any], token: str | None = None) -> None:
        """Rows of rows.py (EventRow, RejectedRow) into their table."""
        self.insert_lines(table, lines(rows), token)

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Positional rows into one table of the database, columns named."""
        if not rows:
            return
        try:
            with self._lock:
                self._client.insert(f"{self.database}.{table}", rows, column_names=list(columns))
        except Exception as exc:
            raise StoreError(f"insert into {table} failed: {_first_line(exc)}") from None

    def query(self, sql: str, readonly: bool = True, parameters: dict[str, Any] | None = None) -> QueryResult:
        """Run one SQL statement; with readonly, ClickHouse itself refuses any write."""
        settings = {"readonly": 1} if readonly else {}
        try:
            with self._lock:
                result = self._client.query(sql, parameters=parameters, settings=settings)
        except OperationalError as exc:  # out of reach, not the statement's fault
            raise self._unreachable(exc) from None
        except ClickHouseError as exc:
            raise QueryRefused(str(exc).strip()) from None
        return QueryResult(list(result.column_names), [list(r) for r in result.result_rows])

    def raw(self, sql: str, fmt: str, parameters: dict[str, Any] | None = None) -> bytes:
        """One query's result in a ClickHouse output format (CSVWithNames, JSONEachRow…), for SQL we wrote.

        No readonly setting here: on the embedded engine raw_query's settings outlive the query,
        and the next insert would be refused.
        """
        try:
            with self._lock:
                return self._client.raw_query(sql, parameters=parameters, fmt=fmt)
        except OperationalError as exc:
            raise self._unreachable(exc) from None
        except Exception as exc:  # ClickHouseError, and the transport's own errors
            raise StoreError(_first_line(exc)) from None

    def _unreachable(self, exc: Exception) -> StoreError:
        """ClickHouse out of reach, said in one line: the root cause (connection refused, a timeout)."""
        while exc.__cause__ is not None or exc.__context__ is not None:
            exc = exc.__cause__ or exc.__context__
        return StoreError(f"ClickHouse cannot be reached at {_redact(self.dsn)}: {_first_line(exc)}")


def _first_line(exc: Exception) -> str:
    """ClickHouse's message without the stack trace the engine appends."""
    text = str(exc).strip()
    return text.split("\nStack trace", 1)[0].strip()


def _redact(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        return dsn.replace(f":{parts.password}@", ":***@")
    return dsn
