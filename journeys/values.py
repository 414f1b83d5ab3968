"""Reading one field of an imported line: text, an amount (a decimal comma, thousands separators), a currency,
a date and time (ISO 8601 or the profile's date format, in its time zone), a date. Each raises ValueProblem
with what was expected, in words a person fixing the file reads (never a phone number)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from collector.redact import phone_like
from tagplan.pattern import Pattern, compile_pattern

if TYPE_CHECKING:  # profiles.py imports this module: the reader's type only, for annotations
    from journeys.profiles import Reader

_DIRECTIVES = {"d": r"(?P<d>\d{1,2})", "m": r"(?P<m>\d{1,2})", "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d{2})",
               "H": r"(?P<H>\d{1,2})", "M": r"(?P<M>\d{2})", "S": r"(?P<S>\d{2})", "%": "%"}


class ValueProblem(ValueError):
    """One field of a line cannot be read; the message says what was expected (never a phone number)."""


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


def kept_text(value: Any) -> str:
    """A field of a rejected line as kept for the person fixing it: its text, or empty when it is not text."""
    try:
        return text(value, 1024)
    except ValueProblem:
        return ""


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
            raise ValueProblem(f'"{quoted(written)}" is not an amount{_amount_hint(r)}') from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 16:
        raise ValueProblem("expected an amount")
    if number != number.quantize(Decimal("0.01")):
        raise ValueProblem(f"more than 2 decimals: {quoted(str(number))}")
    return f"{number:.2f}"


def _amount_hint(r: Reader) -> str:
    if r.decimal == ",":
        return " (expected a decimal comma, e.g. 1 102,75)"
    return " (expected e.g. 1102.75)"


def currency(r: Reader, value: Any) -> str:
    """A 3-letter currency code; the plan's currency when none is given."""
    code = (text(value, 16) or r.currency).upper()
    if not _CURRENCY.fullmatch(code):
        raise ValueProblem(f'"{quoted(code)}" is not a 3-letter currency code such as EUR')
    return code


_CONSENT = {"granted": "granted", "denied": "denied", "yes": "granted", "no": "denied", "oui": "granted",
            "non": "denied", "true": "granted", "false": "denied", "1": "granted", "0": "denied", "y": "granted",
            "n": "denied", "o": "granted"}
"""The ways a consent answer is written (an English or French file, a spreadsheet's 1/0, JSON's true/false)."""


def consent(value: Any) -> str:
    """A consent answer: granted, denied, or "" when the line gives none."""
    if isinstance(value, bool):
        return "granted" if value else "denied"
    written = text(value, 64)  # a number as written (1, 0); ValueProblem for a list or an object
    if not written:
        return ""
    answer = _CONSENT.get(written.casefold())
    if answer is None:
        raise ValueProblem(f'"{quoted(written)}" is not a consent answer: expected granted or denied (also yes/no, '
                           "oui/non, true/false, 1/0)")
    return answer


def sale_status(r: Reader, value: Any) -> str:
    """A sale's status, signed, cancelled or reinstated, read in the profile's words (status_values) or the
    canonical ones, case and accents aside; "" when the line says none."""
    written = text(value, 64)
    if not written:
        return ""
    status = r.statuses.get(folded(written)) or _STATUSES.get(folded(written))
    if status is None:
        theirs = f", or the profile's {', '.join(r.status_words)}" if r.status_words else ""
        raise ValueProblem(f'"{quoted(written)}" is not a status: expected signed, cancelled or reinstated{theirs}')
    return status


_STATUSES = {"signed": "signed", "cancelled": "cancelled", "reinstated": "reinstated"}
"""The canonical words. `reinstated` is a sale signed again whatever cancellation is stored (one made by
mistake): stored as signed. A line that says `signed` leaves a cancellation of that signature standing
(conversions.KIND's kept status)."""


def folded(value: str) -> str:
    """A word as status_values match it: case, accents and repeated spaces aside (Rétractation, RETRACTATION)."""
    decomposed = unicodedata.normalize("NFKD", value)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


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
            raise ValueProblem(f'"{quoted(value)}" is not an ISO 8601 date and time (e.g. 2026-10-03T10:42:00+02:00)') from None
    else:
        when = _formatted(value, fmt)
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    if not _EARLIEST <= when < _LATEST:  # 1970 is "not given" (a sale's cancelled_at), 9999 shown as 2105
        raise ValueProblem(f'"{quoted(value)}" is not between 1970 and 2099')
    return round(when.timestamp(), 3)


_EARLIEST = dt.datetime(1970, 1, 2, tzinfo=dt.timezone.utc)
_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)


def day(r: Reader, value: Any) -> str:
    """A date, as YYYY-MM-DD."""
    if not isinstance(value, str) or not value.strip():
        raise ValueProblem("expected a date")
    value = value.strip()
    if r.date_format == "iso":
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueProblem(f'"{quoted(value)}" is not a date YYYY-MM-DD') from None
    return _formatted(value, r.date_format).date().isoformat()


@functools.lru_cache(maxsize=64)
def date_pattern(fmt: str) -> Pattern | None:
    """The pattern of a profile's date format (None for iso), matched by RE2 as a property's pattern is: with
    `re`, `%d          %m` (one `\\s+` a space) would take minutes on a field of spaces."""
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
    return compile_pattern("".join(out))


def _formatted(value: str, fmt: str) -> dt.datetime:
    match = date_pattern(fmt).fullmatch(value)
    if not match:
        raise ValueProblem(f'"{quoted(value)}" does not match the date format {_human(fmt)}')
    g = match.groupdict()
    year = int(g["Y"]) if g.get("Y") else 2000 + int(g["y"])
    try:
        return dt.datetime(year, int(g["m"]), int(g["d"]), int(g.get("H") or 0), int(g.get("M") or 0),
                           int(g.get("S") or 0))
    except ValueError as exc:
        raise ValueProblem(f'"{quoted(value)}" is not a real date ({exc})') from None


def _human(fmt: str) -> str:
    """%d/%m/%Y %H:%M -> dd/mm/yyyy HH:MM, as people write it."""
    for d, h in (("%d", "dd"), ("%m", "mm"), ("%Y", "yyyy"), ("%y", "yy"), ("%H", "HH"), ("%M", "MM"),
                 ("%S", "SS"), ("%%", "%")):
        fmt = fmt.replace(d, h)
    return fmt


_CURRENCY = re.compile(r"[A-Z]{3}")
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,2})?", re.ASCII)


def quoted(value: str, limit: int = 40) -> str:
    """A value as an error message may show it: shortened, and never a phone number (a column mapped to
    the wrong field may hold one); a date as it is, when it can be one (06-12-34-5678 has a date's shape)."""
    value = value if shown_as_a_time(value) else phone_like(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


_A_TIME = re.compile(r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
                     r"(?:Z|[+-](\d{2}):?\d{2})?")


def looks_like_a_time(value: str) -> bool:
    """A date, maybe with its time and offset, in any of the shapes import profiles read: shown as it is in a
    message or a rejected line's fields (the blunt phone rule read 2026-11-25 as a number)."""
    return _A_TIME.fullmatch(value.strip()) is not None


def can_be_a_time(value: str) -> bool:
    """`looks_like_a_time`, and a date that can be one: a year first (4 digits, 1000 to 2999) or last (the same,
    or 2 digits), a month of 1 to 12 beside a day of 1 to 31, an offset of at most 14 hours. For a value of a
    field that is no time (a rejected line's status, agent): there a phone number written in groups would pass
    for a date (6-12-34-5678: a "-5678" offset; 44-20-7946-0958), kept as written where the phone rule masked it."""
    m = _offset_time(value)
    return m is not None and _in_range(m)


def shown_as_a_time(value: str) -> bool:
    """What a message quotes as it is: a value that `can_be_a_time`, or a date whose year comes first, its year,
    month or day out of range (2026-13-45, 9999-12-31: mistyped; no phone number is written so). `looks_like_a_time` alone let
    a phone written in groups through (06-12-34-5678: a "-5678" offset), quoted whole in a message."""
    m = _offset_time(value)
    return m is not None and (_in_range(m) or (len(m.group(1)) == 4 and m.group(1)[0] != "0" and len(m.group(3)) <= 2))


def _offset_time(value: str) -> re.Match | None:
    """`value` read by `_A_TIME`, when it reads as a time with an offset of at most 14 hours (or none)."""
    m = _A_TIME.fullmatch(value.strip())
    return None if m is None or (m.group(4) is not None and int(m.group(4)) > 14) else m


def _in_range(m: re.Match) -> bool:
    """Whether a date `_A_TIME` read can be one (see can_be_a_time)."""
    a, b, c = m.group(1, 2, 3)
    if len(a) == 4:  # year, month, day
        return a[0] in "12" and len(c) <= 2 and 1 <= int(b) <= 12 and 1 <= int(c) <= 31
    if len(a) > 2 or len(c) not in (2, 4) or (len(c) == 4 and c[0] not in "12"):
        return False
    day_month = sorted((int(a), int(b)))  # day/month or month/day, then the year
    return 1 <= day_month[0] <= 12 and 1 <= day_month[1] <= 31
