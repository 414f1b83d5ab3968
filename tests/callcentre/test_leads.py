"""Who is a call-back lead: consent and phone given, the form left at a lead step or later, no return, no
submit, no sale; with the consent's proof and the journey's summary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import zoneinfo

import pytest

from callcentre import leads
from collector.enrich import phone_key
from tagplan import compile_plan, load_plan
from tests.callcentre.conftest import form_event, post, step
from tests.collector.helpers import counts, rows
from tests.conftest import EXAMPLE_PLAN, SECRET, Client

PHONE = "06 48 27 19 53"
MIN = 60_000
CAPTURED = {"utm_source": "display", "utm_medium": "cpm", "utm_campaign": "moto-spring"}


def journey(client, visitor, *, consent=True, leave_at="coverage", minutes_ago=20, phone=PHONE, then=(), headers=None,
            again=None, captured=True):
    """A visitor's quote: vehicle and rider (phone, box) completed, then the form left at `leave_at`; `again`: the
    rider step's properties sent a second time (the visitor went back to it) before leaving."""
    t0 = int(time.time() * 1000) - minutes_ago * MIN
    session = f"s-{visitor}"
    c = {"c": CAPTURED} if captured else {}
    events = [step("vehicle", visitor, session, t0, engine_cc=700) | c,
              step("rider", visitor, session, t0 + 2 * MIN, phone=phone, callback_consent=consent) | c,
              form_event("form_abandon", visitor, session, leave_at, t0 + 4 * MIN) | c]
    if again is not None:
        events.insert(2, step("rider", visitor, session, t0 + 3 * MIN, **again) | c)
    for i, (kind, step_id) in enumerate(then):
        events.append(form_event(kind, visitor, session, step_id, t0 + (5 + i) * MIN, **(
            {"phone": phone, "quote_id": "Q-1"} if kind == "form_submit" else {})))
    for ev in events:
        if ev["e"] == "form_step":
            ev["dt"] = 30_000  # the first step: 30 s after the page loaded
    assert counts(post(client, *events, headers=headers))["rejected"] == 0
    return events


def found(store, plan, sealer, **kw):
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    result = leads.find(store, plan, sealer, since, **kw)
    return [dict(zip(result.columns, r)) for r in result.rows]


def test_a_consenting_visitor_who_left_at_the_lead_step_is_a_lead_with_proof_and_journey(client, store, plan, sealer):
    events = journey(client, "v-lead")
    (lead,) = found(store, plan, sealer)
    assert lead["lead_id"] == events[2]["id"] and lead["form_id"] == "moto_quote"
    assert lead["phone"] == "+33648271953" and lead["phone_key"] == phone_key(PHONE, "FR", SECRET)
    assert lead["wording"] == "rappel-2026-08" and lead["consent_url"] == events[1]["url"]
    assert abs(lead["consented_at"].timestamp() * 1000 - events[1]["t"]) < 2_000
    assert (lead["last_step"], lead["last_step_index"]) == ("coverage", 3)
    assert (lead["lever"], lead["campaign"]) == ("display", "moto-spring")
    # From the first step (30 s after the page loaded) to the abandonment 4 minutes later.
    assert abs(lead["time_on_form_s"] - (4 * 60 + 30)) <= 2
    assert lead["expired"] is False and lead["delivery"] == ""
    assert lead["visitor_id"] == "v-lead" and lead["session_id"] == "s-v-lead"


def test_a_lead_says_how_its_session_came_not_how_its_last_page_did(client, store, plan, sealer):
    """Its landing's lever and campaign: the abandon, on a later page (or on another of the plan's sites reached
    by a link), read `direct` or `referral` (re-probe)."""
    t0 = int(time.time() * 1000) - 21 * MIN
    landing = form_event("page_view", "v-landed", "s-v-landed", "", t0) | {"c": CAPTURED}
    landing.pop("f")
    assert counts(post(client, landing))["rejected"] == 0
    journey(client, "v-landed", captured=False)
    assert rows(store, "SELECT DISTINCT lever FROM parcours.events WHERE event = 'form_abandon'") == [{"lever": "direct"}]
    (lead,) = found(store, plan, sealer)
    assert (lead["lever"], lead["campaign"]) == ("display", "moto-spring")


def test_the_deadline_is_the_end_of_the_next_day_in_the_plans_time_zone(client, store, plan, sealer):
    journey(client, "v-deadline")
    (lead,) = found(store, plan, sealer)
    abandoned = lead["abandoned_at"].astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    day_after = (abandoned + dt.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert lead["call_by"] == day_after.astimezone(dt.timezone.utc)


@pytest.mark.parametrize("case", ["no consent", "left before the lead step", "came back", "submitted",
                                  "submitted elsewhere", "signed", "too recent", "a bot", "box unticked",
                                  "step sent again without the box"])
def test_who_is_not_a_lead(client, store, plan, sealer, case):
    if case == "a bot":  # a script that fills the form and ticks the box gets nobody called
        journey(client, "v", headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0"})
        assert rows(store, "SELECT DISTINCT is_bot FROM parcours.events") == [{"is_bot": 1}]
    elif case == "no consent":
        journey(client, "v", consent=False)
    elif case == "left before the lead step":
        journey(client, "v", leave_at="rider")
    elif case == "came back":
        journey(client, "v", then=[("form_step", "coverage")])
    elif case == "submitted":
        journey(client, "v", then=[("form_step", "coverage"), ("form_step", "contact"), ("form_submit", "")])
    elif case == "submitted elsewhere":
        journey(client, "v")
        post(client, form_event("form_submit", "v-other-browser", "s-o", "", phone=PHONE, quote_id="Q-2"))
    elif case == "signed":
        journey(client, "v")
        store.insert("conversions", [["MA-1", dt.datetime.now(dt.timezone.utc), phone_key(PHONE, "FR", SECRET)]],
                     ["conversion_id", "ts", "phone_key"])
    elif case == "box unticked":  # went back, unticked it, went on: the latest answer wins (it was a lead)
        journey(client, "v", again={"phone": PHONE, "callback_consent": False})
    elif case == "step sent again without the box":
        journey(client, "v", again={})
    elif case == "too recent":
        journey(client, "v", minutes_ago=8)  # left 4 minutes ago: quiet_minutes is 10
    assert found(store, plan, sealer) == []


def test_a_contract_signed_then_withdrawn_leaves_the_lead_standing(client, store, plan, sealer):
    journey(client, "v-withdrawn")
    now = dt.datetime.now(dt.timezone.utc)
    store.insert("conversions", [["MA-1", now, phone_key(PHONE, "FR", SECRET), "cancelled", now]],
                 ["conversion_id", "ts", "phone_key", "status", "cancelled_at"])
    assert [lead["visitor_id"] for lead in found(store, plan, sealer)] == ["v-withdrawn"]


def test_the_box_ticked_again_after_it_was_unticked_is_a_lead(client, store, plan, sealer):
    """Ticked, unticked, ticked once more: the latest answer is yes."""
    events = journey(client, "v-again", consent=False, again={"phone": PHONE, "callback_consent": True})
    (lead,) = found(store, plan, sealer)
    assert abs(lead["consented_at"].timestamp() * 1000 - events[2]["t"]) < 2_000  # the latest box ticked


def test_min_step_and_form_narrow_the_rules(client, store, plan, sealer):
    journey(client, "v-contact", leave_at="contact")
    journey(client, "v-coverage", leave_at="coverage")
    assert {lead["visitor_id"] for lead in found(store, plan, sealer)} == {"v-contact", "v-coverage"}
    assert [lead["visitor_id"] for lead in found(store, plan, sealer, min_step=4)] == ["v-contact"]
    assert found(store, plan, sealer, form="other_form") == []


def test_a_phone_past_its_retention_makes_no_lead(client, store, plan, sealer):
    journey(client, "v-old")
    store.query(f"ALTER TABLE {store.database}.lead_contacts UPDATE purge_after = now64(3) - INTERVAL 1 SECOND "
                "WHERE 1 SETTINGS mutations_sync = 2", readonly=False)
    assert found(store, plan, sealer) == []


def test_without_the_key_the_lead_is_listed_without_its_phone(client, store, plan):
    journey(client, "v-nokey")
    (lead,) = found(store, plan, None)
    assert lead["phone"] == "" and lead["phone_key"]
    assert rows(store, "SELECT count() AS n FROM parcours.lead_contacts") == [{"n": 1}]


def test_the_admin_api_lists_the_leads_with_their_phone(client, store):
    from tests.callcentre.conftest import ADMIN

    journey(client, "v-api")
    assert client.get("/api/leads").status_code == 401
    doc = client.get("/api/leads?since=2h", headers=ADMIN).json()
    assert doc["columns"] == list(leads.COLUMNS)
    (row,) = doc["rows"]
    lead = dict(zip(doc["columns"], row))
    assert lead["phone"] == "+33648271953" and lead["visitor_id"] == "v-api"
    assert client.get("/api/leads?since=2h&min_step=5", headers=ADMIN).json()["rows"] == []
    bad = client.get("/api/leads?since=yesterday", headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["error"].startswith('since: "yesterday" is not a time')
    bad = client.get("/api/leads?min_step=x", headers=ADMIN)
    assert bad.status_code == 400 and bad.json() == {"error": "min_step: expected a step number, 1 or more"}


def test_the_command_lines_formats_hold_the_same_leads():
    import csv
    import io
    import json

    from callcentre.cli import render
    from collector.output import as_document, as_result
    from collector.storage import QueryResult

    when = dt.datetime(2026, 10, 2, 9, 14, tzinfo=dt.timezone.utc)
    row = ["L1", "moto_quote", "+33648271953", "k", when, "rappel-2026-08", "https://x/devis", when, "coverage", 3,
           270, "display", "moto-spring", "", "", when, False, "delivered", "v1", "s1"]
    result = as_result(as_document(QueryResult(list(leads.COLUMNS), [row])))
    (obj,) = json.loads(render(result, "json"))
    assert obj["phone"] == "+33648271953" and obj["expired"] is False and obj["call_by"] == "2026-10-02T09:14:00Z"
    (line,) = csv.DictReader(io.StringIO(render(result, "csv")))
    assert line["phone"] == "+33648271953" and line["expired"] == "false" and line["time_on_form_s"] == "270"
    # A campaign is anyone's URL text: never a formula in the call centre's spreadsheet; the phone stays a number.
    row[12] = "=HYPERLINK(\"http://evil.example\")"
    (line,) = csv.DictReader(io.StringIO(render(as_result(as_document(QueryResult(list(leads.COLUMNS), [row]))), "csv")))
    assert (line["campaign"], line["phone"]) == ("'=HYPERLINK(\"http://evil.example\")", "+33648271953")
    table = render(result, "table").splitlines()
    assert table[0].split(" | ")[0].strip() == "phone" and "+33648271953" in table[2] and table[-1] == "(1 row)"
    # As a French Excel opens it: a BOM (else "RÃ©gie"), `;`, and the phone as text (+33648271953 was read as
    # the number 33648271953) (outside probe); formulas neutralised all the same.
    excel = render(as_result(as_document(QueryResult(list(leads.COLUMNS), [row]))), "excel")
    assert excel.startswith("\ufeff") and "\r\n" in excel
    (line,) = csv.DictReader(io.StringIO(excel[1:], newline=""), delimiter=";")
    assert (line["phone"], line["campaign"]) == ("+33 6 48 27 19 53", "'=HYPERLINK(\"http://evil.example\")")


def test_a_visitor_who_skipped_an_optional_step_before_the_lead_step_is_a_lead(lead_settings, store, sealer, tmp_path):
    """An optional `garage` step before the lead's from_step (coverage): a visitor who skipped it, completed
    coverage and left was said by the tag to have left at garage, below from_step, and was no lead."""
    from collector.app import create_app

    path = tmp_path / "plan.yaml"
    path.write_text(EXAMPLE_PLAN.read_text().replace(
        "      - id: coverage\n", "      - {id: garage, optional: true}\n      - id: coverage\n", 1))
    plan = compile_plan(load_plan(path))
    completed = ["vehicle", "rider", "coverage"]
    # Where the tag says the visitor left (tag_js/src/tracker.js leave()): the first step of its config not completed.
    left_at = next(s for s in plan.tag_config["f"]["moto_quote"] if s not in completed)
    assert left_at == "contact"
    t0 = int(time.time() * 1000) - 20 * MIN
    with Client(create_app(dataclasses.replace(lead_settings, plan=path))) as client:
        events = [step("vehicle", "v-garage", "s-g", t0, engine_cc=700),
                  step("rider", "v-garage", "s-g", t0 + MIN, phone=PHONE, callback_consent=True),
                  step("coverage", "v-garage", "s-g", t0 + 2 * MIN),
                  form_event("form_abandon", "v-garage", "s-g", left_at, t0 + 3 * MIN)]
        assert counts(post(client, *events))["rejected"] == 0
    (lead,) = found(store, plan, sealer)
    assert (lead["visitor_id"], lead["last_step"], lead["last_step_index"]) == ("v-garage", "contact", 5)


def test_a_campaign_holding_a_carriage_return_is_one_cell_of_the_leads_csv():
    """A campaign is stored as the URL sent it (`utm_campaign=spring%0Dsale`): unquoted, a carriage return split
    its lead's line in two for every CSV reader."""
    import csv
    import io

    from callcentre.cli import render
    from collector.output import as_document, as_result
    from collector.storage import QueryResult

    when = dt.datetime(2026, 10, 2, 9, 14, tzinfo=dt.timezone.utc)
    row = ["L1", "moto_quote", "+33648271953", "k", when, "rappel-2026-08", "https://x/devis", when, "coverage", 3,
           270, "display", "spring\rsale", "", "", when, False, "delivered", "v1", "s1"]
    text = render(as_result(as_document(QueryResult(list(leads.COLUMNS), [row]))), "csv")
    (line,) = csv.DictReader(io.StringIO(text, newline=""))
    assert (line["campaign"], line["phone"]) == ("spring\rsale", "+33648271953") and text.endswith("s1\n")
