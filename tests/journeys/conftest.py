"""Journeys fixtures: the example plan as an import context, the sample files, rows read back; plans for reports."""

from __future__ import annotations

import io

import pytest

from journeys.imports import Context
from tagplan import compile_plan, load_plan
from tests.conftest import EXAMPLE_PLAN, ROOT, SECRET

SAMPLES = ROOT / "examples" / "samples"
BROKERS_FILE = SAMPLES / "ventes-courtiers-2026-10.csv"
CRC_FILE = SAMPLES / "ventes-crc-2026-10.json"
COSTS_FILE = SAMPLES / "couts-campagnes-2026-10.csv"


@pytest.fixture(scope="session")
def ctx(plan) -> Context:
    return Context(plan, SECRET)


def rows(store, sql, **parameters) -> list[dict]:
    result = store.query(sql.replace("parcours.", f"{store.database}."), parameters=parameters or None)
    return [dict(zip(result.columns, r)) for r in result.rows]


def data(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


@pytest.fixture
def client(settings, store):
    """The collector app on the embedded engine (its admin token: admin-test-token)."""
    from collector.app import create_app
    from tests.conftest import Client

    with Client(create_app(settings)) as c:
        yield c


ADMIN = {"authorization": "Bearer admin-test-token"}


@pytest.fixture
def plan_file(tmp_path):
    """A plan written for one test: the example plan with `forms` replaced."""
    def write(forms_yaml: str):
        text = EXAMPLE_PLAN.read_text()
        head, rest = text.split("\nforms:\n", 1)
        tail = rest[rest.index("\n# Broker"):]
        # The call centre's lead rules name the example's form: left out with it.
        tail = tail.split("\n# The call centre")[0]
        path = tmp_path / "plan.yaml"
        path.write_text(f"{head}\nforms:\n{forms_yaml.rstrip()}\n{tail}")
        return compile_plan(load_plan(path))
    return write
