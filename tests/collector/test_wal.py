"""The write-ahead log on its own: append, replay, torn tails, group commit, segments, cap, a full disk."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import logging
import os
import struct
import uuid
import zlib
from types import SimpleNamespace

import msgspec
import pytest

from collector.wal import Checkpoint, Wal, WalError, WalFull, claim_slot
from collector.wal import frames
from tests.collector.helpers import DiskFull, run_async


def row(n: int) -> bytes:
    """One JSONEachRow line, as ingest writes it."""
    return msgspec.json.encode({"event_id": str(uuid.UUID(int=n)), "ts": 1795000000.123 + n,
                                "captured": {"courtier": f"B{n:03d}"}, "n": n}) + b"\n"


def numbers(data: bytes) -> list[int]:
    return [msgspec.json.decode(line)["n"] for line in data.splitlines()]


run = run_async  # every test here drives the log's coroutines


async def opened(path, **kw) -> Wal:
    wal = Wal(path, **kw)
    await wal.open()
    return wal


def read_all(wal: Wal):
    records, _ = wal.read(wal.start(), 1 << 30)
    return records


def reopened(path) -> list:
    """The records a log in `path` gives when opened again (a restart)."""
    async def reopen():
        wal = await opened(path)
        records = read_all(wal)
        await wal.close()
        return records

    return run(reopen())


def test_records_survive_a_restart_byte_for_byte(tmp_path):
    bad = b'{"reasons":["properties.x: bad"]}\n'

    async def scenario():
        wal = await opened(tmp_path)
        lsns = [await wal.append(row(n), bad if n == 2 else b"") for n in range(1, 4)]
        await wal.close()
        again = await opened(tmp_path)
        records = read_all(again)
        await again.close()
        return lsns, records

    lsns, records = run(scenario())
    assert lsns == [1, 2, 3]
    assert [r.lsn for r in records] == [1, 2, 3]
    assert [r.events for r in records] == [row(1), row(2), row(3)]
    assert [r.rejected for r in records] == [b"", bad, b""]
    assert [r.rows for r in records] == [1, 2, 1]


def test_a_segment_of_the_first_format_replays_as_lines(tmp_path):
    """A log written before rows were JSON lines (format 1: positional rows, columns in the header)."""
    def frame(doc) -> bytes:
        payload = msgspec.msgpack.encode(doc)
        return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload

    when = dt.datetime(2026, 11, 22, 15, 0, 1, 123000, tzinfo=dt.timezone.utc)
    header = {"format": 1, "columns": {"events": ["event_id", "ts", "captured"], "rejected_events": ["reasons"]}}
    (tmp_path / f"{1:020d}.wal").write_bytes(
        frame(header) + frame([1, 0, [[uuid.UUID(int=7), when, {"courtier": "B042"}]], [[["event: nope"]]]]))

    async def reopen():
        wal = await opened(tmp_path)
        records = read_all(wal)
        await wal.close()
        return wal, records

    wal, (record,) = run(reopen())
    assert wal.corrupt_frames == 0 and record.lsn == 1
    assert msgspec.json.decode(record.events) == {"event_id": str(uuid.UUID(int=7)), "ts": "2026-11-22T15:00:01.123000Z",
                                                  "captured": {"courtier": "B042"}}
    assert msgspec.json.decode(record.rejected) == {"reasons": ["event: nope"]}


def damaged_after(tmp_path, count: int, damage) -> None:
    """Append `count` one-row records, close, then let `damage(data, end)` alter the segment's bytes."""
    async def write():
        wal = await opened(tmp_path)
        for n in range(1, count + 1):
            await wal.append(row(n), b"")
        await wal.close()
        return wal.segments.offset

    end = run(write())
    (segment,) = tmp_path.glob("*.wal")
    data = bytearray(segment.read_bytes())
    damage(data, end)
    segment.write_bytes(bytes(data))


def test_a_torn_tail_is_skipped_and_new_records_follow(tmp_path):
    def tear(data, end):
        data[end - 7:end] = bytes(7)  # the crash cut the last frame short (the segment is preallocated)

    damaged_after(tmp_path, 5, tear)

    async def reopen():
        wal = await opened(tmp_path)
        lsn = await wal.append(row(99), b"")
        records = read_all(wal)
        await wal.close()
        return wal, lsn, records

    wal, lsn, records = run(reopen())
    assert wal.corrupt_frames == 1
    assert [r.lsn for r in records] == [1, 2, 3, 4, 5][:4] + [lsn]
    assert lsn == 5  # lsn 5 was torn, never acknowledged: its number is free again
    assert numbers(records[-1].events) == [99]


def test_a_corrupt_frame_ends_its_segment_without_failing(tmp_path):
    def rot(data, end):
        data[end - 3] ^= 0xFF  # bit rot in the last frame: its checksum fails

    damaged_after(tmp_path, 3, rot)

    async def reopen():
        wal = await opened(tmp_path)
        records = read_all(wal)
        await wal.close()
        return wal, records

    wal, records = run(reopen())
    assert [r.lsn for r in records] == [1, 2]
    assert wal.corrupt_frames == 1


def test_requests_queued_before_a_group_is_written_share_its_fsync(tmp_path):
    """What group commit guarantees, whatever the machine's speed: the frames queued while no group is
    being written are written together, and none is answered before its group is on disk. (How many
    fsyncs concurrent requests save is a speed figure: bench/bench_wal.py.)"""
    async def scenario():
        wal = await opened(tmp_path)
        start = wal.fsyncs
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(200)]
        lsns = [wal.submit(row(n), b"", f) for n, f in enumerate(futures)]  # one turn of the loop, no await
        answered_before = sum(f.done() for f in futures)
        await asyncio.gather(*futures)
        fsyncs, durable = wal.fsyncs - start, wal.durable_lsn
        records = read_all(wal)
        await wal.close()
        return lsns, answered_before, fsyncs, durable, records

    lsns, answered_before, fsyncs, durable, records = run(scenario())
    assert lsns == list(range(1, 201)) and durable == 200
    assert answered_before == 0  # nobody is told "stored" before the fsync
    assert fsyncs == 1
    assert [numbers(r.events) for r in records] == [[n] for n in range(200)]


def test_segments_rotate_and_stored_ones_are_deleted(tmp_path):
    async def scenario():
        wal = await opened(tmp_path, segment_bytes=2048)
        for n in range(60):
            await wal.append(row(n), b"")
        segments_before = len(list(tmp_path.glob("*.wal")))
        depth_before = wal.depth_bytes
        records, pos = wal.read(wal.start(), 1 << 30)
        assert [r.lsn for r in records] == list(range(1, 61))
        wal.save_checkpoint(Checkpoint(records[-1].lsn), pos)
        left = list(tmp_path.glob("*.wal"))
        await wal.close()
        return segments_before, depth_before, left, wal

    before, depth_before, left, wal = run(scenario())
    assert before >= 3
    assert len(left) == 1  # only the active segment stays
    assert wal.depth_records == 0 and wal.depth_bytes < depth_before

    async def reopen():
        again = await opened(tmp_path)
        await again.close()
        return again

    assert run(reopen()).checkpoint.lsn == 60


def test_the_log_refuses_appends_past_its_cap(tmp_path):
    async def scenario():
        wal = await opened(tmp_path, max_bytes=4096)
        accepted = 0
        with pytest.raises(WalFull):
            for n in range(1000):
                await wal.append(row(n), b"")
                accepted += 1
        await wal.close()
        return accepted

    accepted = run(scenario())
    assert 10 < accepted < 1000


def test_each_worker_claims_its_own_log_directory(tmp_path):
    first, lock1 = claim_slot(tmp_path)
    second, lock2 = claim_slot(tmp_path)
    assert first != second
    lock1.close()
    third, lock3 = claim_slot(tmp_path)
    assert third == first  # a restarted worker picks up the log left behind
    lock2.close(), lock3.close()


def test_restarts_without_records_in_between(tmp_path):
    async def cycle(append: bool):
        wal = await opened(tmp_path)
        if append:
            await wal.append(row(1), b"")
        records = read_all(wal)
        await wal.close()
        return records

    assert run(cycle(False)) == []
    assert run(cycle(False)) == []
    assert [r.lsn for r in run(cycle(True))] == [1]
    assert [r.lsn for r in run(cycle(False))] == [1]


def test_a_log_keeps_its_id_across_restarts_and_two_logs_differ(tmp_path):
    async def log_id(path):
        wal = await opened(path)
        await wal.close()
        return wal.log_id

    first = run(log_id(tmp_path / "0"))
    assert run(log_id(tmp_path / "0")) == first  # a replay after a restart keeps its tokens
    assert run(log_id(tmp_path / "1")) not in ("", first)


def test_a_sealed_log_keeps_no_copy_of_what_it_stored(tmp_path):
    """An erasure seals the log: once the writer has stored what was accepted before, no segment holds it."""
    from collector.wal.idle import purge_stored, unstored

    async def scenario():
        wal = await opened(tmp_path / "0")
        for n in range(5):
            await wal.append(row(n), b"")
        sealed = await wal.seal()
        await wal.append(row(99), b"")
        assert unstored(tmp_path) == 7, "five rows, the empty record that seals, one more"
        with pytest.raises(Exception, match="not stored in ClickHouse after 0 s"):
            await wal.stored(sealed, timeout=0)
        records, pos = wal.read(wal.start(), 1 << 30, upto=sealed)  # the batch writer's read
        assert [r.lsn for r in records] == [1, 2, 3, 4, 5, 6] and records[-1].rows == 0
        wal.save_checkpoint(Checkpoint(sealed), pos)
        await wal.stored(sealed, timeout=1)
        left = b"".join(p.read_bytes() for p in (tmp_path / "0").glob("*.wal"))
        await wal.close()
        return left

    left = run(scenario())
    assert all(str(uuid.UUID(int=n)).encode() not in left for n in range(5)), "the sealed records are gone"
    assert str(uuid.UUID(int=99)).encode() in left, "what came after stays until it is stored"
    assert unstored(tmp_path) == 1 and purge_stored(tmp_path) == 0, "a segment with an unstored record stays"


def log_files(path) -> list[str]:
    """The log's segments and temporary files (not its id, lock or the segment prepared ahead)."""
    return sorted(p.name for p in path.iterdir() if p.suffix in (".wal", ".tmp"))


def test_a_full_disk_refuses_appends_leaves_no_file_and_the_log_resumes_when_space_is_back(tmp_path, monkeypatch):
    """The tester's 3 MB tmpfs: each refused request left a new empty segment (1,918 in 8 s), and after
    space came back the log appended nowhere readable."""
    disk = DiskFull(monkeypatch)

    async def scenario():
        wal = await opened(tmp_path, segment_bytes=4096)
        acknowledged = []
        while 4096 - wal.segments.offset > 100:  # no room left for a record: the next one needs a new segment
            acknowledged.append(await wal.append(row(len(acknowledged)), b""))
        kept = len(acknowledged)
        before = log_files(tmp_path)
        disk.full = True
        for n in range(kept, kept + 40):
            with pytest.raises(WalError):
                await wal.append(row(n), b"")
        during = log_files(tmp_path)
        disk.full = False
        acknowledged += [await wal.append(row(n), b"") for n in range(1000, 1040)]
        await wal.close()
        return acknowledged, kept, before, during

    acknowledged, kept, before, during = run(scenario())
    assert during == before, "a refused request left a file"

    records = reopened(tmp_path)
    assert [r.lsn for r in records] == acknowledged
    assert [n for r in records for n in numbers(r.events)] == list(range(kept)) + list(range(1000, 1040))


def test_a_disk_that_takes_some_groups_and_refuses_others_is_one_outage_in_the_log(tmp_path, monkeypatch, caplog):
    """A nearly full disk: groups alternately refused and written. One line when the outage begins, one when
    writes have gone on for OUTAGE_QUIET seconds, where each refused request after a written one logged both."""
    from collector.wal import group

    clock = [100.0]
    monkeypatch.setattr(group, "_now", lambda: clock[0])
    disk = DiskFull(monkeypatch)
    caplog.set_level(logging.INFO, logger="parcours.wal")

    async def scenario():
        wal = await opened(tmp_path, segment_bytes=1 << 16)
        for second, full in [(0, True), (0.5, False), (1, True), (1.5, False), (2, True), (2.5, False)]:
            clock[0], disk.full = 100.0 + second, full
            if full:
                with pytest.raises(WalError):
                    await wal.append(row(0), b"")
            else:
                await wal.append(row(0), b"")
        clock[0] = 102.0 + group.OUTAGE_QUIET
        await wal.append(row(1), b"")
        await wal.close()

    run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.name == "parcours.wal"]
    assert sum("write failed" in line for line in lines) == 1, lines
    assert [line for line in lines if "succeed again" in line] == [
        "write-ahead log writes succeed again after 2 s; 3 request(s) were refused meanwhile"]


def test_without_fsync_a_new_segment_needs_its_room_too(tmp_path, monkeypatch):
    """--no-wal-fsync fills no segment ahead, but each grows to its size: without the same room check, the
    log took its disk's last bytes once space came back, and the writer could not save its checkpoint."""
    async def scenario():
        wal = await opened(tmp_path, segment_bytes=4096, fsync=False)
        while 4096 - wal.segments.offset > 100:
            await wal.append(row(0), b"")
        statvfs = os.statvfs
        monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_bavail=1, f_frsize=4096))  # 4 KB free
        before = log_files(tmp_path)
        with pytest.raises(WalError, match="no room on the log's disk"):
            await wal.append(row(1), b"")
        assert log_files(tmp_path) == before
        monkeypatch.setattr(os, "statvfs", statvfs)
        await wal.append(row(2), b"")  # room again: a new segment
        assert len(log_files(tmp_path)) == len(before) + 1
        await wal.close()

    run(scenario())


def test_a_group_that_fits_after_a_failed_rotation_goes_to_a_segment_with_a_header(tmp_path, monkeypatch):
    """How the tester found an acknowledged event in a segment without a header: the rotation's header
    write failed, the descriptor of the new file stayed open under the old one's number, and the next
    group small enough for the old segment was written into the new file, and acknowledged."""
    disk = DiskFull(monkeypatch)

    async def scenario():
        wal = await opened(tmp_path, segment_bytes=4096)
        acknowledged = []
        n = 0
        while 4096 - wal.segments.offset > 300:
            acknowledged.append(await wal.append(row(n), b""))
            n += 1
        disk.full = True
        with pytest.raises(WalError):
            await wal.append(row(1000) * 10, b"")  # does not fit: a new segment, which fails
        disk.full = False
        acknowledged.append(await wal.append(row(n), b""))  # fits in the segment being written
        await wal.close()
        return acknowledged, n

    acknowledged, last_row = run(scenario())

    records = reopened(tmp_path)
    assert [r.lsn for r in records] == acknowledged
    assert [n for r in records for n in numbers(r.events)] == list(range(last_row + 1))


def test_a_restart_recovers_a_log_left_with_empty_and_headerless_segments(tmp_path):
    """What a full disk left the tester, which the collector could not start on (`Input data was
    truncated`): an empty segment, a zero-filled one, a torn header, and an older collector's segments
    holding acknowledged records after zeros, one without a header, one whose header was not durable.
    Every record is read; the rest goes."""
    async def write():
        wal = await opened(tmp_path)
        for n in range(1, 4):
            await wal.append(row(n), b"")
        await wal.close()
        return wal.segments.offset

    end = run(write())
    path = lambda first: tmp_path / f"{first:020d}.wal"  # noqa: E731
    record = lambda lsn: frames.record(lsn, 1795000000000, row(lsn), b"")  # noqa: E731
    path(4).write_bytes(b"")
    path(5).write_bytes(bytes(end) + record(6) + record(7) + bytes(4096))
    path(8).write_bytes(frames.header() + bytes(end - len(frames.header())) + record(9) + record(10) + bytes(4096))
    path(11).write_bytes(bytes(4096))
    path(12).write_bytes(frames.header()[:5])

    async def reopen(append: bool):
        wal = await opened(tmp_path)
        files = log_files(tmp_path)
        if append:
            await wal.append(row(11), b"")
        records = read_all(wal)
        await wal.close()
        return records, files

    records, files = run(reopen(True))
    assert [r.lsn for r in records] == [1, 2, 3, 6, 7, 9, 10, 11]
    assert files == [path(first).name for first in (1, 5, 8, 11)]  # 11: the new segment, where 11's zeros were
    records, _ = run(reopen(False))
    assert [r.lsn for r in records] == [1, 2, 3, 6, 7, 9, 10, 11]
    assert [numbers(r.events) for r in records] == [[1], [2], [3], [6], [7], [9], [10], [11]]


def test_a_refused_group_leaves_no_frame_a_restart_would_read(tmp_path, monkeypatch):
    """A group written but not fsync'd (fdatasync failing, as on a full disk) is refused; the next group
    is written at the same offset. Shorter, it left the refused group's next frame whole after it, read
    at the next start as a record: one the sender was told to send again."""
    fdatasync, failing = os.fdatasync, [True]

    def full(fd):
        if failing[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fdatasync(fd)

    async def scenario():
        wal = await opened(tmp_path)
        monkeypatch.setattr(os, "fdatasync", full)
        loop = asyncio.get_running_loop()
        refused = [loop.create_future() for _ in range(2)]
        for future in refused:
            wal.submit(row(5), b"", future)  # one group of two frames of one size
        for future in refused:
            with pytest.raises(WalError):
                await future
        failing[0] = False
        acknowledged = await wal.append(row(5), b"")  # the size of one refused frame
        await wal.close()
        return acknowledged

    acknowledged = run(scenario())

    async def reopen():
        wal = await opened(tmp_path)
        records = read_all(wal)
        await wal.close()
        return records

    assert [r.lsn for r in run(reopen())] == [acknowledged]
