"""Property validators, compiled once per plan: each property's rules as small closures.

Closures rather than msgspec types, measured (bench/bench_plan.py): msgspec types validate a valid event in
~0.4 us against ~2 us here, but stop at the first error in msgspec's words, while a rejected event must list
every rule it broke in the plan's words; and validation is ~10% of the ~20 us ingest spends per event, so a
fast path would save little for a second validator to keep consistent. Phone numbers dominate
(phonenumbers parses in ~70-130 us).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tagplan.messages import phone_rule
from tagplan.messages import rule as say
from tagplan.model import Property
from tagplan.pattern import compile_pattern
from tagplan.phone import e164, invalid_reason

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$", re.ASCII)

Check = Callable[[object], str | None]
"""A compiled property rule: returns what is wrong with a value, or None."""


@dataclass(frozen=True)
class PropertySpec:
    name: str
    required: bool
    pii: bool
    checks: tuple[Check, ...]
    type: str = "string"
    """The plan's type (integer, number, boolean, string, …): how a value given as text is read (the pixel)."""

    def problems(self, value: object) -> list[str]:
        out = []
        for check in self.checks:
            problem = check(value)
            if problem:
                out.append(problem)
                break  # later rules assume the type is right
        return out


@dataclass(frozen=True)
class EventSpec:
    properties: Mapping[str, PropertySpec] = field(default_factory=dict)

    def problems(self, props: Mapping[str, object]) -> list[str]:
        """Every rule the properties break, as 'properties.NAME: rule'."""
        out = []
        for name, spec in self.properties.items():
            if name not in props or props[name] is None or props[name] == "":
                if spec.required:
                    out.append(f"properties.{name}: {say('required')}")
                continue
            out += [f"properties.{name}: {p}" for p in spec.problems(props[name])]
        for name in props:
            if name not in self.properties:  # a sender's name, quoted shortened: it lands in a column analysts read
                out.append(f"properties.{name if len(name) <= 64 else _shortened(name)}: {say('undeclared')}")
        return out


_UNREADABLE_TAIL = re.compile(r"[\W\d_]+\Z")


def _shortened(name: str) -> str:
    """A long name cut for a reason, without the digits and separators it ends in at the cut: the reason is
    redacted later (collector/redact.py), and a phone number across the cut, its last digit gone, would no
    longer read as one there (06 93 11 52 8)."""
    return _UNREADABLE_TAIL.sub("", name[:63]) + "…"


def property_spec(name: str, prop: Property, region: str | None) -> PropertySpec:
    """The compiled rules of one property; `region` reads phone numbers written without +country."""
    checks: list[Check] = [_TYPE_CHECKS[prop.type](prop, region)]
    if prop.max_length is not None:
        limit = prop.max_length
        checks.append(lambda v: say("max_length", n=limit) if len(v) > limit else None)
    if prop.pattern is not None:
        rx = compile_pattern(prop.pattern)  # RE2: linear in the value, where `re` could take minutes
        checks.append(lambda v: say("pattern", pattern=rx.pattern) if not rx.search(v) else None)
    return PropertySpec(name, prop.required, prop.pii, tuple(checks), prop.type)


def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _string(prop: Property, region: str | None) -> Check:
    return lambda v: None if _is_str(v) else say("string", got=_kind(v))


def _integer(prop: Property, region: str | None) -> Check:
    return lambda v: None if isinstance(v, int) and not isinstance(v, bool) else say("integer", got=_kind(v))


def _number(prop: Property, region: str | None) -> Check:
    def check(v: object) -> str | None:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return None
        return say("number", got=_kind(v))
    return check


def _boolean(prop: Property, region: str | None) -> Check:
    return lambda v: None if isinstance(v, bool) else say("boolean", got=_kind(v))


def _enum(prop: Property, region: str | None) -> Check:
    allowed = frozenset(prop.values or ())
    message = say("enum", values=", ".join(prop.values or ()))
    return lambda v: None if isinstance(v, str) and v in allowed else message


def _url(prop: Property, region: str | None) -> Check:
    def check(v: object) -> str | None:
        if _is_str(v):
            try:
                parts = urlsplit(v)
            except ValueError:
                return say("url")
            if parts.scheme in ("http", "https") and parts.netloc:
                return None
        return say("url")
    return check


def _email(prop: Property, region: str | None) -> Check:
    return lambda v: None if _is_str(v) and _EMAIL.match(v) else say("email")


def _phone(prop: Property, region: str | None) -> Check:
    def check(v: object) -> str | None:
        if not _is_str(v):
            return phone_rule(region, "not_text", got=_kind(v))
        if len(v) > 64:
            return phone_rule(region, "too_long")
        if e164(v, region):
            return None
        reason, country = invalid_reason(v, region)
        return phone_rule(region, reason, country=country)
    return check


def _date(prop: Property, region: str | None) -> Check:
    def check(v: object) -> str | None:
        if _is_str(v) and _DATE.match(v):
            try:
                dt.date.fromisoformat(v)
                return None
            except ValueError:
                pass
        return say("date")
    return check


def _datetime(prop: Property, region: str | None) -> Check:
    def check(v: object) -> str | None:
        if _is_str(v) and _DATETIME.match(v):
            try:
                dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
                return None
            except ValueError:
                pass
        return say("datetime")
    return check


_TYPE_CHECKS: dict[str, Callable[[Property, str | None], Check]] = {
    "string": _string, "integer": _integer, "number": _number, "boolean": _boolean, "enum": _enum,
    "url": _url, "email": _email, "phone": _phone, "date": _date, "datetime": _datetime,
}


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return "a value"
