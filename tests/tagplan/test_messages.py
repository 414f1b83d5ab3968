"""Every message people read, word for word: a new message needs a line here."""

from __future__ import annotations

import pytest

from tagplan.messages import CHECK, PHONE_REASONS, VALIDATE, check, did_you_mean, phone_rule, rule

H = ' (did you mean "label"?)'

CHECK_CASES = {
    "unreadable": ({"reason": "Permission denied"}, "cannot read the plan: Permission denied"),
    "unreadable_csv": ({"reason": "No such file or directory"}, "cannot read the broker table: No such file or directory"),
    "invalid_yaml": ({"reason": "found unexpected end of stream"}, "invalid YAML: found unexpected end of stream"),
    "not_a_mapping_doc": ({}, "the plan must be a mapping of keys (version, events, forms, ...)"),
    "duplicate_key": ({"key": "slot", "first": 7}, 'key "slot" is written twice in the same mapping (first at line 7); keep one'),
    "unknown_key": ({"key": "lable", "hint": H, "expected": "id, label"},
                    'unknown key "lable" (did you mean "label"?), expected one of: id, label'),
    "missing_key": ({"key": "version"}, 'missing required key "version"'),
    "expected_mapping": ({"got": "a list"}, "expected a mapping of keys, got a list"),
    "expected_list": ({"got": 'the text "a"'}, 'expected a list, got the text "a"'),
    "too_few_items": ({"n": 1}, "expected at least 1 item(s)"),
    "expected_text": ({"got": "the number 3"}, "expected text, got the number 3"),
    "empty_text": ({}, "expected a non-empty text"),
    "text_too_long": ({"n": 64}, "expected at most 64 characters"),
    "bad_name": ({"value": "Rider", "pattern": "^[a-z]$"},
                 '"Rider" is not a valid name, expected lower-case letters, digits and _ (matching ^[a-z]$)'),
    "expected_integer": ({"got": "the number 1.5"}, "expected a whole number, got the number 1.5"),
    "integer_too_small": ({"n": 0, "got": -1}, "expected a number >= 0, got -1"),
    "integer_too_large": ({"n": 395, "got": 900}, "expected a number <= 395, got 900"),
    "expected_boolean": ({"got": 'the text "yes"'}, 'expected true or false, got the text "yes"'),
    "not_allowed": ({"value": "exemt", "hint": ' (did you mean "exempt"?)', "expected": "exempt, required"},
                    '"exemt" is not allowed (did you mean "exempt"?), expected one of: exempt, required'),
    "expected_nothing": ({"got": "a list"}, "expected nothing, got a list"),
    "unexpected_value": ({}, "unexpected value"),
    "builtin_event": ({"event": "page_view"}, 'event "page_view" is built into the tag; declare only custom events'),
    "step_twice": ({"form": "quote", "step": "vehicle"}, 'form "quote": step "vehicle" is listed twice'),
    "first_step_optional": ({"form": "quote", "step": "vehicle"},
                            'form "quote": the first step "vehicle" cannot be optional; the funnel starts there'),
    "step_shared": ({"form": "b", "step": "vehicle", "other": "a"},
                    'form "b": step "vehicle" is already used by form "a"; a step ID belongs to one form'),
    "invalid_pattern": ({"prop": "code", "reason": "missing )"}, 'property "code": invalid pattern: missing )'),
    "unsupported_pattern": ({"prop": "code", "reason": "invalid escape sequence: \\1"},
                            'property "code": pattern not supported (invalid escape sequence: \\1): RE2 matches every '
                            "pattern in a time linear in the value, and has no backreferences (\\1), no lookarounds "
                            "((?=...), (?!...)), no \\Z (write \\z); write it without them"),
    "enum_without_values": ({"prop": "slot"}, 'property "slot": type enum needs a list of values'),
    "enum_value_twice": ({"prop": "slot", "value": "am"}, 'property "slot": enum value "am" is listed twice'),
    "values_not_enum": ({"prop": "slot", "type": "string"}, 'property "slot": values only apply to type enum, not string'),
    "rule_not_for_type": ({"prop": "age", "rule": "pattern", "type": "integer"},
                          'property "age": pattern only applies to text types (string, url, email), not integer'),
    "lever_not_declared": ({"lever": "dirct", "hint": ""}, 'lever "dirct" is not declared in levers.names'),
    "lever_twice": ({"lever": "direct"}, 'lever "direct" is listed twice in levers.names'),
    "broker_twice": ({"broker": "B042"}, 'broker "B042" is listed twice'),
    "broker_lever_not_declared": ({"broker": "B042", "lever": "brokr", "hint": ""},
                                  'broker "B042": lever "brokr" is not declared in levers.names'),
    "brokers_without_levers": ({}, "brokers need levers: declare levers.names with the levers of the broker table"),
    "condition_key_unknown": ({"n": 2, "key": "utm_mdium", "hint": "", "expected": "broker_id, utm_medium"},
                              'lever rule 2: unknown condition "utm_mdium", expected one of: broker_id, utm_medium'),
    "condition_value_unknown": ({"n": 3, "key": "referrer", "value": "x", "hint": "", "expected": "external"},
                                'lever rule 3: condition "referrer" does not accept "x", expected one of: external'),
    "click_id_not_captured": ({"n": 1, "value": "fbclid", "hint": ""},
                              'lever rule 1: click ID "fbclid" is not captured; add it to capture.params'),
    "rule_unreachable": ({"n": 5, "first": 4},
                         "lever rule 5 is never reached: rule 4 before it has no conditions and always matches"),
    "rule_shadowed": ({"n": 2, "lever": "broker_lever", "first": 1, "first_lever": "broker",
                       "conditions": "broker_id: present"},
                      'lever rule 2 (lever "broker_lever") is never reached: rule 1 before it (lever "broker", when '
                      "broker_id: present) matches whenever it would; put rule 2 before it, or narrow rule 1"),
    "param_twice": ({"param": "gclid"}, 'URL parameter "gclid" is captured twice'),
    "bad_origin": ({"origin": "example.fr"},
                   'origin "example.fr" is not an origin, expected scheme://host[:port] such as https://www.example.fr'),
    "consent_event_unknown": ({"event": "x", "hint": ""}, 'consent: exempt event "x" is not declared'),
    "consent_events_without_required": ({}, "consent: exempt_events only apply when mode is required"),
    "identity_not_a_property": ({"key": "mobile", "hint": ""}, 'identity key "mobile" is not a property of any event or form'),
    "identity_not_phone": ({"key": "phone", "type": "string"},
                           'identity key "phone" must be a phone property, but it is declared as string'),
    "identity_bad_region": ({"key": "phone", "region": "FX", "hint": ""},
                            'identity key "phone": region "FX" is not a region phone numbers know'),
    "identity_not_text": ({"key": "quote_id", "type": "integer"},
                          'identity key "quote_id" is a CRM id: it must be a string property, but it is declared as integer'),
    "bad_time_zone": ({"where": "reconciliation", "zone": "Paris", "hint": ""},
                      'reconciliation: time zone "Paris" is unknown, expected a name such as Europe/Paris'),
    "channel_twice": ({"channel": "shop"}, 'channel "shop" is listed twice in reconciliation.channels'),
    "import_unknown_field": ({"profile": "p", "field": "prime", "hint": "", "expected": "ts, premium"},
                             'import "p": unknown field "prime", expected one of: ts, premium'),
    "import_missing_field": ({"profile": "p", "field": "phone or crm_id"},
                             'import "p": no phone or crm_id: map it in fields, or give it in defaults'),
    "import_bad_delimiter": ({"profile": "p", "value": "tab"}, 'import "p": delimiter "tab" must be one character'),
    "import_bad_encoding": ({"profile": "p", "value": "utf9", "hint": ""},
                            'import "p": encoding "utf9" is unknown, expected a name such as utf-8, cp1252 or latin-1'),
    "import_bad_date_format": ({"profile": "p", "value": "%H", "reason": "has no day, month or year"},
                               'import "p": date_format "%H" has no day, month or year, '
                               "expected iso or a pattern such as %d/%m/%Y %H:%M"),
    "import_column_name_without_header": ({"profile": "p", "field": "ts"},
                                          'import "p": field "ts": the file has no header row, '
                                          "give a column number (1 = first column)"),
    "import_path_not_text": ({"profile": "p", "field": "ts"},
                             'import "p": field "ts": a JSON field is a dotted path such as contract.id, not a number'),
    "import_csv_only": ({"profile": "p", "key": "header", "format": "jsonl"},
                        'import "p": header only applies to CSV files, not jsonl'),
    "import_json_only": ({"profile": "p"}, 'import "p": records only applies to JSON files, not csv'),
    "import_same_separators": ({"profile": "p"}, 'import "p": the thousands separator must differ from the decimal one'),
    "import_channel_not_declared": ({"profile": "p", "value": "agence", "hint": ""},
                                    'import "p": channel "agence" is not declared in reconciliation.channels'),
    "import_lever_not_declared": ({"profile": "p", "value": "tv", "hint": ""},
                                  'import "p": lever "tv" is not declared in levers.names'),
    "import_bad_currency": ({"profile": "p", "value": "€"}, 'import "p": currency "€" is not a 3-letter code such as EUR'),
    "import_status_values_not_conversions": ({"profile": "p", "into": "costs"},
                                             'import "p": status_values only applies to sales (into: conversions), not costs'),
    "lead_form_unknown": ({"form": "devis", "hint": ""}, 'call-back leads: form "devis" is not declared in forms'),
    "lead_step_unknown": ({"form": "q", "step": "x", "hint": "", "expected": "a, b"},
                          'call-back leads of form "q": step "x" is not a step of the form, expected one of: a, b'),
    "lead_property_unknown": ({"form": "q", "key": "consent", "prop": "ok", "hint": ""},
                              'call-back leads of form "q": consent property "ok" is not a property of any step of the form'),
    "lead_phone_not_phone": ({"form": "q", "prop": "tel", "type": "string"},
                             'call-back leads of form "q": property "tel" must be of type phone, but it is declared as string'),
    "lead_phone_kept": ({"form": "q", "prop": "tel"},
                        'call-back leads of form "q": property "tel" would be stored as typed: mark it pii: true or '
                        "make it an identity key"),
    "lead_consent_not_boolean": ({"form": "q", "prop": "ok", "type": "string"},
                                 'call-back leads of form "q": the consent property "ok" must be of type boolean '
                                 "(the ticked box), but it is declared as string"),
    "lead_consent_apart": ({"form": "q", "prop": "ok", "step": "b", "phone": "tel", "phone_step": "a"},
                           'call-back leads of form "q": the consent property "ok" is on step "b", the phone "tel" on '
                           'step "a": the consent must be sent with the phone it covers'),
    "lead_step_not_after_phone": ({"form": "q", "step": "a", "phone_step": "a"},
                                  'call-back leads of form "q": from_step "a" must come after step "a", which asks '
                                  "the phone (a step is sent when the visitor completes it)"),
    "number_invalid": ({"number": "12", "region": "FR"},
                       'phone number "12" is not a valid number (read in region FR, or give its +country code)'),
    "number_twice": ({"number": "09 70", "first": 1}, 'phone number "09 70" is already in the pool (item 1)'),
    "number_is_default": ({"number": "09 70"},
                          'phone number "09 70" is the default number: the pool holds the tracking numbers only'),
    "call_centre_lever_not_declared": ({"lever": "phon", "hint": ""},
                                       'call_centre: lever "phon" is not declared in levers.names'),
    "conversion_unknown_field": ({"event": "sale", "field": "premum", "hint": "", "expected": "premium, phone"},
                                 'event "sale": unknown conversion field "premum", expected one of: premium, phone'),
    "conversion_not_a_property": ({"event": "sale", "field": "crm_id", "prop": "quote", "hint": ""},
                                  'event "sale": conversion field crm_id: the event has no property "quote"'),
    "conversion_no_id": ({"event": "sale"}, 'event "sale": a conversion needs its conversion_id (the contract id): '
                                            "give it a property in conversion.fields"),
    "conversion_id_optional": ({"event": "sale", "prop": "contract"},
                               'event "sale": property "contract" gives the conversion_id: make it required: true'),
    "conversion_no_key": ({"event": "sale"}, 'event "sale": a conversion is matched to journeys by its phone or '
                                             "crm_id: the event needs a property for one of them"),
    "conversion_phone_not_identity": ({"event": "sale", "prop": "mobile"},
                                      'event "sale": conversion field phone: property "mobile" must be a phone '
                                      "identity key (under identity:), so only its keyed hash is kept"),
    "conversion_bad_type": ({"event": "sale", "field": "premium", "prop": "p", "expected": "number or integer",
                             "type": "boolean"},
                            'event "sale": conversion field premium: property "p" must be number or integer, not boolean'),
    "conversion_channel_not_declared": ({"event": "sale", "value": "agence", "hint": ""},
                                        'event "sale": channel "agence" is not declared in reconciliation.channels'),
    "csv_missing_columns": ({"columns": "lever"}, "missing column(s) lever; expected a header id,name,lever"),
    "csv_bad_row": ({}, "expected 3 fields: id,name,lever"),
}

VALIDATE_CASES = {
    "required": ({}, "required property is missing"),
    "undeclared": ({}, "property is not declared in the plan"),
    "string": ({"got": "a number"}, "expected a string, got a number"),
    "integer": ({"got": "a string"}, "expected an integer, got a string"),
    "number": ({"got": "a boolean"}, "expected a number, got a boolean"),
    "boolean": ({"got": "null"}, "expected true or false, got null"),
    "enum": ({"values": "morning, evening"}, "expected one of morning, evening"),
    "url": ({}, "expected an http(s) URL"),
    "email": ({}, "expected an e-mail address"),
    "phone": ({"region": "FR", "reason": "too short"},
              "expected a valid phone number (in FR, or with its +country code): too short"),
    "phone_international": ({"reason": "too long"}, "expected a valid phone number with its +country code: too long"),
    "date": ({}, "expected a date YYYY-MM-DD"),
    "datetime": ({}, "expected an ISO 8601 date-time"),
    "max_length": ({"n": 40}, "longer than max_length 40"),
    "pattern": ({"pattern": "^Q-"}, "does not match pattern ^Q-"),
}


def test_every_message_has_a_case():
    assert set(CHECK_CASES) == set(CHECK)
    assert set(VALIDATE_CASES) == set(VALIDATE)


@pytest.mark.parametrize("code", sorted(CHECK_CASES))
def test_check_message(code):
    fields, expected = CHECK_CASES[code]
    assert check(code, **fields) == expected


@pytest.mark.parametrize("code", sorted(VALIDATE_CASES))
def test_validation_message(code):
    fields, expected = VALIDATE_CASES[code]
    assert rule(code, **fields) == expected


def test_did_you_mean():
    assert did_you_mean("lable", ["id", "label"]) == H
    assert did_you_mean("zzz", ["id", "label"]) == ""


PHONE_CASES = {
    "not_text": ({"got": "a number"}, "got a number"),
    "not_a_number": ({}, "it is not a number"),
    "no_country_code": ({}, "it has none, and the plan gives no region for numbers without one"),
    "country_code": ({}, "no country has this code"),
    "too_short": ({}, "too short"),
    "too_long": ({}, "too long"),
    "invalid_length": ({"country": "AD"}, "no number in AD has this length"),
    "invalid_range": ({"country": "FR"}, "not a valid range of numbers in FR"),
}


@pytest.mark.parametrize("reason", sorted(PHONE_REASONS))
def test_phone_reason(reason):
    assert set(PHONE_CASES) == set(PHONE_REASONS)
    fields, expected = PHONE_CASES[reason]
    assert phone_rule(None, reason, **fields) == f"expected a valid phone number with its +country code: {expected}"
