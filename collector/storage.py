"""ClickHouse access: the only module that imports clickhouse_connect."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from collector.schema import DATABASE, MIGRATIONS, bootstrap_ddl, migration_ddl
from collector.useragent import UA_COLUMNS

EVENT_COLUMNS = (
    "event_id", "event", "ts", "client_ts", "sent_at", "received_at", "visitor_id", "session_id", "seq",
    "url", "referrer", "broker_id", "broker_name", "lever", "utm_source", "utm_medium", "utm_campaign",
    "utm_term", "utm_content", "click_id", "click_id_type", "captured", "form_id", "step", "step_index",
    "properties", "phone_key", "user_agent", "ip", "plan_version", *UA_COLUMNS,
    "step_elapsed_ms",
)
REJECTED_COLUMNS = (
    "received_at", "event_id", "event", "reasons", "raw", "user_agent", "ip", "plan_version", "sent_at", "phone_key",
)


class StoreError(Exception):
    """ClickHouse refused or could not be reached; the message is for people."""


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
            if "Cannot lock file" in str(exc):
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
        with self._lock:
            for statement in bootstrap_ddl(db, self.cluster):
                self._client.command(statement)
            done = {r[0] for r in self._client.query(f"SELECT version FROM {db}.schema_migrations").result_rows}
            applied = []
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in migration_ddl(migration, db, self.cluster):
                    self._client.command(statement)
                self._client.insert(f"{db}.schema_migrations", [[migration.version, migration.name]],
                                    column_names=["version", "name"])
                applied.append(migration.version)
            return applied

    def insert_events(self, rows: Sequence[Sequence[Any]], columns: Sequence[str] = EVENT_COLUMNS,
                      token: str | None = None) -> None:
        self._insert("events", rows, columns, token)

    def insert_rejected(self, rows: Sequence[Sequence[Any]], columns: Sequence[str] = REJECTED_COLUMNS,
                        token: str | None = None) -> None:
        self._insert("rejected_events", rows, columns, token)

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Rows into one table of the database, columns named."""
        self._insert(table, rows, columns)

    def _insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str],
                token: str | None = None) -> None:
        """Insert rows; the same `token` twice stores them once (see schema migration 3)."""
        if not rows:
            return
        settings = {"insert_deduplication_token": token} if token else None
        try:
            with self._lock:
                self._client.insert(f"{self.database}.{table}", rows, column_names=list(columns), settings=settings)
        except Exception as exc:  # ClickHouseError, and the transport's own errors when a server is away
            raise StoreError(f"insert into {table} failed: {exc}") from None

    def query(self, sql: str, readonly: bool = True, parameters: dict[str, Any] | None = None) -> QueryResult:
        """Run one SQL statement; with readonly, ClickHouse itself refuses any write."""
        settings = {"readonly": 1} if readonly else {}
        try:
            with self._lock:
                result = self._client.query(sql, parameters=parameters, settings=settings)
        except ClickHouseError as exc:
            raise StoreError(str(exc).strip()) from None
        return QueryResult(list(result.column_names), [list(r) for r in result.result_rows])

    def raw(self, sql: str, fmt: str, parameters: dict[str, Any] | None = None) -> bytes:
        """One query's result in a ClickHouse output format (CSVWithNames, JSONEachRow…), for SQL we wrote.

        No readonly setting here: on the embedded engine raw_query's settings outlive the query,
        and the next insert would be refused.
        """
        try:
            with self._lock:
                return self._client.raw_query(sql, parameters=parameters, fmt=fmt)
        except ClickHouseError as exc:
            raise StoreError(str(exc).strip()) from None


def _redact(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        return dsn.replace(f":{parts.password}@", ":***@")
    return dsn
