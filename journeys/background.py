"""journeys/ inside the collector: its own ClickHouse client, and the background work that keeps persons
and the broker table current while the collector runs.

Every `INTERVAL` seconds, on a thread: the plan's brokers are written when the plan changed (at start, on a
reload), then a stitching run (persons.py) takes in what was stored since the last one. Persons are thus
seconds behind the events: the interval, plus a run's time. A failure (ClickHouse away) is logged once and
retried at the next turn, from the same watermark; nothing here can stop or slow the collector's requests
or its batch writer, which has its own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from collector.storage import Store, StoreError
from journeys import brokers, event_conversions, persons
from journeys.imports import Context

log = logging.getLogger("parcours.persons")

INTERVAL = 15.0


class Background:
    """The loop; `poke()` runs it now (an import, an erasure, `parcours persons stitch`)."""

    def __init__(self, app, store: Store, interval: float = INTERVAL):
        self.app, self.store, self.interval = app, store, interval
        self.last: persons.Run | None = None
        self.error: str | None = None
        self._plan = None
        self._stopping = False
        self._wake = asyncio.Event()

    def poke(self) -> None:
        self._wake.set()

    def turn(self) -> persons.Run:
        """One turn, blocking: the plan's brokers if the plan changed, the sales recorded as events, then a
        stitching run (which takes the links of those sales in)."""
        plan = self.app.state.plan
        if plan is not self._plan:
            brokers.sync_plan(self.store, plan)
            self._plan = plan
        sales = event_conversions.sync(self.store, Context(plan, self.app.state.settings.secret))
        if sales.imported or sales.updated or sales.rejected:
            log.info("conversions from events: %d imported, %d updated, %d rejected", sales.imported,
                     sales.updated, sales.rejected)
        return persons.stitch(self.store, persons.config(plan))

    async def stop(self, task: asyncio.Task, timeout: float = 30.0) -> None:
        """Let the turn under way finish (its thread cannot be cancelled), then end the loop."""
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(task, timeout)
        except asyncio.TimeoutError:
            log.warning("persons: a stitching run still going at shutdown was left to the next start")
            task.cancel()

    async def run(self) -> None:
        while not self._stopping:
            try:
                self.last = await run_in_threadpool(self.turn)
                self.error = None
                if self.last.keys_written:
                    log.info("persons: %d link(s), %d key(s) written, %d merge(s), %d key(s) left out, in %.1f s",
                             self.last.links, self.last.keys_written, self.last.merges, self.last.hot_keys,
                             self.last.seconds)
            except StoreError as exc:  # ClickHouse away: the next turn catches up from the same watermark
                if self.error is None:
                    log.warning("persons: stitching failed, retried every %.0f s: %s", self.interval, exc)
                self.error = str(exc)
            except Exception:  # a bug must not stop the collector: logged, tried again
                log.exception("persons: stitching failed unexpectedly")
            if self._stopping:
                return
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[None]:
    """journeys/ for the collector's lifetime (entered from its lifespan)."""
    settings = app.state.settings
    store = Store(settings.clickhouse, settings.database, settings.cluster)
    app.state.journeys_store = store
    background = Background(app, store)
    app.state.journeys = background
    task = asyncio.create_task(background.run(), name="parcours-persons")
    try:
        yield
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await background.stop(task)
        app.state.journeys_store = None
        await run_in_threadpool(store.close)
