"""An import's lines read into rows, or rejected with their reasons, a chunk at a time: in the importing process
(imports.py), in a process of its own for a large file (reader.py), or from events (event_conversions.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collector import redact
from journeys.profiles import Reader, Record
from tagplan import CompiledPlan

if TYPE_CHECKING:  # imports.py imports this module: the kind's type only, for annotations
    from journeys.imports import Kind

CHUNK = 20_000
"""Lines read at a time; each chunk is staged in ClickHouse as it is ready."""

Chunk = tuple[list[dict[str, Any]] | bytes, list[tuple[int, int, list[str], dict[str, Any]]], int]
"""Rows (dicts, or JSONEachRow bytes from the reader process), rejected lines (line, record within the line,
reasons, fields kept), and how many lines were read so far."""


@dataclass(frozen=True)
class Context:
    """What reading a line needs besides the line: the plan (regions, channels, levers) and the secret
    keying phone numbers (the collector's, so an offline phone gets the key its online submit got)."""

    plan: CompiledPlan
    secret: bytes


def in_chunks(kind: Kind, r: Reader, records: Iterable[Record], ctx: Context, source: str) -> Iterator[Chunk]:
    """The lines, read into rows and rejects a chunk at a time."""
    source = source_name(ctx, source)
    chunk: list[Record] = []
    lines = 0
    for record in records:
        chunk.append(record)
        if len(chunk) == CHUNK:
            lines += len(chunk)
            yield (*_rows(kind, r, source, chunk, ctx), lines)
            chunk = []
    if chunk:
        lines += len(chunk)
        yield (*_rows(kind, r, source, chunk, ctx), lines)


def source_name(ctx: Context, source: str) -> str:
    """The name an import's rows and rejects record as their source: the file name or --source as given, a
    phone number in it replaced as in free text (ventes_0612345678.csv is ventes_[phone].csv), a control
    character (a NUL, a line break: ?source=%00%0a) as `?`, so that a listing's line stays one line."""
    return redact.of(ctx.plan).text(_CONTROL.sub("?", source))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _rows(kind: Kind, r: Reader, source: str, records: list[Record], ctx: Context):
    """A chunk of lines -> (rows, [(line, record, reasons, fields kept)]). Personal data typed in a row's free
    text (a phone number in the shop's name) is removed as the collector removes it from an event's (redact.py)."""
    rows, rejects = [], []
    redactor = redact.of(ctx.plan)
    for record in records:
        if record.problem:  # the line could not be read at all: rejected, nothing of it kept
            rejects.append((record.line, record.record, [record.problem], {}))
            continue
        row, reasons = kind.row(record, r, ctx)
        if reasons:
            rejects.append((record.line, record.record, reasons, row))
        else:
            for name in kind.free_text:
                if isinstance(value := row.get(name), str):
                    row[name] = redactor.text(value)
            for name in kind.ids:  # a phone in an id: its keyed hash, so that ids stay apart and still join
                if isinstance(value := row.get(name), str):
                    row[name] = redactor.keyed(value, ctx.secret)
            row["source"], row["source_line"], row["profile"] = source, record.line, r.name
            row["source_record"] = record.record  # staged only (imports.run): which record of a line, if several
            rows.append(row)
    return rows, rejects
