"""The write-ahead log: accepted rows reach the disk, fsync'd, before the collector answers 2xx.

Layout of a log directory:

- `<first lsn, 20 digits>.wal` segments. A segment starts with a header frame (its format version),
  then one frame per accepted request.
- `checkpoint`: the last log sequence number (lsn) stored in ClickHouse, and the batch being inserted.
- `id`: a random name given to the log when its directory is first used. Every log numbers its records
  from 1 (each worker's, and one started afresh after its directory was lost), so the writer's
  deduplication tokens name the log as well as the records.

A frame is `length (u32 LE) | crc32 of payload (u32 LE) | payload`, the payload a msgpack array
`[lsn, accepted_at_ms, events, rejected]`, each of the two a block of JSONEachRow lines (see rows.py),
kept as the bytes ClickHouse will parse. (Format 1, before rows were lines, held positional rows and
the column names in its header; such segments are still read, their rows turned into lines.) A frame
cut short or failing its checksum (the torn tail of a crash) ends the segment: it is skipped, never
fatal, since it was never acknowledged.

Group commit: `append` frames the record and queues it; one flusher task writes every queued record
and fsyncs once, then resolves all their futures. Requests arriving during an fsync form the next group.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from collector import rows as rows_mod

log = logging.getLogger("parcours.wal")

FORMAT = 2
_FRAME = struct.Struct("<II")
_MAX_FRAME = 256 * 1024 * 1024
_SUFFIX = ".wal"
# A group's write + fdatasync runs on the event loop while it averages under this: a hop to a thread
# costs more (under load, up to two GIL switch intervals of 5 ms each), and the loop keeps every core
# it would share with that thread. A slow disk moves the fsync to a thread, so requests keep flowing.
_INLINE_FSYNC = 0.002
_GATHER = 0.001

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


class WalError(Exception):
    """The log cannot be written (disk full, permissions): the request is refused with 503."""


class WalFull(WalError):
    """The log holds as much as its cap allows: ClickHouse is behind or down."""


@dataclass
class Record:
    """One accepted request's rows, as the writer reads them back: JSONEachRow blocks per table."""

    lsn: int
    accepted_at: float
    events: bytes
    rejected: bytes

    @property
    def rows(self) -> int:
        return rows_mod.count(self.events) + rows_mod.count(self.rejected)


@dataclass
class Position:
    """Where the reader is: a segment (by its first lsn) and a byte offset in it."""

    segment: int
    offset: int


@dataclass
class Checkpoint:
    lsn: int = 0
    inflight: tuple[int, int] | None = None


def claim_slot(root: Path) -> tuple[Path, Any]:
    """The first log directory under `root` no other live process holds (one per worker), locked for us."""
    root.mkdir(parents=True, exist_ok=True)
    slot = 0
    while True:
        directory = root / str(slot)
        directory.mkdir(exist_ok=True)
        fh = open(directory / "lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return directory, fh
        except BlockingIOError:
            fh.close()
            slot += 1


class Wal:
    """Segmented, checksummed, group-committed log of accepted rows."""

    def __init__(self, directory: Path, *, max_bytes: int = 1 << 30, segment_bytes: int = 16 << 20,
                 fsync: bool = True, on_fsync: Callable[[int, float], None] | None = None):
        self.directory = Path(directory)
        self.max_bytes, self.segment_bytes, self.fsync = max_bytes, segment_bytes, fsync
        self.on_fsync = on_fsync  # (records, seconds) per group, for metrics
        self.fsyncs = 0
        self.corrupt_frames = 0
        self.checkpoint = Checkpoint()
        self.log_id = ""  # read or made by open()
        self.last_lsn = 0  # last lsn handed out
        self.durable_lsn = 0  # last lsn on disk, fsync'd
        self.durable_rows = 0  # rows made durable since open
        self.notify_rows = 1  # `grown` is set once durable_rows reaches this (the writer moves it)
        self._segments: dict[int, int] = {}  # first lsn -> written size in bytes
        self._seg_lock = threading.Lock()  # the flusher, the writer's thread and the loop all look
        self._active: int | None = None
        self._fd: int | None = None
        self._offset = self._data_start = 0  # end of the data in the active segment (the rest of the file is zeros)
        self._spare = None  # the next segment, being zero-filled in the background
        self._ckpt_pos = Position(0, 0)
        self._pending: list[bytes] = []  # frames of the group being formed
        self._waiting: list[asyncio.Future] = []  # their requests, resolved once the group is durable
        self._pending_rows = 0
        self._first_pending = 0  # lsn of the group's first frame
        self._wake = asyncio.Event()
        self.grown = asyncio.Event()  # set when durable_rows reaches notify_rows, for the writer
        self._io = ThreadPoolExecutor(1, thread_name_prefix="parcours-wal")
        self._prep = ThreadPoolExecutor(1, thread_name_prefix="parcours-wal-prep")
        self._flusher: asyncio.Task | None = None
        self._closing = False
        self.last_fsync = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._depth_hint = 1 << 62  # an upper bound of depth_bytes, exact after each checkpoint
        self._slow_disk = 0.0  # moving average of a group's write + fsync, in seconds

    # ---- opening and recovery

    async def open(self) -> None:
        """Recover what a previous run left, start a fresh segment and the flusher."""
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(self._io, self._recover)
        self._flusher = asyncio.create_task(self._flush_loop(), name="parcours-wal-flusher")

    def _recover(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_id = self._read_id()
        self.checkpoint = self._read_checkpoint()
        last = self.checkpoint.lsn
        for first in self._segment_ids():
            size = 0
            for record, end in self._frames(first, 0, None):
                last = max(last, record.lsn)
                size = end
            self._segments[first] = size
        # Records past a torn tail were never acknowledged; the torn bytes are left where they are and
        # skipped on every read. New records go to a new segment.
        self.last_lsn = self.durable_lsn = last
        if last + 1 in self._segments:
            # A segment holding no good record (a run that accepted nothing, or whose first group was
            # torn) has the name the new segment needs: nothing in it was ever acknowledged.
            del self._segments[last + 1]
            self._path(last + 1).unlink()
        first_live = min(self._segments, default=None)
        self._ckpt_pos = Position(first_live or 0, 0)
        self._new_segment(last + 1)
        self._depth_hint = self.depth_bytes

    def _segment_ids(self) -> list[int]:
        return sorted(int(p.name[: -len(_SUFFIX)]) for p in self.directory.glob(f"*{_SUFFIX}")
                      if p.name[: -len(_SUFFIX)].isdigit())

    def _path(self, first: int) -> Path:
        return self.directory / f"{first:020d}{_SUFFIX}"

    def _new_segment(self, first: int) -> None:
        """Make the segment starting at lsn `first` the active one: a zero-filled file, header written."""
        if self._fd is not None:
            os.close(self._fd)
        path = self._path(first)
        spare, self._spare = self._spare, None
        if spare is not None and spare.result() is not None:
            os.replace(spare.result(), path)
        else:
            self._prepare(path)
        fd = os.open(path, os.O_WRONLY)
        header = _encode({"format": FORMAT})
        os.pwrite(fd, _FRAME.pack(len(header), zlib.crc32(header)) + header, 0)
        if self.fsync:
            os.fdatasync(fd)
            self._fsync_dir()
        self._fd, self._active = fd, first
        self._offset = self._data_start = 8 + len(header)
        with self._seg_lock:
            self._segments[first] = self._offset
        if self.fsync:  # the next segment gets ready in the background
            self._spare = self._prep.submit(self._prepare, self.directory / "next.spare")

    def _prepare(self, path: Path) -> Path | None:
        """A segment file full of zeros, fsync'd: later writes change data blocks only, so each group's
        fdatasync has no size or block allocation to journal (on ext4, a journal commit would also flush
        every other file's dirty data, e.g. ClickHouse's new parts: ~10x slower)."""
        try:
            with open(path, "wb") as fh:
                if self.fsync:
                    chunk = bytes(min(1 << 20, self.segment_bytes))
                    for _ in range(0, self.segment_bytes, len(chunk)):
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
            return path
        except OSError as exc:
            log.warning("cannot prepare a log segment ahead (%s); creating it on demand", exc)
            return None

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ---- appending (group commit)

    @property
    def depth_records(self) -> int:
        return self.durable_lsn - self.checkpoint.lsn

    @property
    def depth_bytes(self) -> int:
        """Bytes on disk not yet stored in ClickHouse (from the checkpoint's position on)."""
        with self._seg_lock:
            total = sum(self._segments.values())
            if self._ckpt_pos.segment in self._segments:
                total -= min(self._ckpt_pos.offset, self._segments[self._ckpt_pos.segment])
        return total

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
        payload = _encode((lsn, int(time.time() * 1000), events, rejected))
        if not self._pending:
            self._first_pending = lsn
            self._wake.set()
        self._pending.append(_FRAME.pack(len(payload), zlib.crc32(payload)) + payload)
        self._pending_rows += (rows_mod.count(events) + rows_mod.count(rejected)) if rows is None else rows
        self._waiting.append(durable)
        return lsn

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                if self._closing:
                    return
                continue
            await self._gather()
            frames, waiting, rows = self._pending, self._waiting, self._pending_rows
            first, last = self._first_pending, self.last_lsn
            self._pending, self._waiting, self._pending_rows = [], [], 0
            data = b"".join(frames)
            try:
                if self._slow_disk > _INLINE_FSYNC:
                    await loop.run_in_executor(self._io, self._write, data, first)
                else:
                    self._write(data, first)
            except OSError as exc:
                log.error("write-ahead log write failed, %d request(s) refused: %s", len(frames), exc)
                for future in waiting:
                    if not future.done():  # a request cancelled meanwhile
                        future.set_exception(WalError(f"write-ahead log write failed: {exc}"))
                continue
            # lsns are handed out in queue order: the group ends at its last frame's lsn. A failed
            # group leaves a gap in the lsns, never a hole in the file.
            self.durable_lsn = last
            self.durable_rows += rows
            if self.on_fsync:
                self.on_fsync(len(frames), self.last_fsync)
            for future in waiting:
                if not future.done():
                    future.set_result(None)
            if self.durable_rows >= self.notify_rows or not rows:
                self.grown.set()

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

    def _write(self, data: bytes, first: int) -> None:
        if self._offset + len(data) > self.segment_bytes and self._offset > self._data_start:
            self._new_segment(first)
        began = time.perf_counter()
        # A failed write leaves no trusted frame behind: the next group overwrites the same offset.
        os.pwrite(self._fd, data, self._offset)
        if self.fsync:
            os.fdatasync(self._fd)
        self.fsyncs += 1
        self.last_fsync = time.perf_counter() - began
        self._slow_disk = 0.8 * self._slow_disk + 0.2 * self.last_fsync
        self._offset += len(data)
        self._depth_hint += len(data)
        with self._seg_lock:
            self._segments[self._active] = self._offset

    async def close(self) -> None:
        """Commit what is queued, stop the flusher, close the segment."""
        self._closing = True
        self._wake.set()
        if self._flusher is not None:
            await self._flusher
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._io.shutdown(wait=True)
        self._prep.shutdown(wait=True)
        with contextlib.suppress(FileNotFoundError):
            (self.directory / "next.spare").unlink()

    # ---- reading (the writer and replay)

    def start(self) -> Position:
        """Where reading starts: the first live segment."""
        with self._seg_lock:
            return Position(min(self._segments), 0)

    def read(self, pos: Position, max_rows: int, upto: int | None = None) -> tuple[list[Record], Position]:
        """Durable records after the checkpoint from `pos` on, until `max_rows` rows or lsn `upto`."""
        out: list[Record] = []
        rows = 0
        durable = self.durable_lsn
        while True:
            with self._seg_lock:
                limit = self._segments.get(pos.segment)
                later = [s for s in self._segments if s > pos.segment]
            if limit is None:  # deleted under us: start from the first live segment
                pos = self.start()
                continue
            for record, end in self._frames(pos.segment, pos.offset, limit):
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

    def _frames(self, first: int, offset: int, limit: int | None):
        """(record, end offset) for each good frame of a segment from `offset`; stops at a torn or bad frame."""
        path = self._path(first)
        try:
            with open(path, "rb") as fh:
                fh.seek(0)
                header = self._header(fh, path)
                if header is None:
                    return
                if offset < fh.tell():
                    offset = fh.tell()
                fh.seek(offset)
                data = fh.read(None if limit is None else max(0, limit - offset))
        except FileNotFoundError:
            return
        at = 0
        while at + 8 <= len(data):
            length, crc = _FRAME.unpack_from(data, at)
            if length == 0 and crc == 0 and not any(data[at: at + 64]):
                return  # the zero-filled rest of a preallocated segment: the end of its data
            payload = data[at + 8: at + 8 + length]
            if length > _MAX_FRAME or len(payload) < length or zlib.crc32(payload) != crc:
                self._torn(path, offset + at)
                return
            try:
                lsn, accepted_ms, events, rejected = _decode(payload)
                if header.get("format", 1) == 1:  # positional rows, their columns in the header
                    columns = header["columns"]
                    events = rows_mod.legacy_lines(columns["events"], events)
                    rejected = rows_mod.legacy_lines(columns["rejected_events"], rejected)
                elif not (isinstance(events, bytes) and isinstance(rejected, bytes)):
                    raise TypeError("rows are not JSONEachRow blocks")
            except (ValueError, TypeError, KeyError, msgspec.DecodeError):  # a good checksum over a bad frame
                self._torn(path, offset + at)
                return
            at += 8 + length
            yield Record(lsn, accepted_ms / 1000, events, rejected), offset + at
        if at < len(data) and any(data[at:]):
            self._torn(path, offset + at)

    def _header(self, fh, path: Path) -> dict[str, Any] | None:
        head = fh.read(8)
        if len(head) < 8:
            return None
        length, crc = _FRAME.unpack(head)
        payload = fh.read(length)
        if len(payload) < length or zlib.crc32(payload) != crc:
            self._torn(path, 0)
            return None
        return _decode(payload)

    def _torn(self, path: Path, offset: int) -> None:
        self.corrupt_frames += 1
        log.warning("write-ahead log %s: torn or corrupt frame at byte %d skipped (never acknowledged)",
                        path.name, offset)

    # ---- identity and checkpoints

    def _read_id(self) -> str:
        path = self.directory / "id"
        try:
            if log_id := path.read_text().strip():
                return log_id
        except FileNotFoundError:
            pass
        log_id = uuid.uuid4().hex
        tmp = self.directory / "id.tmp"
        with open(tmp, "w") as fh:
            fh.write(log_id + "\n")
            fh.flush()
            os.fsync(fh.fileno())  # always: a lost id would make a replay's tokens new ones
        os.replace(tmp, path)
        self._fsync_dir()
        return log_id

    def _read_checkpoint(self) -> Checkpoint:
        try:
            doc = msgspec.json.decode((self.directory / "checkpoint").read_bytes())
        except FileNotFoundError:
            return Checkpoint()
        except msgspec.DecodeError:
            log.error("write-ahead log checkpoint unreadable: replaying the whole log "
                      "(ClickHouse deduplicates what was already stored)")
            return Checkpoint()
        inflight = doc.get("inflight")
        return Checkpoint(int(doc.get("lsn", 0)), tuple(inflight) if inflight else None)

    def save_checkpoint(self, checkpoint: Checkpoint, pos: Position | None = None) -> None:
        """Durably record progress (blocking: call from a thread); delete segments fully stored."""
        tmp = self.directory / "checkpoint.tmp"
        doc = {"lsn": checkpoint.lsn, "inflight": list(checkpoint.inflight) if checkpoint.inflight else None}
        with open(tmp, "wb") as fh:
            fh.write(msgspec.json.encode(doc))
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, self.directory / "checkpoint")
        if self.fsync:
            self._fsync_dir()
        self.checkpoint = checkpoint
        if pos is not None and checkpoint.inflight is None:
            self._ckpt_pos = pos
            self._drop_stored(checkpoint.lsn)
            self._depth_hint = self.depth_bytes

    def _drop_stored(self, lsn: int) -> None:
        with self._seg_lock:
            firsts = sorted(self._segments)
            done = [first for first, nxt in zip(firsts, firsts[1:]) if nxt - 1 <= lsn and first != self._active]
            for first in done:
                del self._segments[first]
        for first in done:
            with contextlib.suppress(FileNotFoundError):
                self._path(first).unlink()
