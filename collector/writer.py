"""The batch writer: moves write-ahead log records into ClickHouse in batches, by size and by age.

Exactly-once into ClickHouse across crashes rests on two things:

- Before inserting a batch (log records `a..b`), the writer durably records it as in flight in the log's
  checkpoint. After a crash, the first batch is that same range, so its rows and their order are the same.
- A batch that may have been stored before (the one in flight at a crash, or one whose insert failed) is
  inserted again row by row as needed: only the rows the table does not hold (events by event_id,
  rejected rows by event_id and receipt time), with deduplication off. A fresh batch carries
  `insert_deduplication_token = "<table>:<log id>:<a>-<b>"` (schema migration 3 keeps the tokens of the
  last blocks), which keeps a block from being stored twice by a retry inside ClickHouse, but is not
  trusted after a crash: a non-replicated MergeTree writes the token to its deduplication log before it
  commits the part, so a kill -9 between the two leaves a token whose rows were never stored.

A batch ClickHouse refuses for what its rows hold (refusals.py: a value it cannot parse, a block spanning
too many partitions) is split until the refused rows are isolated: the others are stored, the refused ones
set aside in `dead_letters` with ClickHouse's error (deadletters.py), so no row stops the writer. On any other failure (ClickHouse down or slow, out of memory, merges behind) the same
batch is retried with exponential backoff and the records stay in the log; `/readyz` reports the error
until an insert succeeds again. A checkpoint that cannot be saved (the log's disk full) is retried the same
way, the batch kept, and anything else the loop does not expect starts it again from the checkpoint after
a backoff: the writer is held up, logged once and shown by `/readyz`, never stopped.

The writer reads the log when a batch is due, not after each group commit: when `batch_rows` rows are
durable since its last read (the log wakes it) or `batch_age` after that read. A batch is the records' JSONEachRow
blocks joined, one insert per table: the writer never decodes a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from collector import rows as rows_mod
from collector.deadletters import DeadLetters, Refused, insert_isolating
from collector.logs import Throttle
from collector.storage import Sink, StoreError
from collector.wal import Checkpoint, Position, Record, Wal

log = logging.getLogger("parcours.writer")


@dataclass
class Batch:
    records: list[Record] = field(default_factory=list)
    end: Position | None = None

    @property
    def first(self) -> int:
        return self.records[0].lsn

    @property
    def last(self) -> int:
        return self.records[-1].lsn


class Writer:
    """One background task per log; the only path from the log to ClickHouse."""

    def __init__(self, wal: Wal, sink: Sink, *, batch_rows: int = 5000, batch_age: float = 1.0,
                 backoff_min: float = 0.2, backoff_max: float = 30.0, metrics=None,
                 dead_letter_dir: Path | None = None, prepare: Callable[[], None] | None = None,
                 health_interval: float = 5.0):
        self.wal, self.sink, self.metrics = wal, sink, metrics
        self.prepare = prepare  # run (and retried) before the first insert: the migrations, when ClickHouse was away
        self.health_interval = health_interval  # while idle, ClickHouse is asked for a sign of life this often
        self.busy_since: float | None = None  # monotonic start of the call to ClickHouse under way
        self.dead_letter_dir = dead_letter_dir  # where rows go that even dead_letters refused
        self.dead_letters: DeadLetters | None = None  # made once the log is open (it names the fallback file)
        self.set_aside = 0  # rows set aside since start
        self.batch_rows, self.batch_age = batch_rows, batch_age
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.error: str | None = None  # the last insert error, until an insert succeeds
        self.failing_since: float | None = None
        self.fault: str | None = None  # what else holds the writer up (its checkpoint cannot be saved, a bug)
        self.fault_since: float | None = None
        self.written = 0  # rows stored since start
        self._pos: Position | None = None
        self._read_lsn = 0  # lsn of the last record read from the log
        self._read_rows = 0  # the log's durable_rows when it was last read
        self._read_at = 0.0  # monotonic time of that read
        self._stopping = False
        self._now = False  # flush_now: the batch under way goes without waiting for batch_age
        self._wake = asyncio.Event()
        self._io = ThreadPoolExecutor(1, thread_name_prefix="parcours-writer")
        self._gate = threading.Lock()  # held around each insert; `paused` holds it between two
        self._task: asyncio.Task | None = None
        self._bugs = Throttle(log)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervised(), name="parcours-writer")

    async def _supervised(self) -> None:
        """`_run`, started again after a backoff when it fails on anything it does not handle itself (a
        bug, the log unreadable): it resumes from the checkpoint, so nothing is lost or stored twice."""
        for delay in self._backoff():
            try:
                await self._run()
                return
            except Exception as exc:
                self._faulted(f"{type(exc).__name__}: {exc}")
                self._bugs.log(logging.ERROR, "the batch writer failed, starting it again in %.1f s "
                               "(events wait in the log)", delay, exc_info=exc)
            await self._pause(delay)

    async def stop(self, timeout: float = 30.0) -> bool:
        """Flush what the log holds (graceful shutdown), waiting at most `timeout`; True when drained."""
        self._stopping = True
        self._wake.set()
        self.wal.grown.set()
        if self._task is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            log.warning("shutdown: %d log record(s) not yet in ClickHouse stay in the log for the next start",
                        self.wal.depth_records)
            self._task.cancel()
            with _suppress_cancel():
                await self._task
        self._io.shutdown(wait=True)
        return self.wal.depth_records == 0

    @property
    def waiting(self) -> float:
        """Seconds the call to ClickHouse under way (an insert, a health check) has been waiting; 0 when none."""
        since = self.busy_since
        return time.monotonic() - since if since is not None else 0.0

    async def _call(self, fn, *args):
        """fn(*args) on the writer's thread, timed for /readyz (a hung ClickHouse shows as a call waiting)."""
        self.busy_since = time.monotonic()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)
        finally:
            self.busy_since = None

    async def _prepared(self) -> None:
        """Run `prepare` (the schema migrations of a start while ClickHouse was away) until it succeeds."""
        for delay in self._backoff():
            if self.prepare is None or self._stopping:
                return
            try:
                await self._call(self.prepare)
            except StoreError as exc:
                self._failed(str(exc))
                log.warning("ClickHouse not ready, retrying in %.1f s (events wait in the log): %s", delay, exc)
                await self._pause(delay)
                continue
            self.prepare = None
            self._succeeded()

    def _backoff(self) -> Iterator[float]:
        """The pauses between the attempts of one retried call: from backoff_min, doubling, at most backoff_max."""
        delay = self.backoff_min
        while True:
            yield delay
            delay = min(delay * 2, self.backoff_max)

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._pos = self.wal.start()
        self.dead_letters = DeadLetters(self.sink, self.dead_letter_dir, self.wal.log_id)
        await self._prepared()
        await loop.run_in_executor(self._io, self.dead_letters.recover)
        self._read_lsn = self.wal.checkpoint.lsn
        inflight = self.wal.checkpoint.inflight
        if inflight:
            log.info("replaying the batch in flight at the last stop: log records %d-%d", *inflight)
            records, self._pos = await loop.run_in_executor(self._io, self.wal.read, self._pos, 1 << 62, inflight[1])
            self._read_lsn = inflight[1]
            await self._flush(Batch(records, self._pos), span=inflight)
        if self.wal.depth_records:
            log.info("replaying %d log record(s) not yet in ClickHouse", self.wal.depth_records)
        backlog = self.wal.durable_lsn  # written before this start: read at once
        full = False
        while True:
            if self._read_lsn >= self.wal.durable_lsn:
                if self._stopping:
                    return
                await self._next_rows()
                continue
            if self._read_lsn >= backlog and not full and not self._stopping:
                await self._batch_due()
            self._read_rows, self._read_at = self.wal.durable_rows, time.monotonic()
            self._now = False
            records, self._pos = await loop.run_in_executor(self._io, self.wal.read, self._pos, self.batch_rows)
            if not records:  # only unreadable frames up to the durable lsn (logged by the log): move on
                self._read_lsn = self.wal.durable_lsn
                continue
            self._read_lsn = records[-1].lsn
            # A read that stopped at the limit leaves rows waiting: the next one goes at once.
            full = await self._flush(Batch(records, self._pos)) >= self.batch_rows

    async def _next_rows(self) -> None:
        """Sleep until the log holds rows not yet read (or the writer is asked to stop); meanwhile, check
        every `health_interval` that ClickHouse answers, so that /readyz knows it while no row comes."""
        self._unfaulted()  # all read and stored
        self.wal.notify_rows = self.wal.durable_rows + 1
        self.wal.grown.clear()
        while self._read_lsn >= self.wal.durable_lsn and not self._stopping:
            try:
                await asyncio.wait_for(self.wal.grown.wait(), self.health_interval)
                return
            except asyncio.TimeoutError:
                await self._health_check()

    async def _health_check(self) -> None:
        ping = getattr(self.sink, "ping", None)  # a test's fault-injecting sink may have none
        if ping is None:
            return
        try:
            await self._call(ping)
        except StoreError as exc:
            if self.error is None:
                log.warning("ClickHouse does not answer: %s", exc)
            self._failed(str(exc))
            return
        if self.error is not None:
            log.info("ClickHouse answers again")
        self.error = self.failing_since = None

    async def _batch_due(self) -> None:
        """Wait until `batch_rows` rows are durable since the last read, or `batch_age` after that read:
        no row waits longer than that, and after a quiet spell the first rows go at once."""
        deadline = self._read_at + self.batch_age
        self.wal.notify_rows = self._read_rows + self.batch_rows
        while self.wal.durable_rows < self.wal.notify_rows and not self._stopping and not self._now:
            self.wal.grown.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.wal.grown.wait(), left)
            except asyncio.TimeoutError:
                return

    async def _flush(self, batch: Batch, span: tuple[int, int] | None = None) -> int:
        """Insert the batch, retrying with backoff until it is stored; then checkpoint past it. Its rows."""
        if not batch.records:
            if span:  # nothing readable left of the batch in flight: it was stored, or lost to corruption
                await self._checkpoint(Checkpoint(span[1]), self._pos)
            return 0
        first, last = span or (batch.first, batch.last)
        if not span:
            await self._checkpoint(Checkpoint(self.wal.checkpoint.lsn, (first, last)))
        events = b"".join(r.events for r in batch.records)
        rejected = b"".join(r.rejected for r in batch.records)
        span_id = f"{self.wal.log_id}:{first}-{last}"
        again = span is not None  # the batch in flight at a crash: maybe stored, in part or whole
        for delay in self._backoff():
            started = time.perf_counter()
            try:
                dead = await self._call(self._insert, events, rejected, span_id, again)
                break
            except StoreError as exc:
                self._failed(str(exc))
                log.warning("insert of log records %d-%d failed, retrying in %.1f s: %s", first, last, delay, exc)
            except Exception as exc:  # a bug: the writer must not die of it; the batch stays in the log
                self._failed(f"{type(exc).__name__}: {exc}")
                self._bugs.log(logging.ERROR, "insert of log records %d-%d failed on a bug, retrying in %.1f s",
                               first, last, delay, exc_info=exc)
            await self._pause(delay)
            again = True
        elapsed = time.perf_counter() - started
        await self._checkpoint(Checkpoint(last), batch.end)
        self._succeeded()
        n_events = rows_mod.count(events) - sum(1 for table, _, _ in dead if table == "events")
        n_rejected = rows_mod.count(rejected) - sum(1 for table, _, _ in dead if table == "rejected_events")
        self.written += n_events + n_rejected
        if dead:
            self.set_aside += len(dead)
            log.warning("ClickHouse refused %d row(s) of log records %d-%d for what they hold; the rest is stored, "
                        "those are set aside in dead_letters (see `parcours rejected summary`): %s",
                        len(dead), first, last, dead[0][2])
        if self.metrics:
            self.metrics.batch_written(batch.records, n_events, n_rejected, elapsed)
            for table, _, _ in dead:
                self.metrics.dead_letters.labels(table).inc()
        return n_events + n_rejected

    async def _checkpoint(self, checkpoint: Checkpoint, pos: Position | None = None) -> None:
        """Save the checkpoint, retrying with backoff until it is saved: a full disk holds the writer up
        (the batch is kept, in memory and in the log) until there is room again, never stops it."""
        for delay in self._backoff():
            try:
                await asyncio.get_running_loop().run_in_executor(self._io, self.wal.save_checkpoint, checkpoint, pos)
                break
            except OSError as exc:
                if self.fault is None:
                    log.error("cannot save the write-ahead log's checkpoint, retrying with backoff "
                              "(nothing is lost; stored segments are deleted once it is saved): %s", exc)
                self._faulted(f"cannot save the write-ahead log's checkpoint: {exc}")
            await self._pause(delay)
        self._unfaulted()

    def flush_now(self) -> None:
        """Store what the log holds without waiting for batch_age (an erasure waits for it)."""
        self._now = True
        self.wal.grown.set()

    def retry_now(self) -> None:
        """Cut the current backoff short (the store is known to be back)."""
        self._wake.set()

    @contextlib.contextmanager
    def paused(self):
        """No insert runs inside the block (blocking: from a thread). An erasure reattaches the tables it
        changed, which an insert must not meet; requests are still accepted into the log meanwhile."""
        with self._gate:
            yield

    def _insert(self, events: bytes, rejected: bytes, span: str, again: bool) -> list[Refused]:
        """Store a batch's two blocks; the rows ClickHouse refused for what they hold, set aside."""
        with self._gate:
            return self._insert_unpaused(events, rejected, span, again)

    def _insert_unpaused(self, events: bytes, rejected: bytes, span: str, again: bool) -> list[Refused]:
        dead = []
        for table, data in (("events", events), ("rejected_events", rejected)):
            dead += insert_isolating(self.sink, table, data, f"{table}:{span}", again)
        if dead:
            self.dead_letters.set_aside(dead)
        return dead

    def _succeeded(self) -> None:
        if self.error:
            log.info("ClickHouse inserts succeed again after %.0f s", time.monotonic() - (self.failing_since or 0))
        self.error = self.failing_since = None

    def _faulted(self, message: str) -> None:
        if self.fault is None:
            self.fault_since = time.monotonic()
        self.fault = message

    def _unfaulted(self) -> None:
        if self.fault is not None:
            log.warning("the batch writer goes on after %.0f s held up (%s)",
                        time.monotonic() - (self.fault_since or 0), self.fault)
        self.fault = self.fault_since = None

    def _failed(self, message: str) -> None:
        if self.error is None:
            self.failing_since = time.monotonic()
        self.error = message
        if self.metrics:
            self.metrics.clickhouse_errors.inc()


class _suppress_cancel:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is asyncio.CancelledError
