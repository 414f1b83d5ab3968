"""The write-ahead log: accepted rows reach the disk, fsync'd, before the collector answers 2xx.

Layout of a log directory:

- `<first lsn, 20 digits>.wal` segments (`segments.py`). A segment starts with a header frame (its
  format version), then one frame per accepted request (`frames.py`).
- `checkpoint`: the last log sequence number (lsn) stored in ClickHouse, and the batch being inserted
  (`checkpoint.py`).
- `id`: a random name given to the log when its directory is first used. Every log numbers its records
  from 1 (each worker's, and one started afresh after its directory was lost), so the writer's
  deduplication tokens name the log as well as the records.
- `lock`: held by the worker process using the directory (`slots.py`: one log per worker).

Group commit (`group.py`): `append` frames the record and queues it; one flusher task writes every queued
record and fsyncs once, then resolves all their futures. Requests arriving during an fsync form the next
group. `log.py` puts these together as `Wal`, what the collector and the batch writer use.
"""

from collector.wal.checkpoint import Checkpoint
from collector.wal.frames import Record
from collector.wal.log import Wal, WalError, WalFull
from collector.wal.segments import Position
from collector.wal.slots import claim_slot

__all__ = ["Checkpoint", "Position", "Record", "Wal", "WalError", "WalFull", "claim_slot"]
