"""Calls in the attribution paths: an answered call matched to a journey is a touch of its own, dated at its
start, with the lever of the session that held the number (by lease), else the plan's call-centre lever."""

from __future__ import annotations

import io

import pytest

from callcentre import calls
from collector.enrich import phone_key
from journeys import reports
from journeys.imports import Context
from tests.conftest import SECRET
from tests.journeys.builder import Journeys, at, person, sale

OCTOBER = {"from": "2026-10-01", "to": "2026-11-01"}
CALLER = "06 77 88 99 00"
LEAD = "06 52 41 30 28"


@pytest.fixture
def journeys(store, plan):
    """Two call-centre sales, each after a call:
    - P-1 lands from a display ad (3 October 20:00), its session leases +33 9 70 00 01 10, calls it ten minutes
      later from 06 77 88 99 00, and signs with the call centre the next day (600 €);
    - P-2 lands from a search ad and leaves her phone (5 October), an agent calls her back (6 October: the
      plan names no call-centre lever, so `direct`), and she signs with the call centre (7 October, 300 €).
    A missed call of P-2's is no touch."""
    j = Journeys()
    j.page("v1", "s1", "2026-10-03 20:00", lever="display")
    j.add("touch", "v1", "s1", "2026-10-03 20:00", lever="display", utm_campaign="moto-automne")
    j.page("v2", "s2", "2026-10-05 09:00", lever="search_paid")
    j.add("touch", "v2", "s2", "2026-10-05 09:00", lever="search_paid", utm_campaign="moto-search")
    j.store(store)
    start = at("2026-10-03 20:00").timestamp()
    store.insert_rows("number_leases", [{
        "lease_id": "l1", "number": "+33970000110", "visitor_id": "v1", "session_id": "s1", "url": "",
        "started_at": start, "expires_at": start + 1800, "grace_until": start + 3600, "renewed_at": start}])
    log = ("call_id,start,caller,dialled,duration,billsec,disposition,agent\n"
           f"in-1,2026-10-03T20:10:00Z,{CALLER},09 70 00 01 10,300,290,ANSWERED,SIP/205\n"
           f"back-2,2026-10-06T10:00:00Z,201,{LEAD},200,180,ANSWERED,SIP/201\n"
           f"missed-2,2026-10-06T09:00:00Z,{LEAD},09 70 00 00 00,20,0,NO ANSWER,\n")
    summary = calls.import_file(store, Context(plan, SECRET), io.BytesIO(log.encode()), source="pbx.csv")
    assert summary.rejected == 0
    k1, k2 = phone_key(CALLER, "FR", SECRET), phone_key(LEAD, "FR", SECRET)
    person(store, "P-1", visitors=("v1",), phones=(k1,))  # the lease's call linked the visitor to the caller
    person(store, "P-2", visitors=("v2",), phones=(k2,))
    sale(store, "CRC-1", "2026-10-04 10:00", channel="call_centre", broker_id="CRC-205", premium="600.00",
         phone_key=k1)
    sale(store, "CRC-2", "2026-10-07 10:00", channel="call_centre", broker_id="CRC-201", premium="300.00",
         phone_key=k2)


def credit(store, plan, **options):
    result = reports.run(store, plan, "attribution", {**OCTOBER, **options})
    return {(r["model"], r["lever"]): (r["conversions"], r["revenue"]) for r in result.records() if r["conversions"]}


def test_each_answered_matched_call_is_a_touch_with_its_lever(store, plan, journeys):
    result = calls.touches(store, plan, at("2026-10-01 00:00"), at("2026-11-01 00:00"))
    got = [(r["call_id"], r["person_id"], r["at"], r["lever"], r["campaign"], r["matched_by"])
           for r in (dict(zip(result.columns, x)) for x in result.rows)]
    assert got == [("in-1", "P-1", at("2026-10-03 20:10").replace(tzinfo=None), "display", "moto-automne", "lease"),
                   ("back-2", "P-2", at("2026-10-06 10:00").replace(tzinfo=None), "direct", "", "callee_phone")]


def test_a_call_keeps_the_lever_of_a_session_that_began_before_the_period(store, plan, journeys):
    """The session that held the number began (20:00) before the period asked for (from 20:05), the call
    (20:10) in it: its landing is still read (the view looks three days before the first lease)."""
    result = calls.touches(store, plan, at("2026-10-03 20:05"), at("2026-10-04 00:00"))
    got = [(r["call_id"], r["lever"], r["campaign"]) for r in (dict(zip(result.columns, x)) for x in result.rows)]
    assert got == [("in-1", "display", "moto-automne")]


def test_a_call_is_a_touch_of_the_path_between_the_visit_and_the_point_of_sale(store, plan, journeys):
    """Paths: display, display (the call), call_centre; search_paid, direct (the call-back), call_centre."""
    got = credit(store, plan, model="position_based")
    assert got == {("position_based", "display"): (0.6, 360), ("position_based", "call_centre"): (0.8, 360),
                   ("position_based", "search_paid"): (0.4, 120), ("position_based", "direct"): (0.2, 60)}
    linear = credit(store, plan, model="linear")
    assert linear[("linear", "display")] == (pytest.approx(2 / 3), 400)
    assert linear[("linear", "direct")] == (pytest.approx(1 / 3), 100)
    paths = reports.run(store, plan, "paths", OCTOBER).records()
    assert {p["path"] for p in paths} == {"display > call_centre", "search_paid > direct > call_centre"}


def test_a_call_centre_sale_for_the_caller_is_attributed_to_the_landings_lever(store, plan, journeys):
    """Without the point of sale, the lease's call carries the landing's lever to the last touch."""
    got = credit(store, plan, model="last_touch", offline_touch="false")
    assert got == {("last_touch", "display"): (1, 600), ("last_touch", "direct"): (1, 300)}
    by_campaign = reports.run(store, plan, "attribution", {**OCTOBER, "model": "last_touch", "by": "campaign",
                                                           "offline_touch": "false"}).records()
    assert ("display", "moto-automne", 1) in [(r["lever"], r["campaign"], r["conversions"]) for r in by_campaign]
