"""The match report (reconciliation) on a small fixture, each sale's outcome known by hand; filters; exact revenue."""

from __future__ import annotations

import json

import pytest

from collector import enrich
from journeys import persons, reports
from journeys.reports.render import render
from tests.conftest import SECRET
from tests.journeys.builder import Journeys, at, broker, sale

OCTOBER = {"from": "2026-10-01", "to": "2026-11-01"}
MRS_X = "06 12 34 56 78"


@pytest.fixture
def sales(store, plan):
    key = enrich.phone_key(MRS_X, "FR", SECRET)
    late = enrich.phone_key("06 99 99 99 01", "FR", SECRET)
    j = Journeys()
    # Mrs X: a display visit and a quote with her phone and quote id; signed in B042's shop two days later.
    j.page("mrs-x", "s1", "2026-10-01 18:30", lever="display", utm_campaign="moto-spring")
    j.add("touch", "mrs-x", "s1", "2026-10-01 18:30", lever="display", utm_campaign="moto-spring")
    j.submit("moto_quote", "mrs-x", "s1", "2026-10-01 18:33", phone_key=key, properties={"quote_id": "Q-1"})
    # Mr L: quoted with his phone in July, signed in October: outside a 30-day lookback.
    j.page("mr-l", "l1", "2026-07-01 10:00")
    j.submit("moto_quote", "mr-l", "l1", "2026-07-01 10:05", phone_key=late)
    j.store(store)
    persons.stitch(store, persons.config(plan), full=True)
    broker(store, "B042", "Comparamoto", "broker")
    sale(store, "MA-1", "2026-10-03 08:42", broker_id="B042", premium="702.40", phone_key=key, crm_id="Q-1")
    sale(store, "MA-2", "2026-10-04 09:00", broker_id="B017", premium="300.10", phone_key="never-typed")
    sale(store, "MA-3", "2026-10-05 09:00", channel="call_centre", premium="0.20")                 # no phone
    sale(store, "MA-4", "2026-10-06 09:00", broker_id="B042", premium="100.00", phone_key=late)
    sale(store, "MA-5", "2026-10-07 09:00", broker_id="B017", premium="50.00", phone_key="shared")
    store.insert("identity_hot_keys", [["phone", "shared", "too_many_visitors", 40, at("2026-10-01 00:00")]],
                 ["key_type", "key", "reason", "linked", "detected_at"])
    return key


def run(store, plan, **raw):
    return reports.run(store, plan, "match", {**OCTOBER, **{k: str(v) for k, v in raw.items()}})


def test_each_sale_matched_or_with_its_reason(store, plan, sales):
    doc = run(store, plan).document
    assert (doc["conversions"], doc["matched"], doc["unmatched"]) == (5, 1, 4)
    assert doc["match_rate"] == pytest.approx(0.2)
    assert doc["by_method"] == {"phone": 0, "crm": 0, "both": 1, "person": 0}  # her phone and her quote id
    assert doc["by_reason"] == {"no phone in the file": 1, "phone never seen online": 1, "key ambiguous": 1,
                                "journey outside the lookback": 1, "journey only after the sale": 0,
                                "no visit counted": 0}
    assert doc["days_to_sale"]["median"] == pytest.approx(1 + (14 * 60 + 12) / 1440)  # 1 Oct 18:30 to 3 Oct 08:42
    brokers = {line["value"]: line for line in doc["lines"] if line["dimension"] == "broker"}
    assert (brokers["B042"]["conversions"], brokers["B042"]["matched"], brokers["B042"]["outside_lookback"]) == (2, 1, 1)


def test_a_longer_lookback_matches_the_earlier_journey(store, plan, sales):
    doc = run(store, plan, lookback="120d").document
    assert doc["matched"] == 2 and doc["by_reason"]["journey outside the lookback"] == 0
    assert doc["by_method"]["phone"] == 1  # Mr L's phone; he sent no quote id


def test_per_sale_lines_and_revenue_exact_in_json(store, plan, sales):
    result = run(store, plan, by="sale")
    per_sale = {line["value"]: line for line in result.document["lines"] if line["dimension"] == "sale"}
    assert set(per_sale) == {"MA-1", "MA-2", "MA-3", "MA-4", "MA-5"}
    assert per_sale["MA-3"]["no_phone"] == 1 and per_sale["MA-5"]["key_ambiguous"] == 1
    text = render(result, "json")
    assert '"revenue":1152.70' in text and '"matched_revenue":702.40' in text  # decimals, no float drift
    assert json.loads(text)["revenue"] == 1152.7


def test_filters_keep_the_sales_with_a_matching_touch(store, plan, sales):
    # Display: Mrs X's visit. Broker B042: her sale and Mr L's, by their point of sale. B017 is in no broker
    # table: its point of sale is under the sale's channel.
    assert run(store, plan, lever="display").document["conversions"] == 1
    assert run(store, plan, campaign="moto-spring").document["conversions"] == 1
    assert run(store, plan, broker="B042").document["conversions"] == 2
    assert run(store, plan, lever="shop", broker="B017").document["conversions"] == 2
    assert run(store, plan, lever="broker", broker="B017").document["conversions"] == 0
    assert run(store, plan, lever="search_paid").document["conversions"] == 0


def test_a_web_sale_has_no_point_of_sale_to_keep_it_under_a_filter(store, plan, sales):
    """A web sale that names a broker (the site's partner code in the CRM) is no shop sale: a broker or lever
    filter keeps it only through a visit, as the overview, attribution and brokers reports do."""
    sale(store, "W-1", "2026-10-08 10:00", channel="web", broker_id="B042", premium="70.00", crm_id="Q-NONE")
    assert run(store, plan, broker="B042").document["conversions"] == 2  # MA-1 and MA-4, not W-1
    assert run(store, plan, lever="broker").document["conversions"] == 2
    overview = reports.run(store, plan, "overview", {**OCTOBER, "broker": "B042"}).records()[0]
    assert overview["online_sales"] + overview["offline_sales"] == 2


def test_a_journey_only_after_the_sale_is_said_so(store, plan, sales):
    """A phone first sent online after the sale was signed: the phone was seen, the journey is not before it."""
    after = enrich.phone_key("06 99 99 99 02", "FR", SECRET)
    j = Journeys()
    j.page("mr-a", "a1", "2026-10-12 10:00")
    j.submit("moto_quote", "mr-a", "a1", "2026-10-12 10:05", phone_key=after)
    j.store(store)
    persons.stitch(store, persons.config(plan), full=True)
    sale(store, "MA-6", "2026-10-10 09:00", broker_id="B017", premium="80.00", phone_key=after)
    doc = run(store, plan, by="sale").document
    assert doc["by_reason"]["journey only after the sale"] == 1
    (line,) = [r for r in doc["lines"] if r["dimension"] == "sale" and r["value"] == "MA-6"]
    assert (line["after_sale"], line["phone_not_seen"], line["outside_lookback"]) == (1, 0, 0)


def test_a_phone_sent_online_by_a_bot_only_is_not_said_never_seen(store, plan, sales):
    """Every visit of the person a bot's (left out of every report): the phone was seen online, no visit counts."""
    botted = enrich.phone_key("06 99 99 99 03", "FR", SECRET)
    j = Journeys()
    j.page("mr-b", "b1", "2026-10-08 10:00", is_bot=True)
    j.submit("moto_quote", "mr-b", "b1", "2026-10-08 10:05", phone_key=botted, is_bot=True)
    j.store(store)
    persons.stitch(store, persons.config(plan), full=True)
    sale(store, "MA-7", "2026-10-10 09:00", broker_id="B017", premium="80.00", phone_key=botted)
    doc = run(store, plan, by="sale").document
    assert doc["by_reason"]["no visit counted"] == 1 and doc["by_reason"]["phone never seen online"] == 1  # MA-2
    (line,) = [r for r in doc["lines"] if r["dimension"] == "sale" and r["value"] == "MA-7"]
    assert (line["no_visit"], line["phone_not_seen"], line["matched"]) == (1, 0, 0)


def test_an_empty_period_is_zeros(store, plan):
    doc = run(store, plan).document
    assert (doc["conversions"], doc["matched"], doc["match_rate"], doc["lines"]) == (0, 0, None, [])


def test_an_empty_period_has_its_line_of_all_sales_in_every_format(store, plan):
    """No sale: the JSON's amounts are money as in any other period (`0.00`, as overview writes it, not `0`), and
    the CSV and the table hold the line of all sales in zeros as the JSON does (they had a header only)."""
    result = run(store, plan)
    text = render(result, "json")
    assert '"revenue":0.00,"matched_revenue":0.00' in text and '"cancelled_revenue":0.00' in text
    csv_lines = render(result, "csv").splitlines()
    assert len(csv_lines) == 2 and csv_lines[1].startswith("all,,0,0,0,,")
    assert "(1 row)" in render(result, "table")
