"""Rules that span several parts of the plan, checked on a plan whose shape is valid: the tagging parts here
(events, forms, properties, sites, capture, levers, brokers, consent, identity), the offline parts in
offlinecheck.py, the call centre's in callcheck.py.

Each rule returns problems with the path of the node at fault; the loader turns paths into lines (and a
broker's path `["brokers", i]` into its CSV row when the table is a CSV file). No file, no YAML here.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import phonenumbers

from tagplan.callcheck import check_call_centre
from tagplan.errors import Problem, Report, problem
from tagplan.levers import shadows
from tagplan.messages import did_you_mean
from tagplan.model import BROKER_LEVER, BUILTIN_EVENTS, CONDITION_WORDS, LEVER_CONDITION_KEYS, TEXT_TYPES, Plan, Property
from tagplan.offlinecheck import check_offline
from tagplan.pattern import PatternError, compile_pattern

READS: dict[str, tuple[tuple[str, ...], ...]] = {
    "lever_not_declared": (("levers", "names"),),
    "rule_unreachable": (("levers", "rules"),),
    "rule_shadowed": (("levers", "rules"),),
    "condition_key_unknown": (("capture",),),
    "click_id_not_captured": (("capture",),),
    "broker_lever_not_declared": (("levers", "names"),),
    "brokers_without_levers": (("levers",),),
    "consent_event_unknown": (("events",),),
    "identity_not_a_property": (("events",), ("forms",)),
    "identity_not_phone": (("events",), ("forms",)),
    "identity_not_text": (("events",), ("forms",)),
    "import_channel_not_declared": (("reconciliation", "channels"),),
    "conversion_channel_not_declared": (("reconciliation", "channels"),),
    "conversion_phone_not_identity": (("identity",),),
    "conversion_no_key": (("identity",),),
    "import_lever_not_declared": (("levers", "names"),),
    "lead_form_unknown": (("forms",),),
    "lead_step_unknown": (("forms",),),
    "lead_property_unknown": (("forms",),),
    "lead_phone_not_phone": (("forms",),),
    "lead_phone_kept": (("forms",), ("identity",)),
    "lead_consent_not_boolean": (("forms",),),
    "lead_consent_apart": (("forms",),),
    "lead_step_not_after_phone": (("forms",),),
    "call_centre_lever_not_declared": (("levers", "names"),),
}
"""The parts of the plan a rule reads besides the node it reports on, where something taken out as invalid
would make it report what the author did not write (a property whose `type` is misspelt is no phone)."""

AT_KEY = frozenset({"import_unknown_field", "conversion_unknown_field"})
"""Problems pointed at the key they are about (the misspelt field name), not at its value."""


def cross_check(plan: Plan) -> list[Problem]:
    """Every cross-part mistake of a plan, each with its path, in the order the rules run."""
    out: list[Problem] = []

    def report(parts: list[str | int], code: str, **fields: object) -> None:
        out.append(problem(parts, code, **fields))

    _events(plan, report)
    _forms(plan, report)
    for parts, prop in properties(plan):
        _property(parts, prop, report)
    _sites(plan, report)
    _capture(plan, report)
    _levers(plan, report)
    _brokers(plan, report)
    _consent(plan, report)
    _identity(plan, report)
    check_offline(plan, report)
    check_call_centre(plan, report)
    return out


def properties(plan: Plan) -> Iterator[tuple[list[str | int], Property]]:
    """Every property of the plan with its path: events, form steps and submits."""
    for e, ev in plan.events.items():
        for p, prop in ev.properties.items():
            yield ["events", e, "properties", p], prop
    for f, form in plan.forms.items():
        for i, step in enumerate(form.steps):
            for p, prop in step.properties.items():
                yield ["forms", f, "steps", i, "properties", p], prop
        for p, prop in form.submit.properties.items():
            yield ["forms", f, "submit", "properties", p], prop


def _events(plan: Plan, report: Report) -> None:
    for event in plan.events:
        if event in BUILTIN_EVENTS:
            report(["events", event], "builtin_event", event=event)


def _forms(plan: Plan, report: Report) -> None:
    owner: dict[str, str] = {}
    for form_id, form in plan.forms.items():
        seen: set[str] = set()
        for i, step in enumerate(form.steps):
            where = ["forms", form_id, "steps", i]
            if step.id in seen:
                report(where, "step_twice", form=form_id, step=step.id)
            elif step.id in owner:
                report(where, "step_shared", form=form_id, step=step.id, other=owner[step.id])
            seen.add(step.id)
            owner.setdefault(step.id, form_id)
        if form.steps[0].optional:
            report(["forms", form_id, "steps", 0, "optional"], "first_step_optional", form=form_id,
                   step=form.steps[0].id)


def _property(parts: list[str | int], prop: Property, report: Report) -> None:
    name = parts[-1]
    if prop.type == "enum":
        if not prop.values:
            report(parts, "enum_without_values", prop=name)
        else:
            seen: set[str] = set()
            for i, value in enumerate(prop.values):
                if value in seen:
                    report(parts + ["values", i], "enum_value_twice", prop=name, value=value)
                seen.add(value)
    elif prop.values is not None:
        report(parts + ["values"], "values_not_enum", prop=name, type=prop.type)
    for rule in ("max_length", "pattern"):
        if getattr(prop, rule) is not None and prop.type not in TEXT_TYPES:
            report(parts + [rule], "rule_not_for_type", prop=name, rule=rule, type=prop.type)
    if prop.pattern is not None:
        try:
            compile_pattern(prop.pattern)
        except PatternError as exc:
            report(parts + ["pattern"], "unsupported_pattern" if exc.unsupported else "invalid_pattern", prop=name,
                   reason=exc.reason)


def _sites(plan: Plan, report: Report) -> None:
    for i, site in enumerate(plan.sites):
        for j, origin in enumerate(site.origins):
            if not is_origin(origin):
                report(["sites", i, "origins", j], "bad_origin", origin=origin)


def is_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin.rstrip("/"))
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.path and not parts.query


def captured_params(plan: Plan) -> list[str]:
    """URL parameters the tag captures besides the broker's."""
    return [p.name for p in plan.capture.params]


def _capture(plan: Plan, report: Report) -> None:
    seen = {plan.capture.broker.param} if plan.capture.broker else set()
    for i, param in enumerate(plan.capture.params):
        if param.name in seen:
            report(["capture", "params", i, "name"], "param_twice", param=param.name)
        seen.add(param.name)


def _levers(plan: Plan, report: Report) -> None:
    if not plan.levers:
        return
    names = plan.levers.names
    for i, lever in enumerate(names):
        if lever in names[:i]:
            report(["levers", "names", i], "lever_twice", lever=lever)
    params = captured_params(plan)
    keys = [*LEVER_CONDITION_KEYS, *params]
    rules = plan.levers.rules
    for i, rule in enumerate(rules):
        n = i + 1
        where = ["levers", "rules", i]
        for j, earlier in enumerate(rules[:i]):
            conditions = shadows(earlier.when, rule.when)
            if conditions is None:
                continue
            if not conditions:
                report(where, "rule_unreachable", n=n, first=j + 1)
            else:
                report(where, "rule_shadowed", n=n, lever=rule.lever, first=j + 1, first_lever=earlier.lever,
                       conditions=" and ".join(conditions))
            break
        if rule.lever != BROKER_LEVER and rule.lever not in names:
            report(where + ["lever"], "lever_not_declared", lever=rule.lever, hint=did_you_mean(rule.lever, names))
        for key, cond in rule.when.items():
            values = [cond] if isinstance(cond, str) else cond
            if key not in keys:
                report(where + ["when", key], "condition_key_unknown", n=n, key=key,
                          hint=did_you_mean(key, keys), expected=", ".join(keys))
            elif key == "click_id":
                for v in values:
                    if v not in params:
                        report(where + ["when", key], "click_id_not_captured", n=n, value=v, hint=did_you_mean(v, params))
            elif key == "referrer":
                words = CONDITION_WORDS[key]
                for v in values:
                    if v not in words:
                        report(where + ["when", key], "condition_value_unknown", n=n, key=key, value=v,
                                  hint=did_you_mean(v, words), expected=", ".join(words))


def _brokers(plan: Plan, report: Report) -> None:
    brokers = plan.brokers if isinstance(plan.brokers, list) else []
    if brokers and not plan.levers:
        report(["brokers"], "brokers_without_levers")
        return
    names = plan.levers.names if plan.levers else []
    seen: set[str] = set()
    for i, broker in enumerate(brokers):
        if broker.id in seen:
            report(["brokers", i], "broker_twice", broker=broker.id)
        seen.add(broker.id)
        if broker.lever not in names:
            report(["brokers", i], "broker_lever_not_declared", broker=broker.id, lever=broker.lever,
                             hint=did_you_mean(broker.lever, names))


def _consent(plan: Plan, report: Report) -> None:
    if isinstance(plan.consent, str):
        return
    if plan.consent.exempt_events and plan.consent.mode != "required":
        report(["consent", "exempt_events"], "consent_events_without_required")
    known = [*BUILTIN_EVENTS, *plan.events]
    for i, event in enumerate(plan.consent.exempt_events):
        if event not in known:
            report(["consent", "exempt_events", i], "consent_event_unknown", event=event, hint=did_you_mean(event, known))


def _identity(plan: Plan, report: Report) -> None:
    types: dict[str, list[str]] = {}
    for parts, prop in properties(plan):
        types.setdefault(str(parts[-1]), []).append(prop.type)
    for key, spec in plan.identity.items():
        wanted = "phone" if spec.type == "phone" else "string"
        if key not in types:
            report(["identity", key], "identity_not_a_property", key=key, hint=did_you_mean(key, types))
        elif any(t != wanted for t in types[key]):
            report(["identity", key], "identity_not_phone" if spec.type == "phone" else "identity_not_text",
                   key=key, type=next(t for t in types[key] if t != wanted))
        if spec.type == "phone" and spec.region not in phonenumbers.SUPPORTED_REGIONS:
            report(["identity", key, "region"], "identity_bad_region", key=key, region=spec.region,
                   hint=did_you_mean(spec.region.upper(), sorted(phonenumbers.SUPPORTED_REGIONS)))
