"""The admin API: one token check for everything under /api, errors with the status that says what is true,
and a download that fails half-way is seen as incomplete, by any HTTP client and by the CLI."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from collector import admin, export
from collector.app import create_app
from collector.errors import Cutoff
from collector.rows import EventRow
from collector.storage import StoreError
from collector.target import CollectorError, Op, Remote
from tests.collector.conftest import ADMIN
from tests.collector.helpers import serving
from tests.conftest import Client, refusing_client

ROUTES = [(method, f"/api{route.path}") for route in admin.ROUTES for method in route.methods if method != "HEAD"]


@pytest.fixture(scope="module")
def refused(databases, engine_dir, tmp_path_factory):
    """One app for the tests that take it: each request of theirs is refused before anything is read or written."""
    with refusing_client(databases, engine_dir, tmp_path_factory.mktemp("refused")) as c:
        yield c


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "admin-test-token", "Basic admin-test-token",
                                          "Bearer", "Bearer admin-test-token-and-more"])
def test_every_admin_route_needs_the_bearer_token(refused, method, path, authorization):
    headers = {"authorization": authorization} if authorization else {}
    r = refused.request(method, path, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)",
                        "code": "unauthorized", "values": {}}
    assert r.headers["www-authenticate"] == 'Bearer realm="parcours admin API"'


def test_the_scheme_is_case_insensitive_and_unknown_paths_are_hidden(client):
    assert client.post("/api/sql", content="SELECT 1", headers={"authorization": "bearer admin-test-token"}).status_code == 200
    assert client.get("/api/nothing-here").status_code == 401
    assert client.get("/api/nothing-here", headers=ADMIN).status_code == 404


def test_a_statement_clickhouse_refuses_is_400_and_an_empty_one_says_what_to_send(refused):
    r = refused.post("/api/sql", content="SELECT nope FROM nowhere", headers=ADMIN)
    assert r.status_code == 400 and "nowhere" in r.json()["error"]
    r = refused.post("/api/sql", content="  ", headers=ADMIN)
    assert r.status_code == 400 and r.json() == {"error": "send one SQL statement as the request body"}


def _three_days(store) -> None:
    base = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
    rows = []
    for day in range(3):
        when = (base + dt.timedelta(days=day)).timestamp()
        rows.append(EventRow(event_id=str(uuid.uuid4()), event="page_view", ts=when, client_ts=when, sent_at=when,
                             received_at=when, properties="{}"))
    store.insert_rows("events", rows)


def _failing_after(calls: int, raw):
    """The store's raw query, failing from call `calls + 1` on, as a ClickHouse server that went away would."""
    done = []

    def failing(*args, **kwargs):
        done.append(1)
        if len(done) > calls:
            raise StoreError("ClickHouse cannot be reached at http://ch.invalid: connection refused (injected)")
        return raw(*args, **kwargs)

    return failing


def test_json_nested_too_deeply_for_an_endpoint_is_a_400_or_a_rejected_line_not_a_500(client):
    """Both answered 500 with a RecursionError traceback. An import's line so deep is one rejected line (the
    others of its file would be imported)."""
    r = client.post("/api/erase", content=b'{"phone": ' + b"[" * 2000 + b"}",
                    headers={**ADMIN, "content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json() == {"error": "the request's JSON is nested too deeply to be read; send it flatter",
                        "code": "too_deep_request", "values": {}}
    r = client.post("/api/costs", content=b'{"x":' * 1000, headers={**ADMIN, "content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert (r.json()["imported"], r.json()["rejected"]) == (0, 1)
    assert "nested too deeply" in r.json()["rejects"][0]["reasons"][0]


def test_an_export_failing_before_its_first_rows_is_a_503(settings, store):
    _three_days(store)
    with Client(create_app(settings)) as client:
        client.app.state.store.raw = _failing_after(0, client.app.state.store.raw)
        r = client.get("/api/export?since=2026-11-01", headers=ADMIN)
    assert r.status_code == 503
    assert r.json() == {"error": "ClickHouse cannot be reached at http://ch.invalid: connection refused (injected)",
                        "code": "store_unavailable", "values": {}}


def test_an_export_failing_after_its_200_is_cut_off_not_ended(settings, store):
    _three_days(store)
    with Client(create_app(settings)) as client:
        client.app.state.store.raw = _failing_after(1, client.app.state.store.raw)
        with pytest.raises(Cutoff, match="/api/export: ClickHouse cannot be reached"):
            client.get("/api/export?since=2026-11-01", headers=ADMIN)


def test_the_cli_sees_a_cut_off_export_as_an_error(settings, store, tmp_path):
    """Through a real HTTP server: the CLI's remote target reports the incomplete answer, not a short file."""
    _three_days(store)
    app = create_app(settings)
    with serving(app) as url:
        remote = Remote(url, "admin-test-token", tmp_path)
        op = Op("GET", "/api/export", lambda store: iter(()), {"since": "2026-11-01", "format": "jsonl"})
        assert sum(chunk.count(b"\n") for chunk in remote.stream(op)) == 3  # whole, while ClickHouse answers

        app.state.store.raw = _failing_after(1, app.state.store.raw)
        received = []
        with pytest.raises(CollectorError, match="the answer stopped before its end"):
            for chunk in remote.stream(op):
                received.append(chunk)
        assert b"".join(received).count(b"\n") == 1  # the first day arrived; the rest did not, and that was said


def test_export_parameters_are_checked_before_anything_is_read(refused):
    r = refused.get("/api/export?table=events&format=xml", headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"] == 'format "xml" is not known; use csv or jsonl'
    assert export.FORMATS.keys() == {"csv", "jsonl"}
