"""The discovery file: a running collector says where it listens, so commands on its data go through it.

chDB lets one process own a data directory. The collector that owns `<data-dir>` writes
`<data-dir>/collector.json` (its URL and pid) once it serves, and removes it when it stops; a command
that finds it, with that process alive, uses the collector's admin API instead of opening the engine.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

FILE = "collector.json"


@dataclass(frozen=True)
class Running:
    url: str
    pid: int


def announce(data_dir: Path, url: str) -> None:
    """Say that this process serves `data_dir` at `url`."""
    (data_dir / FILE).write_text(json.dumps({"url": url, "pid": os.getpid()}))


def withdraw(data_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (data_dir / FILE).unlink()


def running(data_dir: Path) -> Running | None:
    """The collector serving `data_dir`, if its file is there and its process alive."""
    try:
        info = json.loads((data_dir / FILE).read_text())
        pid = int(info["pid"])
        os.kill(pid, 0)
        return Running(str(info["url"]), pid)
    except PermissionError:  # alive, another user's
        return Running(str(info["url"]), pid)
    except (OSError, ValueError, KeyError, TypeError):
        return None
