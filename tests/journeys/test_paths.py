"""Attribution, frequent paths and media x point of sale on hand-made journeys, Mrs X's first."""

from __future__ import annotations

import json

import pytest

from journeys import reports
from journeys.reports.render import render
from tests.journeys.builder import Journeys, broker, person, sale

OCTOBER = {"from": "2026-10-01", "to": "2026-11-01"}


@pytest.fixture
def mrs_x(store):
    """Mrs X clicks a display ad on 3 October, asks for a quote leaving her phone, and signs on 15 October
    in broker B042's shop; her phone links the sale to her visits."""
    j = Journeys()
    j.page("vx", "x1", "2026-10-03 20:00", referrer="https://news.example/", utm_medium="cpm", lever="display")
    j.add("touch", "vx", "x1", "2026-10-03 20:00", lever="display", utm_source="regie", utm_medium="cpm",
          utm_campaign="moto-automne", broker_id="D001")
    for i, step in enumerate(["vehicle", "rider", "coverage", "contact"], start=1):
        j.step("moto_quote", step, i, "vx", "x1", f"2026-10-03 20:0{i}", lever="display")
    j.submit("moto_quote", "vx", "x1", "2026-10-03 20:05", phone_key="kx", lever="display")
    j.store(store)
    person(store, "P-X", visitors=("vx",), phones=("kx",))
    broker(store, "B042", "Comparamoto", "broker", shop="Lyon 3")
    sale(store, "C-0001", "2026-10-15 11:00", channel="shop", broker_id="B042", premium="850.00", phone_key="kx")


def by_model(result, **key):
    return {(r["model"], r["lever"], *(r[k] for k in key)): (r["conversions"], r["revenue"]) for r in result.records()}


def test_mrs_x_display_and_the_broker_both_earned_the_sale(store, plan, mrs_x):
    credit = by_model(reports.run(store, plan, "attribution", OCTOBER))
    assert credit[("first_touch", "display")] == (1, 850) and credit[("first_touch", "broker")] == (0, 0)
    assert credit[("last_touch", "broker")] == (1, 850) and credit[("last_touch", "display")] == (0, 0)
    assert credit[("position_based", "display")] == (0.5, 425) and credit[("position_based", "broker")] == (0.5, 425)
    assert credit[("markov", "display")] == (0.5, 425)


def test_by_broker_names_b042_for_the_last_touch(store, plan, mrs_x):
    result = reports.run(store, plan, "attribution", {**OCTOBER, "by": "broker", "model": "last_touch"})
    assert result.columns == ["model", "lever", "broker", "conversions", "revenue"]
    assert [r for r in result.records() if r["conversions"]] == [
        {"model": "last_touch", "lever": "broker", "broker": "B042", "conversions": 1, "revenue": 850}]
    first = reports.run(store, plan, "attribution", {**OCTOBER, "by": "campaign", "model": "first_touch"})
    assert [(r["lever"], r["campaign"], r["conversions"]) for r in first.records() if r["conversions"]] == [
        ("display", "moto-automne", 1)]


def test_without_the_offline_touch_display_gets_it_all(store, plan, mrs_x):
    credit = by_model(reports.run(store, plan, "attribution", {**OCTOBER, "offline_touch": "false"}))
    assert {k: v for k, v in credit.items() if v[0]} == {(m, "display"): (1, 850) for m in
                                                         ("first_touch", "last_touch", "last_non_direct", "linear",
                                                          "position_based", "time_decay", "markov")}


def test_a_short_lookback_leaves_only_the_point_of_sale(store, plan, mrs_x):
    credit = by_model(reports.run(store, plan, "attribution", {**OCTOBER, "lookback": "7d", "model": "first_touch"}))
    assert credit == {("first_touch", "broker"): (1, 850)}


def test_the_json_is_one_object_per_model_and_lever(store, plan, mrs_x):
    doc = json.loads(render(reports.run(store, plan, "attribution", {**OCTOBER, "model": "all"}), "json"))
    assert len(doc) == 14 and all(list(d) == ["model", "lever", "conversions", "revenue"] for d in doc)
    assert [d["model"] for d in doc[::2]] == ["first_touch", "last_touch", "last_non_direct", "linear",
                                              "position_based", "time_decay", "markov"]


def test_paths_and_media_by_point_of_sale(store, plan, mrs_x):
    paths = reports.run(store, plan, "paths", OCTOBER).records()
    assert paths == [{"path": "display > broker", "conversions": 1, "revenue": 850.0, "share": 1.0, "touches": 2.0,
                      "days": pytest.approx(11.625)}]  # 3 Oct 20:00 to 15 Oct 11:00
    media = reports.run(store, plan, "media_pos", OCTOBER).records()
    assert media == [{"broker_id": "B042", "lever": "display", "conversions": 1.0, "revenue": 850.0, "share": 1.0}]


def test_media_by_point_of_sale_under_markov_weighs_levers_by_the_removal_effects_of_every_path(store, plan):
    """Markov shares a broker's sale among its own touches by the removal effects of all the paths read, the
    visitors who did not buy and the web sales included, as attribution computes them: not by the effects of
    the offline sales' paths alone (one path display > search_paid: a half each)."""
    j = Journeys()

    def visit(visitor, session, when, lever, medium):
        j.page(visitor, session, when, utm_medium=medium, lever=lever)
        j.add("touch", visitor, session, when, lever=lever, utm_medium=medium)

    visit("va", "a1", "2026-10-03 10:00", "display", "cpm")
    visit("va", "a2", "2026-10-05 10:00", "search_paid", "cpc")
    visit("vb", "b1", "2026-10-04 10:00", "display", "cpm")  # no sale: a null path
    visit("vc", "c1", "2026-10-06 10:00", "search_paid", "cpc")
    j.store(store)
    for name, visitor, phone in [("P-A", "va", "ka"), ("P-B", "vb", "kb"), ("P-C", "vc", "kc")]:
        person(store, name, visitors=(visitor,), phones=(phone,))
    broker(store, "B042", "Comparamoto", "broker")
    sale(store, "S-A", "2026-10-10 11:00", channel="shop", broker_id="B042", premium="600.00", phone_key="ka")
    sale(store, "S-C", "2026-10-07 11:00", channel="web", premium="300.00", phone_key="kc")
    media = {r["lever"]: r["conversions"] for r in
             reports.run(store, plan, "media_pos", {**OCTOBER, "model": "markov"}).records()}
    credit = by_model(reports.run(store, plan, "attribution",
                                  {**OCTOBER, "model": "markov", "offline_touch": "false"}))
    effects = {lever: credit[("markov", lever)][0] for lever in ("display", "search_paid")}  # proportional
    assert media == pytest.approx({lever: e / sum(effects.values()) for lever, e in effects.items()}, abs=1e-6)
    assert media["display"] < 0.5  # the display-only visitor who did not buy weighs display down


def test_leads_as_the_goal_need_no_sale(store, plan, mrs_x):
    credit = by_model(reports.run(store, plan, "attribution", {**OCTOBER, "goal": "lead", "model": "linear"}))
    assert credit == {("linear", "display"): (1, 0)}


def test_a_lead_of_a_visitor_never_stitched_is_its_own_persons(store, plan, mrs_x):
    """A visitor no identity links to a person is its own person: its lead is credited to its own landing."""
    j = Journeys()
    j.page("vy", "y1", "2026-10-08 09:00", referrer="https://www.google.fr/")
    j.page("vy", "y2", "2026-10-09 09:00", referrer="https://www.google.fr/")
    j.submit("moto_quote", "vy", "y2", "2026-10-09 09:05")
    j.store(store)
    for model in ("linear", "first_touch", "markov"):
        credit = by_model(reports.run(store, plan, "attribution", {**OCTOBER, "goal": "lead", "model": model}))
        assert credit == {(model, "display"): (1, 0), (model, "search_organic"): (1, 0)}, model
    paths = reports.run(store, plan, "paths", {**OCTOBER, "goal": "lead"}).records()
    assert sorted((p["path"], p["conversions"]) for p in paths) == [("display", 1), ("search_organic", 1)]


def test_the_lookback_window_holds_its_two_ends_and_nothing_past_them(store, plan):
    """Touches at the very start of the window (the sale less the lookback) and at the sale itself count;
    a millisecond before the one or after the other does not (the window is a run of the time-ordered
    journey, sliced out of it)."""
    j = Journeys()
    for session, when, lever in [("w0", "2026-10-08 09:59:59.999", "email"),      # before the window
                                 ("w1", "2026-10-08 10:00", "display"),            # its first instant
                                 ("w2", "2026-10-14 18:00", "social"),
                                 ("w3", "2026-10-15 10:00", "search_paid"),        # the sale's instant
                                 ("w4", "2026-10-15 10:00:00.001", "affiliation")]:  # after the sale
        j.page("vw", session, when)
        j.add("touch", "vw", session, when, lever=lever, utm_source=lever, utm_medium=lever)
    j.store(store)
    person(store, "P-W", visitors=("vw",), phones=("kw",))
    sale(store, "C-W", "2026-10-15 10:00", channel="web", premium="300.00", phone_key="kw")
    window = {**OCTOBER, "lookback": "7d", "offline_touch": "false"}
    credit = by_model(reports.run(store, plan, "attribution", {**window, "model": "linear"}))
    assert {lever: c for (_, lever), (c, _) in credit.items() if c} == pytest.approx(
        {"display": 1 / 3, "social": 1 / 3, "search_paid": 1 / 3})
    paths = reports.run(store, plan, "paths", window).records()
    assert [(p["path"], p["touches"], p["days"]) for p in paths] == [("display > social > search_paid", 3, 7)]


def test_paths_compared_give_each_path_its_own_previous_figures_whatever_its_rank_then(store, plan):
    """An outside tester's finding: with --limit and --compare, a path outside the previous period's first N
    got no previous figures, and a path of the previous first N outside this period's came as an extra row."""
    for n, (day, channel) in enumerate([("11-03", "shop")] * 3 + [("11-04", "call_centre")] * 2 + [("11-05", "web")]
                                       + [("10-10", "web")] * 3 + [("10-11", "shop")] * 2 + [("10-12", "call_centre")]):
        sale(store, f"C-{n}", f"2026-{day} 10:00", channel=channel, broker_id="B042" if channel == "shop" else "",
             premium="100.00")
    broker(store, "B042", "Comparamoto", "broker")
    november = {"from": "2026-11-01", "to": "2026-12-01", "limit": "2"}  # the previous period: from 2 October
    previous = reports.run(store, plan, "paths", {"from": "2026-10-02", "to": "2026-11-01"}).records()
    assert [(r["path"], r["conversions"]) for r in previous] == [("(no touch)", 3), ("broker", 2), ("call_centre", 1)]
    got = reports.run(store, plan, "paths", {**november, "compare": "true"}).records()
    assert [(r["path"], r["conversions"], r["conversions_previous"]) for r in got] == [
        ("broker", 3, 2), ("call_centre", 2, 1)]
    assert got[0]["share_previous"] == 2 / 6, "the previous share is of all the previous conversions"


def test_the_lookback_counts_a_touch_exactly_that_long_before_and_one_at_the_same_instant(store, plan):
    """docs/analysts.md, --lookback: both ends of the window count; hand-computed time decay over it."""
    j = Journeys()
    for session, when, lever, medium in (("s1", "2026-03-01 00:00", "display", "cpm"),
                                          ("s2", "2026-03-08 00:00", "search_paid", "cpc")):
        j.page("V", session, when, lever=lever, utm_medium=medium)
        j.add("touch", "V", session, when, lever=lever, utm_medium=medium)
    j.store(store)
    person(store, "P", visitors=("V",), phones=("k",))
    sale(store, "S", "2026-03-08 00:00", channel="web", premium="300", phone_key="k")

    def credit(model, **options):
        rows = reports.run(store, plan, "attribution", {"from": "2026-03-01", "to": "2026-04-01", "model": model,
                                                        **options}).records()
        return {r["lever"]: (round(r["conversions"], 6), float(r["revenue"])) for r in rows}

    assert credit("linear", lookback="7d") == {"display": (0.5, 150), "search_paid": (0.5, 150)}
    assert credit("linear", lookback="10079m") == {"search_paid": (1, 300)}  # a minute short of 7 days
    # Ages 7 and 0 days: 2^-1 and 2^0, normalised: a third and two thirds; with a 14-day half-life, 2^-0.5.
    assert credit("time_decay", lookback="7d") == {"display": (round(1 / 3, 6), 100), "search_paid": (round(2 / 3, 6), 200)}
    w = 2 ** -0.5
    assert credit("time_decay", lookback="7d", half_life="14d") == {
        "display": (round(w / (1 + w), 6), round(300 * w / (1 + w), 2)),
        "search_paid": (round(1 / (1 + w), 6), round(300 / (1 + w), 2))}
    # The sale at the period's end is in the next period: `to` is excluded.
    assert credit("linear", to="2026-03-08") == {}
