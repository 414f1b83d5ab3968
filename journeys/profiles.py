"""Import profiles: how to read a partner's file as it is (delimiter, encoding, header, nested JSON), and the
canonical format read without one.

A profile turns a file into records: the line a record starts on, and its canonical fields (`ts`, `premium`,
`phone`…) as the file wrote them. What the values mean is the import's business (conversions.py, costs.py,
brokers.py), with the value readers of values.py, which read them as the profile says (decimal comma, date
format and time zone).
"""

from __future__ import annotations

import codecs
import collections
import csv
import io
import re
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import msgspec

from collector import repeats
from collector.errors import Problem
from collector.redact import phone_like
# The value readers, imported from here by the imports (and other branches): re-exported on purpose.
from journeys.values import ValueProblem, amount, currency, date_pattern, day, folded, text, timestamp  # noqa: F401
from tagplan.model import IMPORT_FIELDS, ImportProfile, Plan

CANONICAL = ""
"""The name of the canonical format, read when no profile is given."""
_ALIASES = {"brokers": {"id": "broker_id"}}
"""Canonical header names also accepted: the plan's broker CSV (id,name,lever) imports as is."""
_SPACES = ("\u00a0", "\u202f", "\u2009")  # no-break and thin spaces spreadsheets write as thousands separators


class FileError(Problem):
    """The file as a whole cannot be read with this profile (not a line of it): nothing is imported."""

    def __init__(self, line: int, message: str):
        self.line, self.message = line, message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True)
class Reader:
    """A compiled import profile: everything needed to read one file, built once per import."""

    name: str
    into: str
    format: str
    """csv, json, jsonl, or auto (the canonical format: JSON when it starts with [ or {, else CSV)."""
    encoding: str
    delimiter: str | None
    """None: a comma or a semicolon, whichever the header uses (the canonical format)."""
    header: bool
    skip_lines: int
    decimal: str
    thousands: tuple[str, ...]
    date_format: str
    zone: zoneinfo.ZoneInfo
    records: tuple[str, ...]
    fields: dict[str, str | int | tuple[str, ...]]
    """Canonical field -> CSV column name or number (1-based), or JSON path."""
    defaults: dict[str, str]
    currency: str
    _date: re.Pattern | None = field(default=None, compare=False)
    statuses: dict[str, str] = field(default_factory=dict, compare=False)
    """Conversions: the profile's status_values, their words folded (values.folded) -> signed, cancelled or
    reinstated."""
    status_words: tuple[str, ...] = ()
    """Those words as the profile writes them, for the message of a line with another."""

    @property
    def label(self) -> str:
        return f'profile "{self.name}"' if self.name else "the canonical format"


def reader(plan: Plan, into: str, name: str | None = None) -> Reader:
    """The reader for a profile of the plan (its `into` must be `into`), or the canonical format (no name)."""
    rec = plan.reconciliation
    if not name:
        return Reader(CANONICAL, into, "auto", "utf-8", None, True, 0, ".", (), "iso",
                      zoneinfo.ZoneInfo(rec.time_zone), (), {f: f for f in IMPORT_FIELDS[into]}, {}, rec.currency)
    if name not in plan.imports:
        known = [n for n, p in plan.imports.items() if p.into == into]
        raise FileError(0, f'no import profile "{name}" in the plan (profiles for {into}: '
                           f'{", ".join(known) or "none"})')
    p: ImportProfile = plan.imports[name]
    if p.into != into:
        raise FileError(0, f'import profile "{name}" reads {p.into}, not {into}')
    thousands = (p.thousands, *_SPACES) if p.thousands == " " else ((p.thousands,) if p.thousands else ())
    fields: dict[str, Any] = {f: tuple(c.split(".")) if p.format != "csv" else c for f, c in p.fields.items()}
    return Reader(name, into, p.format, p.encoding, p.csv_delimiter, p.has_header, p.skip_lines or 0, p.decimal, thousands,
                  p.date_format, zoneinfo.ZoneInfo(p.time_zone or rec.time_zone),
                  tuple(p.records.split(".")) if p.records else (), fields, dict(p.defaults), rec.currency,
                  date_pattern(p.date_format), {folded(w): s for w, s in p.status_values.items()},
                  tuple(p.status_values))


@dataclass
class Record:
    """One line (or JSON record) of a file: where it starts, and its canonical fields as written."""

    line: int
    values: dict[str, Any]
    problem: str = ""
    """Why the line could not be read at all (a field past the CSV limit, a JSON line that is not JSON): the
    line is rejected with this reason, the others of its file are read on."""
    record: int = 0
    """Which record of its line, from 1, when the line starts several (a JSON array on one line); 0 when it
    starts one. Said with the line ("line 1, record 2") and part of a rejected line's key."""


def given_by(record: Record, r: Reader) -> Callable[[str], Any]:
    """A line's field by its canonical name: the profile's default (`defaults:`) where the line leaves it out
    or blank. What every import's row function reads its fields with."""
    values, defaults = record.values, r.defaults

    def given(name: str) -> Any:
        value = values.get(name)
        if value is None or (value.__class__ is str and not value.strip()):
            return defaults.get(name, value)
        return value

    return given


def read(r: Reader, stream: IO[bytes]) -> Iterator[Record]:
    """The file's records, in order. Raises FileError when the file as a whole cannot be read."""
    head = stream.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    fmt = r.format
    if fmt == "auto":
        start = head.lstrip()[:1]
        fmt = "json" if start == b"[" else "jsonl" if start == b"{" else "csv"
    data = _Rest(head, stream)
    if fmt == "csv":
        yield from _csv(r, data)
    elif fmt == "jsonl":
        yield from _jsonl(r, data)
    else:
        yield from _json(r, data)


class _Rest(io.RawIOBase):
    """A stream whose first bytes were already read (to sniff the format and skip a byte-order mark)."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        chunk = self.rest.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _text(r: Reader, data: _Rest) -> io.TextIOWrapper:
    encoding = "utf-8" if codecs.lookup(r.encoding).name == "utf-8" else r.encoding
    return io.TextIOWrapper(io.BufferedReader(data, 1 << 16), encoding=encoding, newline="")


def _csv(r: Reader, data: _Rest) -> Iterator[Record]:
    text = _text(r, data)
    line, lines = 0, None
    try:
        for _ in range(r.skip_lines):
            text.readline()
        line = r.skip_lines
        delimiter = r.delimiter
        columns: dict[str, int] = {}
        names: list[str] = []
        if r.header:
            first = text.readline()
            line += 1
            if delimiter is None:  # the canonical format: whichever the header uses
                delimiter = ";" if first.count(";") > first.count(",") else ","
            names = [h.strip().lstrip("\ufeff") for h in next(csv.reader([first], delimiter=delimiter), [])]
            columns = _columns(r, names, line)
        delimiter = delimiter or ","
        getters = list(columns.items()) + [(f, c - 1) for f, c in r.fields.items() if isinstance(c, int)]
        fields = len(names) if r.header else None
        lines = _Lines(text, line)
        while True:  # a new csv reader after each unreadable line, at the line after it
            # strict: a quoted field with text after its closing quote (`"">x"`) is no field; the line is rejected
            rows = csv.reader(lines, delimiter=delimiter, strict=True)
            try:
                for row in rows:
                    start, taken, open_at_end = lines.take()
                    if (len(taken) > 1 or open_at_end) and not _whole(taken, delimiter, fields):
                        yield _unclosed(start, taken, delimiter, names)
                        lines.put_back(taken[1:])
                        break
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue  # a blank line (a trailing newline, a spreadsheet's empty rows)
                    if fields is not None and len(row) > fields and any(v.strip() for v in row[fields:]):
                        yield Record(start, {}, _too_many(len(row), fields, delimiter))
                        continue
                    yield Record(start, {f: row[i] if i < len(row) else None for f, i in getters})
                else:
                    return
            except csv.Error as exc:
                # A field past the csv module's 128 KiB limit: on one line, that line is rejected; over several,
                # a quote left open ran on (see _unclosed).
                start, taken, _ = lines.take()
                if len(taken) > 1:
                    yield _unclosed(start, taken, delimiter, names)
                    lines.put_back(taken[1:])
                else:  # a field with text after its closing quote; read loosely, a delimiter typed in a field?
                    try:
                        loose = next(csv.reader(taken, delimiter=delimiter), [])
                    except csv.Error:  # past the field limit, however read
                        loose = []
                    if fields is not None and len(loose) > fields and any(v.strip() for v in loose[fields:]):
                        yield Record(start, {}, _too_many(len(loose), fields, delimiter))
                    else:
                        yield Record(start, {}, f"unreadable CSV line: {exc}")
    except UnicodeDecodeError as exc:
        line = (lines.number if lines else line) + _lines_before(exc)
        raise FileError(line + 1, f"the file is not {r.encoding} text ({exc.reason}); set the profile's "
                                  "encoding (e.g. cp1252 for a spreadsheet export)") from None
    except csv.Error as exc:  # the header
        raise FileError(line + 1, f"unreadable CSV: {exc}") from None


class _Lines:
    """A CSV file's physical lines as the csv module reads them: counted, the current record's kept, and
    lines put back to be read again."""

    def __init__(self, text: io.TextIOWrapper, number: int):
        self.text, self.number = text, number
        self._record: list[str] = []
        self._ended = False  # the csv module asked for a line past the file's end while reading the record
        self._back: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._back:
            line = self._back.pop()
        else:
            try:
                line = next(self.text)
            except StopIteration:
                self._ended = True
                raise
        self.number += 1
        self._record.append(line)
        return line

    def take(self) -> tuple[int, list[str], bool]:
        """The record just read: its first line's number, its lines, and whether it was still open at the
        file's end. The next record begins."""
        taken, ended = self._record, self._ended
        self._record, self._ended = [], False
        return self.number - len(taken) + 1, taken, ended

    def put_back(self, lines: list[str]) -> None:
        self._back.extend(reversed(lines))
        self.number -= len(lines)


def _whole(lines: list[str], delimiter: str, fields: int | None) -> bool:
    """Whether a record read over several lines (or ended by the file's end) is one: its quoted fields closed,
    each by a quote before a delimiter or the line's end, and as many fields as the header. A quote opened and
    never closed otherwise runs on into the next lines (the csv module reads them into its field, closing it at
    whatever quote comes next, or at the file's end)."""
    try:
        rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    return len(rows) == 1 and (fields is None or len(rows[0]) == fields)


def _too_many(found: int, fields: int, delimiter: str) -> str:
    """A line with more fields than the header, past them not all empty (empty ones are a trailing delimiter, as
    spreadsheets export): a delimiter typed in a field (a formula's `;`) shifted the fields after it, so none
    of them is read."""
    return f'line has {found} fields, the header {fields}: a "{delimiter}" inside a field? quote the field'


def _unclosed(start: int, taken: list[str], delimiter: str, names: list[str]) -> Record:
    """The first line of a record that is not one (see _whole), rejected alone; the lines after it, put back
    by the caller, are read on their own."""
    field = len(next(csv.reader(taken[:1], delimiter=delimiter), [])) or 1  # the one left open: the last
    name = f' ("{names[field - 1]}")' if field <= len(names) else ""
    return Record(start, {}, f"unreadable CSV line: the quote opening field {field}{name} is not closed on its line")


def _columns(r: Reader, names: list[str], line: int) -> dict[str, int]:
    """Canonical field -> column index, from the header row; FileError when a mapped column is missing."""
    index = {n: i for i, n in enumerate(names)}
    folded = {n.casefold(): i for i, n in enumerate(names)}
    if r.name == CANONICAL:
        aliases = _ALIASES.get(r.into, {})
        out = {}
        for n, i in folded.items():
            f = aliases.get(n, n)
            if f in r.fields:
                out[f] = i
        if not out:
            raise FileError(line, f"the header has none of the canonical fields ({', '.join(r.fields)}): "
                                  f"it has {', '.join(names) or 'nothing'}; use --profile for another shape")
        return out
    out = {}
    for f, c in r.fields.items():
        if not isinstance(c, str):
            continue
        i = index.get(c, folded.get(c.casefold()))
        if i is None:
            raise FileError(line, f'{r.label}: column "{c}" ({f}) is not in the header, which has: '
                                  f"{', '.join(names) or 'nothing'}")
        out[f] = i
    return out


def _jsonl(r: Reader, data: _Rest) -> Iterator[Record]:
    text = _text(r, data)
    line = 0
    try:
        for raw in text:
            line += 1
            if not raw.strip():
                continue
            try:
                doc = msgspec.json.decode(raw)
            except msgspec.DecodeError as exc:
                yield Record(line, {}, f"not a JSON object: {exc}")
                continue
            except RecursionError:  # msgspec reads about 1,000 levels
                yield Record(line, {}, f"not a JSON object: {_TOO_DEEP}")
                continue
            if twice := _twice(raw.encode("utf-8", "surrogatepass")):
                yield Record(line, {}, twice)
                continue
            yield Record(line, _pick(r, doc))
    except UnicodeDecodeError as exc:
        raise FileError(line + 1 + _lines_before(exc), f"the file is not {r.encoding} text ({exc.reason})") from None


def _lines_before(exc: UnicodeDecodeError) -> int:
    """The line ends before the byte that is no text, in the chunk being decoded past the lines read (the file
    is decoded a chunk ahead of them: a byte on line 41 was said to be on line 1, the header's)."""
    return exc.object[:exc.start].count(b"\n") if isinstance(exc.object, (bytes, bytearray)) else 0


def _json(r: Reader, data: _Rest) -> Iterator[Record]:
    raw = data.readall() if hasattr(data, "readall") else data.read()
    if codecs.lookup(r.encoding).name != "utf-8":
        try:
            raw = raw.decode(r.encoding).encode()
        except UnicodeDecodeError as exc:
            raise FileError(0, f"the file is not {r.encoding} text ({exc.reason})") from None
    try:
        items = _records(raw, r.records)
    except msgspec.DecodeError as exc:
        raise FileError(0, f"{r.label} reads JSON, and the file is not JSON ({exc})") from None
    except RecursionError:  # msgspec reads about 1,000 levels: the file's doing, said as any other
        raise FileError(0, f"{r.label} reads JSON, and the file's JSON is {_TOO_DEEP}") from None
    lines = _starts(raw, items)
    several = {line for line, n in collections.Counter(lines).items() if n > 1}
    previous, record = 0, 0
    for item, line in zip(items, lines):
        record = 0 if line not in several else record + 1 if line == previous else 1
        previous = line
        text = bytes(item)
        try:
            doc = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:  # JSON, but not one Python reads (a number such as 1e400)
            yield Record(line, {}, f"unreadable JSON record: {_AT.sub('', str(exc))}", record)
            continue
        except RecursionError:
            yield Record(line, {}, f"unreadable JSON record: {_TOO_DEEP}", record)
            continue
        if twice := _twice(text):
            yield Record(line, {}, twice, record)
            continue
        yield Record(line, _pick(r, doc), record=record)


def _starts(raw: bytes, items: list[msgspec.Raw]) -> list[int]:
    """The line each record starts on. Each record's bytes appear in the file as they are: find them in order,
    and count the lines before."""
    out = []
    at, line = 0, 1
    for item in items:
        text = bytes(item)
        pos = raw.find(text, at)
        if pos >= 0:  # searched past the record before: two records alike are two places
            line += raw.count(b"\n", at, pos)
            out.append(line)
            line += text.count(b"\n")
            at = pos + len(text)
        else:
            out.append(line)
    return out


def _twice(record: bytes) -> str | None:
    """Why a JSON record giving a key twice is rejected (which value was meant cannot be known: the rule of
    events and the admin API's bodies, collector/repeats.py); None when its keys are distinct."""
    path = repeats.repeated_key(record)
    return f"{phone_like('.'.join(path))[:80]}: given more than once; give each key once" if path else None


_TOO_DEEP = "nested too deeply to be read (more than about 1,000 levels); send it flatter"
_AT = re.compile(r" - at `[^`]*`\Z")
"""msgspec's path in a record without a type (`$[...]`), which tells a person nothing."""


def _records(raw: bytes, path: tuple[str, ...]) -> list[msgspec.Raw]:
    for i, key in enumerate(path):
        doc = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
        if key not in doc:
            raise FileError(0, f'no "{".".join(path[:i + 1])}" in the JSON document (profile records: {".".join(path)})')
        raw = bytes(doc[key])
    try:
        return msgspec.json.decode(raw, type=list[msgspec.Raw])
    except msgspec.ValidationError:
        raise FileError(0, "expected a JSON array of records" + (f" at {'.'.join(path)}" if path else "")) from None


def _pick(r: Reader, doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"": doc}  # not an object: the import says so at its line
    if r.name == CANONICAL:
        aliases = _ALIASES.get(r.into, {})
        return {aliases.get(k, k): v for k, v in doc.items() if aliases.get(k, k) in r.fields}
    out = {}
    for f, path in r.fields.items():
        value: Any = doc
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out[f] = value
    return out
