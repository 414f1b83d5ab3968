"""A report whose caller went away (the dashboard gave up a call) stops its queries: the engine's cores go to
what is still asked for. Driven as the server drives the app: the ASGI call, then the client's disconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import pytest

from tests.collector.helpers import run_async, wait_for



class Call(threading.Thread):
    """GET a report through the app in a thread of its own; `leave()` is the client closing the connection."""

    def __init__(self, app, path: str, query: str):
        super().__init__(daemon=True)
        self.app, self.path, self.query = app, path, query
        self.sent: list[dict] = []
        self.gone = threading.Event()

    def leave(self) -> None:
        self.gone.set()

    def run(self) -> None:
        run_async(self._call())

    async def _call(self) -> None:
        first = True

        async def receive():
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b"", "more_body": False}
            while not self.gone.is_set():
                await asyncio.sleep(0.01)
            return {"type": "http.disconnect"}

        async def send(message):
            self.sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": self.path, "raw_path": self.path.encode(), "root_path": "",
                 "query_string": self.query.encode(), "client": ("127.0.0.1", 50000),
                 "server": ("testserver", 80), "headers": [(b"host", b"testserver"),
                                                           (b"authorization", b"Bearer admin-test-token")]}
        await self.app(scope, receive, send)

    @property
    def status(self) -> int | None:
        return next((m["status"] for m in self.sent if m["type"] == "http.response.start"), None)


def test_a_report_whose_caller_went_away_never_runs_its_query(client, caplog):
    """Every reading client busy, a report waits for one; its caller leaves; once a client is free the
    report's query does not start (a query running at that moment is killed: tests/collector/test_cancel.py)."""
    caplog.set_level(logging.DEBUG, logger="parcours.reports")
    state = client.app.state
    store = getattr(state, "journeys_store", None) or state.store  # the store reports read (journeys.api.store_of)
    with contextlib.ExitStack() as busy:
        for _ in range(4):  # the store's reading clients, all lent
            busy.enter_context(store.reads.client())
        call = Call(client.app, "/api/reports/overview", "from=7d&format=json")
        call.start()
        time.sleep(0.3)  # the report is asked for, and waits for a client
        assert call.is_alive() and call.status is None
        call.leave()
        wait_for(lambda: "its caller went away" in caplog.text, timeout=60)  # the report sees its caller gone
    call.join(60)
    assert call.status == 499
    assert "report overview: the caller went away before the query started" in caplog.text
    # The clients are back and lent again: the next report is answered.
    response = client.get("/api/reports/overview?from=7d&format=json", headers={"authorization": "Bearer admin-test-token"})
    assert response.status_code == 200


def test_a_report_answered_before_its_caller_leaves_is_sent(client, caplog):
    caplog.set_level(logging.DEBUG, logger="parcours.reports")
    call = Call(client.app, "/api/reports/overview", "from=7d&format=json")
    call.start()
    call.join(60)
    assert call.status == 200
    assert "caller went away" not in caplog.text


@pytest.mark.parametrize("name, raw, thread", [
    ("levers", {}, "parcours-report-beside"),  # the attribution's paths, while its SQL runs (Report.beside)
    ("overview", {"compare": "true"}, "parcours-report-previous"),  # the previous period, while this one's runs
])
def test_the_queries_a_report_runs_on_other_threads_are_stopped_with_it(store, plan, monkeypatch, name, raw, thread):
    """A report's queries run on another thread at the same time as its own carry the caller's ticket too, so
    that a caller who leaves stops them as well."""
    from collector.storage import TICKET, Store, Ticket
    from journeys import reports

    seen: list[tuple[str, object]] = []
    query = Store.query

    def noting(self, sql, readonly=True, parameters=None):
        seen.append((threading.current_thread().name, TICKET.get()))
        return query(self, sql, readonly, parameters)

    monkeypatch.setattr(Store, "query", noting)
    ticket = Ticket()
    token = TICKET.set(ticket)
    try:
        reports.run(store, plan, name, {"from": "2026-03-01", "to": "2026-04-01", **raw})
    finally:
        TICKET.reset(token)
    assert {who.startswith(thread) for who, _ in seen} == {True, False}
    assert all(t is ticket for _, t in seen)
