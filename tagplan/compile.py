"""Compile a plan once into what the collector and the tag use: validators, lookups, tag config.

Validators are closures per property rather than msgspec types, measured (bench/bench_plan.py): msgspec
types validate a valid event in ~0.4 us against ~2 us here, but stop at the first error in msgspec's
words, while a rejected event must list every rule it broke in the plan's words; and validation is
~10% of the ~20 us ingest spends per event, so a fast path would save little for a second validator to
keep consistent. Phone numbers dominate (phonenumbers parses in ~70-130 us).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tagplan.crosscheck import BROKER_LEVER, LEVER_CONDITION_KEYS
from tagplan.messages import rule as say
from tagplan.model import BUILTIN_EVENTS, Broker, Plan, Property
from tagplan.phone import e164

__all__ = ["LEVER_CONDITION_KEYS", "CompiledPlan", "EventSpec", "PropertySpec", "compile_plan", "tag_config"]

CLICK_IDS = ("gclid", "fbclid", "msclkid", "dclid", "ttclid", "li_fat_id")
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
            if name not in self.properties:
                out.append(f"properties.{name}: {say('undeclared')}")
        return out


@dataclass(frozen=True)
class CompiledPlan:
    plan: Plan
    events: Mapping[str, EventSpec]
    steps: Mapping[str, Mapping[str, tuple[int, EventSpec]]]
    """form id -> step id -> (1-based index, step properties)."""
    submits: Mapping[str, EventSpec]
    brokers: Mapping[str, Broker]
    identity: Mapping[str, str]
    """Phone reconciliation-key property -> default phone region."""
    origins: frozenset[str]
    pii: frozenset[str]
    """Names of properties marked pii anywhere: never stored as given."""
    tag_config: dict
    lever_rules: tuple[tuple[tuple[LeverCondition, ...], str], ...] = ()
    crm_keys: tuple[str, ...] = ()
    """CRM/quote-id reconciliation-key properties: kept as given in `properties`."""

    @functools.cached_property
    def default_region(self) -> str:
        """The region of phone numbers written without a country code: the first phone key's."""
        return next(iter(self.identity.values()), "FR")

    @functools.cached_property  # read for every event
    def version(self) -> str:
        return self.plan.version

    @functools.cached_property
    def broker_param(self) -> str | None:
        return self.plan.capture.broker.param if self.plan.capture.broker else None

    def lever(self, broker_id: str, captured: Mapping[str, str], referrer: str, page_url: str) -> str:
        """The acquisition lever of an event: the first lever rule that matches wins."""
        facts = _Facts(broker_id, captured, referrer, page_url)
        for conditions, lever in self.lever_rules:
            if all(condition(facts) for condition in conditions):
                if lever == BROKER_LEVER:
                    return self.brokers[broker_id].lever if broker_id in self.brokers else ""
                return lever
        return ""


class _Facts:
    """What one event knows about its acquisition, for the lever rules; hosts parsed when asked."""

    __slots__ = ("broker_id", "captured", "referrer", "page_url")

    def __init__(self, broker_id: str, captured: Mapping[str, str], referrer: str, page_url: str):
        self.broker_id, self.captured, self.referrer, self.page_url = broker_id, captured, referrer, page_url

    @property
    def referrer_host(self) -> str:
        return _host(self.referrer) if self.referrer else ""


LeverCondition = Callable[[_Facts], bool]


def _lever_rules(plan: Plan, brokers: Mapping[str, Broker]) -> tuple[tuple[tuple[LeverCondition, ...], str], ...]:
    """Each lever rule as its conditions, compiled once: (conditions, lever) in the plan's order."""
    if not plan.levers:
        return ()
    return tuple((tuple(_lever_condition(key, cond, brokers) for key, cond in rule.when.items()), rule.lever)
                 for rule in plan.levers.rules)


def _lever_condition(key: str, cond: str | list[str], brokers: Mapping[str, Broker]) -> LeverCondition:
    values = [cond] if isinstance(cond, str) else list(cond)
    if key == "broker_id":
        if values == ["known"]:
            return lambda f: f.broker_id in brokers
        return _present_or_in(values, lambda f: f.broker_id)
    if key == "click_id":
        return lambda f: any(f.captured.get(name) for name in values)
    if key == "referrer_domain":
        return lambda f: any(v in f.referrer_host.split(".") for v in values)
    if key == "referrer":
        kind = values[0]
        if kind == "external":
            return lambda f: bool(f.referrer_host) and f.referrer_host != _host(f.page_url)
        if kind in ("present", "absent"):
            return lambda f: bool(f.referrer_host) == (kind == "present")
        return lambda f: False
    return _present_or_in(values, lambda f: f.captured.get(key, ""))


@functools.lru_cache(maxsize=8192)  # a visitor's events repeat their page and referrer: ~4 us each saved
def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # an unbalanced "[" in the netloc
        return ""


def _present_or_in(values: list[str], value: Callable[[_Facts], str]) -> LeverCondition:
    if values == ["present"]:
        return lambda f: bool(value(f))
    if values == ["absent"]:
        return lambda f: not value(f)
    wanted = frozenset(v.lower() for v in values)
    return lambda f: value(f).lower() in wanted


def compile_plan(plan: Plan) -> CompiledPlan:
    """Build validators and lookups once per plan, never per request."""
    identity = {name: key.region for name, key in plan.identity.items() if key.type == "phone"}
    crm_keys = tuple(name for name, key in plan.identity.items() if key.type == "crm")
    default_region = next(iter(identity.values()), None)

    def spec(properties: Mapping[str, Property]) -> EventSpec:
        return EventSpec({
            name: _property_spec(name, prop, identity.get(name, default_region)) for name, prop in properties.items()
        })

    events = {name: EventSpec() for name in BUILTIN_EVENTS}
    # parcours('identify', {phone, quote_id}) carries the reconciliation keys, the phone hashed like a submit's.
    events["identify"] = spec({**{name: Property(type="phone", pii=True) for name in identity},
                               **{name: Property(type="string", max_length=128) for name in crm_keys}})
    events.update({name: spec(ev.properties) for name, ev in plan.events.items()})
    steps = {
        form_id: {s.id: (i, spec(s.properties)) for i, s in enumerate(form.steps, start=1)}
        for form_id, form in plan.forms.items()
    }
    submits = {form_id: spec(form.submit.properties) for form_id, form in plan.forms.items()}
    brokers = {b.id: b for b in plan.brokers} if isinstance(plan.brokers, list) else {}
    origins = frozenset(o.rstrip("/") for site in plan.sites for o in site.origins)
    specs = [*events.values(), *submits.values(), *(spec for form in steps.values() for _, spec in form.values())]
    pii = frozenset(n for spec in specs for n, p in spec.properties.items() if p.pii)
    return CompiledPlan(plan, events, steps, submits, brokers, identity, origins, pii, tag_config(plan),
                        _lever_rules(plan, brokers), crm_keys)


DEFAULT_KEEP_DAYS = 30


def tag_config(plan: Plan) -> dict:
    """The part of the plan the tag needs, under the short keys the tag reads (see docs/tagging-plan.md)."""
    capture = plan.capture
    keep = {capture.broker.param: capture.broker.keep_days} if capture.broker else {}
    keep.update({p.name: p.keep_days for p in capture.params})
    hosts: list[str] = []
    for site in plan.sites:
        for origin in site.origins:
            host = urlsplit(origin).hostname
            if host and host not in hosts:
                hosts.append(host)
    return {
        "v": plan.version,
        "e": "collect",
        "b": capture.broker.param if capture.broker else "",
        "d": capture.broker.keep_days if capture.broker else DEFAULT_KEEP_DAYS,
        "p": [p.name for p in capture.params],
        "k": keep,
        "c": plan.consent_mode,
        "x": plan.consent_exempt_events,
        "s": hosts,
        "f": {form_id: [s.id for s in form.steps] for form_id, form in plan.forms.items()},
    }


def _property_spec(name: str, prop: Property, region: str | None) -> PropertySpec:
    checks: list[Check] = [_TYPE_CHECKS[prop.type](prop, region)]
    if prop.max_length is not None:
        limit = prop.max_length
        checks.append(lambda v: say("max_length", n=limit) if len(v) > limit else None)
    if prop.pattern is not None:
        rx = re.compile(prop.pattern)
        checks.append(lambda v: say("pattern", pattern=rx.pattern) if not rx.search(v) else None)
    return PropertySpec(name, prop.required, prop.pii, tuple(checks))


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
        if not _is_str(v) or len(v) > 64:
            return say("phone")
        return None if e164(v, region) else say("phone")
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
