"""Loading plans: the example is clean; broken plans give every error with its exact line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagplan import PlanErrors, compile_plan, load_plan
from tagplan.load import plan_files
from tests.conftest import EXAMPLE_PLAN, ROOT

BROKEN = ROOT / "examples" / "broken"


def test_example_plan_loads_and_compiles():
    plan = compile_plan(load_plan(EXAMPLE_PLAN))
    assert plan.broker_param == "courtier"
    assert list(plan.steps["moto_quote"]) == ["vehicle", "rider", "coverage", "contact"]
    assert plan.tag_config["f"] == {"moto_quote": ["vehicle", "rider", "coverage", "contact"]}
    # The keys the tag reads besides (docs/tag.md, "The compiled config").
    assert plan.tag_config["p"]["gclid"] == 90 and plan.tag_config["p"]["fbclid"] == 7
    assert "c" not in plan.tag_config and "x" not in plan.tag_config  # exempt: the tag's default
    assert plan.tag_config["s"] == ["127.0.0.1", "localhost"]
    assert plan.brokers["B042"].name == "Comparamoto"
    assert plan.identity == {"phone": "FR"}, "the phone keys only: a CRM id is not hashed"


def test_example_plan_uses_every_property_type():
    plan = load_plan(EXAMPLE_PLAN)
    types = {p.type for ev in plan.events.values() for p in ev.properties.values()}
    types |= {p.type for f in plan.forms.values() for s in f.steps for p in s.properties.values()}
    types |= {p.type for f in plan.forms.values() for p in f.submit.properties.values()}
    assert types == {"string", "integer", "number", "boolean", "enum", "url", "email", "phone", "date", "datetime"}


def errors_of(path) -> list[str]:
    with pytest.raises(PlanErrors) as info:
        load_plan(path)
    return [str(e).removeprefix(str(path) + ":") for e in info.value.errors]


def test_typos_are_reported_at_their_line_with_a_suggestion():
    assert errors_of(BROKEN / "typos.yaml") == [
        '3:10: "exemt" is not allowed (did you mean "exempt"?), expected one of: exempt, required',
        '7:23: unknown key "lable" (did you mean "label"?), expected one of: id, label, optional, properties',
        '8:14: "Rider" is not a valid name, expected lower-case letters, digits and _ (matching ^[a-z][a-z0-9_]*$)',
    ]


def test_cross_checks_report_every_mistake_at_once():
    assert errors_of(BROKEN / "levers.yaml") == [
        '7:9: form "quote": step "vehicle" is listed twice',
        '10:9: form "callback": step "vehicle" is already used by form "quote"; a step ID belongs to one form',
        '12:3: event "page_view" is built into the tag; declare only custom events',
        '15:37: property "code": invalid pattern: unterminated character set',
        '16:7: property "plan": type enum needs a list of values',
        '18:5: broker "B042": lever "brokr" is not declared in levers.names (did you mean "broker"?)',
        '22:15: lever "dirct" is not declared in levers.names (did you mean "direct"?)',
    ]


def test_rules_across_the_plan():
    assert errors_of(BROKEN / "rules.yaml") == [
        '5:39: origin "www.example.fr/devis" is not an origin, expected scheme://host[:port] such as https://www.example.fr',
        "8:3: consent: exempt_events only apply when mode is required",
        '8:19: consent: exempt event "page_veiw" is not declared (did you mean "page_view"?)',
        '13:14: URL parameter "courtier" is captured twice',
        '17:40: property "age": max_length only applies to text types (string, url, email), not integer',
        '18:28: property "kind": values only apply to type enum, not string',
        '19:45: property "formula": enum value "basic" is listed twice',
        '22:40: lever "direct" is listed twice in levers.names',
        '24:35: lever rule 1: click ID "fbclid" is not captured (did you mean "gclid"?); add it to capture.params',
        '25:43: lever rule 2: unknown condition "courtier_id" (did you mean "courtier"?), expected one of: '
        "broker_id, click_id, referrer_domain, referrer, gclid, courtier",
        '26:40: lever rule 3: condition "referrer" does not accept "extrenal" (did you mean "external"?), '
        "expected one of: external, present, absent",
        "28:7: lever rule 5 is never reached: rule 4 before it has no conditions and always matches",
        '28:42: lever rule 5: unknown condition "utm_medium", expected one of: '
        "broker_id, click_id, referrer_domain, referrer, gclid, courtier",
        '30:3: identity key "phone" must be a phone property, but it is declared as string',
        '30:19: identity key "phone": region "FX" is not a region phone numbers know',
        '31:3: identity key "mobile" is not a property of any event or form',
    ]


def test_a_lever_rule_an_earlier_broader_rule_always_takes_over_is_reported(tmp_path):
    """Only rules after one without conditions were reported: `broker_id: present` before `broker_id: known`
    (the broker table's levers never applied), `utm_medium: present` before a list of its values, `referrer:
    present` before `referrer: external` passed the check."""
    path = tmp_path / "plan.yaml"
    path.write_text(
        'version: "1"\n'
        "capture:\n  params: [{name: utm_medium}, {name: utm_source}, {name: gclid}, {name: msclkid}]\n"
        "levers:\n"
        "  names: [broker, display, search_paid, email, referral, direct]\n"
        "  rules:\n"
        "    - {lever: broker, when: {broker_id: present}}\n"                              # 1
        "    - {lever: broker_lever, when: {broker_id: known}}\n"                          # 2: after 1
        "    - {lever: display, when: {utm_medium: present}}\n"                            # 3
        "    - {lever: email, when: {utm_medium: [email, Newsletter]}}\n"                  # 4: after 3
        "    - {lever: search_paid, when: {click_id: [gclid, msclkid]}}\n"                 # 5
        "    - {lever: search_paid, when: {click_id: gclid, utm_source: google}}\n"        # 6: after 5
        "    - {lever: referral, when: {referrer: present}}\n"                             # 7
        "    - {lever: referral, when: {referrer: external}}\n"                            # 8: after 7
        "    - {lever: direct, when: {referrer: absent, utm_source: absent}}\n"            # 9
        "    - {lever: direct, when: {referrer: absent}}\n"                                # 10: broader, reached
        "    - {lever: direct}\n"                                                          # 11
    )
    assert errors_of(path) == [
        '8:7: lever rule 2 (lever "broker_lever") is never reached: rule 1 before it (lever "broker", when '
        "broker_id: present) matches whenever it would; put rule 2 before it, or narrow rule 1",
        '10:7: lever rule 4 (lever "email") is never reached: rule 3 before it (lever "display", when '
        "utm_medium: present) matches whenever it would; put rule 4 before it, or narrow rule 3",
        '12:7: lever rule 6 (lever "search_paid") is never reached: rule 5 before it (lever "search_paid", when '
        "click_id: [gclid, msclkid]) matches whenever it would; put rule 6 before it, or narrow rule 5",
        '14:7: lever rule 8 (lever "referral") is never reached: rule 7 before it (lever "referral", when '
        "referrer: present) matches whenever it would; put rule 8 before it, or narrow rule 7",
    ]


def test_lever_rules_in_a_reachable_order_pass():
    """The narrower rule first: nothing to report (the example plan's rules, and these)."""
    from tagplan.levers import shadows

    assert shadows({"broker_id": "known"}, {"broker_id": "present"}) is None
    assert shadows({"utm_medium": ["cpc", "ppc"]}, {"utm_medium": ["cpc", "display"]}) is None
    assert shadows({"click_id": "gclid", "utm_source": "google"}, {"click_id": "gclid"}) is None
    assert shadows({"referrer": "external"}, {"referrer": "present"}) is None
    assert shadows({"utm_medium": "present"}, {"utm_source": ["google"]}) is None
    assert shadows({"click_id": "present"}, {"click_id": "gclid"}) is None, "click_id lists parameter names"
    assert shadows({"utm_medium": "CPC"}, {"utm_medium": ["cpc"]}) == ["utm_medium: CPC"], "values: any case"
    load_plan(EXAMPLE_PLAN)


def test_keys_written_twice_are_all_reported():
    assert errors_of(BROKEN / "duplicates.yaml") == [
        '8:7: key "slot" is written twice in the same mapping (first at line 7); keep one',
        '9:3: key "quote_requested" is written twice in the same mapping (first at line 4); keep one',
    ]


def test_broker_csv_rows_are_reported_at_their_csv_line():
    csv = BROKEN / "csv-brokers.csv"
    with pytest.raises(PlanErrors) as info:
        load_plan(BROKEN / "csv-brokers.yaml")
    assert [str(e) for e in info.value.errors] == [
        f"{csv}:3:1: expected 3 fields: id,name,lever",
        f'{csv}:4:1: broker "D001": lever "dispaly" is not declared in levers.names (did you mean "display"?)',
        f'{csv}:5:1: broker "B042" is listed twice',
        f"{csv}:6:1: expected 3 fields: id,name,lever",
    ]


def test_broker_table_from_a_clean_csv(tmp_path):
    (tmp_path / "brokers.csv").write_text("id, name, lever\nB1, Un, broker\n\"B2\",\"Deux, et fils\",broker\n")
    (tmp_path / "plan.yaml").write_text('version: "1"\nbrokers: brokers.csv\nlevers: {names: [broker]}\n')
    plan = load_plan(tmp_path / "plan.yaml")
    assert [(b.id, b.name, b.lever) for b in plan.brokers] == [("B1", "Un", "broker"), ("B2", "Deux, et fils", "broker")]
    assert plan_files(tmp_path / "plan.yaml") == [tmp_path / "plan.yaml", tmp_path / "brokers.csv"]


def test_csv_header_and_missing_file(tmp_path):
    (tmp_path / "brokers.csv").write_text("id;name;lever\nB1;Un;broker\n")
    (tmp_path / "plan.yaml").write_text('version: "1"\nbrokers: brokers.csv\nlevers: {names: [broker]}\n')
    (tmp_path / "other.yaml").write_text('version: "1"\nbrokers: nope.csv\nlevers: {names: [broker]}\n')
    with pytest.raises(PlanErrors) as info:
        load_plan(tmp_path / "plan.yaml")
    assert [str(e) for e in info.value.errors] == [
        f"{tmp_path / 'brokers.csv'}:1:1: missing column(s) id, lever, name; expected a header id,name,lever"
    ]
    (error,) = errors_of(tmp_path / "other.yaml")
    assert error.endswith(":1:1: cannot read the broker table: No such file or directory")


def test_wrong_types_say_what_was_expected(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text(
        "version: 3\n"
        "events:\n"
        "  quote_requested:\n"
        "    properties:\n"
        "      age: {type: integr, required: yes please}\n"
        "forms:\n"
        "  quote: {steps: []}\n"
        "capture: {broker: {param: courtier, keep_days: 900}}\n"
    )
    assert errors_of(bad) == [
        "1:10: expected text, got the number 3",
        '5:19: "integr" is not allowed (did you mean "integer"?), expected one of: '
        "boolean, date, datetime, email, enum, integer, number, phone, string, url",
        '5:37: expected true or false, got the text "yes please"',
        "7:11: expected at least 1 item(s)",
        "8:48: expected a number <= 395, got 900",
    ]


def test_optional_steps(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text('version: "1"\nforms:\n  quote:\n    steps:\n      - {id: vehicle}\n'
                    "      - {id: options, optional: true}\n      - {id: contact}\n")
    steps = load_plan(path).forms["quote"].steps
    assert [s.optional for s in steps] == [False, True, False]
    path.write_text('version: "1"\nforms:\n  quote:\n    steps:\n      - {id: vehicle, optional: true}\n'
                    "      - {id: contact}\n")
    assert errors_of(path) == ['5:33: form "quote": the first step "vehicle" cannot be optional; the funnel starts there']
    path.write_text('version: "1"\nforms:\n  quote:\n    steps:\n      - {id: vehicle}\n'
                    "      - {id: contact, optional: maybe}\n")
    assert errors_of(path) == ['6:33: expected true or false, got the text "maybe"']


def test_a_pattern_that_cannot_be_matched_in_linear_time_is_refused(tmp_path):
    """Patterns are matched by RE2: a backreference or a lookaround, which only a backtracking engine can
    match, is refused when the plan is checked or loaded, naming the property."""
    path = tmp_path / "plan.yaml"
    path.write_text('version: "1"\nevents:\n  lead:\n    properties:\n'
                    '      twice: {type: string, pattern: "^(ab)\\\\1$"}\n'
                    '      not_test: {type: string, pattern: "^(?!test)"}\n'
                    '      channel: {type: string, pattern: "^([a-z0-9]+\\\\s?)+$"}\n')
    rest = ("RE2 matches every pattern in a time linear in the value, and has no backreferences (\\1), no "
            "lookarounds ((?=...), (?!...)), no \\Z (write \\z); write it without them")
    assert errors_of(path) == [
        f'5:38: property "twice": pattern not supported (invalid escape sequence: \\1): {rest}',
        f'6:41: property "not_test": pattern not supported (invalid perl operator: (?!): {rest}',
    ]


def test_invalid_yaml_names_the_line(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text('version: "1"\nforms: [\n')
    (error,) = errors_of(bad)
    assert error.startswith("3:1: invalid YAML")


def test_missing_file_is_a_plan_error(tmp_path):
    (error,) = errors_of(tmp_path / "nope.yaml")
    assert error == "1:1: cannot read the plan: No such file or directory"


def test_consent_long_form(tmp_path):
    good = tmp_path / "plan.yaml"
    good.write_text('version: "1"\nconsent: {mode: required, exempt_events: [page_view]}\n')
    plan = compile_plan(load_plan(good))
    assert (plan.tag_config["c"], plan.tag_config["x"]) == ("required", ["page_view"])
    good.write_text('version: "1"\nconsent: {mode: requird}\n')
    assert errors_of(good) == ['2:17: "requird" is not allowed (did you mean "required"?), expected one of: exempt, required']


PROPERTY_LINES = [i for i, line in enumerate(EXAMPLE_PLAN.read_text().splitlines(), start=1)
                  if "{type: " in line and line.rstrip().endswith("}")]
PROPERTY_KEYS = ("type", "label", "description", "required", "max_length", "pattern", "values", "pii")


@settings(max_examples=25, deadline=None)
@given(line=st.sampled_from(PROPERTY_LINES),
       key=st.from_regex(r"[a-z][a-z_]{2,11}", fullmatch=True).filter(lambda k: k not in PROPERTY_KEYS))
def test_an_unknown_key_anywhere_is_reported_at_its_line(tmp_path_factory, line, key):
    lines = EXAMPLE_PLAN.read_text().splitlines()
    lines[line - 1] = lines[line - 1].rstrip()[:-1] + f", {key}: 1}}"
    path = tmp_path_factory.mktemp("plan") / "plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    (error,) = errors_of(path)
    column = lines[line - 1].rindex(f"{key}: 1}}") + 1  # the key added (one such as "all" may be in "call" before)
    assert error.startswith(f'{line}:{column}: unknown key "{key}"')
    assert error.endswith("expected one of: " + ", ".join(PROPERTY_KEYS))


def test_identity_reconciliation_and_import_profiles_are_checked():
    assert errors_of(BROKEN / "imports.yaml") == [
        '11:3: identity key "quote_id" is a CRM id: it must be a string property, but it is declared as integer',
        '14:14: reconciliation: time zone "Europe/Pari" is unknown (did you mean "Europe/Paris"?), '
        "expected a name such as Europe/Paris",
        '15:25: channel "shop" is listed twice in reconciliation.channels',
        '19:3: import "courtiers": no phone or crm_id: map it in fields, or give it in defaults',
        '20:16: import "courtiers": delimiter ";;" must be one character',
        '21:15: import "courtiers": encoding "utf-9" is unknown (did you mean "utf-8"?), '
        "expected a name such as utf-8, cp1252 or latin-1",
        '23:16: import "courtiers": the thousands separator must differ from the decimal one',
        '24:18: import "courtiers": date_format "%d/%m/%Y %I:%M" uses %I, which is not supported '
        "(use %d %m %Y %y %H %M %S), expected iso or a pattern such as %d/%m/%Y %H:%M",
        '25:16: import "courtiers": time zone "Mars/Olympus" is unknown, expected a name such as Europe/Paris',
        '26:14: import "courtiers": records only applies to JSON files, not csv',
        '30:7: import "courtiers": unknown field "premum" (did you mean "premium"?), expected one of: '
        "conversion_id, ts, channel, broker_id, adviser, shop, product, premium, currency, phone, crm_id, ad_consent, "
        "status, cancelled_at",
        '31:25: import "courtiers": channel "shopp" is not declared in reconciliation.channels (did you mean "shop"?)',
        '31:42: import "courtiers": currency "euro" is not a 3-letter code such as EUR',
        '34:18: import "no_header": date_format "%H:%M" has no day, month or year, '
        "expected iso or a pattern such as %d/%m/%Y %H:%M",
        '35:36: import "no_header": field "ts": the file has no header row, give a column number (1 = first column)',
        '38:16: import "crm": delimiter only applies to CSV files, not json',
        '39:29: import "crm": field "conversion_id": a JSON field is a dotted path such as contract.id, not a number',
        '42:18: import "couts": date_format "%d/%m/%Y %H:%M" has a time, but this import reads days, '
        "expected iso or a pattern such as %d/%m/%Y %H:%M",
        '44:23: import "couts": lever "displai" is not declared in levers.names (did you mean "display"?)',
        '45:5: import "couts": status_values only applies to sales (into: conversions), not costs',
    ]



def test_events_marked_as_conversions_say_each_mistake_at_its_line():
    assert errors_of(BROKEN / "conversions.yaml") == [
        '11:41: event "contract_signed": unknown conversion field "premum" (did you mean "premium"?), expected one '
        "of: conversion_id, channel, broker_id, adviser, shop, product, premium, currency, phone, crm_id, ad_consent",
        '12:16: event "contract_signed": channel "shopp" is not declared in reconciliation.channels '
        '(did you mean "shop"?)',
        '14:7: event "contract_signed": property "contract" gives the conversion_id: make it required: true',
        '15:23: event "contract_signed": conversion field premium: property "premium" must be number, integer or '
        "string, not boolean",
        '20:5: event "sale_done": a conversion needs its conversion_id (the contract id): give it a property in '
        "conversion.fields",
        '21:39: event "sale_done": conversion field crm_id: the event has no property "quote"',
        '23:7: event "sale_done": conversion field phone: property "mobile" must be a phone identity key (under '
        "identity:), so only its keyed hash is kept",
        '25:5: event "policy_renewed": a conversion is matched to journeys by its phone or crm_id: the event needs '
        "a property for one of them",
        '27:29: event "policy_renewed": conversion field conversion_id: property "conversion_id" must be string or '
        "integer, not boolean",
    ]


def test_a_conversion_event_takes_unlisted_fields_from_properties_of_the_same_name_and_its_identity_keys():
    plan = compile_plan(load_plan(EXAMPLE_PLAN))
    assert dict(plan.conversions["contract_signed"].fields) == {
        "conversion_id": "contract_id", "channel": "channel", "broker_id": "broker_id", "shop": "shop",
        "product": "product", "premium": "premium", "currency": "currency", "phone": "phone", "crm_id": "quote_id",
        "ad_consent": "ad_consent"}
    assert set(plan.conversions) == {"contract_signed"}

def test_the_example_plan_declares_a_crm_key_and_the_sample_profiles():
    plan = compile_plan(load_plan(EXAMPLE_PLAN))
    assert plan.crm_keys == ("quote_id",) and plan.default_region == "FR"
    assert set(plan.plan.imports) == {"courtiers", "resiliations", "crc", "regie", "asterisk"}
    assert plan.plan.reconciliation.time_zone == "Europe/Paris"
    # identify carries the CRM id as well as the phone.
    assert set(plan.events["identify"].properties) == {"phone", "quote_id"}


def test_every_mistake_of_every_stage_in_one_run(tmp_path):
    """A shape mistake no longer hides the cross-checks: issue 10's plan gives its three errors at once."""
    bad = tmp_path / "plan.yaml"
    bad.write_text(
        'version: "1"\n'
        "forms:\n"
        "  quote:\n"
        "    steps:\n"
        "      - {id: vehicle, lable: Votre moto}\n"
        "events:\n"
        "  signup:\n"
        "    properties:\n"
        "      plan: {type: enum, values: [basic, full, basic]}\n"
        "brokers:\n"
        "  - {id: B042, name: Comparamoto, lever: brokr}\n"
        "levers: {names: [broker, direct]}\n"
    )
    assert errors_of(bad) == [
        '5:23: unknown key "lable" (did you mean "label"?), expected one of: id, label, optional, properties',
        '9:48: property "plan": enum value "basic" is listed twice',
        '11:5: broker "B042": lever "brokr" is not declared in levers.names (did you mean "broker"?)',
    ]


def test_what_is_removed_as_invalid_causes_no_second_error(tmp_path):
    """Cross-checks run on the valid part: nothing is reported about, or because of, a part taken out."""
    bad = tmp_path / "plan.yaml"
    bad.write_text(
        "forms:\n"
        "  quote:\n"
        "    steps:\n"
        "      - {id: vehicle}\n"
        "      - {id: 3, properties: {email: {type: email}}}\n"
        "      - {id: contact, properties: {phone: {type: phon, values: [a]}}}\n"
        "      - {id: vehicle}\n"
        "brokers:\n"
        "  - {id: B1, name: Sans levier}\n"
        "  - {id: B042, name: Comparamoto, lever: brokr}\n"
        "levers:\n"
        "  names: [broker, direct, 42]\n"
        "  rules:\n"
        "    - {lever: dirct}\n"
        "    - {lever: direct, when: 3}\n"
        "    - {lever: broker}\n"
        "consent: {mode: required, exempt_events: [page_veiw]}\n"
        "identity:\n"
        "  phone: {region: FR}\n"
        "  email: {region: FR}\n"
    )
    assert errors_of(bad) == [
        '1:1: missing required key "version"',
        "5:14: expected text, got the number 3",
        '6:50: "phon" is not allowed (did you mean "phone"?), expected one of: '
        "boolean, date, datetime, email, enum, integer, number, phone, string, url",
        # Index 3 in the file, 2 once the bad step is out: placed at its own line all the same.
        '7:9: form "quote": step "vehicle" is listed twice',
        '9:5: missing required key "lever"',
        '10:5: broker "B042": lever "brokr" is not declared in levers.names (did you mean "broker"?)',
        "12:27: expected text, got the number 42",
        '14:15: lever "dirct" is not declared in levers.names (did you mean "direct"?)',
        "15:29: expected a mapping of keys, got the number 3",
        '17:43: consent: exempt event "page_veiw" is not declared (did you mean "page_view"?)',
    ]
    # Not reported: the phone property as "declared as string" (its type is misspelt), the e-mail identity
    # key as "not a property" (its step is invalid), rule 3 as "never reached" (rule 2 lost its conditions),
    # values on a non-enum (the property's type is unknown).


def test_csv_rows_and_yaml_mistakes_in_one_run(tmp_path):
    (tmp_path / "brokers.csv").write_text("id,name,lever\nB1,Un,brokr\nB2,Deux\n")
    (tmp_path / "plan.yaml").write_text('version: "1"\nbrokers: brokers.csv\nlevers: {names: [broker], nmes: [x]}\n')
    with pytest.raises(PlanErrors) as info:
        load_plan(tmp_path / "plan.yaml")
    csv = tmp_path / "brokers.csv"
    assert [str(e) for e in info.value.errors] == [
        f'{csv}:2:1: broker "B1": lever "brokr" is not declared in levers.names (did you mean "broker"?)',
        f"{csv}:3:1: expected 3 fields: id,name,lever",
        f'{tmp_path / "plan.yaml"}:3:27: unknown key "nmes" (did you mean "names"?), expected one of: names, rules',
    ]


def test_the_call_centre_section_is_checked():
    assert errors_of(BROKEN / "call-centre.yaml") == [
        '48:10: call_centre: lever "phon" is not declared in levers.names',
        '50:5: call-back leads: form "devis" is not declared in forms',
        '56:18: call-back leads of form "quote": step "ridr" is not a step of the form (did you mean "rider"?), '
        "expected one of: vehicle, rider, contact",
        '57:14: call-back leads of form "quote": property "mobile" must be of type phone, but it is declared as string',
        '58:16: call-back leads of form "quote": the consent property "ok" must be of type boolean (the ticked box), '
        "but it is declared as string",
        '62:14: call-back leads of form "quick": property "tel" would be stored as typed: mark it pii: true or make '
        "it an identity key",
        '63:16: call-back leads of form "quick": the consent property "agreed_q" is on step "when", the phone "tel" '
        "on step \"who\": the consent must be sent with the phone it covers",
        '66:18: call-back leads of form "callback": from_step "number" must come after step "number", which asks '
        "the phone (a step is sent when the visitor completes it)",
        '72:14: call-back leads of form "short": phone property "phon" is not a property of any step of the form '
        '(did you mean "phone"?)',
        '80:13: "D+2" is not allowed (did you mean "D+1"?), expected one of: D, D+1',
        '83:33: phone number "09 70 00 01 10" is already in the pool (item 1)',
        '83:51: phone number "+33 9 70 00 00 00" is the default number: the pool holds the tracking numbers only',
        '83:72: phone number "12" is not a valid number (read in region FR, or give its +country code)',
    ]


def test_the_example_plan_has_call_back_leads_and_a_number_pool():
    plan = load_plan(EXAMPLE_PLAN).call_centre
    assert plan.leads["moto_quote"].from_step == "coverage" and plan.leads["moto_quote"].wait == "D+1"
    assert len(plan.numbers.pool) == 10 and plan.numbers.default == "+33 9 70 00 00 00"


def test_a_plan_encodes_as_json_whatever_yaml_scalars_it_was_written_with():
    """The example's folded `>-` description (like a float or a hex number) is a ruamel subclass; the loaded
    plan holds plain values, so it goes as JSON to the import reader process like any other."""
    import msgspec

    plan = load_plan(EXAMPLE_PLAN)
    assert msgspec.json.decode(msgspec.json.encode(plan))["version"] == plan.version
