"""A large file read in a process of its own.

Reading a sales file is Python work — phone numbers, dates, amounts, one line after another — and in the
collector's process it would take the interpreter (the GIL) from the requests being served and from the
batch writer for as long as it lasts. A file larger than `SUBPROCESS_FROM` bytes is therefore read by
`python -m journeys.reader`: the plan, the secret and the file go to it through a pipe (nothing is written
to disk), and it sends back blocks of rows already encoded as ClickHouse reads them, the rejected lines and
its progress. The importing process only stages the blocks (ClickHouse parses them) and compares.

Frames on the child's stdout: one tag byte, a 4-byte length, the payload. `R` rows (JSONEachRow), `J`
rejected lines (msgpack [[line, record, reasons, fields], …]), `P` lines read so far, `E` a whole-file error,
`D` done.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import IO

import msgspec

from journeys.profiles import FileError

MODULES = {"calls": "callcentre.calls"}
"""Kinds of import whose module is not journeys.<kind>."""
SUBPROCESS_FROM = 1 << 20
"""Files from this size (about 8,000 sales lines) are read in a process of their own; smaller ones are read
where they are, in a fraction of a second (starting a process costs about as much)."""
_HEAD = struct.Struct("<cI")
_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder().decode


class Header(msgspec.Struct):
    kind: str
    plan: bytes
    """The plan as JSON (Plan), compiled again on the other side."""
    profile: str | None
    source: str
    secret: bytes


def chunks(header: Header, data: bytes) -> Iterator[tuple[str, object]]:
    """Run the reader on `data`; yield ("rows", bytes), ("rejects", list), ("progress", int) as they come.
    Raises FileError for a file that cannot be read at all."""
    proc = subprocess.Popen([sys.executable, "-m", "journeys.reader"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed() -> None:
        try:
            message = _pack(header)
            proc.stdin.write(struct.pack("<I", len(message)) + message)
            proc.stdin.write(data)
        except BrokenPipeError:  # it stopped early (a whole-file error): it says why on stdout
            pass
        finally:
            proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        while True:
            head = proc.stdout.read(_HEAD.size)
            if len(head) < _HEAD.size:
                break
            tag, length = _HEAD.unpack(head)
            payload = proc.stdout.read(length)
            if tag == b"R":
                yield "rows", payload
            elif tag == b"J":
                yield "rejects", _unpack(payload)
            elif tag == b"P":
                yield "progress", _unpack(payload)
            elif tag == b"E":
                line, message = _unpack(payload)
                raise FileError(line, message)
            elif tag == b"D":
                return
        errors = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"the file reader stopped: {errors[-1] if errors else 'no message'}")
    finally:
        writer.join()
        proc.stdout.close()
        proc.kill()
        proc.wait()
        proc.stderr.close()


def _main(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    import importlib

    from journeys.lines import Context, in_chunks
    from journeys.profiles import read, reader
    from tagplan import compile_plan
    from tagplan.model import Plan

    def send(tag: bytes, payload: bytes) -> None:
        stdout.write(_HEAD.pack(tag, len(payload)) + payload)
        stdout.flush()

    (length,) = struct.unpack("<I", stdin.read(4))
    header = msgspec.msgpack.decode(stdin.read(length), type=Header)
    kind = importlib.import_module(MODULES.get(header.kind, f"journeys.{header.kind}")).KIND
    plan = compile_plan(msgspec.json.decode(header.plan, type=Plan))
    ctx = Context(plan, header.secret)
    encode_lines = msgspec.json.Encoder().encode_lines
    try:
        r = reader(plan.plan, header.kind, header.profile)
        for rows, rejects, lines in in_chunks(kind, r, read(r, stdin), ctx, header.source):
            _send_chunk(send, encode_lines, rows, rejects, lines)
    except FileError as exc:
        send(b"E", _pack([exc.line, exc.message]))
        return 0
    send(b"D", b"")
    return 0


def _send_chunk(send, encode_lines, rows, rejects, lines: int) -> None:
    if rows:
        send(b"R", encode_lines(rows))
    if rejects:
        send(b"J", _pack(rejects))
    send(b"P", _pack(lines))


if __name__ == "__main__":
    sys.exit(_main(sys.stdin.buffer, sys.stdout.buffer))
