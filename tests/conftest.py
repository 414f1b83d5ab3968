"""Shared fixtures: a plan, a ClickHouse store on the embedded engine, an app and its client."""

from __future__ import annotations

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


@pytest.fixture
def database() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(engine_dir, database):
    s = Store(f"chdb://{engine_dir}", database=database)
    s.migrate()
    yield s
    s.command(f"DROP DATABASE IF EXISTS {database}")
    s.close()


@pytest.fixture(scope="session")
def plan():
    return compile_plan(load_plan(EXAMPLE_PLAN))


@pytest.fixture
def settings(tmp_path, engine_dir, database) -> Settings:
    return Settings(
        plan=EXAMPLE_PLAN, data_dir=tmp_path, clickhouse=f"chdb://{engine_dir}", admin_token="admin-test-token",
        secret=SECRET, database=database, batch_age=0.0,
    )


class Client(TestClient):
    """The app's test client; after each request it waits until the batch writer has stored what the
    write-ahead log holds, so a test reads with SELECT what its requests sent."""

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        if getattr(self.app.state, "wal", None) is not None:
            drained(self.app)
        return response


def drained(app, timeout: float = 15.0) -> None:
    """Wait until the batch writer has stored everything the log holds (it runs in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.state.wal.depth_records == 0:
            return
        time.sleep(0.01)
    raise AssertionError(f"the writer did not drain the log in {timeout} s: {app.state.writer.error}")
