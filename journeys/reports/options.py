"""Report options as people give them (CLI flags, query string): parsed and checked once, in one place."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from collector.since import EPOCH, FORMS, BadTime, parse_since, utc
from collector.useragent import DEVICES
from journeys.reports.base import ReportError, said

MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "markov")
"""The attribution models, in the order reports list them."""
BREAKDOWNS = ("lever", "campaign", "broker", "device")
"""Breakdowns every report with `by` knows; any property declared in the plan is one too."""
FORMATS = ("table", "csv", "excel", "json")
DEFAULT_DAYS = 30
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
"""The latest end of a period: reports count days with ClickHouse's Date, which ends in 2149 (a later day wraps
round to 1970, and a series of days from there would never end)."""
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|h|d|w)?$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800, None: 86400}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

FILTERS = ("lever", "campaign", "broker", "device")
"""Filters every report of a period takes (docs/analysts.md, Filters): the touches (visits) whose own landing
has this lever, utm_campaign, broker id or device type, and the conversions with such a touch."""
MAX_VALUE = 32_768
"""The longest filter or key value taken: an event's limit (collector/ingest.py MAX_EVENT), so every stored value."""
COMMON = ("from", "to", "compare", "format")
KNOWN = ("form", "model", "by", "window", "lookback", "half_life", "offline_touch", "interval", "goal", "limit",
         "quote_id", "phone_key", *FILTERS)


@dataclass(frozen=True)
class Options:
    """Every option a report may take, with its default; a report reads the ones it declares."""

    start: dt.datetime
    """`from`: first instant of the period (UTC, included)."""
    end: dt.datetime
    """`to`: end of the period (UTC, excluded)."""
    form: str = ""
    model: str = ""
    by: str = ""
    window: int = 86400
    """Funnel window in seconds (1 day)."""
    lookback: int = 0
    """Touches counted before a conversion, in seconds; 0: the plan's reconciliation.lookback_days."""
    half_life: int = 7 * 86400
    """Time-decay half-life in seconds (7 days)."""
    offline_touch: bool = True
    interval: str = ""
    compare: bool = False
    goal: str = "sale"
    limit: int | None = 20
    quote_id: str = ""
    phone_key: str = ""
    """A phone's keyed hash (never the number: the API hashes a number sent in a POST body)."""
    lever: str = ""
    campaign: str = ""
    broker: str = ""
    device: str = ""
    shift: dt.timedelta = dt.timedelta(0)
    """Not an option: in the previous period of a compared report, its length (Options.previous), by which a
    series moves each time before putting it in its day or week (overview.sql's shift_ms)."""

    @property
    def filters(self) -> dict[str, str]:
        """The filters as the SQL files' parameters ('' when not given)."""
        return {"lever": self.lever, "campaign": self.campaign, "broker": self.broker, "device": self.device}

    @property
    def filtered(self) -> bool:
        return any(self.filters.values())

    @property
    def previous(self) -> Options:
        """The same options over the period of the same length just before, every row of it (no `limit`): a
        row of this period's first `limit` is set beside its own figures then, even when it was not among
        that period's first. A series of it is cut into the days (weeks) of this period moved back by its
        length: each is beside the same span of time, where the i-th week of a period beginning on a Wednesday
        was beside the i-th Monday week of one beginning on a Sunday (one day beside five)."""
        length = self.end - self.start
        return _replace(self, start=self.start - length, end=self.start, compare=False, limit=None, shift=length)


def _replace(options: Options, **changes) -> Options:
    from dataclasses import replace
    return replace(options, **changes)


def parse(raw: Mapping[str, str | None], accepted: frozenset[str], name: str,
          defaults: Mapping[str, str] | None = None, now: dt.datetime | None = None, compares: bool = True) -> Options:
    """Options from strings; every mistake says which option and what it accepts (`compare` only where the
    report compares periods)."""
    given = {k: v for k, v in raw.items() if v is not None and v != ""}
    listed = _listed(accepted, compares)
    for key in given:
        if key not in COMMON and key not in KNOWN:
            raise ReportError(f'unknown option "{said(key)}"; {name} takes: {", ".join(listed)}',
                              error_code="option_unknown", option=said(key), report=name, accepted=listed)
        if key in KNOWN and key not in accepted:
            raise ReportError(f'{name} does not take "{key}"; it takes: {", ".join(listed)}',
                              error_code="option_not_taken", option=key, report=name, accepted=listed)
    values = {**(defaults or {}), **given}
    now = now or dt.datetime.now(dt.timezone.utc)
    end = _when("to", values["to"], now) if "to" in values else now
    start = _when("from", values["from"], now) if "from" in values else max(end - dt.timedelta(days=DEFAULT_DAYS), EPOCH)
    if start >= end:
        raise ReportError(f"from ({_iso(start)}) must be before to ({_iso(end)})",
                          error_code="period_order", **{"from": _iso(start), "to": _iso(end)})
    if end > LATEST:
        raise ReportError(f"to ({_iso(end)}) must be {_iso(LATEST)} or before",
                          error_code="period_too_late", to=_iso(end), latest=_iso(LATEST))
    out: dict = {"start": start, "end": end}
    if "form" in values:
        out["form"] = values["form"]
    if "model" in values:
        out["model"] = _choice("model", values["model"], (*MODELS, "all"))
    if "by" in values:
        out["by"] = values["by"]
    for key in ("window", "lookback", "half_life"):
        if key in values:
            out[key] = _duration(key, values[key])
    if "offline_touch" in values:
        out["offline_touch"] = _flag("offline_touch", values["offline_touch"])
    if "compare" in values:
        out["compare"] = _flag("compare", values["compare"])
        if out["compare"] and start - (end - start) < EPOCH:
            raise ReportError(f"compare: the previous period, as long as this one, would begin before {_iso(EPOCH)}; "
                              "choose a shorter period, or leave compare out", error_code="compare_too_early",
                              earliest=_iso(EPOCH))
    if "interval" in values:
        out["interval"] = _choice("interval", values["interval"], ("day", "week"))
    if "goal" in values:
        out["goal"] = _choice("goal", values["goal"], ("sale", "lead"))
    for key in ("quote_id", "phone_key", *FILTERS):
        if key in values:
            # Whole: cut, a long campaign name matched nothing (the stored ones are not cut).
            if len(values[key]) > MAX_VALUE:
                raise ReportError(f"{key}: longer than {MAX_VALUE} characters", error_code="value_too_long",
                                  option=key, limit=MAX_VALUE)
            out[key] = values[key]
    if "device" in values:
        _choice("device", values["device"], DEVICES)  # a closed list: a mistyped one found nothing, silently
    if "limit" in values:
        text = values["limit"]
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 10_000:  # '²' is a digit to isdigit
            raise ReportError(f'limit: "{said(text)}" is not a whole number from 1 to 10000',
                              error_code="limit_invalid", option="limit", value=said(text))
        out["limit"] = int(text)
    return Options(**out)


def _when(key: str, text: str, now: dt.datetime) -> dt.datetime:
    """A bound of the period; a date or time outside what reports count (1970 to LATEST) is refused as written,
    not moved to the nearest one (a series of days from 1900 was 56 years of days from 1970)."""
    try:
        when = _millisecond(parse_since(text, now))
    except BadTime:  # its message quotes the text as typed: a phone number in it, shown and logged
        raise ReportError(f'{key}: "{said(text.strip())}" is not a time: use {FORMS}', error_code="time_invalid",
                          option=key, value=said(text)) from None
    try:
        typed = utc(dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        return when  # a duration ago: one longer than the data is from the beginning
    if not EPOCH <= typed <= LATEST:
        raise ReportError(f'{key}: "{said(text)}" is out of range: a period lies between {_iso(EPOCH)} and '
                          f"{_iso(LATEST)}", error_code="time_out_of_range", option=key, value=said(text),
                          earliest=_iso(EPOCH), latest=_iso(LATEST))
    return when


def _millisecond(when: dt.datetime) -> dt.datetime:
    """The instant as the reports' SQL reads it (DateTime64(3)): a period within one millisecond
    (`2026-10-01T00:00:00.0001` to `.0009`) is refused as empty, where it ran as from = to and answered nothing,
    not even the overview's line."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def _listed(accepted: frozenset[str], compares: bool = True) -> list[str]:
    return ["from", "to", *[k for k in KNOWN if k in accepted], *(["compare"] if compares else []), "format"]


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ReportError(f'{key}: "{said(value)}" is not known; use one of: {", ".join(allowed)}',
                          error_code="choice_unknown", option=key, value=said(value), allowed=list(allowed))
    return value


def _flag(key: str, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ReportError(f'{key}: "{said(value)}" is not true or false', error_code="flag_invalid", option=key,
                      value=said(value))


def _duration(key: str, value: str) -> int:
    """Seconds from "30m", "12h", "7d", "2w", or a bare number of days."""
    match = _DURATION.match(value.strip().lower())
    seconds = float(match.group(1)) * _SECONDS[match.group(2)] if match else 0
    if not match or seconds < 60 or seconds > 400 * 86400:
        raise ReportError(f'{key}: "{said(value)}" is not a duration from 1 minute to 400 days '
                          "(e.g. 90m, 12h, 7d, 2w; a bare number counts days)", error_code="duration_invalid",
                          option=key, value=said(value))
    return int(seconds)


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
