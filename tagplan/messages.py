"""Every message the plan toolchain says to people, in one place, each tested word for word.

Plan-check messages end with what was expected; validation messages (stored as `reasons` of a
rejected event) name the rule broken. Keep them in plain words: no Python type names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CHECK = {
    # reading the file
    "unreadable": "cannot read the plan: {reason}",
    "unreadable_csv": "cannot read the broker table: {reason}",
    "invalid_yaml": "invalid YAML: {reason}",
    "not_a_mapping_doc": "the plan must be a mapping of keys (version, events, forms, ...)",
    "duplicate_key": 'key "{key}" is written twice in the same mapping (first at line {first}); keep one',
    # shape (the model walk)
    "unknown_key": 'unknown key "{key}"{hint}, expected one of: {expected}',
    "missing_key": 'missing required key "{key}"',
    "expected_mapping": "expected a mapping of keys, got {got}",
    "expected_list": "expected a list, got {got}",
    "too_few_items": "expected at least {n} item(s)",
    "expected_text": "expected text, got {got}",
    "empty_text": "expected a non-empty text",
    "text_too_long": "expected at most {n} characters",
    "bad_name": '"{value}" is not a valid name, expected lower-case letters, digits and _ (matching {pattern})',
    "expected_integer": "expected a whole number, got {got}",
    "integer_too_small": "expected a number >= {n}, got {got}",
    "integer_too_large": "expected a number <= {n}, got {got}",
    "expected_boolean": "expected true or false, got {got}",
    "not_allowed": '"{value}" is not allowed{hint}, expected one of: {expected}',
    "expected_nothing": "expected nothing, got {got}",
    "unexpected_value": "unexpected value",
    # cross-checks
    "builtin_event": 'event "{event}" is built into the tag; declare only custom events',
    "step_twice": 'form "{form}": step "{step}" is listed twice',
    "first_step_optional": 'form "{form}": the first step "{step}" cannot be optional; the funnel starts there',
    "step_shared": 'form "{form}": step "{step}" is already used by form "{other}"; a step ID belongs to one form',
    "invalid_pattern": 'property "{prop}": invalid pattern: {reason}',
    "unsupported_pattern": 'property "{prop}": pattern not supported ({reason}): RE2 matches every pattern in a '
                           'time linear in the value, and has no backreferences (\\1), no lookarounds ((?=...), '
                           '(?!...)), no \\Z (write \\z); write it without them',
    "enum_without_values": 'property "{prop}": type enum needs a list of values',
    "enum_value_twice": 'property "{prop}": enum value "{value}" is listed twice',
    "values_not_enum": 'property "{prop}": values only apply to type enum, not {type}',
    "rule_not_for_type": 'property "{prop}": {rule} only applies to text types (string, url, email), not {type}',
    "lever_not_declared": 'lever "{lever}" is not declared in levers.names{hint}',
    "lever_twice": 'lever "{lever}" is listed twice in levers.names',
    "broker_twice": 'broker "{broker}" is listed twice',
    "broker_lever_not_declared": 'broker "{broker}": lever "{lever}" is not declared in levers.names{hint}',
    "brokers_without_levers": "brokers need levers: declare levers.names with the levers of the broker table",
    "condition_key_unknown": 'lever rule {n}: unknown condition "{key}"{hint}, expected one of: {expected}',
    "condition_value_unknown": 'lever rule {n}: condition "{key}" does not accept "{value}"{hint}, expected one of: {expected}',
    "click_id_not_captured": 'lever rule {n}: click ID "{value}" is not captured{hint}; add it to capture.params',
    "rule_unreachable": "lever rule {n} is never reached: rule {first} before it has no conditions and always matches",
    "rule_shadowed": 'lever rule {n} (lever "{lever}") is never reached: rule {first} before it (lever "{first_lever}", '
                     "when {conditions}) matches whenever it would; put rule {n} before it, or narrow rule {first}",
    "param_twice": 'URL parameter "{param}" is captured twice',
    "bad_origin": 'origin "{origin}" is not an origin, expected scheme://host[:port] such as https://www.example.fr',
    "consent_event_unknown": 'consent: exempt event "{event}" is not declared{hint}',
    "consent_events_without_required": "consent: exempt_events only apply when mode is required",
    "identity_not_a_property": 'identity key "{key}" is not a property of any event or form{hint}',
    "identity_not_phone": 'identity key "{key}" must be a phone property, but it is declared as {type}',
    "identity_bad_region": 'identity key "{key}": region "{region}" is not a region phone numbers know{hint}',
    "identity_not_text": 'identity key "{key}" is a CRM id: it must be a string property, but it is declared as {type}',
    "bad_time_zone": '{where}: time zone "{zone}" is unknown{hint}, expected a name such as Europe/Paris',
    "channel_twice": 'channel "{channel}" is listed twice in reconciliation.channels',
    "import_unknown_field": 'import "{profile}": unknown field "{field}"{hint}, expected one of: {expected}',
    "import_missing_field": 'import "{profile}": no {field}: map it in fields, or give it in defaults',
    "import_bad_delimiter": 'import "{profile}": delimiter "{value}" must be one character',
    "import_bad_encoding": 'import "{profile}": encoding "{value}" is unknown{hint}, expected a name such as utf-8, cp1252 or latin-1',
    "import_bad_date_format": 'import "{profile}": date_format "{value}" {reason}, expected iso or a pattern such as %d/%m/%Y %H:%M',
    "import_column_name_without_header": 'import "{profile}": field "{field}": the file has no header row, give a column number (1 = first column)',
    "import_path_not_text": 'import "{profile}": field "{field}": a JSON field is a dotted path such as contract.id, not a number',
    "import_csv_only": 'import "{profile}": {key} only applies to CSV files, not {format}',
    "import_json_only": 'import "{profile}": records only applies to JSON files, not csv',
    "import_same_separators": 'import "{profile}": the thousands separator must differ from the decimal one',
    "import_channel_not_declared": 'import "{profile}": channel "{value}" is not declared in reconciliation.channels{hint}',
    "import_lever_not_declared": 'import "{profile}": lever "{value}" is not declared in levers.names{hint}',
    "import_bad_currency": 'import "{profile}": currency "{value}" is not a 3-letter code such as EUR',
    "import_status_values_not_conversions": 'import "{profile}": status_values only applies to sales (into: conversions), not {into}',
    "lead_form_unknown": 'call-back leads: form "{form}" is not declared in forms{hint}',
    "lead_step_unknown": 'call-back leads of form "{form}": step "{step}" is not a step of the form{hint}, expected one of: {expected}',
    "lead_property_unknown": 'call-back leads of form "{form}": {key} property "{prop}" is not a property of any step of the form{hint}',
    "lead_phone_not_phone": 'call-back leads of form "{form}": property "{prop}" must be of type phone, but it is declared as {type}',
    "lead_phone_kept": 'call-back leads of form "{form}": property "{prop}" would be stored as typed: mark it pii: true or make it an identity key',
    "lead_consent_not_boolean": 'call-back leads of form "{form}": the consent property "{prop}" must be of type boolean (the ticked box), but it is declared as {type}',
    "lead_consent_apart": 'call-back leads of form "{form}": the consent property "{prop}" is on step "{step}", the phone "{phone}" on step "{phone_step}": the consent must be sent with the phone it covers',
    "lead_step_not_after_phone": 'call-back leads of form "{form}": from_step "{step}" must come after step "{phone_step}", which asks the phone (a step is sent when the visitor completes it)',
    "number_invalid": 'phone number "{number}" is not a valid number (read in region {region}, or give its +country code)',
    "number_twice": 'phone number "{number}" is already in the pool (item {first})',
    "number_is_default": 'phone number "{number}" is the default number: the pool holds the tracking numbers only',
    "call_centre_lever_not_declared": 'call_centre: lever "{lever}" is not declared in levers.names{hint}',
    "conversion_unknown_field": 'event "{event}": unknown conversion field "{field}"{hint}, expected one of: {expected}',
    "conversion_not_a_property": 'event "{event}": conversion field {field}: the event has no property "{prop}"{hint}',
    "conversion_no_id": 'event "{event}": a conversion needs its conversion_id (the contract id): give it a '
                        "property in conversion.fields",
    "conversion_id_optional": 'event "{event}": property "{prop}" gives the conversion_id: make it required: true',
    "conversion_no_key": 'event "{event}": a conversion is matched to journeys by its phone or crm_id: the event '
                         "needs a property for one of them",
    "conversion_phone_not_identity": 'event "{event}": conversion field phone: property "{prop}" must be a phone '
                                     "identity key (under identity:), so only its keyed hash is kept",
    "conversion_bad_type": 'event "{event}": conversion field {field}: property "{prop}" must be {expected}, '
                           "not {type}",
    "conversion_channel_not_declared": 'event "{event}": channel "{value}" is not declared in '
                                       "reconciliation.channels{hint}",
    "csv_missing_columns": "missing column(s) {columns}; expected a header id,name,lever",
    "csv_bad_row": "expected 3 fields: id,name,lever",
}

VALIDATE = {
    "required": "required property is missing",
    "undeclared": "property is not declared in the plan",
    "string": "expected a string, got {got}",
    "integer": "expected an integer, got {got}",
    "number": "expected a number, got {got}",
    "boolean": "expected true or false, got {got}",
    "enum": "expected one of {values}",
    "url": "expected an http(s) URL",
    "email": "expected an e-mail address",
    "phone": "expected a valid phone number (in {region}, or with its +country code): {reason}",
    "phone_international": "expected a valid phone number with its +country code: {reason}",
    "date": "expected a date YYYY-MM-DD",
    "datetime": "expected an ISO 8601 date-time",
    "max_length": "longer than max_length {n}",
    "pattern": "does not match pattern {pattern}",
}


PHONE_REASONS = {
    "not_text": "got {got}",
    "not_a_number": "it is not a number",
    "no_country_code": "it has none, and the plan gives no region for numbers without one",
    "country_code": "no country has this code",
    "too_short": "too short",
    "too_long": "too long",
    "invalid_length": "no number in {country} has this length",
    "invalid_range": "not a valid range of numbers in {country}",
}
"""Why a phone number was refused, after phonenumbers (the value itself is never repeated: personal data)."""


def check(code: str, **fields: object) -> str:
    """A plan-check message."""
    return CHECK[code].format(**fields)


def rule(code: str, **fields: object) -> str:
    """A validation message for one property value."""
    return VALIDATE[code].format(**fields)


def phone_rule(region: str | None, reason: str, **fields: object) -> str:
    """The validation message of a refused phone number, with the reason phonenumbers gives."""
    why = PHONE_REASONS[reason].format(**fields)
    return rule("phone", region=region, reason=why) if region else rule("phone_international", reason=why)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
