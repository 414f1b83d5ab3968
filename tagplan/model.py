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
    label: str = ""
    """Its name as the dashboard shows it (a breakdown: "Variante du formulaire"); its id made readable when
    none."""
    description: str = ""
    required: bool = False
    max_length: Annotated[int, Meta(ge=1)] | None = None
    pattern: str | None = None
    values: list[str] | None = None
    pii: bool = False


class Conversion(Base, kw_only=True):
    """The event is a sale: each one is also stored as a conversion, exactly as an imported sales line
    (docs/reconciliation.md). Its time is the event's."""

    fields: dict[str, Name] = {}
    """Conversion field (conversion_id, premium, phone, crm_id…) -> the event's property giving it. A field
    not listed comes from the property of the same name when the event has one; crm_id and phone from the
    event's identity keys."""
    channel: Name | None = None
    """The channel of these sales when no property gives one (one of reconciliation.channels)."""


class Event(Base, kw_only=True):
    description: str = ""
    properties: dict[Name, Property] = {}
    conversion: Conversion | None = None


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
    markup: bool = False
    """The page marks the form up with data-parcours-* attributes instead of calling parcours('step'): the
    tag then carries the declarative helper (docs/tag.md), an add-on other sites do not download."""


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


IdentityType = Literal["phone", "crm"]


class IdentityKey(Base, kw_only=True):
    type: IdentityType = "phone"
    """phone: a phone number, stored as its keyed hash; crm: a CRM or quote id, stored as given."""
    region: str = "FR"
    """Phone keys: region of numbers written without a country code (checked against the regions phone
    numbers know)."""


class Reconciliation(Base, kw_only=True):
    """How offline sales are read and joined to journeys (docs/reconciliation.md)."""

    time_zone: str = "UTC"
    """Time zone of sale times written without an offset."""
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] = "EUR"
    """Currency of an amount that names none."""
    channels: list[Name] = msgspec.field(default_factory=lambda: ["shop", "call_centre", "web"])
    """Sales channels a conversion may name."""
    lookback_days: Annotated[int, Meta(ge=1, le=3650)] = 90
    """How long before a sale an online journey still counts for it (the match report)."""
    max_visitors_per_key: Annotated[int, Meta(ge=1)] = 20
    """A phone or CRM id left by more visitors than this (a shop's own number) is left out of persons."""
    max_phones_per_visitor: Annotated[int, Meta(ge=1)] = 10
    """A browser that left more phones than this (a shop's shared computer) is left out of persons."""


IMPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "conversions": ("conversion_id", "ts", "channel", "broker_id", "adviser", "shop", "product", "premium",
                    "currency", "phone", "crm_id", "ad_consent", "status", "cancelled_at"),
    "cancellations": ("conversion_id", "cancelled_at"),
    "costs": ("day", "lever", "campaign", "amount", "currency"),
    "brokers": ("broker_id", "name", "lever", "shop", "network"),
    "calls": ("call_id", "start", "answer", "end", "caller", "dialled", "duration", "billsec", "disposition",
              "agent"),
}
"""The canonical fields of each import, the names of its file format without a profile."""

CONVERSION_FIELDS = tuple(f for f in IMPORT_FIELDS["conversions"] if f not in ("ts", "status", "cancelled_at"))
"""The fields an event's properties may give a conversion: all but its time, which is the event's, and its
status: a sale recorded as an event is signed (a file cancels it)."""

SALE_STATUSES = ("signed", "cancelled")
"""A sale's status (conversions.status): a cancelled one (withdrawn, cancelled) is no sale in the reports."""

IMPORT_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "conversions": (("conversion_id",), ("ts",), ("phone", "crm_id")),
    "cancellations": (("conversion_id",), ("cancelled_at",)),
    "costs": (("day",), ("lever",), ("amount",)),
    "brokers": (("broker_id",), ("name",), ("lever",)),
    "calls": (("call_id",), ("start",), ("dialled",)),
}
"""Fields a line must have; a tuple of several: at least one of them."""


class ImportProfile(Base, kw_only=True):
    """How to read one kind of partner file as it is (docs/reconciliation.md, import profiles)."""

    into: Literal["conversions", "cancellations", "costs", "brokers", "calls"] = "conversions"
    format: Literal["csv", "json", "jsonl"] = "csv"
    encoding: str = "utf-8"
    """A byte-order mark is skipped whatever the encoding."""
    delimiter: str | None = None
    """CSV: the field separator (default ",")."""
    header: bool | None = None
    """CSV: the first line (after skip_lines) names the columns (default true); without it, fields give
    column numbers."""
    skip_lines: Annotated[int, Meta(ge=0)] | None = None
    """CSV: lines before the header (a title, an export date); default 0."""
    decimal: Literal[".", ","] = "."
    thousands: str = ""
    """Thousands separator of amounts; a space also matches the no-break spaces spreadsheets write."""
    date_format: str = "iso"
    """iso (ISO 8601), or a pattern such as %d/%m/%Y %H:%M."""
    time_zone: str | None = None
    """Time zone of times written without an offset; default: reconciliation.time_zone."""
    records: str = ""
    """JSON: dotted path of the array of records inside the document (empty: the document is the array)."""
    fields: dict[str, str | int] = {}
    """Canonical field -> CSV column name, CSV column number (1 = first), or JSON dotted path."""
    defaults: dict[str, str] = {}
    """Canonical field -> value used when the file has no such column or the cell is empty."""
    status_values: dict[str, Literal["signed", "cancelled", "reinstated"]] = {}
    """Conversions: the file's words for a sale's status -> signed, cancelled or reinstated (case and accents
    aside); the canonical words (signed, cancelled, reinstated) are always read."""

    @property
    def csv_delimiter(self) -> str:
        return "," if self.delimiter is None else self.delimiter

    @property
    def has_header(self) -> bool:
        return self.header is not False


Wait = Literal["D", "D+1"]


class LeadRule(Base, kw_only=True):
    """Who is a call-back lead on one form, and the proof of their consent (docs/call-centre.md)."""

    from_step: Name
    """A visitor who abandons the form at this step or a later one is a lead."""
    phone: Name
    """The step property carrying the phone number to call back."""
    consent: Name
    """The boolean step property, sent with the phone, true when the visitor ticked the call-back box."""
    wording: Annotated[str, Meta(min_length=1, max_length=128)]
    """Version of the checkbox's wording, kept with each consent as part of its proof."""
    wait: Wait = "D+1"
    """How long a lead may wait: called back the same day (D) or by the end of the next day (D+1)."""
    retention_days: Annotated[int, Meta(ge=1, le=365)] = 30
    """How long the phone is kept (encrypted) after the consent was given; then it is deleted."""
    quiet_minutes: Annotated[int, Meta(ge=0, le=1440)] = 10
    """How long after abandoning without coming back a visitor becomes a lead (a tab hidden, then reopened,
    sends an abandon too)."""


class Numbers(Base, kw_only=True):
    """Tracking phone numbers leased one per visitor session (docs/call-centre.md, sizing the pool)."""

    default: str
    """The number the pages show when no tracking number is leased (pool exhausted, visitor declined)."""
    pool: Annotated[list[str], Meta(min_length=1)]
    """The tracking numbers, each leased to one session at a time."""
    hold_minutes: Annotated[int, Meta(ge=1, le=1440)] = 30
    """A lease ends this long after its page was last seen visible (the tag's session timeout)."""
    grace_minutes: Annotated[int, Meta(ge=0, le=1440)] = 30
    """After a lease ends, calls to its number still count for its session; it is not leased again before."""


class CallCentre(Base, kw_only=True):
    """The bridges between the web and the phone: call-back leads and tracking numbers."""

    leads: dict[Name, LeadRule] = {}
    """Form id -> its lead rule."""
    numbers: Numbers | None = None
    lever: str = ""
    """The lever of phone touches no tracking number ties to a campaign (a call matched by the caller's phone
    only, a call-back): one of levers.names; empty: "direct"."""


ConsentMode = Literal["exempt", "required"]


class Consent(Base, kw_only=True):
    mode: ConsentMode
    exempt_events: list[Name] = []
    """Events the tag may send before consent in required mode (e.g. a cookieless page_view)."""


class Redact(Base, kw_only=True):
    params: list[Annotated[str, Meta(min_length=1)]] = []
    """URL query parameters whose values are personal data (email, tel…): removed from page and referrer URLs
    before they are stored, as GA4's data redaction does; phone numbers and e-mail addresses in any free text
    are removed whatever this lists."""


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
    reconciliation: Reconciliation = msgspec.field(default_factory=Reconciliation)
    imports: dict[Name, ImportProfile] = {}
    call_centre: CallCentre = msgspec.field(default_factory=CallCentre)
    redact: Redact = msgspec.field(default_factory=Redact)

    @property
    def consent_mode(self) -> str:
        return self.consent if isinstance(self.consent, str) else self.consent.mode

    @property
    def consent_exempt_events(self) -> list[str]:
        return [] if isinstance(self.consent, str) else list(self.consent.exempt_events)
