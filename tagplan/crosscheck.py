"""Rules that span several parts of the plan, checked on a plan whose shape is valid.

Each rule returns problems with the path of the node at fault; the loader turns paths into lines (and a
broker's path `["brokers", i]` into its CSV row when the table is a CSV file). No file, no YAML here.
"""

from __future__ import annotations

import codecs
import re
import zoneinfo
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import phonenumbers

from tagplan.errors import Problem, problem
from tagplan.messages import did_you_mean
from tagplan.conversions import conversion_map
from tagplan.model import (BROKER_LEVER, BUILTIN_EVENTS, CONDITION_WORDS, CONVERSION_FIELDS, IMPORT_FIELDS,
                           IMPORT_REQUIRED, LEVER_CONDITION_KEYS, TEXT_TYPES, ImportProfile, Plan, Property)
from tagplan.phone import e164

READS: dict[str, tuple[tuple[str, ...], ...]] = {
    "lever_not_declared": (("levers", "names"),),
    "rule_unreachable": (("levers", "rules"),),
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


Report = Callable[..., None]
"""`report(path, code, **fields)`: adds one problem."""


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
    _reconciliation(plan, report)
    _conversions(plan, report)
    for name, profile in plan.imports.items():
        _import(plan, name, profile, report)
    _call_centre(plan, report)
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
            re.compile(prop.pattern)
        except re.error as exc:
            report(parts + ["pattern"], "invalid_pattern", prop=name, reason=exc.msg)


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
    always: int | None = None
    for i, rule in enumerate(plan.levers.rules):
        n = i + 1
        where = ["levers", "rules", i]
        if always is not None:
            report(where, "rule_unreachable", n=n, first=always)
        if rule.lever != BROKER_LEVER and rule.lever not in names:
            report(where + ["lever"], "lever_not_declared", lever=rule.lever, hint=did_you_mean(rule.lever, names))
        if not rule.when and always is None:
            always = n
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


def _time_zone(zone: str, where: str, parts: list[str | int], report: Report) -> None:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        report(parts, "bad_time_zone", where=where, zone=zone,
               hint=did_you_mean(zone, sorted(zoneinfo.available_timezones())))


def _reconciliation(plan: Plan, report: Report) -> None:
    rec = plan.reconciliation
    _time_zone(rec.time_zone, "reconciliation", ["reconciliation", "time_zone"], report)
    for i, channel in enumerate(rec.channels):
        if channel in rec.channels[:i]:
            report(["reconciliation", "channels", i], "channel_twice", channel=channel)


def _either(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


_CONVERSION_TYPES = {"conversion_id": ("string", "integer"), "premium": ("number", "integer", "string"),
                     "crm_id": ("string",)}
"""The property types a conversion field can be read from (phone: a phone identity key, checked apart)."""


def _conversions(plan: Plan, report: Report) -> None:
    channels = plan.reconciliation.channels
    for name, event in plan.events.items():
        if event.conversion is None:
            continue
        where = ["events", name, "conversion"]
        for field, prop in event.conversion.fields.items():
            if field not in CONVERSION_FIELDS:
                report(where + ["fields", field], "conversion_unknown_field", event=name, field=field,
                       hint=did_you_mean(field, CONVERSION_FIELDS), expected=", ".join(CONVERSION_FIELDS))
            elif prop not in event.properties:
                report(where + ["fields", field], "conversion_not_a_property", event=name, field=field, prop=prop,
                       hint=did_you_mean(prop, event.properties))
        mapped = {f: p for f, p in conversion_map(plan, event).fields.items()
                  if f in CONVERSION_FIELDS and p in event.properties}
        if "conversion_id" not in mapped:
            report(where, "conversion_no_id", event=name)
        elif not event.properties[mapped["conversion_id"]].required:
            report(["events", name, "properties", mapped["conversion_id"]], "conversion_id_optional", event=name,
                   prop=mapped["conversion_id"])
        if "phone" not in mapped and "crm_id" not in mapped:
            report(where, "conversion_no_key", event=name)
        for field, types in _CONVERSION_TYPES.items():
            prop = mapped.get(field)
            if prop and event.properties[prop].type not in types:
                report(["events", name, "properties", prop, "type"], "conversion_bad_type", event=name, field=field,
                       prop=prop, expected=_either(types), type=event.properties[prop].type)
        phone = mapped.get("phone")
        if phone and (phone not in plan.identity or plan.identity[phone].type != "phone"):
            report(["events", name, "properties", phone], "conversion_phone_not_identity", event=name, prop=phone)
        channel = event.conversion.channel
        if channel and channel not in channels:
            report(where + ["channel"], "conversion_channel_not_declared", event=name, value=channel,
                   hint=did_you_mean(channel, channels))


DATE_DIRECTIVES = "dmYyHMS%"
"""What a profile's date_format may use: %d %m %Y %y %H %M %S, and %% for a percent sign."""
_DIRECTIVE = re.compile(r"%(.)")


def date_format_problem(fmt: str, date_only: bool) -> str | None:
    """Why a date_format cannot be used, or None."""
    if fmt == "iso":
        return None
    used = _DIRECTIVE.findall(fmt)
    bad = [d for d in used if d not in DATE_DIRECTIVES]
    if bad:
        return f"uses %{bad[0]}, which is not supported (use %d %m %Y %y %H %M %S)"
    if "d" not in used or "m" not in used or not {"Y", "y"} & set(used):
        return "has no day, month or year"
    if date_only and {"H", "M", "S"} & set(used):
        return "has a time, but this import reads days"
    return None


def _import(plan: Plan, name: str, profile: ImportProfile, report: Report) -> None:
    where: list[str | int] = ["imports", name]
    known = IMPORT_FIELDS[profile.into]
    for section in ("fields", "defaults"):
        for field in getattr(profile, section):
            if field not in known:
                report(where + [section, field], "import_unknown_field", profile=name, field=field,
                       hint=did_you_mean(field, known), expected=", ".join(known))
    present = set(profile.fields) | set(profile.defaults)
    for need in IMPORT_REQUIRED[profile.into]:
        if not present & set(need):
            report(where, "import_missing_field", profile=name, field=" or ".join(need))
    if profile.format == "csv":
        if len(profile.csv_delimiter) != 1:
            report(where + ["delimiter"], "import_bad_delimiter", profile=name, value=profile.delimiter)
        if profile.records:
            report(where + ["records"], "import_json_only", profile=name)
        for field, column in profile.fields.items():
            if isinstance(column, str) and not profile.has_header:
                report(where + ["fields", field], "import_column_name_without_header", profile=name, field=field)
    else:
        for key in ("delimiter", "header", "skip_lines"):
            if getattr(profile, key) is not None:
                report(where + [key], "import_csv_only", profile=name, key=key, format=profile.format)
        for field, column in profile.fields.items():
            if not isinstance(column, str):
                report(where + ["fields", field], "import_path_not_text", profile=name, field=field)
    try:
        codecs.lookup(profile.encoding)
    except LookupError:
        report(where + ["encoding"], "import_bad_encoding", profile=name, value=profile.encoding,
               hint=did_you_mean(profile.encoding, ("utf-8", "cp1252", "latin-1", "utf-16", "iso-8859-15")))
    if profile.thousands and profile.thousands == profile.decimal:
        report(where + ["thousands"], "import_same_separators", profile=name)
    problem = date_format_problem(profile.date_format, date_only=profile.into == "costs")
    if problem:
        report(where + ["date_format"], "import_bad_date_format", profile=name, value=profile.date_format,
               reason=problem)
    if profile.time_zone is not None:
        _time_zone(profile.time_zone, f'import "{name}"', where + ["time_zone"], report)
    defaults = profile.defaults
    channels = plan.reconciliation.channels
    if "channel" in defaults and profile.into == "conversions" and defaults["channel"] not in channels:
        report(where + ["defaults", "channel"], "import_channel_not_declared", profile=name,
               value=defaults["channel"], hint=did_you_mean(defaults["channel"], channels))
    levers = plan.levers.names if plan.levers else []
    if "lever" in defaults and defaults["lever"] not in levers:
        report(where + ["defaults", "lever"], "import_lever_not_declared", profile=name, value=defaults["lever"],
               hint=did_you_mean(defaults["lever"], levers))
    if "currency" in defaults and not re.fullmatch(r"[A-Z]{3}", defaults["currency"]):
        report(where + ["defaults", "currency"], "import_bad_currency", profile=name, value=defaults["currency"])


def _call_centre(plan: Plan, report: Report) -> None:
    cc = plan.call_centre
    where: list[str | int] = ["call_centre"]
    for form_id, rule in cc.leads.items():
        at = where + ["leads", form_id]
        form = plan.forms.get(form_id)
        if form is None:
            report(at, "lead_form_unknown", form=form_id, hint=did_you_mean(form_id, plan.forms))
            continue
        steps = [s.id for s in form.steps]
        if rule.from_step not in steps:
            report(at + ["from_step"], "lead_step_unknown", form=form_id, step=rule.from_step,
                   hint=did_you_mean(rule.from_step, steps), expected=", ".join(steps))
        found: dict[str, tuple[int, Property]] = {}
        for key in ("phone", "consent"):
            name = getattr(rule, key)
            hits = [(i, s.properties[name]) for i, s in enumerate(form.steps) if name in s.properties]
            if not hits:
                names = sorted({p for s in form.steps for p in s.properties})
                report(at + [key], "lead_property_unknown", form=form_id, key=key, prop=name,
                       hint=did_you_mean(name, names))
                continue
            found[key] = hits[0]
            prop = hits[0][1]
            if key == "phone" and prop.type != "phone":
                report(at + [key], "lead_phone_not_phone", form=form_id, prop=name, type=prop.type)
            elif key == "phone" and not prop.pii and name not in plan.identity:
                report(at + [key], "lead_phone_kept", form=form_id, prop=name)
            elif key == "consent" and prop.type != "boolean":
                report(at + [key], "lead_consent_not_boolean", form=form_id, prop=name, type=prop.type)
        if len(found) == 2:
            (phone_at, _), (consent_at, _) = found["phone"], found["consent"]
            if phone_at != consent_at:
                report(at + ["consent"], "lead_consent_apart", form=form_id, prop=rule.consent,
                       step=form.steps[consent_at].id, phone=rule.phone, phone_step=form.steps[phone_at].id)
            elif rule.from_step in steps and steps.index(rule.from_step) <= phone_at:
                report(at + ["from_step"], "lead_step_not_after_phone", form=form_id, step=rule.from_step,
                       phone_step=steps[phone_at])
    if cc.numbers:
        region = plan_region(plan)
        numbers = cc.numbers
        seen: dict[str, int] = {}
        default = e164(numbers.default, region)
        if not default:
            report(where + ["numbers", "default"], "number_invalid", number=numbers.default, region=region)
        for i, number in enumerate(numbers.pool):
            normal = e164(number, region)
            if not normal:
                report(where + ["numbers", "pool", i], "number_invalid", number=number, region=region)
            elif normal in seen:
                report(where + ["numbers", "pool", i], "number_twice", number=number, first=seen[normal] + 1)
            elif normal == default:
                report(where + ["numbers", "pool", i], "number_is_default", number=number)
            if normal:
                seen.setdefault(normal, i)
    levers = plan.levers.names if plan.levers else []
    if cc.lever and cc.lever not in levers:
        report(where + ["lever"], "call_centre_lever_not_declared", lever=cc.lever, hint=did_you_mean(cc.lever, levers))


def plan_region(plan: Plan) -> str:
    """The region of numbers written without a country code: the first phone identity key's (FR without one)."""
    return next((k.region for k in plan.identity.values() if k.type == "phone"), "FR")
