"""Group commit of the write-ahead log: fsyncs per append when requests arrive together.

200 appends issued at once (as 200 requests read in one turn of the event loop) against the baseline of the
same 200 appends one after the other, each waiting for its fsync, on the same disk in the same run.
Target: at most 20 fsyncs for the 200 concurrent appends (>= 10 appends per fsync). This is a speed claim:
it lives here, not in the tests (tests/collector/test_wal.py checks what group commit guarantees).
Run: .venv/bin/python bench/bench_wal.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.wal import Wal  # noqa: E402

N = 200
ROW = b'{"event_id":"0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a","event":"page_view","ts":1795000000.123}\n'


async def appends(directory: Path, concurrent: bool) -> tuple[int, float]:
    wal = Wal(directory)
    await wal.open()
    start, began = wal.fsyncs, time.perf_counter()
    if concurrent:
        await asyncio.gather(*(wal.append(ROW, b"") for _ in range(N)))
    else:
        for _ in range(N):
            await wal.append(ROW, b"")
    elapsed, fsyncs = time.perf_counter() - began, wal.fsyncs - start
    await wal.close()
    return fsyncs, elapsed


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        one_by_one, base_s = asyncio.run(appends(Path(tmp) / "serial", False))
        together, group_s = asyncio.run(appends(Path(tmp) / "group", True))
    print(f"{N} appends one after the other: {one_by_one} fsyncs, {base_s * 1000:.0f} ms (baseline)")
    print(f"{N} appends at once:             {together} fsyncs, {group_s * 1000:.0f} ms "
          f"({N / max(together, 1):.0f} appends per fsync, target >= 10; {base_s / group_s:.1f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
