"""`Wal`: the segmented, checksummed, group-committed log of accepted rows (see the package docstring)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from collector import rows as rows_mod
from collector.wal import frames
from collector.wal.checkpoint import Checkpoint, log_id, read_checkpoint, write_checkpoint
from collector.wal.errors import WalError, WalFull
from collector.wal.frames import Record
from collector.wal.group import GroupCommit
from collector.wal.segments import Position, Segments

__all__ = ["Wal", "WalError", "WalFull"]

log = logging.getLogger("parcours.wal")

SHOWN = 30.0
"""Seconds /readyz reports a failed write of the log after the last one: a write that succeeds clears it
sooner, but none comes while a load balancer keeps requests away from a collector that is not ready."""


class Wal:
    """The log of one worker: what the collector appends to and the batch writer reads from."""

    def __init__(self, directory: Path, *, max_bytes: int = 1 << 30, segment_bytes: int = 16 << 20,
                 fsync: bool = True, on_fsync: Callable[[int, float], None] | None = None):
        self.directory = Path(directory)
        self.max_bytes, self.segment_bytes, self.fsync = max_bytes, segment_bytes, fsync
        self.on_fsync = on_fsync  # (records, seconds) per group, for metrics
        self.fsyncs = 0
        self.checkpoint = Checkpoint()
        self.log_id = ""  # read or made by open()
        self.last_lsn = 0  # last lsn handed out
        self.durable_lsn = 0  # last lsn on disk, fsync'd
        self.durable_rows = 0  # rows made durable since open
        self.notify_rows = 1  # `grown` is set once durable_rows reaches this (the writer moves it)
        self.grown = asyncio.Event()  # set when durable_rows reaches notify_rows, for the writer
        self.last_fsync = 0.0
        self.segments = Segments(self.directory, segment_bytes, fsync)
        self._io = ThreadPoolExecutor(1, thread_name_prefix="parcours-wal")
        self._group = GroupCommit(self._write, self._durable, self._io)
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ckpt_pos = Position(0, 0)
        self._depth_hint = 1 << 62  # an upper bound of depth_bytes, exact after each checkpoint
        self.write_error: str | None = None  # why the last write failed, until one succeeds
        self._write_failed_at = 0.0  # monotonic time of the last failed write

    @property
    def corrupt_frames(self) -> int:
        """Torn or corrupt frames skipped since open."""
        return self.segments.corrupt_frames

    # ---- opening and recovery

    async def open(self) -> None:
        """Recover what a previous run left, start a fresh segment and the flusher."""
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(self._io, self._recover)
        self._group.start()

    def _recover(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_id = log_id(self.directory)
        self.checkpoint = read_checkpoint(self.directory)
        last = self.segments.scan(self.checkpoint.lsn)
        self.last_lsn = self.durable_lsn = last
        self._ckpt_pos = Position(min(self.segments.sizes, default=0), 0)
        try:
            self.segments.activate(last + 1)  # new records go to a new segment
        except OSError as exc:  # the first group tries again: the log replays meanwhile, requests get 503
            self._write_failed(exc)
            log.error("write-ahead log %s: cannot start a new segment (%s); POST /collect answers 503 until it can",
                      self.directory, exc)
        self._depth_hint = self.depth_bytes

    # ---- appending (group commit)

    @property
    def depth_records(self) -> int:
        return self.durable_lsn - self.checkpoint.lsn

    @property
    def depth_bytes(self) -> int:
        """Bytes on disk not yet stored in ClickHouse (from the checkpoint's position on)."""
        return self.segments.bytes_after(self._ckpt_pos)

    @property
    def full(self) -> bool:
        # Cheap on every request: the depth grows only with appends, and only the cap is compared.
        return self._depth_hint >= self.max_bytes and self.depth_bytes >= self.max_bytes

    async def append(self, events: bytes, rejected: bytes, rows: int | None = None) -> int:
        """Queue one request's rows (JSONEachRow blocks); return its lsn once it is on disk (fsync'd)."""
        future = self._loop.create_future()
        lsn = self.submit(events, rejected, future, rows)
        await future
        return lsn

    def submit(self, events: bytes, rejected: bytes, durable: asyncio.Future, rows: int | None = None) -> int:
        """Queue one request's rows; `durable` gets its result once they are on disk (fsync'd), or the
        write's WalError. Its lsn. Raises WalFull, or WalError while closing."""
        if self._closing:
            raise WalError("the collector is shutting down")
        if self.full:
            raise WalFull(f"write-ahead log full ({self.depth_bytes} bytes, cap {self.max_bytes})")
        self.last_lsn += 1
        lsn = self.last_lsn
        frame = frames.record(lsn, int(time.time() * 1000), events, rejected)
        rows = (rows_mod.count(events) + rows_mod.count(rejected)) if rows is None else rows
        self._group.add(lsn, frame, rows, durable)
        return lsn

    async def seal(self) -> int:
        """Close the segment being written: every record accepted before is then in a segment the log
        deletes once the batch writer has stored it all (`stored`). An erasure does this, so no copy of
        what it erases stays on disk in the log. The lsn of the empty record that opens the next segment."""
        self.segments.rotate_next = True
        return await self.append(b"", b"", 0)

    async def stored(self, lsn: int, timeout: float) -> None:
        """Wait until the batch writer has stored the records up to `lsn` (and the log dropped the segments
        that held only stored records); WalError after `timeout` seconds (ClickHouse away)."""
        deadline = time.monotonic() + timeout
        while self.checkpoint.lsn < lsn:
            if time.monotonic() > deadline:
                raise WalError(f"the write-ahead log is not stored in ClickHouse after {timeout:.0f} s "
                               f"({self.depth_records} record(s) waiting)")
            await asyncio.sleep(0.02)

    @property
    def failing(self) -> str | None:
        """Why writes of the log fail (a full disk), while the last failure is recent; else None."""
        if self.write_error and time.monotonic() - self._write_failed_at < SHOWN:
            return self.write_error
        return None

    def _write_failed(self, exc: OSError) -> None:
        self.write_error = str(exc)
        self._write_failed_at = time.monotonic()

    def _write(self, data: bytes, first: int) -> float:
        try:
            seconds = self.segments.append(data, first)
        except OSError as exc:
            self._write_failed(exc)
            raise
        self.write_error = None
        self.fsyncs += 1
        self.last_fsync = seconds
        self._depth_hint += len(data)
        return seconds

    def _durable(self, last: int, records: int, rows: int, seconds: float) -> None:
        # lsns are handed out in queue order: the group ends at its last frame's lsn.
        self.durable_lsn = last
        self.durable_rows += rows
        if self.on_fsync:
            self.on_fsync(records, seconds)
        if self.durable_rows >= self.notify_rows or not rows:
            self.grown.set()

    async def close(self) -> None:
        """Commit what is queued, stop the flusher, close the segment."""
        self._closing = True
        await self._group.close()
        self.segments.close()
        self._io.shutdown(wait=True)

    # ---- reading (the writer and replay)

    def start(self) -> Position:
        """Where reading starts: the first live segment."""
        return self.segments.first()

    def read(self, pos: Position, max_rows: int, upto: int | None = None) -> tuple[list[Record], Position]:
        """Durable records after the checkpoint from `pos` on, until `max_rows` rows or lsn `upto`."""
        out: list[Record] = []
        rows = 0
        durable = self.durable_lsn
        while True:
            with self.segments.lock:
                limit = self.segments.sizes.get(pos.segment)
                later = [s for s in self.segments.sizes if s > pos.segment]
                none = not self.segments.sizes  # a log whose first segment could not be made yet
            if none:
                return out, pos
            if limit is None:  # deleted under us: start from the first live segment
                pos = self.start()
                continue
            for record, end in self.segments.frames(pos.segment, pos.offset, limit):
                if record.lsn > durable:  # written, not yet fsync'd and acknowledged
                    return out, pos
                pos = Position(pos.segment, end)
                if record.lsn <= self.checkpoint.lsn:
                    continue
                out.append(record)
                rows += record.rows
                if rows >= max_rows or (upto is not None and record.lsn >= upto):
                    return out, pos
            if not later or (upto is not None and out and out[-1].lsn >= upto):
                return out, pos
            pos = Position(min(later), 0)

    # ---- checkpoints

    def save_checkpoint(self, checkpoint: Checkpoint, pos: Position | None = None) -> None:
        """Durably record progress (blocking: call from a thread); delete segments fully stored."""
        write_checkpoint(self.directory, checkpoint, self.fsync)
        self.checkpoint = checkpoint
        if pos is not None and checkpoint.inflight is None:
            self._ckpt_pos = pos
            self.segments.drop_stored(checkpoint.lsn)
            self._depth_hint = self.depth_bytes
