"""The discovery file: a running collector says where it listens, so commands on its data go through it.

chDB lets one process own a data directory. The collector that owns `<data-dir>` writes
`<data-dir>/collector.json` (its URL and pid) once it serves, and removes it when it stops; a command
that finds it, with that collector alive, uses the collector's admin API instead of opening the engine.

Alive is said by a lock the collector holds on `<data-dir>/collector.lock` for as long as it runs (shared: the
workers of one collector each hold it), which the kernel lets go however the process ends. A pid alone said it
wrongly after a crash (`kill -9`, the OOM killer, a power loss), which leaves the file behind: restarted in a
container, the new collector has the dead one's pid (1) and refused to start, "already served" by itself, for good;
after a reboot another program may have the pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

FILE = "collector.json"
LOCK = "collector.lock"

_held: dict[Path, int] = {}
"""This process's lock on each data directory it serves: the open file, held until it stops."""


@dataclass(frozen=True)
class Running:
    url: str
    pid: int


def announce(data_dir: Path, url: str) -> None:
    """Say that this process serves `data_dir` at `url`."""
    if data_dir not in _held:
        fd = os.open(data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)
        _held[data_dir] = fd
    (data_dir / FILE).write_text(json.dumps({"url": url, "pid": os.getpid()}))


def withdraw(data_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (data_dir / FILE).unlink()
    if (fd := _held.pop(data_dir, None)) is not None:
        os.close(fd)


def running(data_dir: Path) -> Running | None:
    """The collector serving `data_dir`, if its file is there and it holds its lock (a collector that holds
    none, from before the lock: its process alive)."""
    try:
        info = json.loads((data_dir / FILE).read_text())
        pid = int(info["pid"])
        if _unlocked(data_dir):
            return None  # a file its collector left when it died
        os.kill(pid, 0)
        return Running(str(info["url"]), pid)
    except PermissionError:  # alive, another user's
        return Running(str(info["url"]), pid)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _unlocked(data_dir: Path) -> bool:
    """Whether `data_dir`'s lock file is there and no process holds it."""
    try:
        fd = os.open(data_dir / LOCK, os.O_RDWR)
    except FileNotFoundError:
        return False  # a collector of an older version: its pid says
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # and the lock with it, if taken
    return True
