"""Reading a /collect body: content type, content encoding, size limits and a byte order mark, before anything is decoded."""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Awaitable, Callable, Mapping

from collector.messages import answer

ACCEPTED_TYPES = ("text/plain", "application/json", "")
ACCEPTED_ENCODINGS = ("", "identity", "gzip", "x-gzip")


class BodyError(Exception):
    """The body is refused as a whole; status and message go to the client as a JSON error."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


async def read_body(receive: Callable[[], Awaitable[dict]], headers: Mapping[bytes, bytes], max_body: int) -> bytes:
    """The request body (ASGI), decompressed; never more than `max_body` bytes held, before or after gunzip.

    `headers` are the request's, lowercase names as ASGI gives them.
    """
    ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    if ctype not in ACCEPTED_TYPES:
        raise BodyError(415, answer("content_type", value=ctype[:100]))
    encoding = headers.get(b"content-encoding", b"").decode("latin-1").strip().lower()
    if encoding not in ACCEPTED_ENCODINGS:
        raise BodyError(415, answer("content_encoding", value=encoding[:100]))
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > max_body:
        raise _too_big(max_body)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise BodyError(400, answer("client_gone"))
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise _too_big(max_body)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if encoding in ("gzip", "x-gzip"):
        body = gunzip(body, max_body)
    return utf8(body, max_body)


def _too_big(max_body: int) -> BodyError:
    return BodyError(413, answer("too_big", limit=max_body))


_BOMS = ((codecs.BOM_UTF8, "UTF-8"), (codecs.BOM_UTF32_LE, "UTF-32-LE"), (codecs.BOM_UTF32_BE, "UTF-32-BE"),
         (codecs.BOM_UTF16_LE, "UTF-16-LE"), (codecs.BOM_UTF16_BE, "UTF-16-BE"))
"""Byte order marks and the encoding each names; UTF-32's little-endian mark begins as UTF-16's does, so it
is looked for first (no JSON text begins with U+0000, which the other reading would make of it)."""


def utf8(body: bytes, max_size: int) -> bytes:
    """The body as UTF-8 without a byte order mark. RFC 8259 wants JSON sent in UTF-8 without one, but lets a
    parser ignore it, and some senders write one (.NET's and PowerShell's UTF-8 encoders, a file saved by
    Windows' Notepad): refused as "not valid JSON", 400, their events were lost, as no sender retries a 400.
    A body that begins with UTF-16's or UTF-32's mark says what it is: it is read as such and converted, as
    Python's json.loads reads it (a lone surrogate passes, to be rejected with its event as invalid UTF-8);
    only one that is not valid in the encoding its mark names is refused, saying so. Without a mark, a body is
    UTF-8 (an event with other bytes is rejected with its reason, collector/ingest.py)."""
    if not body or body[0] not in b"\xef\xff\xfe\x00":
        return body
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            break
    else:
        return body
    if encoding == "UTF-8":
        return body[len(bom):]
    try:
        text = body[len(bom):].decode(encoding, "surrogatepass")
    except UnicodeDecodeError as exc:
        raise BodyError(400, answer("bad_encoding", encoding=encoding[:6], detail=exc.reason)) from None
    out = text.encode("utf-8", "surrogatepass")
    if len(out) > max_size:
        raise BodyError(413, answer("too_big_utf8", limit=max_size))
    return out


_MEMBER = b"\x1f\x8b"
"""How a gzip member begins (RFC 1952)."""
MAX_MEMBERS = 64
"""The most gzip members a body may hold (a compressor flushing as it goes writes a few): a megabyte of empty
members took 0.35 s to read, on the event loop."""


def gunzip(data: bytes, max_size: int) -> bytes:
    """Decompress a gzip body, stopping at `max_size` output bytes: a gzip bomb costs no memory. Its members
    one after the other, as RFC 1952 reads them (a compressor that flushes as it goes writes several): read
    as one, the events of the second were dropped without a word, or the batch cut in two refused."""
    parts, size = [], 0
    while True:
        if len(parts) == MAX_MEMBERS:
            raise BodyError(400, answer("gzip_members", limit=MAX_MEMBERS))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            part = inflater.decompress(data, max_size + 1 - size)
        except zlib.error as exc:
            raise BodyError(400, answer("bad_gzip", detail=exc)) from None
        parts.append(part)
        size += len(part)
        if size > max_size or inflater.unconsumed_tail:
            raise BodyError(413, answer("too_big_gunzipped", limit=max_size))
        if not inflater.eof:
            raise BodyError(400, answer("gzip_truncated"))
        data = inflater.unused_data
        if not data.startswith(_MEMBER):  # what follows the last member (padding) is no data
            return parts[0] if len(parts) == 1 else b"".join(parts)
