"""journeys/ inside the collector: its own ClickHouse client, and the background work that keeps persons
and the broker table current while the collector runs.

Every `INTERVAL` seconds, on a thread: the plan's brokers are written when the plan changed (at start, on a
reload), then a stitching run (persons.py) takes in what was stored since the last one. Persons are thus
seconds behind the events: the interval, plus a run's time. Every `closing.INTERVAL` seconds, on a thread of
its own: a closing run (closing.py) keeps the touches of ended sessions for the reports. Every
`results.REFRESH` seconds, on a third: the views people asked for whose kept figures predate the data are
computed again (journeys/reports/results.py). A failure (ClickHouse away) is logged once and retried at the
next turn, from the same watermark; nothing here can stop or slow the collector's requests or its batch
writer, which has its own client. They run in the one process that does the background work
(collector/periodic.py: the first worker, unless `--no-background`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from collector.periodic import Periodic, runs_background
from collector.storage import Store
from journeys import brokers, closing, event_conversions, persons
from journeys.dashboard import views
from journeys.imports import Context
from journeys.reports import results

log = logging.getLogger("parcours.persons")

INTERVAL = 15.0
STOP_TIMEOUT = 30.0
"""Seconds the turns under way at shutdown (stitching, closing sessions, reports) may take to finish, all of them
(at most --shutdown-timeout); the next start redoes them."""


class Background(Periodic):
    """The loop; `poke()` runs it now (a sale a server sent: collector/segment/api.py); `error` says why it fails
    while ClickHouse is away (`parcours persons status`)."""

    def __init__(self, app, store: Store, interval: float = INTERVAL):
        super().__init__("parcours-persons", self._logged_turn, interval, log, "persons: stitching")
        self.app, self.store = app, store
        self.last: persons.Run | None = None
        self._plan = None
        self._started, self._swept = time.monotonic(), False

    def turn(self) -> persons.Run:
        """One turn, blocking: the plan's brokers if the plan changed, the sales recorded as events, then a
        stitching run (which takes the links of those sales in)."""
        plan = self.app.state.plan
        if not self._swept:  # once, on this process's first turn that reaches ClickHouse
            if left := persons.drop_left_staging(self.store, time.monotonic() - self._started):
                log.info("persons: %d staging table(s) a stopped process left dropped", left)
            self._swept = True
        if plan is not self._plan:
            brokers.sync_plan(self.store, plan)
            self._plan = plan
        sales = event_conversions.sync(self.store, Context(plan, self.app.state.settings.secret))
        if sales.imported or sales.updated or sales.rejected:
            log.info("conversions from events: %d imported, %d updated, %d rejected", sales.imported,
                     sales.updated, sales.rejected)
        return persons.stitch(self.store, persons.config(plan))

    def _logged_turn(self) -> None:
        """A turn of the loop (a failure: ClickHouse away, the next turn catches up from the same watermark)."""
        self.last = self.turn()
        if self.last.keys_written:
            log.info("persons: %d link(s), %d key(s) written, %d merge(s), %d key(s) left out, in %.1f s",
                     self.last.links, self.last.keys_written, self.last.merges, self.last.hot_keys,
                     self.last.seconds)


def _close(store: Store, data_dir) -> None:
    """A closing run (journeys/closing.py), unless another process of the machine is running one."""
    with closing.machine_lock(data_dir) as held:
        if held:
            run = closing.close(store)
            if run.sessions:
                log.info("touches: %d session(s) closed (%d late ones replaced) in %.1f s", run.sessions,
                         run.replaced, run.seconds)


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[None]:
    """journeys/ for the collector's lifetime (entered from its lifespan)."""
    settings = app.state.settings
    store = Store(settings.clickhouse, settings.database, settings.cluster)
    app.state.journeys_store = store
    accounts = app.state.sessions.users

    def default_view(plan):
        """The page's default view, once somebody can open it (a viewer account: `parcours users add`) and there
        is something to show (not the empty figures of a demo's first start, its data set still being sent)."""
        if not accounts.all():
            return []
        if not store.query(f"SELECT 1 FROM {store.database}.events LIMIT 1").rows:
            return []
        return views.default_view(plan)

    kept = app.state.report_results = results.Results(store, settings.data_dir, settings.report_memory << 20,
                                                      enabled=settings.report_memory > 0,
                                                      default_view=default_view)
    turns: list[Periodic] = []
    if runs_background(app):  # one process for the database (collector/periodic.py)
        background = Background(app, store)
        app.state.journeys = background
        app.state.journeys_reports = Periodic("parcours-reports", lambda: kept.refresh(app.state.plan),
                                              results.REFRESH, log, "reports: computing views again")
        turns = [background, Periodic("parcours-closing", lambda: _close(store, settings.data_dir),
                                      closing.INTERVAL, log, "touches: closing sessions"),
                 app.state.journeys_reports]
    for turn in turns:
        turn.start()
    try:
        yield
    finally:
        await run_in_threadpool(kept.stop)  # its turn's queries stopped: the shutdown does not wait for them
        # One budget for all of them: each its own STOP_TIMEOUT, one after the other, held the shutdown a minute
        # and more while ClickHouse hung, past --shutdown-timeout (a service manager kills the process then).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(STOP_TIMEOUT, settings.shutdown_timeout)
        for turn in reversed(turns):
            await turn.stop(timeout=max(1.0, deadline - loop.time()))
        app.state.journeys = app.state.report_results = app.state.journeys_reports = None
        app.state.journeys_store = None
        await run_in_threadpool(kept.save)
        await run_in_threadpool(store.close)
