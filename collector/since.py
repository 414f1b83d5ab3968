"""Points in time: those given by people (`--since 7d`, `since=2026-11-20`, `since=2026-11-20T08:00`),
and the UTC helpers for the times ClickHouse returns."""

from __future__ import annotations

import datetime as dt
import re

from collector.errors import BadParameter

_AGO = re.compile(r"^(\d{1,18})\s*(m|h|d|w)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_LAST = dt.datetime(2299, 12, 31, tzinfo=dt.timezone.utc)  # DateTime64's range: what ClickHouse can compare
FORMS = "a duration ago (90m, 24h, 7d, 2w), a date (2026-11-20) or a UTC datetime (2026-11-20T08:00)"
"""The accepted forms, as the help of an option says them."""


class BadTime(BadParameter, ValueError):
    """Not a time parcours understands; the message gives the accepted forms."""


def parse_since(text: str | None, now: dt.datetime | None = None) -> dt.datetime:
    """A UTC datetime from an ISO date or datetime, or a duration ago; empty means the beginning."""
    now = now or dt.datetime.now(dt.timezone.utc)
    text = (text or "").strip()
    if not text:
        return EPOCH
    ago = _AGO.match(text.lower())
    if ago:
        try:
            return max(now - dt.timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))}), EPOCH)
        except OverflowError:
            return EPOCH
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadTime(f'"{text[:64]}" is not a time: use {FORMS}') from None
    return min(max(utc(when), EPOCH), _LAST)


def utc(value: dt.datetime) -> dt.datetime:
    """A datetime in UTC; a naive one (as ClickHouse returns DateTime64(3, 'UTC')) is taken as UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def naive_utc(value: dt.datetime) -> dt.datetime:
    """A UTC time without its tzinfo, as ClickHouse returns DateTime64(3, 'UTC') (clickhouse-connect gives either,
    by column type): what the rows that compare times with it hold."""
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo is not None else value


def epoch_seconds(value: dt.datetime) -> float:
    """Seconds since 1970 to the millisecond, as a row inserted as JSON gives a DateTime64(3); naive is UTC."""
    return round((utc(value) - EPOCH).total_seconds(), 3)
