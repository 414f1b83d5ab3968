"""Levers and campaigns on a small fixture: bounce, lead and conversion rates, costs, counted by hand."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from collector.cli import main
from journeys import reports
from journeys.reports.base import for_database, sql_text
from tests.conftest import EXAMPLE_PLAN
from tests.journeys.builder import Journeys, at, broker, cost, person, sale

MARCH = {"from": "2026-03-01", "to": "2026-04-01"}
GOOGLE = "https://www.google.fr/"


def display(j: Journeys, visitor: str, session: str, when: str, campaign: str = "spring") -> None:
    j.page(visitor, session, when, lever="display", utm_medium="cpm", utm_campaign=campaign)
    j.add("touch", visitor, session, when, lever="display", utm_medium="cpm", utm_campaign=campaign)


@pytest.fixture
def shop(store):
    j = Journeys()
    display(j, "V1", "d1", "2026-03-02 10:00")                                   # bounce
    display(j, "V2", "d2", "2026-03-02 11:00")
    j.page("V2", "d2", "2026-03-02 11:02", lever="display")                      # two pages
    display(j, "V3", "d3", "2026-03-03 09:00", campaign="autumn")
    j.step("moto_quote", "vehicle", 1, "V3", "d3", "2026-03-03 09:01")          # an interaction
    display(j, "V1", "d4", "2026-03-05 10:00")                                   # bounce, V1 again
    j.page("V5", "g1", "2026-03-04 10:00", referrer=GOOGLE)                      # bounce
    j.page("V6", "g2", "2026-03-04 12:00", referrer=GOOGLE)
    j.submit("moto_quote", "V6", "g2", "2026-03-04 12:03")                       # a lead
    j.page("V7", "x1", "2026-03-06 08:00")                                       # direct, bounce
    j.page("V8", "b1", "2026-03-06 09:00", is_bot=True)                          # a crawler: not counted
    j.store(store)
    j.store(store, j.rows[:4])                                                   # a retried batch
    person(store, "P2", visitors=("V2",), phones=("k2",))
    person(store, "P3", visitors=("V3",), phones=("k3",))
    broker(store, "B042", "Comparamoto", "broker")
    sale(store, "S1", "2026-03-10 15:00", channel="web", premium="300", phone_key="k2")
    sale(store, "S2", "2026-03-12 15:00", channel="shop", broker_id="B042", premium="600", phone_key="k3")
    cost(store, "2026-03-02", "display", "spring", "150")
    cost(store, "2026-03-03", "display", "autumn", "50")
    cost(store, "2026-04-02", "display", "spring", "999")                       # after the period


def lines(result, *keys):
    return {tuple(r[k] for k in keys): r for r in result.records()}


def test_visits_visitors_bounce_and_leads(store, plan, shop):
    rows = lines(reports.run(store, plan, "levers", MARCH), "lever")
    assert {k: (r["visits"], r["visitors"], r["bounce_rate"], r["leads"]) for k, r in rows.items()} == {
        ("display",): (4, 3, 0.5, 0), ("search_organic",): (2, 2, 0.5, 1), ("direct",): (1, 1, 1.0, 0),
        ("broker",): (0, 0, None, 0)}
    assert rows[("search_organic",)]["lead_rate"] == 0.5


def test_sales_under_last_non_direct_and_first_touch(store, plan, shop):
    rows = lines(reports.run(store, plan, "levers", MARCH), "lever")
    display, shop_lever = rows[("display",)], rows[("broker",)]
    # V2 signed online after display: display's. V3 signed in B042's shop: the point of sale is the last
    # non-direct touch.
    assert (display["online_sales"], display["offline_sales"], display["revenue"]) == (1, 0, 300)
    assert (shop_lever["offline_sales"], shop_lever["revenue"], shop_lever["conversion_rate"]) == (1, 600, None)
    assert display["conversion_rate"] == 0.25 and display["average_premium"] == 300
    assert (display["cost"], display["cost_per_sale"], display["roas"], display["cost_per_lead"]) == (200, 200, 1.5, None)
    first = lines(reports.run(store, plan, "levers", {**MARCH, "model": "first_touch"}), "lever")[("display",)]
    assert (first["sales"], first["revenue"], first["conversion_rate"], first["cost_per_sale"]) == (2, 900, 0.5, 100)
    assert rows[("search_organic",)]["cost"] is None


def test_a_period_of_hours_counts_its_days_whole_cost(store, plan, shop):
    """Costs are per day: a period inside one day (09:00 to 18:00), or across two, counts each day it touches."""
    hours = lines(reports.run(store, plan, "levers", {"from": "2026-03-02T09:00", "to": "2026-03-02T18:00"}), "lever")
    assert hours[("display",)]["cost"] == 150
    two = lines(reports.run(store, plan, "levers", {"from": "2026-03-02T18:00", "to": "2026-03-03T06:00"}), "lever")
    assert two[("display",)]["cost"] == 200
    overview = reports.run(store, plan, "overview", {"from": "2026-03-02T09:00", "to": "2026-03-02T18:00"}).records()
    assert overview[0]["cost"] == 150


def test_campaigns_split_each_lever(store, plan, shop):
    result = reports.run(store, plan, "campaigns", {**MARCH, "model": "first_touch"})
    assert result.columns[:3] == ["lever", "campaign", "visits"]
    rows = lines(result, "lever", "campaign")
    assert (rows[("display", "spring")]["visits"], rows[("display", "spring")]["cost"]) == (3, 150)
    assert (rows[("display", "autumn")]["visits"], rows[("display", "autumn")]["sales"],
            rows[("display", "autumn")]["cost_per_sale"]) == (1, 1, 50)
    assert rows[("search_organic", "")]["visits"] == 2


def test_by_device_and_compare(store, plan, shop):
    result = reports.run(store, plan, "levers", {**MARCH, "by": "device", "compare": "true"})
    assert result.columns[:4] == ["lever", "device", "visits", "visits_previous"]
    assert lines(result, "lever")[("display",)]["visits_previous"] == 0  # nothing in February: 0 visits
    with pytest.raises(reports.ReportError, match='by: "colour" is not known; levers splits by campaign, broker, device'):
        reports.run(store, plan, "levers", {**MARCH, "by": "colour"})


def test_brokers_traffic_brought_and_sales_signed(store, plan, shop):
    j = Journeys()
    j.page("V9", "c1", "2026-03-07 10:00", broker_id="B042", lever="broker")
    j.add("touch", "V9", "c1", "2026-03-07 10:00", broker_id="B042", lever="broker")
    j.page("V9", "c1", "2026-03-07 10:01", broker_id="B042", lever="broker")
    j.store(store)
    rows = lines(reports.run(store, plan, "brokers", MARCH), "broker_id")
    b042 = rows[("B042",)]
    assert (b042["name"], b042["lever"], b042["visits"], b042["bounce_rate"], b042["sales_signed"],
            b042["revenue_signed"]) == ("Comparamoto", "broker", 1, 0.0, 1, 600)
    # V3's shop sale: its last non-direct touch is B042's point of sale.
    assert (b042["attributed_sales"], b042["attributed_revenue"]) == (1, 600)


def test_a_broker_the_model_credits_keeps_its_name_and_lever_whatever_the_filter(store, plan, shop):
    """A310 brought V10 back after a display visit, before the period, and V10 signed online: under a display
    filter, or from its touch in the lookback, it has no visit or signed sale in the rows, only credit."""
    j = Journeys()
    display(j, "V10", "e1", "2026-02-25 10:00")
    j.page("V10", "e2", "2026-02-27 10:00", broker_id="A310", lever="affiliation")
    j.add("touch", "V10", "e2", "2026-02-27 10:00", broker_id="A310", lever="affiliation")
    j.store(store)
    person(store, "P10", visitors=("V10",), phones=("k10",))
    broker(store, "A310", "Moto-Station Partenaires", "affiliation")
    sale(store, "S10", "2026-03-03 15:00", channel="web", premium="400", phone_key="k10")
    for filters in ({}, {"lever": "display"}, {"broker": "A310"}):
        result = reports.run(store, plan, "brokers", {**MARCH, **filters, "model": "linear"})
        a310 = lines(result, "broker_id")[("A310",)]
        assert (a310["name"], a310["lever"], a310["visits"], a310["sales_signed"]) == (
            "Moto-Station Partenaires", "affiliation", 0, 0), filters
        assert a310["attributed_sales"] > 0, filters


def test_overview_totals_series_and_previous_period(store, plan, shop):
    (total,) = reports.run(store, plan, "overview", MARCH).records()
    assert (total["visits"], total["visitors"], total["leads"], total["online_sales"], total["offline_sales"],
            total["revenue"], total["cost"]) == (7, 6, 1, 1, 1, 900, 200)
    assert total["bounce_rate"] == pytest.approx(4 / 7) and total["conversion_rate"] == pytest.approx(2 / 7)
    assert total["cost_per_sale"] == 100
    text = reports.render(reports.run(store, plan, "overview", MARCH), "json")
    assert '"average_premium":450.00' in text.replace(" ", "") and '"cost_per_sale":100.00' in text.replace(" ", "")
    week = {str(r["period"]): r for r in reports.run(store, plan, "overview", {"from": "2026-03-02", "to": "2026-03-09",
                                                                                "interval": "day"}).records()}
    assert list(week) == [f"2026-03-0{d}" for d in range(2, 9)]
    assert [week[d]["visits"] for d in sorted(week)] == [2, 1, 2, 1, 1, 0, 0]
    assert week["2026-03-08"]["bounce_rate"] is None and week["2026-03-02"]["cost"] == 150
    compared = reports.run(store, plan, "overview", {"from": "2026-03-09", "to": "2026-03-16", "interval": "day",
                                                     "compare": "true"}).records()
    assert [(str(r["period"]), r["visits"], r["visits_previous"]) for r in compared][:3] == [
        ("2026-03-09", 0, 2), ("2026-03-10", 0, 1), ("2026-03-11", 0, 2)]  # beside 2, 3 and 4 March
    assert compared[1]["offline_sales"] == 0 and compared[3]["offline_sales"] == 1  # signed 12 March


def test_an_amount_per_lead_or_sale_is_the_exact_quotient_to_the_cent_as_the_overview_s(store, plan):
    """Cost per lead, per sale and the average premium divide the exact amounts and round half away from zero,
    as the overview's SQL does (ClickHouse's round of a Decimal) and as an analyst dividing the columns does.
    Before, the levers' went through floats and rounded half to even: 733.26 / 4 (183.315, read as
    183.31499999…) gave 183.31 beside the overview's 183.32, and 0.25 / 2 gave 0.12."""
    j = Journeys()
    for n, premium in enumerate(("183.31", "183.31", "183.32", "183.32")):
        display(j, f"V{n}", f"d{n}", f"2026-03-02 1{n}:00")
        j.submit("moto_quote", f"V{n}", f"d{n}", f"2026-03-02 1{n}:05")
        person(store, f"P{n}", visitors=(f"V{n}",), phones=(f"k{n}",))
        sale(store, f"S{n}", f"2026-03-03 1{n}:00", channel="web", premium=premium, phone_key=f"k{n}")
    for n in range(2):
        j.page(f"E{n}", f"e{n}", f"2026-03-04 1{n}:00", lever="email", utm_medium="email", utm_campaign="news")
        j.add("touch", f"E{n}", f"e{n}", f"2026-03-04 1{n}:00", lever="email", utm_medium="email", utm_campaign="news")
        j.submit("moto_quote", f"E{n}", f"e{n}", f"2026-03-04 1{n}:05")
    j.store(store)
    cost(store, "2026-03-02", "display", "spring", "733.26")
    cost(store, "2026-03-04", "email", "news", "0.25")
    rows = lines(reports.run(store, plan, "levers", MARCH), "lever")
    d = rows[("display",)]
    assert (d["leads"], d["sales"], str(d["revenue"]), str(d["cost"])) == (4, 4, "733.26", "733.26")
    assert (str(d["average_premium"]), str(d["cost_per_lead"]), str(d["cost_per_sale"])) == ("183.32",) * 3
    assert str(rows[("email",)]["cost_per_lead"]) == "0.13"
    (overview,) = reports.run(store, plan, "overview", {**MARCH, "lever": "display"}).records()
    assert (overview["average_premium"], overview["cost_per_sale"]) == (d["average_premium"], d["cost_per_sale"])
    assert '"cost_per_lead":183.32' in reports.render(reports.run(store, plan, "campaigns", MARCH), "json")


def test_filters_narrow_visits_by_their_landing_and_sales_by_a_matching_touch(store, plan, shop):
    def overview(**filters):
        (total,) = reports.run(store, plan, "overview", {**MARCH, **filters}).records()
        return total["visits"], total["online_sales"], total["offline_sales"], total["revenue"], total["cost"]

    # Display: its 4 visits; both sales had a display visit in their lookback; display's costs.
    assert overview(lever="display") == (4, 1, 1, 900, 200)
    assert overview(lever="display", campaign="autumn") == (1, 0, 1, 600, 50)  # V3's visit, then the shop
    assert overview(lever="search_organic") == (2, 0, 0, 0, None)  # V6's lead, no sale
    # B042 brought no visit here; it signed S2 (its point of sale); costs are not per broker.
    assert overview(broker="B042") == (0, 0, 1, 600, None)
    levers = lines(reports.run(store, plan, "levers", {**MARCH, "lever": "display", "model": "first_touch"}), "lever")
    assert {k for k, r in levers.items() if r["visits"]} == {("display",)}
    assert levers[("display",)]["sales"] == 2  # each kept path whole: display is both sales' first touch
    last = lines(reports.run(store, plan, "attribution", {**MARCH, "lever": "display", "model": "last_touch"}),
                 "lever")
    assert {k: r["conversions"] for k, r in last.items()} == {("display",): 1, ("broker",): 1}
    with pytest.raises(reports.ReportError, match='person does not take "lever"'):
        reports.run(store, plan, "person", {"quote_id": "Q", "lever": "display"})
    with pytest.raises(reports.ReportError, match="compare"):  # it paired each event with the sale as "previous"
        reports.run(store, plan, "person", {"quote_id": "Q", "compare": "true"})


def test_a_filter_on_a_long_campaign_name_finds_its_visits_and_a_value_past_any_stored_one_is_refused(store, plan):
    """A campaign name of 250 characters is stored whole; the filter was cut to 200 and matched nothing."""
    long_name = "printemps-" * 25
    j = Journeys()
    display(j, "V1", "d1", "2026-03-02 10:00", campaign=long_name)
    display(j, "V2", "d2", "2026-03-02 11:00")
    j.store(store)
    (total,) = reports.run(store, plan, "overview", {**MARCH, "campaign": long_name}).records()
    assert total["visits"] == 1
    with pytest.raises(reports.ReportError, match="campaign: longer than 32768 characters"):
        reports.run(store, plan, "overview", {**MARCH, "campaign": "x" * 32_769})


def test_under_a_last_touch_model_an_offline_sale_s_path_is_its_point_of_sale_alone(store, plan, shop):
    """The levers' sales under last touch and last non-direct credit an offline sale's point of sale alone: its
    online touches are not read (pos_alone), its path is that one touch, and the credits are those of the whole
    paths. A point of sale whose lever is direct keeps the online touches (last non-direct passes it by)."""
    from journeys.attribution import attribute
    from journeys.reports import base, paths

    # P2, whose web sale S1 has its journey read, signs in the shop too: that sale still has its point of sale alone.
    sale(store, "S3", "2026-03-15 15:00", channel="shop", broker_id="B042", premium="100", phone_key="k2")
    for lever, expected in (("broker", [["broker"]]), ("direct", [["display", "direct"]])):
        if lever == "direct":  # B042's lever changed, later
            store.insert("brokers", [["B042", "Comparamoto", lever, "", "", "test", at("2026-01-02 00:00")]],
                         ["broker_id", "name", "lever", "shop", "network", "source", "updated_at"])
        ctx = base.Context(store, plan, reports.options("levers", MARCH), paths.ATTRIBUTION)
        whole = paths.path_parameters(ctx, by="", goal="sale", nulls=False, ages=False)
        alone = paths.path_parameters(ctx, by="", goal="sale", nulls=False, ages=False, pos_alone=True)
        assert (whole["pos_alone"], alone["pos_alone"]) == (False, True)
        whole_paths, alone_paths = ctx.query(paths.SQL, whole), ctx.query(paths.SQL, alone)
        offline = [r for r in alone_paths.records() if r["channel"] == "shop"]
        assert [(r["levers"], r["conversions"]) for r in offline] == [(e, 2) for e in expected], lever
        assert [r["levers"] for r in alone_paths.records() if r["channel"] == "web"] == [["display"]]
        assert [r["levers"] for r in whole_paths.records() if r["channel"] == "shop"] == [["display", lever]]
        for model in paths.LAST_TOUCH_MODELS:
            assert attribute(paths.table(alone_paths, ""), model, 7) == attribute(paths.table(whole_paths, ""),
                                                                                  model, 7), (lever, model)
        # read off the whole paths, the same rows
        assert paths.narrower_paths(whole, alone)(whole_paths).rows == [list(r) for r in alone_paths.rows]
    filtered = base.Context(store, plan, reports.options("levers", {**MARCH, "lever": "display"}), paths.ATTRIBUTION)
    assert not paths.path_parameters(filtered, pos_alone=True)["pos_alone"], "a filter may keep a path for an online touch"


def test_the_levers_sql_file_run_by_parcours_sql_with_its_parameters_gives_the_reports_figures(engine_dir, store,
                                                                                              plan, shop):
    """docs/analysts.md: journeys/reports/levers.sql pasted into `parcours sql`, each parameter given with --param
    (or clickhouse-client's --param_NAME=VALUE) as `parcours report levers --sql` prints it, gives the report's
    traffic, leads and cost. `parcours sql` could not bind a parameter: the report's SQL did not run at all."""
    where = ["--clickhouse", f"chdb://{engine_dir}", "--database", store.database]
    printed = reports.sql_for(store.database, plan, "levers", MARCH)
    values = {name: value.replace("\\'", "'") for name, value in
              re.findall(r"^SET param_(\w+) = '(.*)';$", printed.split("\n\n")[0], re.M)}
    assert values["from"] == "2026-03-01 00:00:00.000" and values["lever"] == ""
    given = [f"--param_{name}={value}" if name == "referrer_rules" else f"--param={name}={value}"
             for name, value in values.items()]
    out = CliRunner().invoke(main, ["sql", "-", *given, *where, "--format", "json"],
                             input=for_database(sql_text("levers.sql"), store.database))
    assert out.exit_code == 0, out.output
    pasted = {r["lever"]: r for r in map(json.loads, out.output.splitlines())}
    report = CliRunner().invoke(main, ["report", "levers", "--from", MARCH["from"], "--to", MARCH["to"], "--format",
                                       "json", "--plan", str(EXAMPLE_PLAN), *where])
    assert report.exit_code == 0, report.output
    figures = ("visits", "visitors", "bounce_rate", "leads", "lead_rate")
    expected = {r["lever"]: r for r in json.loads(report.output)}
    assert {k: [r[f] for f in figures] for k, r in pasted.items()} == {k: [expected[k][f] for f in figures]
                                                                       for k in pasted}
    assert set(expected) - set(pasted) == {"broker"}, "B042's shop sale: a lever the Python step adds, no traffic"
    assert pasted["display"]["visits"] == 4 and float(pasted["display"]["cost"]) == expected["display"]["cost"] == 200

    missing = CliRunner().invoke(main, ["sql", "-", *given[1:], *where], input=sql_text("levers.sql"))
    assert missing.exit_code == 1
    assert missing.output == ("Error: no value given for {from:DateTime64(3, 'UTC')}: give each one as --param "
                              "NAME=VALUE (parcours sql) or ?param_NAME=VALUE (POST /api/sql)\n")


def test_the_sql_parcours_report_prints_runs_as_it_is_in_parcours_sql(engine_dir, store, plan, shop):
    """`parcours report levers --sql | parcours sql -`: its `SET param_…` lines give the parameters (as they do to
    clickhouse-client), the figures are the report's; a parameter also given with --param is refused."""
    where = ["--clickhouse", f"chdb://{engine_dir}", "--database", store.database]
    printed = CliRunner().invoke(main, ["report", "levers", "--from", MARCH["from"], "--to", MARCH["to"], "--sql",
                                        "--plan", str(EXAMPLE_PLAN), *where])
    assert printed.exit_code == 0 and printed.output.startswith("SET param_"), printed.output[:200]
    out = CliRunner().invoke(main, ["sql", "-", *where, "--format", "json"], input=printed.output)
    assert out.exit_code == 0, out.output
    pasted = {r["lever"]: r for r in map(json.loads, out.output.splitlines())}
    assert (pasted["display"]["visits"], pasted["display"]["leads"], pasted["search_organic"]["leads"]) == (4, 0, 1)
    twice = CliRunner().invoke(main, ["sql", "-", "--param", "lever=display", *where], input=printed.output)
    assert twice.exit_code == 1 and twice.output == 'Error: parameter "lever" given twice; give each one once\n'


@pytest.mark.parametrize("campaign", ["promo\\new", "x';\nSELECT 1; --\\", "tab\there"])
def test_the_printed_sql_of_a_filter_with_a_backslash_or_a_line_break_finds_what_the_report_finds(
        engine_dir, store, plan, campaign):
    """An outside tester's finding: `--campaign 'promo\\new' --sql | parcours sql -` found nothing (the value was
    read with a line break), and a value with a line break was printed across two lines and refused."""
    j = Journeys()
    display(j, "V1", "c1", "2026-03-02 10:00", campaign=campaign)
    display(j, "V2", "c2", "2026-03-02 11:00", campaign="promo")
    j.store(store)
    where = ["--clickhouse", f"chdb://{engine_dir}", "--database", store.database]
    options = ["report", "levers", "--from", MARCH["from"], "--to", MARCH["to"], "--campaign", campaign,
               "--plan", str(EXAMPLE_PLAN), *where]
    report = CliRunner().invoke(main, [*options, "--format", "json"])
    assert report.exit_code == 0, report.output
    assert [(r["lever"], r["visits"]) for r in json.loads(report.output)] == [("display", 1)]
    printed = CliRunner().invoke(main, [*options, "--sql"])
    assert printed.exit_code == 0, printed.output
    head = printed.output.split("\n\n")[0]
    assert all(line.startswith("SET param_") for line in head.splitlines()), head
    out = CliRunner().invoke(main, ["sql", "-", *where, "--format", "json"], input=printed.output)
    assert out.exit_code == 0, out.output
    assert [(r["lever"], r["visits"]) for r in map(json.loads, out.output.splitlines())] == [("display", 1)]


def test_a_breakdown_by_broker_or_device_has_no_cost_and_its_field_says_so(store, plan, shop):
    """Costs are imported per lever and campaign: split by broker or device, every line's cost is null although
    costs were imported. The field's definition said null only "when none is imported", which a tool reading
    the JSON took at its word."""
    for by in ("broker", "device"):
        rows = reports.run(store, plan, "levers", {**MARCH, "by": by}).records()
        assert sum(r["visits"] for r in rows if r["lever"] == "display") == 4
        assert {(r["cost"], r["cost_per_lead"], r["cost_per_sale"], r["roas"]) for r in rows} == {(None,) * 4}
    (cost,) = [c.description for c in reports.REPORTS["levers"].columns if c.name == "cost"]
    assert "with `--by broker` or `--by device`" in cost


def test_an_amount_per_sale_of_a_huge_total_over_a_millionth_of_a_sale_is_still_to_the_cent():
    """A row's cost adds up Decimal(18, 2) amounts past one amount's limit; over a millionth of an attributed sale its
    quotient has more digits than Python's default 28: it raised InvalidOperation (a 500 for the whole report)."""
    import decimal

    from journeys.reports.levers import _per

    assert _per(decimal.Decimal("123456789012345678901.23"), 0.000001) == decimal.Decimal("123456789012345678901230000.00")
    assert _per(decimal.Decimal("733.26"), 4) == decimal.Decimal("183.32")
