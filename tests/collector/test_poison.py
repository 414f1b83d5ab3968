"""No input stops the writer: rows ClickHouse refuses are isolated and set aside, transient failures are
retried, and the device clock does not choose the storage layout.

Refusals come from the real embedded engine (a block spanning too many partitions, a line it cannot
parse), and from a sink that fails as ClickHouse does (its error codes and messages) around the real store.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid

import pytest
from starlette.testclient import TestClient

from collector import rejected
from collector.app import create_app
from collector.rows import EventRow, lines
from collector.storage import StoreError
from collector.wal import Wal
from collector.writer import Writer
from tests.collector.helpers import counts, event, post, rows, run_async
from tests.collector.test_rejected import LONG_AGO
from tests.conftest import SECRET, drained

DAY = 86_400_000
MONTH = 31 * DAY


def months_apart(now: int, n: int = 101) -> list[dict]:
    """Valid page views whose device times fall in n different months, around now."""
    return [event(t=now + (i - n // 2) * MONTH, q=i + 1) for i in range(n)]


def test_the_101_months_attack_stores_what_is_plausible_and_keeps_the_rest(client, store):
    now = int(time.time() * 1000)
    r = post(client, *months_apart(now), sent=now)
    # 50 made months before the batch was sent: kept as rejected; the others stored, the future
    # times corrected (the device's kept): the device clock creates no partitions.
    assert counts(r) == {"accepted": 51, "rejected": 50}
    assert rows(store, "SELECT uniqExact(toYYYYMM(client_ts)) <= 2 AS few FROM parcours.events") == [{"few": 1}]
    assert rows(store, "SELECT countIf(client_ts_original IS NOT NULL) AS corrected, "
                       "countIf(client_ts_original > client_ts + INTERVAL 20 DAY) AS from_the_future "
                       "FROM parcours.events") == [{"corrected": 50, "from_the_future": 50}]
    assert rows(store, "SELECT DISTINCT reasons FROM parcours.rejected_events") == [
        {"reasons": ["client_ts: the event was made more than 30 days before it was sent (--max-event-age)"]}]
    assert client.get("/readyz").status_code == 200
    assert counts(post(client, event())) == {"accepted": 1, "rejected": 0}  # the writer goes on


def test_with_wide_bounds_the_refused_block_is_split_until_clickhouse_takes_it(settings, store, caplog):
    """The attack as it was: 101 months accepted, one block of 101 partitions that ClickHouse refuses
    ("too many partitions for single INSERT block"). Halves pass: every event is stored."""
    wide = dataclasses.replace(settings, max_event_age=100_000, max_clock_ahead=24 * 365 * 10)
    app = create_app(wide)
    now = int(time.time() * 1000)
    batch = months_apart(now)
    with TestClient(app) as client:
        assert counts(post(client, *batch, sent=now + 60 * MONTH)) == {"accepted": 101, "rejected": 0}
        drained(app)
        assert rows(store, "SELECT count() AS n, uniqExact(toYYYYMM(client_ts)) AS months FROM parcours.events") == [
            {"n": 101, "months": 101}]
        assert rows(store, "SELECT count() AS n FROM parcours.dead_letters") == [{"n": 0}]
        assert client.get("/readyz").status_code == 200
        assert counts(post(client, event())) == {"accepted": 1, "rejected": 0}


def test_one_event_time_correction_per_batch_keeps_their_order(client, store):
    """A device one hour late: every event gets the same correction, so a page's events keep their order
    and gaps; without `sent`, the batch's latest event is taken as its send time."""
    late = int(time.time() * 1000) - 3_600_000
    post(client, event(t=late - 5, q=1), event("touch", t=late - 5, q=2), event(t=late, q=3), sent=late + 2)
    got = rows(store, "SELECT seq, toUnixTimestamp64Milli(ts) AS ts, toUnixTimestamp64Milli(received_at) AS r "
                      "FROM parcours.events ORDER BY ts, seq")
    assert [g["seq"] for g in got] == [1, 2, 3]
    assert [g["r"] - g["ts"] for g in got] == [7, 7, 2]
    body = json.dumps({"events": [event(t=late, q=4), event(t=late + 40, q=5)]})  # no "sent"
    client.post("/collect", content=body, headers={"content-type": "text/plain"})
    got = rows(store, "SELECT seq, toUnixTimestamp64Milli(received_at) - toUnixTimestamp64Milli(ts) AS lag "
                      "FROM parcours.events WHERE seq >= 4 ORDER BY seq")
    assert got == [{"seq": 4, "lag": 40}, {"seq": 5, "lag": 0}]


class ClickHouseLike:
    """The real store, with the failures ClickHouse answers: rows holding `poison` are refused as
    ClickHouse refuses a line it cannot parse; `transient` errors are raised first, one per attempt."""

    PARSE = ("Code: 27. DB::Exception: Cannot parse input: expected '\"' before: 'x\"}': (while reading the value of "
             "key event_id): (at row 1): While executing ParallelParsingBlockInputFormat. "
             "(CANNOT_PARSE_INPUT_ASSERTION_FAILED)")

    def __init__(self, store, poison: set[str] = frozenset(), transient: list[StoreError] = ()):
        self.store, self.poison, self.transient = store, set(poison), list(transient)
        self.attempts = 0

    def insert_lines(self, table, data, token=None):
        self.attempts += 1
        if self.transient:
            raise self.transient.pop(0)
        if table != "dead_letters" and any(p.encode() in data for p in self.poison):
            raise StoreError(f"insert into {table} failed: {self.PARSE}", 27)
        self.store.insert_lines(table, data, token)

    def missing_lines(self, table, data):
        return self.store.missing_lines(table, data)


@pytest.fixture
def app(settings):
    return create_app(dataclasses.replace(settings, retry_max=0.2))


def test_rows_clickhouse_refuses_are_isolated_and_set_aside_the_rest_stored(app, store, caplog, fixed_plan):
    batch = [event(q=i) for i in range(12)] + [event("nope")]
    poison = {batch[3]["id"], batch[8]["id"]}
    with TestClient(app) as client:
        sink = app.state.writer.sink = ClickHouseLike(store, poison)
        caplog.set_level(logging.WARNING, logger="parcours.writer")
        assert counts(post(client, *batch)) == {"accepted": 12, "rejected": 1}
        drained(app)
        assert client.get("/readyz").status_code == 200
        stored = {r["id"] for r in rows(store, "SELECT toString(event_id) AS id FROM parcours.events")}
        assert stored == {e["id"] for e in batch[:12]} - poison
        assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 1}]
        dead = rows(store, "SELECT target, event_id, event, error, error_code, line FROM parcours.dead_letters FINAL "
                           "ORDER BY event_id")
        assert [(d["target"], d["event_id"], d["event"], d["error_code"]) for d in dead] == sorted(
            ("events", i, "page_view", 27) for i in poison)
        assert dead[0]["error"] == ClickHouseLike.PARSE
        assert json.loads(dead[0]["line"])["event_id"] == dead[0]["event_id"]
        lines_logged = [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()]
        assert len(lines_logged) == 1 and lines_logged[0].startswith("ClickHouse refused 2 row(s) of log records 1-1")
        assert 'parcours_dead_letters_total{table="events"} 2.0' in client.get("/metrics").text
        assert sink.attempts > 3  # it was split, not retried whole

        summary = {r[0]: r for r in rejected.summary(store, LONG_AGO).rows}
        refused = summary["ClickHouse refused the row for events: " + ClickHouseLike.PARSE]
        assert refused[1:3] == [2, 0] and refused[5] == ["page_view"]

        # Once fixed (here: the real store takes them), replay stores them, once.
        done = rejected.replay(store, fixed_plan, SECRET, LONG_AGO)
        assert (done.dead_letters, done.dead_letters_stored, done.dead_letters_refused) == (2, 2, {})
        assert rows(store, "SELECT count() AS n FROM parcours.events FINAL") == [{"n": 12}]
        again = rejected.replay(store, fixed_plan, SECRET, LONG_AGO)
        assert (again.dead_letters, again.dead_letters_stored) == (0, 0)
        summary = {r[0]: r for r in rejected.summary(store, LONG_AGO).rows}
        assert summary["ClickHouse refused the row for events: " + ClickHouseLike.PARSE][1:3] == [2, 2]


@pytest.mark.parametrize("failure", [
    StoreError("insert into events failed: Code: 241. DB::Exception: Memory limit (total) exceeded: would use 3.51 GiB "
               "(attempt to allocate chunk of 4194304 bytes), maximum: 3.47 GiB. (MEMORY_LIMIT_EXCEEDED)", 241),
    StoreError("insert into events failed: Code: 252. DB::Exception: Too many parts (3001 with average size of 1.2 MiB) "
               "in table 'parcours.events'. Merges are processing significantly slower than inserts. (TOO_MANY_PARTS)", 252),
    StoreError("insert into events failed: HTTPConnectionPool(host='127.0.0.1', port=8123): Max retries exceeded "
               "(Caused by NewConnectionError: Connection refused)"),
    StoreError("insert into events failed: Code: 60. DB::Exception: Table parcours.events does not exist. "
               "(UNKNOWN_TABLE)", 60),
], ids=["memory", "merges-behind", "network", "unknown-table"])
def test_transient_failures_are_retried_with_backoff_and_nothing_is_set_aside(app, store, failure):
    batch = [event(), event(), event("nope")]
    with TestClient(app) as client:
        sink = app.state.writer.sink = ClickHouseLike(store, transient=[failure, failure])
        assert counts(post(client, *batch)) == {"accepted": 2, "rejected": 1}
        drained(app)
        assert sink.attempts >= 4  # twice refused whole, then the events and the rejected block
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 2}]
        assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 1}]
        assert rows(store, "SELECT count() AS n FROM parcours.dead_letters") == [{"n": 0}]
        assert "parcours_clickhouse_errors_total 2.0" in client.get("/metrics").text


def _line(event_id: str, **fields) -> bytes:
    t = round(time.time(), 3)
    row = EventRow(event_id=event_id, event="page_view", ts=t, client_ts=t, sent_at=t, received_at=t, properties="{}")
    doc = {**json.loads(lines([row])), **fields}
    return (json.dumps(doc) + "\n").encode()


def test_a_line_the_real_engine_cannot_parse_is_set_aside_and_its_batch_stored(tmp_path, store):
    """Straight from the log, as an older collector or a bug could leave it: ClickHouse's own refusal."""
    good = [str(uuid.uuid4()) for _ in range(5)]
    bad = _line("not-a-uuid")

    async def run():
        wal = Wal(tmp_path / "wal")
        await wal.open()
        await wal.append(b"".join(_line(i) for i in good[:2]) + bad + b"".join(_line(i) for i in good[2:]), b"")
        writer = Writer(wal, store, batch_age=0, dead_letter_dir=tmp_path / "dead-letters")
        writer.start()
        assert await writer.stop()
        await wal.close()
        return writer

    writer = run_async(run())
    assert writer.set_aside == 1 and writer.written == 5
    assert sorted(r["id"] for r in rows(store, "SELECT toString(event_id) AS id FROM parcours.events")) == sorted(good)
    (dead,) = rows(store, "SELECT event_id, error_code, error, line FROM parcours.dead_letters")
    assert dead["event_id"] == "not-a-uuid" and dead["error_code"] != 0 and dead["error"].startswith("Code: ")
    assert dead["line"].encode() + b"\n" == bad


class RefusesDeadLetters(ClickHouseLike):
    def insert_lines(self, table, data, token=None):
        if table == "dead_letters":
            raise StoreError("Code: 60. DB::Exception: Table parcours.dead_letters does not exist. (UNKNOWN_TABLE)", 60)
        super().insert_lines(table, data, token)


def test_rows_even_dead_letters_refuses_go_to_a_file_then_into_the_table(tmp_path, store):
    poison = str(uuid.uuid4())
    directory = tmp_path / "dead-letters"

    async def run(sink, rows_in: bytes = b""):
        wal = Wal(tmp_path / "wal")
        await wal.open()
        if rows_in:
            await wal.append(rows_in, b"")
        writer = Writer(wal, sink, batch_age=0, dead_letter_dir=directory)
        writer.start()
        assert await writer.stop()
        await wal.close()

    run_async(run(RefusesDeadLetters(store, {poison}), _line(poison) + _line(str(uuid.uuid4()))))
    (kept,) = directory.iterdir()
    assert kept.stat().st_mode & 0o777 == 0o600
    assert json.loads(kept.read_text())["event_id"] == poison
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]
    run_async(run(store))  # the next start moves them into the table
    assert not list(directory.iterdir())
    assert rows(store, "SELECT event_id FROM parcours.dead_letters") == [{"event_id": poison}]
