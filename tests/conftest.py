"""Shared fixtures: a plan, a ClickHouse store on the embedded engine, an app and its client."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from collector.settings import Settings
from collector.storage import Store
from tagplan import compile_plan, load_plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PLAN = ROOT / "examples" / "moto-insurance.yaml"
SECRET = b"test-secret-not-for-production"


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory) -> Path:
    """chDB allows one data directory per process: every test shares it, each with its own database."""
    return tmp_path_factory.mktemp("clickhouse")


class Databases:
    """Migrated databases, lent to one test at a time. A test's database is empty and has exactly the schema
    a fresh migration gives (checked when it is given back), without the ~50 DDL statements of a migration
    per test (seconds each on a loaded machine; hundreds of tests). One that a test left changed (a table
    altered, dropped or detached, a mutation still running, schema_migrations written) is dropped, not lent
    again; the others are emptied with TRUNCATE, which clears the insert deduplication log as well."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.idle: list[str] = []
        self.reference: str | None = None  # the schema of a freshly migrated database, its name left out

    def take(self) -> Store:
        if self.idle:
            store = Store(self.dsn, database=self.idle.pop())
            if not store.query(f"SELECT sum(total_rows) FROM system.tables WHERE database = '{store.database}'"
                               " AND name != 'schema_migrations'").rows[0][0]:
                return store
            self._drop(store)  # something wrote into it after it was given back: not lent again
        store = Store(self.dsn, database=f"test_{uuid.uuid4().hex[:12]}")
        store.migrate()
        if self.reference is None:
            self.reference = self._schema(store)
        return store

    def give_back(self, store: Store) -> None:
        db = store.database
        try:
            busy = store.query(f"SELECT count() FROM system.mutations WHERE database = '{db}' AND NOT is_done")
            if busy.rows[0][0] or self._schema(store) != self.reference:
                self._drop(store)
                return
            tables = store.query(f"SELECT name FROM system.tables WHERE database = '{db}' "
                                 "AND engine NOT LIKE '%View' AND name != 'schema_migrations'").rows
            for (table,) in tables:
                store.command(f"TRUNCATE TABLE {db}.{table}")
        except Exception:  # a database the test broke is not lent again
            self._drop(store)
            raise
        store.close()
        self.idle.append(db)

    def _schema(self, store: Store) -> str:
        db = store.database
        tables = store.query(f"SELECT name, create_table_query FROM system.tables WHERE database = '{db}' "
                             "ORDER BY name").rows
        versions = store.query(f"SELECT groupArray(version) FROM (SELECT version FROM {db}.schema_migrations "
                               "ORDER BY version)").rows
        return repr((tables, versions)).replace(db, "{db}")

    @staticmethod
    def _drop(store: Store) -> None:
        with contextlib.suppress(Exception):
            store.command(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()


@pytest.fixture(scope="session")
def databases(engine_dir) -> Databases:
    return Databases(f"chdb://{engine_dir}")


@pytest.fixture
def store(databases):
    """A store on a database of the test's own: migrated, empty."""
    s = databases.take()
    yield s
    databases.give_back(s)


@pytest.fixture
def database(request) -> str:
    """The test's database: its store's when it has one, else a new name (nothing created yet)."""
    if "store" in request.fixturenames:
        return request.getfixturevalue("store").database
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def plan():
    return compile_plan(load_plan(EXAMPLE_PLAN))


@pytest.fixture
def settings(tmp_path, engine_dir, database) -> Settings:
    return settings_for(tmp_path, engine_dir, database)


def settings_for(data_dir: Path, engine_dir: Path, database: str) -> Settings:
    return Settings(
        plan=EXAMPLE_PLAN, data_dir=data_dir, clickhouse=f"chdb://{engine_dir}", admin_token="admin-test-token",
        secret=SECRET, database=database, batch_age=0.0,
    )


@contextlib.contextmanager
def refusing_client(databases: Databases, engine_dir: Path, data_dir: Path, **changes):
    """The app on a database of its own, for a module's cases that are each refused before anything is read or
    written (a 400, a 401): they share it, where each started and stopped its own (most of such a case's time).
    Only for such cases: a test that stores, or asserts on what is stored, takes the `client` fixture."""
    import dataclasses

    from collector.app import create_app

    store = databases.take()
    try:
        app = create_app(dataclasses.replace(settings_for(data_dir, engine_dir, store.database), **changes))
        with Client(app) as client:
            yield client
    finally:
        databases.give_back(store)


class Client(TestClient):
    """The app's test client; after each request it waits until the batch writer has stored what the
    write-ahead log holds, so a test reads with SELECT what its requests sent."""

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        if getattr(self.app.state, "wal", None) is not None:
            drained(self.app)
        return response


def drained(app, timeout: float = 60.0) -> None:
    """Wait until the batch writer has stored everything the log holds (it runs in the background). The
    timeout bounds a failure, it is no speed claim: 15 s was not enough for the poison tests' splitting
    beside make bench and two other test runs (load 20-40 on 2 cores)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.state.wal.depth_records == 0:
            return
        time.sleep(0.01)
    raise AssertionError(f"the writer did not drain the log in {timeout} s: {app.state.writer.error}")
