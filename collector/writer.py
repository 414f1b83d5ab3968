"""The batch writer: moves write-ahead log records into ClickHouse in batches, by size and by age.

Exactly-once into ClickHouse across crashes rests on two things:

- Before inserting a batch (log records `a..b`), the writer durably records it as in flight in the log's
  checkpoint. After a crash, the first batch is that same range, so its rows and their order are the same.
- Every insert carries `insert_deduplication_token = "<table>:<a>-<b>"`, and both tables keep the tokens of
  their last blocks (`non_replicated_deduplication_window`, schema migration 3): a batch inserted before the
  crash but not checkpointed is recognised and skipped by ClickHouse itself.

On failure (ClickHouse down, a refused insert), the same batch is retried with exponential backoff and the
records stay in the log; `/readyz` reports the error until an insert succeeds again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from collector.storage import StoreError
from collector.wal import Checkpoint, Position, Record, Wal

log = logging.getLogger("parcours.writer")


class Sink(Protocol):
    """Where batches go: `storage.Store`, or a fault-injecting wrapper around it in tests."""

    def insert_events(self, rows, columns=..., token: str | None = None) -> None: ...
    def insert_rejected(self, rows, columns=..., token: str | None = None) -> None: ...


@dataclass
class Batch:
    records: list[Record] = field(default_factory=list)
    rows: int = 0
    end: Position | None = None
    started: float = 0.0  # monotonic time the first record was read

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
        self._batch = Batch()
        self._stopping = False
        self._wake = asyncio.Event()
        self._io = ThreadPoolExecutor(1, thread_name_prefix="parcours-writer")
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
            self._batch = Batch(records, sum(map(_rows, records)), self._pos, time.monotonic())
            self._read_lsn = inflight[1]
            await self._flush(span=inflight)
        if self.wal.depth_records:
            log.info("replaying %d log record(s) not yet in ClickHouse", self.wal.depth_records)
        while True:
            if self.wal.durable_lsn > self._read_lsn and self._batch.rows < self.batch_rows:
                await self._fill(loop)
            batch = self._batch
            if batch.records and (batch.rows >= self.batch_rows or self._stopping
                                  or time.monotonic() - batch.started >= self.batch_age):
                await self._flush()
                continue
            if self.wal.durable_lsn > self._read_lsn and batch.rows < self.batch_rows:
                continue
            if self._stopping and not batch.records:
                return
            self.wal.grown.clear()
            if self.wal.durable_lsn > self._read_lsn or self._stopping:
                continue  # appended (or asked to stop) between the check and the clear
            timeout = None if not batch.records else max(0.0, self.batch_age - (time.monotonic() - batch.started))
            try:
                await asyncio.wait_for(self.wal.grown.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    async def _fill(self, loop) -> None:
        durable = self.wal.durable_lsn
        records, self._pos = await loop.run_in_executor(
            self._io, self.wal.read, self._pos, self.batch_rows - self._batch.rows)
        if not records:  # only unreadable frames up to `durable` (logged by the log): move on
            self._read_lsn = max(self._read_lsn, durable)
            return
        if not self._batch.records:
            self._batch.started = time.monotonic()
        self._batch.records += records
        self._batch.rows += sum(map(_rows, records))
        self._batch.end = self._pos
        self._read_lsn = records[-1].lsn

    async def _flush(self, span: tuple[int, int] | None = None) -> None:
        """Insert the batch, retrying with backoff until it is stored; then checkpoint past it."""
        loop = asyncio.get_running_loop()
        batch = self._batch
        if not batch.records:
            if span:  # nothing readable left of the batch in flight: it was stored, or lost to corruption
                await loop.run_in_executor(self._io, self.wal.save_checkpoint, Checkpoint(span[1]), self._pos)
            return
        first, last = span or (batch.first, batch.last)
        if not span:
            await loop.run_in_executor(self._io, self.wal.save_checkpoint,
                                       Checkpoint(self.wal.checkpoint.lsn, (first, last)))
        delay = self.backoff_min
        while True:
            started = time.perf_counter()
            try:
                await loop.run_in_executor(self._io, self._insert, batch.records, f"{first}-{last}")
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
        elapsed = time.perf_counter() - started
        await loop.run_in_executor(self._io, self.wal.save_checkpoint, Checkpoint(last), batch.end)
        if self.error:
            log.info("ClickHouse inserts succeed again after %.0f s", time.monotonic() - (self.failing_since or 0))
        self.error = self.failing_since = None
        self.written += batch.rows
        if self.metrics:
            self.metrics.batch_written(batch.records, elapsed)
        self._batch = Batch()

    def retry_now(self) -> None:
        """Cut the current backoff short (the store is known to be back)."""
        self._wake.set()

    def _insert(self, records: list[Record], span: str) -> None:
        for table, index, insert in (("events", 0, self.sink.insert_events),
                                     ("rejected_events", 1, self.sink.insert_rejected)):
            # Records keep the columns they were written with: group runs of the same columns.
            runs: dict[tuple[str, ...], list[Any]] = {}
            for r in records:
                rows = r.events if index == 0 else r.rejected
                if rows:
                    runs.setdefault(tuple(r.columns[table]), []).extend(rows)
            for n, (columns, rows) in enumerate(runs.items()):
                insert(rows, columns=columns, token=f"{table}:{span}" + (f":{n}" if n else ""))

    def _failed(self, message: str) -> None:
        if self.error is None:
            self.failing_since = time.monotonic()
        self.error = message
        if self.metrics:
            self.metrics.clickhouse_errors.inc()


def _rows(record: Record) -> int:
    return len(record.events) + len(record.rejected)


class _suppress_cancel:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is asyncio.CancelledError
