"""Group commit: the frames queued by requests are written and fsync'd together by one flusher task, then
every request of the group is answered. Requests arriving during an fsync form the next group."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from collector.wal.errors import WalError

log = logging.getLogger("parcours.wal")

# A group's write + fdatasync runs on the event loop while it averages under this: a hop to a thread
# costs more (under load, up to two GIL switch intervals of 5 ms each), and the loop keeps every core
# it would share with that thread. A slow disk moves the fsync to a thread, so requests keep flowing.
_INLINE_FSYNC = 0.002
_GATHER = 0.001

OUTAGE_QUIET = 10.0
"""Seconds of writes without a failure that end an outage of the log's disk: one line when it begins, one when
it ends, not one per request while a nearly full disk takes some groups and refuses others."""


def _now() -> float:
    return time.monotonic()


class GroupCommit:
    """`write(data, first lsn) -> seconds` puts a group on disk (blocking); `durable(last lsn, frames, rows,
    seconds)` is called on the event loop once it is there, before the group's requests hear of it."""

    def __init__(self, write: Callable[[bytes, int], float], durable: Callable[[int, int, int, float], None],
                 io: ThreadPoolExecutor):
        self._write, self._durable, self._io = write, durable, io
        self._pending: list[bytes] = []  # frames of the group being formed
        self._waiting: list[asyncio.Future] = []  # their requests, resolved once the group is durable
        self._rows = 0
        self._first = self._last = 0  # lsns of the group's first and last frames
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task | None = None
        self._slow_disk = 0.0  # moving average of a group's write + fsync, in seconds
        self._failing_since: float | None = None  # monotonic time of the first failed write of an outage
        self._failed_last = 0.0  # and of its last
        self._refused = 0  # requests refused since then

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="parcours-wal-flusher")

    def add(self, lsn: int, frame: bytes, rows: int, durable: asyncio.Future) -> None:
        """Queue one request's frame (lsns are handed out in queue order); `durable` is resolved with the group."""
        if not self._pending:
            self._first = lsn
            self._wake.set()
        self._last = lsn
        self._pending.append(frame)
        self._rows += rows
        self._waiting.append(durable)

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                if self._closing:
                    return
                continue
            await self._gather()
            frames, waiting, rows = self._pending, self._waiting, self._rows
            first, last = self._first, self._last
            self._pending, self._waiting, self._rows = [], [], 0
            data = b"".join(frames)
            try:
                if self._slow_disk > _INLINE_FSYNC:
                    seconds = await loop.run_in_executor(self._io, self._write, data, first)
                else:
                    seconds = self._write(data, first)
            except OSError as exc:
                self._failed_last = _now()
                if self._failing_since is None:  # once per outage (a full disk): the tag retries each request
                    self._failing_since = self._failed_last
                    log.error("write-ahead log write failed, requests refused (503) until a write succeeds: %s", exc)
                self._refused += len(frames)
                for future in waiting:
                    if not future.done():  # a request cancelled meanwhile
                        future.set_exception(WalError(f"write-ahead log write failed: {exc}"))
                continue
            self._slow_disk = 0.8 * self._slow_disk + 0.2 * seconds
            # The outage ends once writes have gone on without a failure for OUTAGE_QUIET seconds: a nearly full
            # disk takes the small groups and refuses the ones that need a new segment, one after the other.
            if self._failing_since is not None and _now() - self._failed_last >= OUTAGE_QUIET:
                log.warning("write-ahead log writes succeed again after %.0f s; %d request(s) were refused meanwhile",
                            self._failed_last - self._failing_since, self._refused)
                self._failing_since, self._refused = None, 0
            # A failed group leaves a gap in the lsns, never a hole in the file.
            self._durable(last, len(frames), rows, seconds)
            for future in waiting:
                if not future.done():
                    future.set_result(None)

    async def _gather(self) -> None:
        """Let requests already read join the group before it is written: while the loop's iterations
        keep adding frames (up to _GATHER seconds), one fsync more covers them. The loop is not blocked
        meanwhile; under load it halves the fsyncs, each of which stalls it (bench_collector.py)."""
        deadline = time.monotonic() + _GATHER
        quiet = 0
        while quiet < 2 and time.monotonic() < deadline and not self._closing:
            n = len(self._pending)
            await asyncio.sleep(0)
            quiet = quiet + 1 if len(self._pending) == n else 0
