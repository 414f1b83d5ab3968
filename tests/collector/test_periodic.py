"""The collector's background tasks: a turn at start, another when poked, failures logged and survived, a stop
that lets the turn under way finish. Turns are followed by events the work sets, never by time."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from collector.periodic import Periodic
from collector.storage import StoreError
from tests.collector.helpers import run_async

log = logging.getLogger("parcours.test.periodic")
HOUR = 3600.0
WAIT = 30.0
"""A safety bound for a turn expected to happen (a failing test ends instead of hanging): not a timing claim."""


def _wait(event: threading.Event) -> asyncio.Future:
    return asyncio.to_thread(event.wait, WAIT)


def test_a_turn_at_start_and_one_more_each_poke_even_during_a_turn():
    async def main():
        turns: list[int] = []
        first, release, second, third = threading.Event(), threading.Event(), threading.Event(), threading.Event()

        def work():
            turns.append(len(turns) + 1)
            if len(turns) == 1:
                first.set()
                release.wait(WAIT)  # the first turn goes on while it is poked
            elif len(turns) == 2:
                second.set()
            else:
                third.set()

        p = Periodic("test-periodic", work, HOUR, log, "test: a turn")
        p.start()
        assert await _wait(first)
        p.poke()  # during the first turn: what it asks for may have come after the turn read
        release.set()
        assert await _wait(second), "a poke during a turn should bring another turn right after it"
        p.poke()
        assert await _wait(third)
        await p.stop()
        return turns

    assert run_async(main()) == [1, 2, 3]


def test_clickhouse_away_is_logged_once_until_a_turn_succeeds_and_a_bug_each_time(caplog):
    outcomes = [StoreError("ClickHouse is down"), StoreError("ClickHouse is down"), None,
                StoreError("ClickHouse is down again"), ValueError("a bug"), ValueError("a bug")]
    errors: list[str | None] = []
    exhausted, release = threading.Event(), threading.Event()

    async def main():
        def work():
            errors.append(p.error)
            if not outcomes:
                exhausted.set()
                release.wait(WAIT)
                return
            outcome = outcomes.pop(0)
            if outcome is not None:
                raise outcome

        p = Periodic("test-periodic", work, 0, log, "test: a turn")
        p.start()
        assert await _wait(exhausted)
        release.set()
        await p.stop()

    with caplog.at_level(logging.WARNING, logger=log.name):
        run_async(main())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["test: a turn failed, tried again every 0 s: ClickHouse is down",
                        "test: a turn failed, tried again every 0 s: ClickHouse is down again"]
    bugs = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in bugs] == ["test: a turn failed unexpectedly"] * 2
    assert all(r.exc_info and r.exc_info[0] is ValueError for r in bugs)
    # what each turn saw in `error`: kept while ClickHouse is away, cleared by a turn that succeeds
    assert errors == [None, "ClickHouse is down", "ClickHouse is down", None, "ClickHouse is down again",
                      "ClickHouse is down again", "ClickHouse is down again"]


def test_stop_lets_the_turn_under_way_finish():
    async def main():
        started, release = threading.Event(), threading.Event()
        finished: list[bool] = []

        def work():
            started.set()
            release.wait(WAIT)
            finished.append(True)

        p = Periodic("test-periodic", work, HOUR, log, "test: a turn")
        p.start()
        assert await _wait(started)
        stopper = asyncio.create_task(p.stop())
        await asyncio.sleep(0)  # stop() runs until it waits for the turn
        assert not stopper.done() and not finished
        release.set()
        await stopper
        return finished

    assert run_async(main()) == [True]


def test_a_turn_longer_than_the_stop_timeout_is_left_to_finish_alone(caplog):
    async def main():
        started, release = threading.Event(), threading.Event()

        def work():
            started.set()
            release.wait(WAIT)

        p = Periodic("test-periodic", work, HOUR, log, "test: a turn")
        p.start()
        assert await _wait(started)
        await p.stop(timeout=0)
        release.set()

    with caplog.at_level(logging.WARNING, logger=log.name):
        run_async(main())
    assert [r.getMessage() for r in caplog.records] == ["test: a turn still going at shutdown was left to the next start"]


def test_one_process_does_the_background_work_the_first_worker_of_a_collector_that_has_it_on(settings, store):
    """Stitching and the closing runs run in one process for a database: not in a second worker of the same
    collector, nor in a collector started with --no-background (several collectors on one ClickHouse); a
    stitching run asked through the admin API still runs there."""
    import dataclasses

    from collector.app import create_app
    from collector.wal import claim_slot
    from tests.conftest import Client

    with Client(create_app(settings)) as c:
        background = c.app.state.journeys
        deadline = time.monotonic() + WAIT
        while background.last is None and time.monotonic() < deadline:  # its first turn, at start
            time.sleep(0.01)
        assert background.last is not None, background.error
    with Client(create_app(dataclasses.replace(settings, background=False))) as c:
        assert getattr(c.app.state, "journeys", None) is None
        r = c.post("/api/persons/stitch", headers={"authorization": "Bearer admin-test-token"})
        assert r.status_code == 200, r.text
        assert "keys_written" in r.json()
    _, first = claim_slot(settings.wal_root)  # worker 0 of the same collector holds its slot
    try:
        with Client(create_app(settings)) as c:
            assert c.app.state.wal.directory.name == "1"
            assert getattr(c.app.state, "journeys", None) is None
    finally:
        first.close()
