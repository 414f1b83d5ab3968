"""The log's frames: `length (u32 LE) | crc32 of payload (u32 LE) | payload`.

A record's payload is a msgpack array `[lsn, accepted_at_ms, events, rejected]`, each of the two a block of
JSONEachRow lines (see rows.py), kept as the bytes ClickHouse will parse. A segment's first frame is its
header, `{"format": 2}`. (Format 1, before rows were lines, held positional rows and the column names in
its header; such segments are still read, their rows turned into lines.) A frame cut short or failing its
checksum (the torn tail of a crash) ends the segment: it is skipped, never fatal, since it was never
acknowledged. So is a header missing, cut short or zero-filled (a segment whose creation failed on a full
disk): no record is appended to a segment before its header is fsync'd.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgspec

from collector import rows as rows_mod

FORMAT = 2
FRAME = struct.Struct("<II")
MAX_FRAME = 256 * 1024 * 1024

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


@dataclass
class Record:
    """One accepted request's rows, as the writer reads them back: JSONEachRow blocks per table."""

    lsn: int
    accepted_at: float
    events: bytes
    rejected: bytes

    @property
    def rows(self) -> int:
        return rows_mod.count(self.events) + rows_mod.count(self.rejected)


def frame(payload: bytes) -> bytes:
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def header() -> bytes:
    """A segment's first frame."""
    return frame(_encode({"format": FORMAT}))


def record(lsn: int, accepted_ms: int, events: bytes, rejected: bytes) -> bytes:
    """One accepted request's frame."""
    return frame(_encode((lsn, accepted_ms, events, rejected)))


class TornHeader(Exception):
    """A segment whose header frame is cut short or fails its checksum."""


def read_header(fh: BinaryIO) -> dict[str, Any] | None:
    """The header of a segment open at its start; None for a file too short to hold one (raises TornHeader,
    also for a zero-filled start: a header whose write failed)."""
    head = fh.read(8)
    if len(head) < 8:
        return None
    length, crc = FRAME.unpack(head)
    payload = fh.read(length) if length <= MAX_FRAME else b""
    if len(payload) < length or zlib.crc32(payload) != crc:
        raise TornHeader
    try:
        header = _decode(payload)
    except msgspec.DecodeError:
        raise TornHeader from None
    if not isinstance(header, dict):
        raise TornHeader
    return header


def first_record(data: bytes) -> int | None:
    """Where the first record of `data`, zeros then frames, starts; None when there is none. A frame
    starts with its length: its first non-zero byte is one of its first four."""
    nonzero = len(data) - len(data.lstrip(b"\0"))
    if nonzero == len(data):
        return None
    for at in range(max(0, nonzero - 3), nonzero + 1):
        if next(records(data[at:], {"format": FORMAT}, lambda _: None), None) is not None:
            return at
    return None


def records(data: bytes, header: dict[str, Any], torn: Callable[[int], None]) -> Iterator[tuple[Record, int]]:
    """(record, end offset in `data`) for each good frame; at a torn or bad frame, `torn(offset)` and stop."""
    at = 0
    while at + 8 <= len(data):
        length, crc = FRAME.unpack_from(data, at)
        if length == 0 and crc == 0 and not any(data[at: at + 64]):
            return  # the zero-filled rest of a preallocated segment: the end of its data
        payload = data[at + 8: at + 8 + length]
        if length > MAX_FRAME or len(payload) < length or zlib.crc32(payload) != crc:
            torn(at)
            return
        try:
            lsn, accepted_ms, events, rejected = _decode(payload)
            if header.get("format", 1) == 1:  # positional rows, their columns in the header
                columns = header["columns"]
                events = rows_mod.legacy_lines(columns["events"], events)
                rejected = rows_mod.legacy_lines(columns["rejected_events"], rejected)
            elif not (isinstance(events, bytes) and isinstance(rejected, bytes)):
                raise TypeError("rows are not JSONEachRow blocks")
        except (ValueError, TypeError, KeyError, msgspec.DecodeError):  # a good checksum over a bad frame
            torn(at)
            return
        at += 8 + length
        yield Record(lsn, accepted_ms / 1000, events, rejected), at
    if at < len(data) and any(data[at:]):
        torn(at)
