"""The logs of a data directory when no collector runs: what they still hold, and deleting what is stored.

`parcours erase` without a running collector uses these: it refuses while a log holds records not yet in
ClickHouse (the collector stores them at its next start), and deletes the segments whose records are all
stored, which would otherwise keep a copy of what it erases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from collector.wal.checkpoint import read_checkpoint
from collector.wal.segments import Segments


def _logs(root: Path) -> Iterator[tuple[Path, int, Segments]]:
    if not root.is_dir():
        return
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        yield directory, read_checkpoint(directory).lsn, Segments(directory, 1, fsync=False)


def unstored(root: Path) -> int:
    """How many records the logs under `root` hold that ClickHouse does not."""
    total = 0
    for _directory, stored, segments in _logs(root):
        for first in segments._ids():
            total += sum(1 for record, _ in segments.frames(first, 0, None) if record.lsn > stored)
    return total


def purge_stored(root: Path) -> int:
    """Delete every segment whose records are all stored (no process may hold the logs). How many."""
    removed = 0
    for _directory, stored, segments in _logs(root):
        for first in segments._ids():
            if all(record.lsn <= stored for record, _ in segments.frames(first, 0, None)):
                with contextlib.suppress(FileNotFoundError):
                    segments.path(first).unlink()
                    removed += 1
    return removed
