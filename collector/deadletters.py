"""Rows ClickHouse refuses for what they hold: isolated from their batch, then set aside in `dead_letters`.

A batch ClickHouse refuses for a data reason (refusals.py: a value it cannot parse, a block spanning too
many partitions) would fail the same way forever. `insert_isolating` inserts it, and on such a refusal
inserts each half the same way, down to single rows: the others are stored, the refused ones come back
with ClickHouse's error. `DeadLetters.set_aside` keeps those in `dead_letters` (or, if even that insert
is refused, in a file of the data directory, moved into the table at the next start: `recover`), so no
row stops the writer. Any other failure is raised, for the writer to retry the whole batch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from pathlib import Path
from typing import NamedTuple

import msgspec

from collector import rows as rows_mod
from collector.refusals import is_data_error, is_transient
from collector.rows import DeadLetterRow
from collector.storage import Sink, StoreError

log = logging.getLogger("parcours.writer")

DIRECTORY = "dead-letters"
"""The data directory's folder of the rows even dead_letters refused (DeadLetters.set_aside)."""


class Refused(NamedTuple):
    """One row ClickHouse refused on its own: its table, its JSONEachRow line, ClickHouse's error."""

    table: str
    line: bytes
    error: StoreError


def insert_isolating(sink: Sink, table: str, data: bytes, token: str | None, again: bool) -> list[Refused]:
    """Insert a block of lines into `table`; when ClickHouse refuses its rows, insert each half the same
    way, down to single rows: the rows refused on their own. Other errors are raised (to be retried).

    `again`: the block may have been stored before (the batch in flight at a crash, a retry), so only the
    lines the table does not hold are inserted, deduplication off, and not with `token`: a non-replicated
    MergeTree records a block's token in its deduplication log before it commits the part, so a kill -9
    between the two leaves a token whose rows were never stored, and the same token would drop them for
    good (seen in e2e/test_crash.py)."""
    if not data:
        return []
    try:
        if not again:
            sink.insert_lines(table, data, token=token)
        else:
            sink.insert_lines(table, sink.missing_lines(table, data), token=None)
        return []
    except StoreError as exc:
        if not is_data_error(exc):
            raise
        lines = data.splitlines(keepends=True)
        if len(lines) == 1:
            return [Refused(table, data, exc)]
        # A refused block stored nothing; its halves are checked against the table anyway, in case.
        half = len(lines) // 2
        return (insert_isolating(sink, table, b"".join(lines[:half]), None, True)
                + insert_isolating(sink, table, b"".join(lines[half:]), None, True))


class DeadLetters:
    """Where refused rows are kept: the `dead_letters` table, else `<directory>/<log id>.jsonl`."""

    def __init__(self, sink: Sink, directory: Path | None, log_id: str):
        self.sink, self.directory, self.log_id = sink, directory, log_id

    def set_aside(self, refused: list[Refused]) -> None:
        """Refused rows into dead_letters; into the fallback file if it refuses them too. Raises StoreError
        when ClickHouse fails for a passing reason (the writer retries the batch: what was stored is not
        inserted twice)."""
        now = time.time()
        rows = [dead_letter(r, now) for r in refused]
        try:
            self.sink.insert_lines("dead_letters", rows_mod.lines(rows), token=None)
        except StoreError as exc:
            if is_transient(exc):
                raise
            self._to_file(rows, exc)

    def _to_file(self, rows: list[DeadLetterRow], exc: StoreError) -> None:
        if self.directory is None:
            raise exc
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / f"{self.log_id}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, rows_mod.lines(rows))
            os.fsync(fd)
        finally:
            os.close(fd)
        log.error("ClickHouse refused the dead letters too (%s): %d row(s) kept in %s, moved into dead_letters "
                  "at the next start", exc, len(rows), path)

    def recover(self, others_only: bool = False) -> list[Path]:
        """Move the rows previous runs kept in their fallback files into dead_letters, when it takes them (with
        `others_only`, while this run may still append to its own: an erasure's, so that its DELETE finds them
        there). The files left: not taken, or this run's own."""
        left: list[Path] = []
        if self.directory is None:
            return left
        for path in sorted(self.directory.glob("*.jsonl")):
            if others_only and path.stem == self.log_id:
                left.append(path)
                continue
            try:
                self.sink.insert_lines("dead_letters", path.read_bytes(), token=None)
            except (StoreError, OSError) as exc:
                log.warning("dead letters kept in %s not moved into dead_letters yet: %s", path, exc)
                left.append(path)
                continue
            path.unlink()
            log.info("dead letters kept in %s moved into dead_letters", path)
        return left


def not_moved(left: list[Path]) -> str:
    """Why an erasure stopped before erasing: the files recover left (their rows would come back at the next start)."""
    return (f"rows ClickHouse refused are kept in {', '.join(str(p) for p in left)}, not in dead_letters; nothing was "
            "erased: erase again once ClickHouse takes them (the collector moves them at its start)")


class _Named(msgspec.Struct):
    event_id: str = ""
    event: str = ""


_named = msgspec.json.Decoder(_Named)


def dead_letter(refused: Refused, now: float) -> DeadLetterRow:
    """The dead_letters row of one refused line; the same line gets the same id (set aside twice, kept once)."""
    table, line, exc = refused
    try:
        named = _named.decode(line)
    except msgspec.DecodeError:
        named = _Named()
    digest = hashlib.md5(table.encode() + b"\0" + line).digest()
    return DeadLetterRow(id=str(uuid.UUID(bytes=digest)), set_aside_at=round(now, 3), target=table,
                         event_id=named.event_id[:128], event=named.event[:128],
                         error=str(exc).removeprefix(f"insert into {table} failed: ")[:2000],
                         error_code=exc.code or 0, line=line.decode("utf-8", "backslashreplace").rstrip("\n"))
