"""Work the collector does in the background, a turn every few seconds while it runs: identity stitching
and the closing runs of sessions (journeys/background.py), the leads webhook's outbox (callcentre/outbox.py),
the call-back phones' purge (callcentre/retention.py). One process does it for a database: the first worker
(`--workers N`), of the collector that has not `--no-background` (several collectors on one ClickHouse).

Each turn runs on a thread of the task's own, so a slow turn holds neither the event loop, nor the requests'
threads, nor another task. Nothing a turn raises ends the loop: the next turn tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from collector.storage import StoreError


def slot(app) -> int:
    """This process's write-ahead log slot: 0 for the first worker (or the only one)."""
    wal = getattr(app.state, "wal", None)
    name = wal.directory.name if wal is not None else "0"
    return int(name) if name.isdigit() else 0


def runs_background(app) -> bool:
    """Whether this process does the background work: the first worker, unless `--no-background`."""
    return app.state.settings.background and slot(app) == 0


class Periodic:
    """`work` run at `start()`, then `interval` seconds after each turn ends, or at once when `poke()`d.

    ClickHouse out of reach (a `StoreError`) is logged when it begins, once until a turn succeeds again, and
    kept in `error` meanwhile; anything else is a bug, logged with its traceback at each turn."""

    def __init__(self, name: str, work: Callable[[], object], interval: float, log: logging.Logger, what: str):
        """`name`: the task's and its thread's; `what`: the work in the log's words ("persons: stitching")."""
        self.name, self.work, self.interval, self.log, self.what = name, work, interval, log, what
        self.error: str | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._io = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def poke(self) -> None:
        """A turn now rather than at the end of the interval (or right after the turn under way)."""
        self._wake.set()

    async def stop(self, timeout: float | None = None) -> None:
        """Let the turn under way finish (its thread cannot be cancelled), `timeout` seconds at most, then end."""
        self._stopping = True
        self._wake.set()
        finished = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except asyncio.TimeoutError:  # wait_for has cancelled the task; the thread ends its turn alone
                self.log.warning("%s still going at shutdown was left to the next start", self.what)
                finished = False
        self._io.shutdown(wait=finished)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()  # a poke during the turn asks for another: the turn may have read before it
            try:
                await loop.run_in_executor(self._io, self.work)
                self.error = None
            except StoreError as exc:  # ClickHouse away: the next turn catches up
                if self.error is None:
                    self.log.warning("%s failed, tried again every %g s: %s", self.what, self.interval, exc)
                self.error = str(exc)
            except Exception:  # a bug must not stop the collector: logged, tried again
                self.log.exception("%s failed unexpectedly", self.what)
            if self._stopping:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
