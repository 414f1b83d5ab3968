"""The batch writer on the embedded engine: outages, back-pressure, replay of the batch in flight, metrics.

A failing store is injected at the writer's boundary (its sink): a fault-injection seam, not a database
mock. Rows end up in the real embedded engine once it "comes back".
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import threading
import time
import uuid

import pytest
from starlette.testclient import TestClient

from collector.app import create_app
from collector.rows import EventRow, RejectedRow, lines
from collector.storage import StoreError
from collector.wal import Wal
from collector.writer import Writer
from tests.collector.helpers import DiskFull, Outage, counts, event, post, rows, run_async, wait_for
from tests.conftest import drained


@pytest.fixture
def app(settings):
    return create_app(dataclasses.replace(settings, retry_max=0.2))


def test_events_wait_in_the_log_while_clickhouse_is_down_and_land_once_after(app, store):
    with TestClient(app) as client:
        outage = app.state.writer.sink = Outage(store)
        batch = [event(), event("form_step", f="moto_quote", s="vehicle"), event("not_in_plan")]
        r = post(client, *batch)
        assert counts(r) == {"accepted": 2, "rejected": 1}
        wait_for(lambda: outage.attempts >= 2)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "degraded"
        assert "ClickHouse inserts failing" in ready.json()["reasons"][0]
        assert client.get("/healthz").status_code == 200  # alive, just not ready
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 0}]

        outage.down = False
        app.state.writer.retry_now()
        drained(app)
        assert client.get("/readyz").status_code == 200
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 2}]
        assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 1}]


def test_a_backlog_is_stored_batch_after_batch_without_waiting_for_the_batch_age(settings, store):
    """Rows pile up while ClickHouse is down; once it is back, each full batch is followed by the next
    at once, not one batch per batch_age (60 s here: waiting for it would fail the drain)."""
    app = create_app(dataclasses.replace(settings, batch_rows=10, batch_age=60.0, retry_max=0.2))
    with TestClient(app) as client:
        outage = app.state.writer.sink = Outage(store)
        for _ in range(8):
            assert post(client, *[event() for _ in range(5)]).status_code == 204
        wait_for(lambda: outage.attempts >= 1)
        outage.down = False
        app.state.writer.retry_now()
        drained(app, timeout=20)
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 40}]


def test_a_full_log_answers_503_with_retry_after_then_recovers(settings, store):
    app = create_app(dataclasses.replace(settings, wal_max_bytes=1 << 16, wal_segment_bytes=1 << 12, retry_max=0.2))
    with TestClient(app) as client:
        outage = app.state.writer.sink = Outage(store)
        statuses = []
        for _ in range(400):
            r = post(client, *[event() for _ in range(5)])
            statuses.append(r.status_code)
            if r.status_code == 503:
                break
        assert statuses[-1] == 503, "the log never filled up"
        assert set(statuses[:-1]) == {204}
        assert r.headers["retry-after"] == str(settings.retry_after)
        assert "write-ahead log is full" in r.json()["error"]
        pixel = client.get("/collect?e=page_view")  # the pixel goes through the same log
        assert pixel.status_code == 503 and pixel.headers["retry-after"] == str(settings.retry_after)
        ready = client.get("/readyz").json()
        assert any("write-ahead log full" in reason for reason in ready["reasons"])
        accepted = 5 * (len(statuses) - 1)

        outage.down = False
        app.state.writer.retry_now()
        drained(app)
        assert post(client, event()).status_code == 204
        drained(app)
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": accepted + 1}]
        metrics = client.get("/metrics").text
        assert 'parcours_refused_total{reason="wal_full"} 2.0' in metrics  # the POST and the pixel


def test_metrics_count_what_was_accepted_rejected_and_written(app, store):
    with TestClient(app) as client:
        post(client, event(), event(), event("nope"))
        drained(app)
        text = client.get("/metrics").text
    assert "parcours_events_accepted_total 2.0" in text
    assert "parcours_events_rejected_total 1.0" in text
    assert 'parcours_events_written_total{table="events"} 2.0' in text
    assert 'parcours_events_written_total{table="rejected_events"} 1.0' in text
    assert "parcours_wal_records 0.0" in text
    assert "parcours_wal_fsyncs_total 1.0" in text
    assert "parcours_insert_seconds_count 1.0" in text
    assert "parcours_lag_seconds_count 1.0" in text


class Killed(BaseException):
    """A kill -9 at that point: not an error the writer handles (it retries on any Exception)."""


class CrashAfterInsert:
    """Stores the batch for real, then 'dies' before the writer can checkpoint it."""

    def __init__(self, store):
        self.store = store

    def insert_lines(self, table, data, token=None):
        self.store.insert_lines(table, data, token)
        if table == "rejected_events":
            raise Killed("between the insert and the checkpoint")

    def missing_lines(self, table, data):
        return self.store.missing_lines(table, data)


class DanglingToken:
    """The store as a kill -9 inside ClickHouse leaves it: the events block was stored; the rejected
    block's token reached the deduplication log but its part was never committed. Afterwards, an
    insert with that token is dropped, as ClickHouse drops it."""

    def __init__(self, store):
        self.store, self.dangling = store, set()

    def insert_lines(self, table, data, token=None):
        if token in self.dangling:
            return  # "already inserted", says the deduplication log
        if table == "rejected_events" and not self.dangling:
            self.dangling.add(token)
            raise Killed("after the token was logged, before the part was committed")
        self.store.insert_lines(table, data, token)

    def missing_lines(self, table, data):
        return self.store.missing_lines(table, data)


def test_the_batch_in_flight_at_a_crash_is_replayed_without_duplicates(tmp_path, store):
    batch_rows = [_event_row(month) for month in (1, 2, 3) for _ in range(4)]  # three partitions
    rejected = [_rejected_row()]

    async def before_crash():
        wal = Wal(tmp_path)
        await wal.open()
        await wal.append(lines(batch_rows[:6]), lines(rejected))
        await wal.append(lines(batch_rows[6:]), b"")
        writer = Writer(wal, CrashAfterInsert(store), batch_age=0)
        writer.start()
        with pytest.raises(Killed):
            await asyncio.wait_for(writer._task, 60)
        return wal.checkpoint

    checkpoint = run_async(before_crash())
    assert checkpoint.inflight == (1, 2) and checkpoint.lsn == 0
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 12}]

    async def restart():
        wal = Wal(tmp_path)
        await wal.open()
        writer = Writer(wal, store, batch_age=0)
        writer.start()
        await writer.stop()
        await wal.close()
        return wal

    wal = run_async(restart())
    assert wal.checkpoint.lsn == 2 and wal.checkpoint.inflight is None
    # only the rows the tables did not hold: nothing twice, even without FINAL
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 12}]
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 1}]


def test_a_block_whose_token_outlived_a_crash_is_stored_on_replay(tmp_path, store):
    """The loss e2e/test_crash.py caught: replaying the batch in flight with its token stored nothing."""
    sink = DanglingToken(store)

    async def run(until_killed: bool):
        wal = Wal(tmp_path)
        await wal.open()
        if until_killed:
            await wal.append(lines([_event_row(1), _event_row(1)]), lines([_rejected_row(), _rejected_row()]))
        writer = Writer(wal, sink, batch_age=0)
        writer.start()
        if until_killed:
            with pytest.raises(Killed):
                await asyncio.wait_for(writer._task, 60)
        else:
            await writer.stop()
            await wal.close()

    run_async(run(until_killed=True))
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 0}]
    run_async(run(until_killed=False))
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 2}]
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 2}]


def _event_row(month: int) -> EventRow:
    t = dt.datetime(2026, month, 15, 12, tzinfo=dt.timezone.utc).timestamp()
    return EventRow(event_id=str(uuid.uuid4()), event="page_view", ts=t, client_ts=t, sent_at=t, received_at=t, seq=1,
                    properties="{}")


def _rejected_row() -> RejectedRow:
    return RejectedRow(received_at=round(time.time(), 3), event_id="", event="", reasons=["event: nope"], raw="{}")


def test_two_logs_writing_into_one_database_keep_each_others_batches(tmp_path, store):
    """Two workers (or a log started afresh) number their records from 1: their batches' deduplication
    tokens must still differ, or ClickHouse drops the second batch as a copy of the first."""
    async def one_batch(directory, row):
        wal = Wal(directory)
        await wal.open()
        await wal.append(lines([row]), b"")
        writer = Writer(wal, store, batch_age=0)
        writer.start()
        assert await writer.stop()
        await wal.close()
        return wal.checkpoint.lsn

    first, second = _event_row(1), _event_row(1)
    assert run_async(one_batch(tmp_path / "wal" / "0", first)) == 1
    assert run_async(one_batch(tmp_path / "wal" / "1", second)) == 1
    got = rows(store, "SELECT toString(event_id) AS id FROM parcours.events ORDER BY id")
    assert got == sorted([{"id": first.event_id}, {"id": second.event_id}], key=lambda r: r["id"])


class Hung:
    """The real store behind a ClickHouse that stops answering until `release` is set."""

    def __init__(self, store):
        self.store, self.release = store, threading.Event()

    def insert_lines(self, table, data, token=None):
        self.release.wait(60)
        self.store.insert_lines(table, data, token)

    def missing_lines(self, table, data):
        return self.store.missing_lines(table, data)


def test_a_clickhouse_that_stops_answering_shows_in_readyz(app, store, monkeypatch):
    monkeypatch.setattr("collector.ops.STALLED", 0.3)
    with TestClient(app) as client:
        hung = app.state.writer.sink = Hung(store)
        try:
            assert post(client, event()).status_code == 204  # into the log; the insert hangs
            wait_for(lambda: client.get("/readyz").status_code == 503)
            (reason,) = client.get("/readyz").json()["reasons"]
            assert reason.startswith("ClickHouse has not answered for ")
        finally:
            hung.release.set()
        drained(app)
        assert client.get("/readyz").status_code == 200
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]



def test_a_full_disk_holds_the_writer_up_until_space_is_back_and_every_event_is_stored_once(app, store, monkeypatch):
    """The tester's 3 MB tmpfs: the checkpoint after an insert failed (ENOSPC), the writer died without a
    word, and what came after space was back was acknowledged but never stored."""
    disk = DiskFull(monkeypatch)
    with TestClient(app) as client:
        outage = app.state.writer.sink = Outage(store)  # ClickHouse away: the first events wait in the log
        before = [event() for _ in range(3)]
        assert counts(post(client, *before)) == {"accepted": 3, "rejected": 0}
        wait_for(lambda: outage.attempts >= 1)
        disk.full = True
        refused = event()
        r = post(client, refused)
        assert r.status_code == 503 and "retry-after" in r.headers
        outage.down = False  # stored, then its checkpoint cannot be saved
        app.state.writer.retry_now()
        wait_for(lambda: "checkpoint" in client.get("/readyz").text)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert any(reason.startswith("the batch writer is held up") and "No space left on device" in reason
                   for reason in ready.json()["reasons"])
        assert any(reason.startswith("the write-ahead log cannot be written") for reason in ready.json()["reasons"])

        disk.full = False  # the writer goes on by itself; the tag sends the refused event again
        after = [refused, event()]
        assert counts(post(client, *after)) == {"accepted": 2, "rejected": 0}
        drained(app)
        assert app.state.writer.running
        assert client.get("/readyz").status_code == 200
        stored = rows(store, "SELECT event_id, count() AS n FROM parcours.events GROUP BY event_id")
        assert sorted(str(r["event_id"]) for r in stored) == sorted(e["id"] for e in before + after)
        assert {r["n"] for r in stored} == {1}


def test_the_writer_starts_again_after_an_unexpected_failure(app, store, monkeypatch):
    """Anything the writer's loop does not expect (here its read of the log failing once) ended the writer
    for good; it starts again from the checkpoint."""
    with TestClient(app) as client:
        wal = app.state.wal
        read, failed = wal.read, []

        def failing_once(*args):
            if not failed:
                failed.append(True)
                raise OSError(5, "Input/output error")
            return read(*args)

        monkeypatch.setattr(wal, "read", failing_once)
        sent = [event(), event()]
        assert counts(post(client, *sent)) == {"accepted": 2, "rejected": 0}
        drained(app, timeout=20)
        assert failed and app.state.writer.running
        stored = rows(store, "SELECT event_id FROM parcours.events")
        assert sorted(str(r["event_id"]) for r in stored) == sorted(e["id"] for e in sent)
