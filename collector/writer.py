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

On failure (ClickHouse down, a refused insert), the same batch is retried with exponential backoff and the
records stay in the log; `/readyz` reports the error until an insert succeeds again.

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
from dataclasses import dataclass, field
from typing import Protocol

from collector import rows as rows_mod
from collector.storage import StoreError
from collector.wal import Checkpoint, Position, Record, Wal

log = logging.getLogger("parcours.writer")


class Sink(Protocol):
    """Where batches go: `storage.Store`, or a fault-injecting wrapper around it in tests."""

    def insert_lines(self, table: str, data: bytes, token: str | None = None) -> None: ...
    def missing_lines(self, table: str, data: bytes) -> bytes: ...


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
                 backoff_min: float = 0.2, backoff_max: float = 30.0, metrics=None):
        self.wal, self.sink, self.metrics = wal, sink, metrics
        self.batch_rows, self.batch_age = batch_rows, batch_age
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.error: str | None = None  # the last insert error, until an insert succeeds
        self.failing_since: float | None = None
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

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="parcours-writer")

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

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._pos = self.wal.start()
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
        """Sleep until the log holds rows not yet read (or the writer is asked to stop)."""
        self.wal.notify_rows = self.wal.durable_rows + 1
        self.wal.grown.clear()
        if self._read_lsn >= self.wal.durable_lsn and not self._stopping:
            await self.wal.grown.wait()

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
        loop = asyncio.get_running_loop()
        if not batch.records:
            if span:  # nothing readable left of the batch in flight: it was stored, or lost to corruption
                await loop.run_in_executor(self._io, self.wal.save_checkpoint, Checkpoint(span[1]), self._pos)
            return 0
        first, last = span or (batch.first, batch.last)
        if not span:
            await loop.run_in_executor(self._io, self.wal.save_checkpoint,
                                       Checkpoint(self.wal.checkpoint.lsn, (first, last)))
        events = b"".join(r.events for r in batch.records)
        rejected = b"".join(r.rejected for r in batch.records)
        span_id = f"{self.wal.log_id}:{first}-{last}"
        delay = self.backoff_min
        again = span is not None  # the batch in flight at a crash: maybe stored, in part or whole
        while True:
            started = time.perf_counter()
            try:
                await loop.run_in_executor(self._io, self._insert, events, rejected, span_id, again)
                break
            except StoreError as exc:
                self._failed(str(exc))
                log.warning("insert of log records %d-%d failed, retrying in %.1f s: %s", first, last, delay, exc)
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                delay = min(delay * 2, self.backoff_max)
                again = True
        elapsed = time.perf_counter() - started
        await loop.run_in_executor(self._io, self.wal.save_checkpoint, Checkpoint(last), batch.end)
        if self.error:
            log.info("ClickHouse inserts succeed again after %.0f s", time.monotonic() - (self.failing_since or 0))
        self.error = self.failing_since = None
        n_events, n_rejected = rows_mod.count(events), rows_mod.count(rejected)
        self.written += n_events + n_rejected
        if self.metrics:
            self.metrics.batch_written(batch.records, n_events, n_rejected, elapsed)
        return n_events + n_rejected

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

    def _insert(self, events: bytes, rejected: bytes, span: str, again: bool) -> None:
        with self._gate:
            self._insert_unpaused(events, rejected, span, again)

    def _insert_unpaused(self, events: bytes, rejected: bytes, span: str, again: bool) -> None:
        for table, data in (("events", events), ("rejected_events", rejected)):
            if not again:
                self.sink.insert_lines(table, data, token=f"{table}:{span}")
            else:
                # Not the token again: a non-replicated MergeTree records a block's token in its
                # deduplication log before it commits the part, so a kill -9 between the two leaves a
                # token whose rows were never stored, and the same token would drop them for good
                # (seen in e2e/test_crash.py). Insert what the table does not hold, deduplication off.
                self.sink.insert_lines(table, self.sink.missing_lines(table, data), token=None)

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
