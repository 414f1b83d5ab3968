"""The plan file format, as msgspec structs: one struct per YAML mapping."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class Base(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


Name = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""Event, property, form and step names: lower snake case, as ClickHouse columns are."""

PropertyType = Literal[
    "string", "integer", "number", "boolean", "enum", "url", "email", "phone", "date", "datetime"
]

BUILTIN_EVENTS = ("page_view", "form_step", "form_submit", "form_abandon", "touch", "identify")
"""Events the tag sends by itself; a plan declares only its custom events. `touch`: a landing with
campaign or broker parameters (in `captured`); `identify`: the plan's identity keys (the phone)."""


TEXT_TYPES = ("string", "url", "email")
"""Types whose values max_length and pattern apply to."""


class Property(Base, kw_only=True):
    type: PropertyType = "string"
    description: str = ""
    required: bool = False
    max_length: Annotated[int, Meta(ge=1)] | None = None
    pattern: str | None = None
    values: list[str] | None = None
    pii: bool = False


class Event(Base, kw_only=True):
    description: str = ""
    properties: dict[Name, Property] = {}


class Step(Base, kw_only=True):
    id: Name
    label: str = ""
    optional: bool = False
    """Funnels count the later steps without requiring this one (a step some visitors skip)."""
    properties: dict[Name, Property] = {}


class Submit(Base, kw_only=True):
    properties: dict[Name, Property] = {}


class Form(Base, kw_only=True):
    label: str = ""
    steps: Annotated[list[Step], Meta(min_length=1)]
    submit: Submit = msgspec.field(default_factory=Submit)


class Site(Base, kw_only=True):
    name: str
    origins: list[str] = []


DEFAULT_KEEP_DAYS = 30
"""How long the tag keeps a captured parameter the plan gives no keep_days (the broker's default)."""


class Param(Base, kw_only=True):
    name: str
    keep_days: Annotated[int, Meta(ge=0, le=395)] = DEFAULT_KEEP_DAYS


class BrokerParam(Base, kw_only=True):
    param: str
    keep_days: Annotated[int, Meta(ge=0, le=395)] = DEFAULT_KEEP_DAYS


class Capture(Base, kw_only=True):
    broker: BrokerParam | None = None
    params: list[Param] = []


class Broker(Base, kw_only=True):
    id: Annotated[str, Meta(min_length=1)]
    name: str
    lever: str


Condition = str | list[str]

LEVER_CONDITION_KEYS = ("broker_id", "click_id", "referrer_domain", "referrer")
"""Condition keys of lever rules besides the names of captured URL parameters."""

CONDITION_WORDS = {"broker_id": ("known", "present", "absent"), "referrer": ("external", "present", "absent")}
"""The words a condition accepts instead of a list of values."""

BROKER_LEVER = "broker_lever"
"""The lever a rule gives as "the lever the broker table gives this broker"."""


class LeverRule(Base, kw_only=True):
    lever: str
    when: dict[str, Condition] = {}


class Levers(Base, kw_only=True):
    names: list[str]
    rules: list[LeverRule] = []


class IdentityKey(Base, kw_only=True):
    region: str = "FR"
    """Region of numbers written without a country code (checked against the regions phone numbers know)."""


ConsentMode = Literal["exempt", "required"]


class Consent(Base, kw_only=True):
    mode: ConsentMode
    exempt_events: list[Name] = []
    """Events the tag may send before consent in required mode (e.g. a cookieless page_view)."""


class Plan(Base, kw_only=True):
    version: str
    sites: list[Site] = []
    consent: ConsentMode | Consent = "exempt"
    capture: Capture = msgspec.field(default_factory=Capture)
    events: dict[Name, Event] = {}
    forms: dict[Name, Form] = {}
    brokers: list[Broker] | str = []
    levers: Levers | None = None
    identity: dict[Name, IdentityKey] = {}

    @property
    def consent_mode(self) -> str:
        return self.consent if isinstance(self.consent, str) else self.consent.mode

    @property
    def consent_exempt_events(self) -> list[str]:
        return [] if isinstance(self.consent, str) else list(self.consent.exempt_events)
