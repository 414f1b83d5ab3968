"""A log directory's small durable files: its checkpoint (how far ClickHouse has stored it) and its id."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import msgspec

log = logging.getLogger("parcours.wal")


@dataclass
class Checkpoint:
    lsn: int = 0
    """The last record stored in ClickHouse."""
    inflight: tuple[int, int] | None = None
    """The batch being inserted (first and last lsn), replayed as it was after a crash."""


def read_checkpoint(directory: Path) -> Checkpoint:
    try:
        doc = msgspec.json.decode((directory / "checkpoint").read_bytes())
    except FileNotFoundError:
        return Checkpoint()
    except msgspec.DecodeError:
        log.error("write-ahead log checkpoint unreadable: replaying the whole log "
                  "(ClickHouse deduplicates what was already stored)")
        return Checkpoint()
    inflight = doc.get("inflight")
    return Checkpoint(int(doc.get("lsn", 0)), tuple(inflight) if inflight else None)


def write_checkpoint(directory: Path, checkpoint: Checkpoint, fsync: bool) -> None:
    """Replace the checkpoint atomically (a temporary file renamed over it); durably when `fsync`."""
    tmp = directory / "checkpoint.tmp"
    doc = {"lsn": checkpoint.lsn, "inflight": list(checkpoint.inflight) if checkpoint.inflight else None}
    try:
        with open(tmp, "wb") as fh:
            fh.write(msgspec.json.encode(doc))
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, directory / "checkpoint")
    except BaseException:  # a full disk: no partial file left, the checkpoint before stays whole
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        fsync_dir(directory)


def log_id(directory: Path) -> str:
    """The log's id, made (and always fsync'd: a lost id would make a replay's tokens new ones) on first use."""
    path = directory / "id"
    try:
        if existing := path.read_text().strip():
            return existing
    except FileNotFoundError:
        pass
    made = uuid.uuid4().hex
    tmp = directory / "id.tmp"
    with open(tmp, "w") as fh:
        fh.write(made + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(directory)
    return made


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (a new file, a rename) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
