"""Compiled validators: every type and rule, property-based; the lever rules; the tag config contract."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector import ingest
from tagplan import compile_plan, load_plan
from tests.conftest import EXAMPLE_PLAN, SECRET

PLAN = """\
version: "t1"
events:
  all_types:
    properties:
      s: {type: string, max_length: 10, pattern: "^[a-z]+$"}
      i: {type: integer, required: true}
      n: {type: number}
      b: {type: boolean}
      e: {type: enum, values: [a, b, c]}
      u: {type: url}
      m: {type: email, pii: true}
      p: {type: phone}
      d: {type: date}
      t: {type: datetime}
forms:
  quote:
    steps:
      - {id: vehicle, properties: {engine_cc: {type: integer, required: true}}}
    submit:
      properties:
        quote_id: {type: string, required: true, pattern: "^Q-[0-9]+$"}
identity:
  p: {region: GB}
"""


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "plan.yaml"
    path.write_text(PLAN)
    return compile_plan(load_plan(path))


def problems(plan, props):
    return plan.events["all_types"].problems(props)


phones = st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)).map(
    lambda r: phonenumbers.example_number_for_type(r, phonenumbers.PhoneNumberType.MOBILE)
).filter(lambda n: n is not None).map(lambda n: phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
urls = st.builds(lambda h, tld, path, https: f"{'https' if https else 'http'}://{h}.{tld}/{path}",
                 st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), st.sampled_from(["fr", "com", "io"]),
                 st.from_regex(r"[a-zA-Z0-9/_-]{0,30}", fullmatch=True), st.booleans())
datetimes = st.datetimes(min_value=dt.datetime(1900, 1, 1), timezones=st.none() | st.just(dt.timezone.utc)
                         | st.integers(-12 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m))))
VALID = {
    "s": st.from_regex(r"[a-z]{1,10}", fullmatch=True),
    "i": st.integers(),
    "n": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "b": st.booleans(),
    "e": st.sampled_from(["a", "b", "c"]),
    "u": urls,
    "m": st.emails(),
    "p": phones,
    "d": st.dates().map(dt.date.isoformat),
    "t": datetimes.map(dt.datetime.isoformat),
}
valid_events = st.fixed_dictionaries({"i": VALID["i"]}, optional={k: v for k, v in VALID.items() if k != "i"})


@given(props=valid_events)
def test_valid_events_are_accepted(plan, props):
    assert problems(plan, props) == []


WRONG = {
    # property -> (a value of the wrong kind, the reason)
    "s": (st.integers(), "expected a string, got a number"),
    "i": (st.text(), "expected an integer, got a string"),
    "n": (st.booleans(), "expected a number, got a boolean"),
    "b": (st.sampled_from(["true", 1, 0, None]), None),
    "e": (st.text().filter(lambda v: v not in ("a", "b", "c")), "expected one of a, b, c"),
    "u": (st.sampled_from(["www.example.fr", "ftp://example.fr/x", "javascript:alert(1)", "https://", 3]), "expected an http(s) URL"),
    "m": (st.text(alphabet="abc .").filter(lambda v: "@" not in v), "expected an e-mail address"),
    "p": (st.text(alphabet="abcxyz", min_size=1),
          "expected a valid phone number (in GB, or with its +country code): it is not a number"),
    "d": (st.sampled_from(["2026-02-30", "31/01/2026", "2026-1-5", "2026-01-31T10:00", "", 20260131]), "expected a date YYYY-MM-DD"),
    "t": (st.sampled_from(["2026-01-31", "yesterday", "2026-01-31T25:00", "2026-13-01T10:00Z", 1700000000]),
          "expected an ISO 8601 date-time"),
}


@pytest.mark.parametrize("name", sorted(WRONG))
@given(data=st.data())
def test_each_kind_of_wrong_value_is_rejected_with_its_path(plan, name, data):
    strategy, reason = WRONG[name]
    value = data.draw(strategy)
    got = problems(plan, {"i": 1, name: value})
    if value is None or value == "":
        # null and "" count as absent: fine for optional properties, not for the required one
        assert got == (["properties.i: required property is missing"] if name == "i" else [])
        return
    if name == "b":
        reason = "expected true or false, got " + {str: "a string", int: "a number"}[type(value)]
    assert got == [f"properties.{name}: {reason}"]


@given(value=st.from_regex(r"[a-z]{11,30}", fullmatch=True))
def test_too_long_is_rejected_by_max_length(plan, value):
    assert problems(plan, {"i": 1, "s": value}) == ["properties.s: longer than max_length 10"]


@given(value=st.from_regex(r"[a-z]{0,4}[A-Z0-9 ][a-z]{0,4}", fullmatch=True))
def test_pattern_mismatch_is_rejected(plan, value):
    assert problems(plan, {"i": 1, "s": value}) == ["properties.s: does not match pattern ^[a-z]+$"]


def test_a_backtracking_pattern_refuses_a_hostile_value_at_once(tmp_path):
    """`^([a-z0-9]+\\s?)+$` took 3.8 s on 25 characters with `re` (x4 per 2 more), on the event loop: one
    event held up every request. RE2 refuses 10,000 characters in no time; a valid value still passes."""
    path = tmp_path / "plan.yaml"
    path.write_text('version: "1"\nevents:\n  lead:\n    properties:\n'
                    '      channel: {type: string, pattern: "^([a-z0-9]+\\\\s?)+$"}\n')
    plan = compile_plan(load_plan(path))
    body = json.dumps({"events": [wire("lead", p={"channel": "a" * 10_000 + "!"}),
                                  wire("lead", p={"channel": "web call centre"})]}).encode()
    out = ingest.ingest(body, ingest.Request(received_ms=int(time.time() * 1000)), plan, SECRET)
    assert [row.reasons for row in out.rejected] == [[r"properties.channel: does not match pattern ^([a-z0-9]+\s?)+$"]]
    assert len(out.events) == 1


@given(extra=st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(lambda k: k not in VALID))
def test_undeclared_property_and_missing_required(plan, extra):
    assert problems(plan, {extra: 1}) == [
        "properties.i: required property is missing", f"properties.{extra}: property is not declared in the plan",
    ]


def test_an_undeclared_name_is_quoted_shortened(plan):
    """A 20 KB property name made a 20 KB reason (and a `parcours rejected summary` table as wide)."""
    assert problems(plan, {"i": 1, "k" * 20_000: 1}) == [f"properties.{'k' * 63}…: property is not declared in the plan"]


def test_phone_uses_the_identity_region(plan, tmp_path):
    uk_mobile = "07400 123456"  # valid in GB, too long for a French number
    assert problems(plan, {"i": 1, "p": uk_mobile}) == []
    fr = tmp_path / "plan.yaml"
    fr.write_text(PLAN.replace("region: GB", "region: FR"))
    assert compile_plan(load_plan(fr)).events["all_types"].problems({"i": 1, "p": uk_mobile}) == [
        "properties.p: expected a valid phone number (in FR, or with its +country code): too long"
    ]


@pytest.mark.parametrize(("region", "value", "reason"), [
    ("FR", "07 11 22 33 44", "not a valid range of numbers in FR"),  # issue 10: refused with no hint why
    ("FR", "06 12 34", "too short"),
    ("FR", "06 12 34 56 78 90 12", "too long"),
    ("FR", "+49 11 1234 5678", "not a valid range of numbers in DE"),
    ("FR", "+376 3123451", "no number in AD has this length"),
    ("FR", "+999 1234", "no country has this code"),
    ("FR", "appelez-moi", "it is not a number"),
    ("FR", 612345678, "got a number"),
    ("FR", "0" * 65, "too long"),
    (None, "06 12 34 56 78", "it has none, and the plan gives no region for numbers without one"),
    (None, "+33 7 11 22 33 44", "not a valid range of numbers in FR"),
])
def test_a_refused_phone_says_what_was_expected_and_why(tmp_path, region, value, reason):
    path = tmp_path / "plan.yaml"
    identity = f"identity:\n  phone: {{region: {region}}}\n" if region else ""
    path.write_text('version: "1"\nevents:\n  call:\n    properties:\n      phone: {type: phone}\n' + identity)
    expected = (f"expected a valid phone number (in {region}, or with its +country code): {reason}" if region
                else f"expected a valid phone number with its +country code: {reason}")
    assert compile_plan(load_plan(path)).events["call"].problems({"phone": value}) == [f"properties.phone: {expected}"]


def wire(e, **fields):
    return {"id": str(uuid.uuid4()), "e": e, "t": int(time.time() * 1000), "vid": "v", "sid": "s", **fields}


def test_rejected_events_keep_every_reason_with_its_path(plan):
    body = json.dumps({"events": [
        wire("form_step", f="quote", s="vehicle", p={"engine_cc": "big"}),
        wire("form_submit", f="quote", p={"quote_id": "X-1"}),
        wire("form_step", f="quote", s="vehicle", p={"engine_cc": 650}),
    ]}).encode()
    out = ingest.ingest(body, ingest.Request(received_ms=int(time.time() * 1000)), plan, SECRET)
    assert len(out.events) == 1
    assert [row.reasons for row in out.rejected] == [
        ["properties.engine_cc: expected an integer, got a string"],
        ["properties.quote_id: does not match pattern ^Q-[0-9]+$"],
    ]


def test_tag_config_contract():
    config = compile_plan(load_plan(EXAMPLE_PLAN)).tag_config
    assert list(config) == ["v", "e", "b", "p", "s", "f", "n", "a"]
    assert config == {
        "v": "2026.11.1", "e": "collect", "b": "courtier",
        "p": {"courtier": 30, "utm_source": 30, "utm_medium": 30, "utm_campaign": 30, "utm_term": 30,
              "utm_content": 30, "gclid": 90, "fbclid": 7, "msclkid": 90},
        "s": ["127.0.0.1", "localhost"],
        "f": {"moto_quote": ["vehicle", "rider", "coverage", "contact"]},
        "n": ["phone", "email"],
        "a": ["numbers"],  # the example plan leases call-tracking numbers (call_centre.numbers)
    }


def test_tag_config_of_an_empty_plan(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text('version: "0"\n')
    assert compile_plan(load_plan(path)).tag_config == {"v": "0", "e": "collect", "b": "", "p": {}, "s": [], "f": {}}


def test_tag_config_names_consent_and_add_ons_only_when_the_plan_uses_them(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text('version: "0"\nconsent: {mode: required, exempt_events: [page_view]}\n'
                    "forms:\n  quote: {steps: [{id: a}]}\n  callback: {markup: true, steps: [{id: b}]}\n")
    config = compile_plan(load_plan(path)).tag_config
    assert (config["c"], config["x"], config["a"]) == ("required", ["page_view"], ["markup"])


def test_the_tag_config_names_the_properties_whose_events_the_tag_never_stores(tmp_path):
    """A phone (pii or not) or pii property of a step, a submit or an event: the tag keeps an event with a value
    for one in memory only, never in its stored queue."""
    path = tmp_path / "plan.yaml"
    path.write_text('version: "1"\n'
                    "forms:\n  quote:\n    steps:\n      - id: rider\n"
                    "        properties: {tel: {type: phone}, licence_years: {type: integer}}\n"
                    "    submit: {properties: {quote_id: {type: string}, birth_date: {type: date, pii: true}}}\n"
                    "events:\n  joined: {properties: {email: {type: email, pii: true}, tel: {type: phone}}}\n"
                    "identity: {quote_id: {type: crm}}\n")
    assert compile_plan(load_plan(path)).tag_config["n"] == ["tel", "birth_date", "email"]
    path.write_text('version: "1"\nforms:\n  quote: {steps: [{id: rider, properties: {age: {type: integer}}}]}\n')
    assert "n" not in compile_plan(load_plan(path)).tag_config, "none: the key is left out, the tag's default"


@pytest.mark.parametrize(("broker", "captured", "referrer", "lever"), [
    ("B042", {}, "", "broker"),
    ("D001", {"utm_medium": "social"}, "", "display"),
    ("ZZZZ", {}, "", "broker"),
    ("", {"gclid": "abc"}, "", "search_paid"),
    ("", {"fbclid": "abc"}, "", "social"),
    ("", {"utm_medium": "CPM"}, "", "display"),
    ("", {"utm_medium": "newsletter"}, "", "email"),
    ("", {}, "https://www.google.fr/search?q=moto", "search_organic"),
    ("", {}, "https://forum.moto.example/t/1", "referral"),
    ("", {}, "https://www.motoassur.example/tarifs", "direct"),
    ("", {}, "", "direct"),
])
def test_lever_rules_first_match_wins(broker, captured, referrer, lever):
    plan = compile_plan(load_plan(EXAMPLE_PLAN))
    assert plan.lever(broker, captured, referrer, "https://www.motoassur.example/devis") == lever


def test_the_tag_config_lists_the_required_steps_only(tmp_path):
    """The tag names in form_abandon the first listed step not completed: with an optional step listed, a
    visitor who skipped `options` and left at `confirm` was said to have left at `options`."""
    path = tmp_path / "plan.yaml"
    path.write_text('version: "1"\nforms:\n  quote:\n    steps:\n      - {id: vehicle}\n      - {id: rider}\n'
                    "      - {id: options, optional: true}\n      - {id: contact}\n      - {id: confirm}\n")
    compiled = compile_plan(load_plan(path))
    assert compiled.tag_config["f"] == {"quote": ["vehicle", "rider", "contact", "confirm"]}
    completed = {"vehicle", "rider", "contact"}  # options skipped
    # tag_js/src/tracker.js leave(): the first step of the config not completed
    assert next(s for s in compiled.tag_config["f"]["quote"] if s not in completed) == "confirm"
    assert list(compiled.steps["quote"]) == ["vehicle", "rider", "options", "contact", "confirm"], \
        "the collector still knows the optional step and its place"

