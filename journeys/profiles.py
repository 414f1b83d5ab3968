"""Import profiles: how to read a partner's file as it is (delimiter, encoding, header, decimal comma, date
format and time zone, nested JSON), and the canonical format read without one.

A profile turns a file into records: the line a record starts on, and its canonical fields (`ts`, `premium`,
`phone`…) as the file wrote them. What the values mean is the import's business (conversions.py, costs.py,
brokers.py), with the value readers below.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import msgspec

from collector.errors import Problem
from collector.redact import REDACTED
from tagplan.model import IMPORT_FIELDS, ImportProfile, Plan

CANONICAL = ""
"""The name of the canonical format, read when no profile is given."""
_ALIASES = {"brokers": {"id": "broker_id"}}
"""Canonical header names also accepted: the plan's broker CSV (id,name,lever) imports as is."""
_SPACES = ("\u00a0", "\u202f", "\u2009")  # no-break and thin spaces spreadsheets write as thousands separators
_DIRECTIVES = {"d": r"(?P<d>\d{1,2})", "m": r"(?P<m>\d{1,2})", "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d{2})",
               "H": r"(?P<H>\d{1,2})", "M": r"(?P<M>\d{2})", "S": r"(?P<S>\d{2})", "%": "%"}


class FileError(Problem):
    """The file as a whole cannot be read with this profile (not a line of it): nothing is imported."""

    def __init__(self, line: int, message: str):
        self.line, self.message = line, message
        super().__init__(f"line {line}: {message}" if line else message)


class ValueProblem(ValueError):
    """One field of a line cannot be read; the message says what was expected (never a phone number)."""


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
                  _date_pattern(p.date_format))


@dataclass
class Record:
    """One line (or JSON record) of a file: where it starts, and its canonical fields as written."""

    line: int
    values: dict[str, Any]


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
    try:
        for _ in range(r.skip_lines):
            text.readline()
        line = r.skip_lines
        delimiter = r.delimiter
        columns: dict[str, int] = {}
        if r.header:
            first = text.readline()
            line += 1
            if delimiter is None:  # the canonical format: whichever the header uses
                delimiter = ";" if first.count(";") > first.count(",") else ","
            names = [h.strip().lstrip("\ufeff") for h in next(csv.reader([first], delimiter=delimiter), [])]
            columns = _columns(r, names, line)
        rows = csv.reader(text, delimiter=delimiter or ",")
        getters = list(columns.items()) + [(f, c - 1) for f, c in r.fields.items() if isinstance(c, int)]
        for row in rows:
            start = line + 1
            line = rows.line_num + r.skip_lines + (1 if r.header else 0)
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line (a trailing newline, a spreadsheet's empty rows)
            yield Record(start, {f: row[i] if i < len(row) else None for f, i in getters})
    except UnicodeDecodeError as exc:
        raise FileError(line + 1, f"the file is not {r.encoding} text ({exc.reason}); set the profile's "
                                  "encoding (e.g. cp1252 for a spreadsheet export)") from None
    except csv.Error as exc:
        raise FileError(line + 1, f"unreadable CSV: {exc}") from None


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
                raise FileError(line, f"not a JSON object: {exc}") from None
            yield Record(line, _pick(r, doc))
    except UnicodeDecodeError as exc:
        raise FileError(line + 1, f"the file is not {r.encoding} text ({exc.reason})") from None


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
    # Each record's bytes appear in the file as they are: find them in order, and count the lines before.
    at, line = 0, 1
    for item in items:
        text = bytes(item)
        pos = raw.find(text, at)
        if pos >= 0:
            line += raw.count(b"\n", at, pos)
            at = pos
        doc = msgspec.json.decode(text)
        yield Record(line, _pick(r, doc))


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


# ---- reading values


def text(value: Any, limit: int = 256) -> str:
    """A text field: stripped; numbers written as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueProblem("expected text, got true/false")
    if isinstance(value, (int, float)):
        value = repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValueProblem("expected text, got a list or an object")
    value = value.strip()
    if len(value) > limit:
        raise ValueProblem(f"longer than {limit} characters")
    return value


def amount(r: Reader, value: Any) -> str:
    """An amount as ClickHouse reads Decimal(18, 2): "1 102,75" with a decimal comma -> "1102.75"."""
    if isinstance(value, bool) or value is None:
        raise ValueProblem("expected an amount")
    if isinstance(value, (int, float)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        written = value.strip()
        cleaned = written
        for sep in r.thousands:
            cleaned = cleaned.replace(sep, "")
        if r.decimal == ",":
            cleaned = cleaned.replace(",", ".")
        if _PLAIN_AMOUNT.fullmatch(cleaned):  # 684.20: as ClickHouse reads it, no Decimal needed
            whole, _, cents = cleaned.partition(".")
            return f"{whole}.{cents:0<2}"
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise ValueProblem(f'"{_quote(written)}" is not an amount{_amount_hint(r)}') from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 16:
        raise ValueProblem("expected an amount")
    if number != number.quantize(Decimal("0.01")):
        raise ValueProblem(f"more than 2 decimals: {number}")
    return f"{number:.2f}"


def _amount_hint(r: Reader) -> str:
    if r.decimal == ",":
        return " (expected a decimal comma, e.g. 1 102,75)"
    return " (expected e.g. 1102.75)"


def currency(r: Reader, value: Any) -> str:
    """A 3-letter currency code; the plan's currency when none is given."""
    code = (text(value, 16) or r.currency).upper()
    if not _CURRENCY.fullmatch(code):
        raise ValueProblem(f'"{code}" is not a 3-letter currency code such as EUR')
    return code


def timestamp(r: Reader, value: Any) -> float:
    """A date and time as Unix seconds (ms precision): ISO 8601, or the profile's date_format, in the
    profile's time zone when the text gives no offset."""
    if not isinstance(value, str) or not value.strip():
        raise ValueProblem("expected a date and time")
    return _timestamp(value.strip(), r.date_format, r.zone)


@functools.lru_cache(maxsize=65536)  # sales share their minutes: each written time is read once
def _timestamp(value: str, fmt: str, zone: zoneinfo.ZoneInfo) -> float:
    if fmt == "iso":
        try:
            when = dt.datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            raise ValueProblem(f'"{_quote(value)}" is not an ISO 8601 date and time (e.g. 2026-10-03T10:42:00+02:00)') from None
    else:
        when = _formatted(value, fmt)
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return round(when.timestamp(), 3)


def day(r: Reader, value: Any) -> str:
    """A date, as YYYY-MM-DD."""
    if not isinstance(value, str) or not value.strip():
        raise ValueProblem("expected a date")
    value = value.strip()
    if r.date_format == "iso":
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueProblem(f'"{_quote(value)}" is not a date YYYY-MM-DD') from None
    return _formatted(value, r.date_format).date().isoformat()


@functools.lru_cache(maxsize=64)
def _date_pattern(fmt: str) -> re.Pattern | None:
    if fmt == "iso":
        return None
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            out.append(_DIRECTIVES[fmt[i + 1]])
            i += 2
        else:
            out.append(r"\s+" if fmt[i] == " " else re.escape(fmt[i]))
            i += 1
    return re.compile("".join(out))


def _formatted(value: str, fmt: str) -> dt.datetime:
    match = _date_pattern(fmt).fullmatch(value)
    if not match:
        raise ValueProblem(f'"{_quote(value)}" does not match the date format {_human(fmt)}')
    g = match.groupdict()
    year = int(g["Y"]) if g.get("Y") else 2000 + int(g["y"])
    try:
        return dt.datetime(year, int(g["m"]), int(g["d"]), int(g.get("H") or 0), int(g.get("M") or 0),
                           int(g.get("S") or 0))
    except ValueError as exc:
        raise ValueProblem(f'"{_quote(value)}" is not a real date ({exc})') from None


def _human(fmt: str) -> str:
    """%d/%m/%Y %H:%M -> dd/mm/yyyy HH:MM, as people write it."""
    for d, h in (("%d", "dd"), ("%m", "mm"), ("%Y", "yyyy"), ("%y", "yy"), ("%H", "HH"), ("%M", "MM"),
                 ("%S", "SS"), ("%%", "%")):
        fmt = fmt.replace(d, h)
    return fmt


_PHONE_LIKE = re.compile(r"\+?\d[\d .\-()]{6,}\d")
_CURRENCY = re.compile(r"[A-Z]{3}")
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,2})?", re.ASCII)


def _quote(value: str, limit: int = 40) -> str:
    """A value as an error message may show it: shortened, and never a phone number (a column mapped to
    the wrong field may hold one)."""
    value = _PHONE_LIKE.sub(REDACTED, value)
    return value if len(value) <= limit else value[: limit - 1] + "…"
