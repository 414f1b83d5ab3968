"""One log directory per worker process: `<root>/0`, `<root>/1`…, each held by a lock while its worker lives."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any


def claim_slot(root: Path) -> tuple[Path, Any]:
    """The first log directory under `root` no other live process holds (one per worker), locked for us.

    The lock is the open file returned: it is released when that file is closed or the process ends, so a
    restarted worker picks up the log its predecessor left."""
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
