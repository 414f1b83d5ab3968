"""The reports the dashboard needs beside the others: person (by quote id or phone) and rejected; the phone in a POST."""

from __future__ import annotations

import json
import logging

import pytest

from collector import enrich
from collector.app import create_app
from journeys import reports
from journeys.reports import ReportError
from tests.conftest import SECRET, Client
from journeys.touches import view_parameters
from tests.journeys.builder import Journeys, at

PHONE = "06 12 34 56 78"
PERIOD = {"from": "2026-10-01", "to": "2026-10-08"}


def sale(store, conversion_id: str, when: str, channel: str, premium: str, *, broker: str = "", phone_key: str = "",
         crm_id: str = "", imported: str = "2026-10-20 00:00") -> None:
    store.insert("conversions", [[conversion_id, at(when), channel, broker, "Moto tous risques", premium, "EUR",
                                  phone_key, crm_id, "test.csv", 1, at(imported)]],
                 ["conversion_id", "ts", "channel", "broker_id", "product", "premium", "currency", "phone_key",
                  "crm_id", "source", "source_line", "imported_at"])


@pytest.fixture
def mrs_x(store, plan):
    """Mrs X: a display visit and a quote on 1 October, then a visit from a broker's site; her sale on the 3rd."""
    key = enrich.phone_key(PHONE, "FR", SECRET)
    j = Journeys()
    j.add("touch", "mrs-x", "s1", "2026-10-01 18:30", lever="display", utm_campaign="moto-spring")
    j.page("mrs-x", "s1", "2026-10-01 18:30", lever="display", utm_campaign="moto-spring")
    j.step("moto_quote", "vehicle", 1, "mrs-x", "s1", "2026-10-01 18:31", lever="display")
    j.submit("moto_quote", "mrs-x", "s1", "2026-10-01 18:33", lever="display", phone_key=key,
             properties={"quote_id": "Q-8F2KX1"})
    j.add("touch", "mrs-x", "s2", "2026-10-02 09:00", lever="broker", broker_id="B042")
    j.page("mrs-x", "s2", "2026-10-02 09:00", lever="broker", broker_id="B042")
    j.page("someone-else", "s3", "2026-10-02 10:00", lever="search")
    j.store(store)
    sale(store, "MA-1", "2026-10-03 08:42", "shop", "702.40", broker="B042", phone_key=key, crm_id="Q-8F2KX1")
    sale(store, "MA-2", "2026-10-03 09:00", "shop", "300.00", broker="B017", phone_key="another")
    return key


def run(store, plan, name, **raw):
    return reports.run(store, plan, name, {k: str(v) for k, v in raw.items()})


def test_a_person_by_quote_id_visits_quote_and_sale_in_order(store, plan, mrs_x):
    rows = run(store, plan, "person", quote_id="Q-8F2KX1").records()
    assert [(r["kind"], r["lever"], r["broker_id"]) for r in rows] == [
        ("visit", "display", ""), ("step", "display", ""), ("quote", "display", ""),
        ("visit", "broker", "B042"), ("sale", "shop", "B042")]
    assert float(rows[-1]["premium"]) == pytest.approx(702.40)


def test_a_return_visit_has_the_lever_of_its_own_landing_as_the_attribution_s_touch(store, plan):
    """Her second visit comes from a search, without parameters: search_organic, as its touch, not the display
    campaign the tag remembers from her first visit and puts on every later event."""
    j = Journeys()
    j.add("touch", "v-back", "b1", "2026-10-01 18:30", lever="display", utm_medium="cpm", utm_campaign="moto-spring")
    j.page("v-back", "b1", "2026-10-01 18:30", lever="display", utm_medium="cpm", utm_campaign="moto-spring")
    j.submit("moto_quote", "v-back", "b1", "2026-10-01 18:33", lever="display", utm_campaign="moto-spring",
             properties={"quote_id": "Q-BACK"})
    j.page("v-back", "b2", "2026-10-03 23:00", referrer="https://www.google.fr/", lever="display", utm_medium="cpm",
           utm_campaign="moto-spring")
    j.step("moto_quote", "vehicle", 1, "v-back", "b2", "2026-10-03 23:01", lever="display", utm_campaign="moto-spring")
    j.store(store)
    rows = run(store, plan, "person", quote_id="Q-BACK").records()
    assert [(r["kind"], r["lever"], r["campaign"], r["broker_id"]) for r in rows] == [
        ("visit", "display", "moto-spring", ""), ("quote", "display", "moto-spring", ""),
        ("visit", "search_organic", "", ""), ("step", "search_organic", "", "")]
    touches = store.query(
        f"SELECT session_id, lever, campaign, broker_id FROM {store.database}.touches("
        "from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')}, "
        "referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}) "
        "ORDER BY started_at",
        parameters={"from": at("2026-10-01 00:00"), "to": at("2026-11-01 00:00"),
                    "referrer_rules": view_parameters(plan)["referrer_rules"]}).rows
    visits = [(r["lever"], r["campaign"], r["broker_id"]) for r in rows if r["kind"] == "visit"]
    assert visits == [tuple(t[1:]) for t in touches], "each visit is the attribution's touch of its session"


def test_a_person_by_phone_key_is_the_same_journey(store, plan, mrs_x):
    by_quote = run(store, plan, "person", quote_id="Q-8F2KX1").rows
    assert run(store, plan, "person", phone_key=mrs_x).rows == by_quote
    assert run(store, plan, "person", quote_id="Q-NOBODY").rows == []


def test_the_command_finds_a_person_by_phone_key_as_the_api_does(engine_dir, store, plan, mrs_x):
    """`parcours report person --phone-key KEY`, the API's phone_key=, which docs/analysts.md lists among the
    person report's options: the command had no such flag."""
    from click.testing import CliRunner

    from collector.cli import main
    from tests.conftest import EXAMPLE_PLAN

    out = CliRunner().invoke(main, ["report", "person", "--phone-key", mrs_x, "--format", "json", "--plan",
                                    str(EXAMPLE_PLAN), "--clickhouse", f"chdb://{engine_dir}",
                                    "--database", store.database])
    assert out.exit_code == 0, out.output
    assert [r["kind"] for r in json.loads(out.output)] == ["visit", "step", "quote", "visit", "sale"]


def test_a_person_needs_a_quote_id_or_a_phone(store, plan):
    with pytest.raises(ReportError, match="give a quote id"):
        run(store, plan, "person")


def test_the_api_takes_a_phone_only_in_a_post_body_and_never_logs_it(settings, store, plan, mrs_x, caplog):
    admin = {"authorization": f"Bearer {settings.admin_token}"}
    with Client(create_app(settings)) as client, caplog.at_level(logging.DEBUG):
        r = client.post("/api/reports/person", content=json.dumps({"phone": "+33 6 12 34 56 78"}), headers=admin)
        assert r.status_code == 200, r.text
        assert [row["kind"] for row in r.json()][-1] == "sale"
        assert PHONE not in r.text and "612345678" not in r.text
        refused = client.get("/api/reports/person?phone=0612345678", headers=admin)
        assert refused.status_code == 400 and "POST" in refused.json()["error"]
        bad = client.post("/api/reports/person", content=json.dumps({"phone": "12"}), headers=admin)
        assert bad.status_code == 400 and "not a valid phone number" in bad.json()["error"]
        twice = client.post("/api/reports/person", content=b'{"phone": "0612345678", "phone": "0698765432"}',
                            headers=admin)
        assert twice.status_code == 400 and twice.json()["error"] == "phone: given more than once; send each key once"
        listed = client.post("/api/reports/person", content=json.dumps({"phone": ["0612345678"]}), headers=admin)
        assert listed.status_code == 400 and listed.json()["error"].startswith("phone: send one value")
        # The other options may ride in the URL (format=csv); the phone never, one option never in both.
        as_csv = client.post("/api/reports/person?format=csv", content=json.dumps({"phone": "+33 6 12 34 56 78"}),
                             headers=admin)
        assert as_csv.headers["content-type"].startswith("text/csv") and ",sale," in as_csv.text, as_csv.text[:200]
        both = client.post("/api/reports/person?format=csv", content=json.dumps({"phone": "0612345678",
                                                                                 "format": "json"}), headers=admin)
        assert both.status_code == 400 and both.json()["error"].startswith("format: given in the URL and in the body")
        in_url = client.post("/api/reports/person?phone=0612345678", content=b"{}", headers=admin)
        assert in_url.status_code == 400 and "never in a URL" in in_url.json()["error"]
        huge = client.post("/api/reports/person", content=json.dumps({"quote_id": "Q" * (1 << 20)}), headers=admin)
        assert huge.status_code == 413  # refused before it is held whole: no option is that large
        # A number typed where an option's name goes is masked in the message, as in the body
        for unknown in (client.get("/api/reports/person?0620698212=1", headers=admin),
                        client.post("/api/reports/person", content=b'{"06 20 69 82 12": "x"}', headers=admin)):
            assert unknown.status_code == 400 and unknown.json()["error"].startswith('unknown option "[redacted]"')
        # An option given twice in the URL is refused, as in a body: the last one was silently read
        repeated = client.get("/api/reports/funnel?by=lever&by=device", headers=admin)
        assert repeated.status_code == 400
        assert repeated.json()["error"] == '"by" is given more than once; give each option once'
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # not the test's client
    assert not any("612345678" in line or "12 34 56 78" in line for line in server_lines)


def test_rejected_by_reason_and_plan_version_counts_each_event_once(store, plan):
    def rejected(event_id, reasons, version, when="2026-10-02 10:00"):
        return [at(when), event_id, "form_step", reasons, '{"e":"form_step"}', "", "", version]
    cols = ["received_at", "event_id", "event", "reasons", "raw", "user_agent", "ip", "plan_version"]
    store.insert("rejected_events", [rejected("e1", ["step: unknown"], "v1"), rejected("e1", ["step: unknown"], "v1"),
                                     rejected("e2", ["step: unknown", "t: too old"], "v1"),
                                     rejected("e3", ["step: unknown"], "v2"),
                                     rejected("e4", ["step: unknown"], "v2", when="2026-09-01 00:00")], cols)
    store.insert("rejected_replays", [["e3", at("2026-10-05 00:00"), "v3"]], ["event_id", "replayed_at", "plan_version"])
    rows = {(r["reason"], r["plan_version"]): r for r in run(store, plan, "rejected", **PERIOD).records()}
    assert rows[("step: unknown", "v1")]["events"] == 2  # e1 stored twice counts once
    assert rows[("step: unknown", "v2")]["events"] == 1 and rows[("step: unknown", "v2")]["replayed"] == 1
    assert rows[("t: too old", "v1")]["events"] == 1
    assert len(rows) == 3  # e4 is before the period
    assert run(store, plan, "rejected", **{"from": "2020-01-01", "to": "2020-02-01"}).rows == []
    # A 32 KB refused event: its example is cut (the dashboard's table stays readable), a short one whole.
    huge = [at("2026-10-03 10:00"), "e5", "x", ["event: too large"], '{"e":"x","p":"' + "é" * 32000 + '"}', "", "", "v1"]
    store.insert("rejected_events", [huge], cols)
    rows = {(r["reason"], r["plan_version"]): r for r in run(store, plan, "rejected", **PERIOD).records()}
    assert rows[("event: too large", "v1")]["example"] == '{"e":"x","p":"' + "é" * 486 + "…"
    assert rows[("t: too old", "v1")]["example"] == '{"e":"form_step"}'


