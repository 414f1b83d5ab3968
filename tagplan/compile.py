"""Compile a plan once into what the collector and the tag use: validators, lookups, lever rules, tag config.

Each concept has its module (`validators`, `levers`, `tagconfig`); this one puts them together per plan.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from tagplan.conversions import ConversionMap, conversion_maps
from tagplan.levers import LeverRules, compile_levers
from tagplan.model import BUILTIN_EVENTS, Broker, Plan, Property
from tagplan.tagconfig import tag_config
from tagplan.validators import EventSpec, PropertySpec, property_spec

__all__ = ["CompiledPlan", "EventSpec", "LeadStep", "PropertySpec", "compile_plan", "tag_config"]


@dataclass(frozen=True)
class LeadStep:
    """A form step whose phone a ticked call-back box lets the collector keep, sealed (call_centre.leads)."""

    form_id: str
    step: str
    phone: str
    consent: str
    region: str
    wording: str
    retention_days: int


@dataclass(frozen=True)
class CompiledPlan:
    plan: Plan
    events: Mapping[str, EventSpec]
    steps: Mapping[str, Mapping[str, tuple[int, EventSpec]]]
    """form id -> step id -> (1-based index, step properties)."""
    submits: Mapping[str, EventSpec]
    brokers: Mapping[str, Broker]
    identity: Mapping[str, str]
    """Phone identity-key property -> default phone region."""
    origins: frozenset[str]
    pii: frozenset[str]
    """Names of properties marked pii anywhere: never stored as given."""
    tag_config: dict
    levers: LeverRules
    crm_keys: tuple[str, ...] = ()
    """CRM/quote-id identity-key properties: kept as given in `properties`."""
    conversions: Mapping[str, ConversionMap] = field(default_factory=dict)
    """Events the plan marks as conversions -> which properties give their sale's fields."""

    @functools.cached_property
    def default_region(self) -> str:
        """The region of phone numbers written without a country code: the first phone key's."""
        return next(iter(self.identity.values()), "FR")

    @functools.cached_property
    def redacted_params(self) -> frozenset[str]:
        """URL query parameters removed from every stored URL (`redact.params`), lowercase."""
        return frozenset(name.lower() for name in self.plan.redact.params)

    @functools.cached_property  # read for every event
    def version(self) -> str:
        return self.plan.version

    @functools.cached_property
    def broker_param(self) -> str | None:
        return self.plan.capture.broker.param if self.plan.capture.broker else None

    def id_properties(self, event: str) -> frozenset[str]:
        """The properties of `event` that name a person or a sale: the plan's CRM/quote keys, and a conversion
        event's conversion_id and crm_id (a phone number in them is written as its keyed hash, not [phone])."""
        ids = self._id_properties.get(event)
        return ids if ids is not None else frozenset(self.crm_keys)

    @functools.cached_property
    def _id_properties(self) -> Mapping[str, frozenset[str]]:
        return {name: frozenset(self.crm_keys) | {m.fields[f] for f in ("conversion_id", "crm_id") if f in m.fields}
                for name, m in self.conversions.items()}

    @functools.cached_property
    def _broker_ids(self) -> Mapping[str, str]:
        return {b.casefold(): b for b in self.brokers}

    def broker_id(self, raw: str) -> str:
        """A broker id as a landing's URL carries it, as the broker table writes it: `b042` and ` B042 ` are
        B042 (typed by hand in a campaign's links); an id the table does not know, stripped."""
        raw = raw.strip()
        return self._broker_ids.get(raw.casefold(), raw)

    @functools.cached_property
    def captured_params(self) -> frozenset[str]:
        """The URL parameters captured on landing: the broker's and capture.params."""
        return frozenset([self.broker_param] if self.broker_param else []) | {p.name for p in self.plan.capture.params}

    @functools.cached_property
    def lead_steps(self) -> Mapping[tuple[str, str], LeadStep]:
        """(form id, step id) -> the lead rule of the step that asks the phone and the call-back box."""
        out = {}
        for form_id, rule in self.plan.call_centre.leads.items():
            form = self.plan.forms.get(form_id)
            step = next((s for s in form.steps if rule.phone in s.properties), None) if form else None
            if step is not None:
                out[form_id, step.id] = LeadStep(form_id, step.id, rule.phone, rule.consent,
                                                 self.identity.get(rule.phone, self.default_region), rule.wording,
                                                 rule.retention_days)
        return out

    def lever(self, broker_id: str, captured: Mapping[str, str], referrer: str, page_url: str) -> str:
        """The acquisition lever of an event: the first lever rule that matches wins."""
        return self.levers.lever(broker_id, captured, referrer, page_url)


def compile_plan(plan: Plan) -> CompiledPlan:
    """Build validators and lookups once per plan, never per request."""
    identity = {name: key.region for name, key in plan.identity.items() if key.type == "phone"}
    crm_keys = tuple(name for name, key in plan.identity.items() if key.type == "crm")
    default_region = next(iter(identity.values()), None)

    def spec(properties: Mapping[str, Property]) -> EventSpec:
        return EventSpec({
            name: property_spec(name, prop, identity.get(name, default_region)) for name, prop in properties.items()
        })

    events = {name: EventSpec() for name in BUILTIN_EVENTS}
    # parcours('identify', {phone, quote_id}) carries the identity keys, the phone hashed like a submit's.
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
                        compile_levers(plan, brokers), crm_keys, conversion_maps(plan))
