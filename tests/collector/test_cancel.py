"""A request's reading queries stopped when nobody waits for them (Store.cancel, with a Ticket)."""

from __future__ import annotations

import threading

import pytest

from collector.storage import TICKET, Cancelled, Store, Ticket
from tests.collector.helpers import wait_for

LONG = "SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = 1"
"""Minutes of work on two cores: it ends only when stopped."""


def _run(store, ticket: Ticket, sql: str, out: dict) -> None:
    token = TICKET.set(ticket)
    try:
        out["rows"] = store.query(sql).rows
    except Exception as exc:  # what the caller would see
        out["error"] = exc
    finally:
        TICKET.reset(token)


def _running(store, ticket: Ticket) -> int:
    return store.query(f"SELECT count() FROM system.processes WHERE Settings['log_comment'] = '{ticket.tag}'").rows[0][0]


def test_a_running_query_of_a_cancelled_ticket_stops_and_says_so(store):
    ticket, out = Ticket(), {}
    worker = threading.Thread(target=_run, args=(store, ticket, LONG, out))
    worker.start()
    wait_for(lambda: _running(store, ticket), timeout=30)  # it is named by its ticket while it runs
    assert _running(store, ticket) == 1
    store.cancel(ticket)
    worker.join(120)
    assert not worker.is_alive()
    assert isinstance(out.get("error"), Cancelled) and out["error"].status == 499
    assert _running(store, ticket) == 0


def test_a_cancelled_ticket_starts_no_query_and_others_go_on(store):
    ticket, other = Ticket(), Ticket()
    store.cancel(ticket)  # nothing of it runs yet: nothing to stop, nothing refused
    out, fine = {}, {}
    _run(store, ticket, "SELECT 1", out)
    assert isinstance(out["error"], Cancelled)
    _run(store, other, "SELECT 1", fine)
    assert fine == {"rows": [[1]]}
    assert store.query("SELECT 2").rows == [[2]]  # without a ticket, as before


def test_a_refused_query_of_a_live_ticket_is_still_a_refusal(store):
    out = {}
    _run(store, Ticket(), "SELECT no_such_column", out)
    assert not isinstance(out["error"], Cancelled)
    with pytest.raises(Exception, match="no_such_column|UNKNOWN_IDENTIFIER"):
        raise out["error"]


def test_a_query_that_cannot_be_stopped_runs_on_and_says_why(caplog):
    """ClickHouse out of reach (or a user that may not KILL): the ticket is cancelled all the same, nothing
    raised to the request that went away, a warning for the operator."""
    away = Store("http://127.0.0.1:9", database="parcours")  # nothing listens there
    try:
        ticket = Ticket()
        away.cancel(ticket)
        assert ticket.cancelled
        assert "could not stop the queries of a call nobody waits for" in caplog.text
    finally:
        away.close()


def test_a_query_with_parameters_is_stopped_too(store):
    """The engine lists a query with parameters as it formatted it, comments gone: a ticket named in the text
    never found it (a report's query, all of which have parameters, ran on to its end)."""
    ticket, out = Ticket(), {}
    worker = threading.Thread(target=lambda: _run_with(store, ticket, out))
    worker.start()
    wait_for(lambda: _running(store, ticket), timeout=30)
    store.cancel(ticket)
    worker.join(120)
    assert not worker.is_alive()
    assert isinstance(out.get("error"), Cancelled)


def test_a_requests_query_is_bounded_by_the_query_timeout(engine_dir):
    """A query of a request (one with a ticket: a report asked for over the API) ends at --query-timeout, so
    that no option can make one run for hours; the engine's own work (no ticket) is not bounded."""
    from collector.clickhouse import Timeouts

    quick = Store(f"chdb://{engine_dir}", database="default", timeouts=Timeouts(query=1))  # one engine per process
    try:
        out: dict = {}
        _run(quick, Ticket(), LONG, out)
        assert isinstance(out.get("error"), Exception) and "TIMEOUT_EXCEEDED" in str(out["error"])
        assert quick.query("SELECT count() FROM numbers(1000)").rows == [[1000]]
    finally:
        quick.close()


def _run_with(store, ticket: Ticket, out: dict) -> None:
    token = TICKET.set(ticket)
    try:
        out["rows"] = store.query("SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = {r:UInt8}",
                                  parameters={"r": 1}).rows
    except Exception as exc:  # noqa: BLE001  (what the caller would see)
        out["error"] = exc
    finally:
        TICKET.reset(token)
