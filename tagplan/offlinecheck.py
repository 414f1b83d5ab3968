"""Rules of the plan's offline parts: reconciliation (time zone, channels), events that are sales, import profiles.

Run by `cross_check` (crosscheck.py) on a plan whose shape is valid; each problem carries its path.
"""

from __future__ import annotations

import codecs
import re
import zoneinfo

from tagplan.conversions import conversion_map
from tagplan.errors import Report
from tagplan.messages import did_you_mean
from tagplan.model import CONVERSION_FIELDS, IMPORT_FIELDS, IMPORT_REQUIRED, ImportProfile, Plan


def _time_zone(zone: str, where: str, parts: list[str | int], report: Report) -> None:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        report(parts, "bad_time_zone", where=where, zone=zone,
               hint=did_you_mean(zone, sorted(zoneinfo.available_timezones())))


def check_offline(plan: Plan, report: Report) -> None:
    """The rules of the offline parts, in order: reconciliation, conversions from events, import profiles."""
    _reconciliation(plan, report)
    _conversions(plan, report)
    for name, profile in plan.imports.items():
        _import(plan, name, profile, report)


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
    if profile.status_values and profile.into != "conversions":
        report(where + ["status_values"], "import_status_values_not_conversions", profile=name, into=profile.into)
    if "currency" in defaults and not re.fullmatch(r"[A-Z]{3}", defaults["currency"]):
        report(where + ["defaults", "currency"], "import_bad_currency", profile=name, value=defaults["currency"])
