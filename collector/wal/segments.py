"""The log's segment files, `<first lsn, 20 digits>.wal`: which exist and how much of each holds records,
the active one being appended to, and the next one prepared ahead."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from collector.wal import frames
from collector.wal.checkpoint import fsync_dir
from collector.wal.frames import Record

log = logging.getLogger("parcours.wal")

SUFFIX = ".wal"
_SPARE = "next.spare"
_HEADROOM = 64 << 10
"""Bytes a new segment leaves free on the log's disk: room for the checkpoint (a few hundred bytes, written
to a temporary file then renamed), so that the writer can still record what it stored, and delete the
segments it emptied, when the log has filled the rest. Small, so that a disk with room for two segments, as
docs/operations.md asks, takes the next one once the writer has emptied the last."""


@dataclass
class Position:
    """Where a reader is: a segment (by its first lsn) and a byte offset in it."""

    segment: int
    offset: int


class Segments:
    """The segment files of one log directory. `sizes` (first lsn -> bytes of records) is shared by the
    flusher, the writer's thread and the event loop, under `lock`."""

    def __init__(self, directory: Path, segment_bytes: int, fsync: bool):
        self.directory, self.segment_bytes, self.fsync = directory, segment_bytes, fsync
        self.sizes: dict[int, int] = {}
        self.lock = threading.Lock()
        self.active: int | None = None
        self.offset = 0
        """End of the data in the active segment (the rest of the file is zeros)."""
        self.corrupt_frames = 0
        self._data_start = 0
        self._dirty = 0
        """End of what a failed group may have left past `offset` in the active segment (0: none)."""
        self._strays: dict[int, int] = {}  # segment -> where its records start, after zeros (`_start`)
        self._fd: int | None = None
        self._spare: Future | None = None  # the next segment, being zero-filled in the background
        self.rotate_next = False
        """Start a new segment at the next group (Wal.seal), full or not."""
        self._prep = ThreadPoolExecutor(1, thread_name_prefix="parcours-wal-prep")

    def path(self, first: int) -> Path:
        return self.directory / f"{first:020d}{SUFFIX}"

    def scan(self, last: int) -> int:
        """Find the segments and the records they hold (at start); the last good lsn, at least `last`.

        Records past a torn tail were never acknowledged; the torn bytes are left where they are and
        skipped on every read. A segment holding no good record is deleted when it holds nothing but
        zeros (a segment whose creation failed, its header missing) or when its name is past the last
        good lsn (a run that accepted nothing, or whose first group was torn): those names are the new
        run's, and nothing in such a segment was ever acknowledged."""
        for first in self._ids():
            size = None
            for record, end in self.frames(first, 0, None):
                last = max(last, record.lsn)
                size = end
            self.sizes[first] = size or 0
            if size is None and (blank := self._blank(first)):
                del self.sizes[first]
                self.path(first).unlink()
                if blank == "headerless":
                    log.warning("write-ahead log %s: no header, nothing but zeros (its creation failed): deleted",
                                self.path(first).name)
        for first in [first for first in self.sizes if first > last]:
            del self.sizes[first]
            self.path(first).unlink()
        return last

    def _blank(self, first: int) -> str | None:
        """"headerless" or "empty" when the segment holds nothing but zeros past its header (or without
        one); None when it holds other bytes."""
        with open(self.path(first), "rb") as fh:
            try:
                start = fh.tell() if frames.read_header(fh) is not None else 0
            except frames.TornHeader:
                start = 0
            fh.seek(start)
            if any(fh.read()):
                return None
        return "empty" if start else "headerless"

    def _ids(self) -> list[int]:
        return sorted(int(p.name[: -len(SUFFIX)]) for p in self.directory.glob(f"*{SUFFIX}")
                      if p.name[: -len(SUFFIX)].isdigit())

    def first(self) -> Position:
        """The start of the first live segment."""
        with self.lock:
            return Position(min(self.sizes, default=0), 0)

    # ---- writing

    def activate(self, first: int) -> None:
        """Make the segment starting at lsn `first` the active one: a zero-filled file, header written and
        fsync'd. On failure (OSError) no file is left behind and the active segment stays as it was: no
        append can land in a segment without a durable header (its records would be unreadable)."""
        path = self.path(first)
        spare, self._spare = self._spare, None
        try:
            if spare is not None and spare.result() is not None:
                os.replace(spare.result(), path)
            else:
                self._prepare(path)
            fd = os.open(path, os.O_WRONLY)
            try:
                header = frames.header()
                _pwrite_all(fd, header, 0)
                if self.fsync:
                    os.fdatasync(fd)
                    fsync_dir(self.directory)
            except BaseException:
                os.close(fd)
                raise
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        old, self._fd, self.active = self._fd, fd, first
        if old is not None:
            os.close(old)
        self.offset = self._data_start = len(header)
        with self.lock:
            self.sizes[first] = self.offset
        if self.fsync:  # the next segment gets ready in the background
            self._spare = self._prep.submit(self._prepare_spare)

    def _prepare(self, path: Path) -> None:
        """A segment file full of zeros, fsync'd: later writes change data blocks only, so each group's
        fdatasync has no size or block allocation to journal (on ext4, a journal commit would also flush
        every other file's dirty data, e.g. ClickHouse's new parts: ~10x slower). Raises OSError, leaving
        no file, when the disk lacks room for it and `_HEADROOM` (a partial file would take the last
        bytes the checkpoint needs). Without fsync the file is not filled ahead, but grows to the same size:
        the same room is asked for."""
        disk = os.statvfs(self.directory)
        free = disk.f_bavail * disk.f_frsize
        if free < self.segment_bytes + _HEADROOM:
            raise OSError(errno.ENOSPC, f"no room on the log's disk for a segment of {self.segment_bytes} "
                                        f"bytes ({free} bytes free)")
        try:
            with open(path, "wb") as fh:
                if self.fsync:
                    chunk = bytes(min(1 << 20, self.segment_bytes))
                    for _ in range(0, self.segment_bytes, len(chunk)):
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise

    def _prepare_spare(self) -> Path | None:
        path = self.directory / _SPARE
        try:
            self._prepare(path)
            return path
        except OSError as exc:
            log.warning("cannot prepare a log segment ahead (%s); creating it when needed", exc)
            return None

    def append(self, data: bytes, first: int) -> float:
        """Write a group of frames (the first one's lsn `first`) and fsync it; the seconds that took.

        A full segment is left for a new one starting at `first`. A failed write (OSError, a short one
        too) leaves no frame behind: the next group overwrites the same offset, and zeros what it does
        not cover of the failed group's bytes (a frame of it left whole after a shorter group would be
        read at the next start, though it was refused)."""
        if self._fd is None or (self.offset > self._data_start
                                and (self.rotate_next or self.offset + len(data) > self.segment_bytes)):
            if self._dirty > self.offset:
                self._sync(bytes(self._dirty - self.offset), self.offset)
            self._dirty = 0
            self.activate(first)
        self.rotate_next = False
        began = time.perf_counter()
        end = self.offset + len(data)
        try:
            self._sync(data + bytes(self._dirty - end) if self._dirty > end else data, self.offset)
        except OSError:
            self._dirty = max(self._dirty, end)
            raise
        self._dirty = 0
        elapsed = time.perf_counter() - began
        self.offset = end
        with self.lock:
            self.sizes[self.active] = self.offset
        return elapsed

    def _sync(self, data: bytes, offset: int) -> None:
        _pwrite_all(self._fd, data, offset)
        if self.fsync:
            os.fdatasync(self._fd)

    def drop_stored(self, lsn: int) -> None:
        """Delete the segments whose records are all stored (up to `lsn`), never the active one."""
        with self.lock:
            firsts = sorted(self.sizes)
            done = [first for first, nxt in zip(firsts, firsts[1:]) if nxt - 1 <= lsn and first != self.active]
            for first in done:
                del self.sizes[first]
        for first in done:
            with contextlib.suppress(FileNotFoundError):
                self.path(first).unlink()

    def bytes_after(self, pos: Position) -> int:
        """Bytes of records on disk from `pos` on."""
        with self.lock:
            total = sum(self.sizes.values())
            if pos.segment in self.sizes:
                total -= min(pos.offset, self.sizes[pos.segment])
        return total

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._prep.shutdown(wait=True)
        with contextlib.suppress(FileNotFoundError):
            (self.directory / _SPARE).unlink()

    # ---- reading

    def frames(self, first: int, offset: int, limit: int | None) -> Iterator[tuple[Record, int]]:
        """(record, end offset) for each good frame of a segment from `offset`; stops at a torn or bad frame."""
        path = self.path(first)
        try:
            with open(path, "rb") as fh:
                header, start = self._start(first, fh, limit is None)
                if header is None:
                    return
                offset = max(offset, start)
                fh.seek(offset)
                data = fh.read(None if limit is None else max(0, limit - offset))
        except FileNotFoundError:
            return
        for record, end in frames.records(data, header, lambda at: self._torn(path, offset + at)):
            yield record, offset + end

    def _start(self, first: int, fh, whole: bool) -> tuple[dict | None, int]:
        """A segment's header (None: none to read) and where its records start.

        An older collector, after a failed rotation, could append through a descriptor left open into a
        new segment whose header was missing or not durable, at the offset of the segment it meant, and
        acknowledge those records: they follow zeros. Such a segment holds no record where they should
        start; when it is read whole (at start: `scan`), its records are looked for after the zeros, and
        where they start is kept for the reads that follow."""
        if first in self._strays:
            return {"format": frames.FORMAT}, self._strays[first]
        try:
            header = frames.read_header(fh)
        except frames.TornHeader:
            header = None
        start = fh.tell() if header is not None else 0
        fh.seek(start)
        if header is not None and (not whole or any(fh.read(8))):
            return header, start
        fh.seek(start)
        rest = fh.read()
        at = frames.first_record(rest)
        if at is None:
            if header is None and rest.strip(b"\0"):
                self._torn(self.path(first), 0)
            return header, start
        self._strays[first] = start + at
        log.warning("write-ahead log %s: records found at byte %d after zeros (a failed rotation of an older "
                    "collector): read", self.path(first).name, start + at)
        return {"format": frames.FORMAT}, start + at

    def _torn(self, path: Path, offset: int) -> None:
        self.corrupt_frames += 1
        log.warning("write-ahead log %s: torn or corrupt frame at byte %d skipped (never acknowledged)",
                    path.name, offset)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """os.pwrite until all of `data` is written: a disk filling up mid-write makes a short write, not an
    error, and the rest then raises (ENOSPC)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written == 0:
            raise OSError(errno.ENOSPC, "short write")
        view, offset = view[written:], offset + written
