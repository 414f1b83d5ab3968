"""compare=true: each figure beside the same report over the period of the same length just before."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from journeys import reports
from tests.journeys.builder import Journeys, broker, cost, person, sale


def visits(store, *days: str) -> None:
    j = Journeys()
    for i, when in enumerate(days):
        j.page(f"V{i}", f"s{i}", when)
    j.store(store)


def series(store, plan, **options) -> dict[str, dict]:
    rows = reports.run(store, plan, "overview", {**options, "compare": "true"}).records()
    return {str(r["period"]): r for r in rows}


def test_a_week_begun_mid_week_is_beside_the_same_days_one_period_earlier(store, plan):
    """From Wednesday 11 March to Saturday 21 March (10 days): its weeks are Wednesday to Sunday and Monday to
    Friday; the period before runs from Sunday 1 March, whose first Monday week holds that Sunday alone. Paired by
    rank, five days were set beside one (1 March) and the next five beside a whole week."""
    visits(store, "2026-03-01 10:00", "2026-03-03 10:00", "2026-03-05 10:00",  # 1 to 5 March: beside 11 to 15
           "2026-03-07 10:00", "2026-03-10 10:00",                             # 6 to 10 March: beside 16 to 20
           "2026-03-12 10:00")
    sale(store, "S1", "2026-03-05 23:59", premium="100")
    cost(store, "2026-03-04", "display", "spring", "40")
    cost(store, "2026-03-06", "display", "spring", "60")
    weeks = series(store, plan, **{"from": "2026-03-11", "to": "2026-03-21", "interval": "week"})
    assert list(weeks) == ["2026-03-09", "2026-03-16"]
    assert [(w["visits"], w["visits_previous"]) for w in weeks.values()] == [(1, 3), (0, 2)]
    assert [(w["sales_previous"], w["revenue_previous"], w["cost_previous"]) for w in weeks.values()] == [
        (1, 100, 40), (0, 0, 60)]


def test_days_of_a_period_begun_at_noon_are_beside_the_same_hours_before(store, plan):
    """36 hours from noon on 11 March: its first day is half a day, beside the half day 36 hours earlier (the
    morning of 10 March), not beside the whole of 10 March."""
    visits(store, "2026-03-10 08:00", "2026-03-10 18:00", "2026-03-11 06:00", "2026-03-11 13:00")
    days = series(store, plan, **{"from": "2026-03-11T12:00", "to": "2026-03-13", "interval": "day"})
    assert [(d, r["visits"], r["visits_previous"]) for d, r in days.items()] == [
        ("2026-03-11", 1, 1), ("2026-03-12", 0, 2)]


def test_the_totals_of_a_period_are_beside_the_whole_period_before(store, plan):
    visits(store, "2026-03-01 10:00", "2026-03-03 10:00", "2026-03-12 10:00")
    (total,) = reports.run(store, plan, "overview", {"from": "2026-03-11", "to": "2026-03-21",
                                                      "compare": "true"}).records()
    assert (str(total["period"]), total["visits"], total["visits_previous"]) == ("2026-03-11", 1, 2)


def test_the_previous_period_moves_a_series_by_its_length():
    opts = reports.options("overview", {"from": "2026-03-11T12:00", "to": "2026-03-13", "compare": "true"})
    assert (opts.previous.start, opts.previous.shift) == (dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc),
                                                          dt.timedelta(hours=36))
    assert opts.shift == dt.timedelta(0)


@pytest.mark.parametrize("interval", ["day", "week"])
def test_a_compared_series_has_every_period_once(store, plan, interval):
    visits(store, "2026-02-20 10:00", "2026-03-02 10:00")
    rows = reports.run(store, plan, "overview", {"from": "2026-02-25T07:00", "to": "2026-03-20T07:00",
                                                 "interval": interval, "compare": "true"}).records()
    periods = [r["period"] for r in rows]
    assert periods == sorted(set(periods)) and all(r["visits"] is not None for r in rows)
    assert sum(r["visits_previous"] for r in rows) == 1 and sum(r["visits"] for r in rows) == 1


def march_against_february(store) -> None:
    """February: an organic visit and its lead, a web sale of V1's (last touch organic), a shop sale of B042's.
    March: two display visits, one bounced; a shop sale of B042's, a web sale of D0's (last touch display)."""
    j = Journeys()
    j.page("V1", "f1", "2026-02-20 10:00", referrer="https://www.google.fr/")
    j.submit("moto_quote", "V1", "f1", "2026-02-20 10:05")
    for n, when in enumerate(("2026-03-02 10:00", "2026-03-03 10:00")):
        j.page(f"D{n}", f"d{n}", when, lever="display", utm_medium="cpm", utm_campaign="spring")
        j.add("touch", f"D{n}", f"d{n}", when, lever="display", utm_medium="cpm", utm_campaign="spring")
    j.page("D1", "d1", "2026-03-03 10:01", lever="display")
    j.store(store)
    person(store, "P1", visitors=("V1",), phones=("k1",))
    broker(store, "B042", "Comparamoto", "broker")
    sale(store, "S1", "2026-02-21 15:00", channel="web", premium="300", phone_key="k1")
    sale(store, "S2", "2026-02-22 15:00", channel="shop", broker_id="B042", premium="500")
    sale(store, "S3", "2026-03-10 15:00", channel="shop", broker_id="B042", premium="700")
    person(store, "P2", visitors=("D0",), phones=("k2",))
    sale(store, "S4", "2026-03-11 15:00", channel="web", premium="200", phone_key="k2")


MARCH = {"from": "2026-03-01", "to": "2026-03-29", "compare": "true"}  # four weeks, beside 1 to 28 February


def test_a_row_one_period_lacks_counts_zero_there_and_has_no_rate(store, plan):
    """A lever without a visit in the previous period had 0 visits then, not an unknown number (null): a tool
    computing the change got null, and the table read '-' beside display's first month."""
    march_against_february(store)
    result = reports.run(store, plan, "levers", {**MARCH, "model": "last_touch"})
    by = {r["lever"]: r for r in result.records()}
    display, organic = by["display"], by["search_organic"]
    assert (display["visits"], display["visits_previous"], display["leads_previous"]) == (2, 0, 0)
    assert (display["bounce_rate"], display["bounce_rate_previous"], display["lead_rate_previous"]) == (0.5, None, None)
    assert (display["cost_previous"], display["conversion_rate_previous"]) == (None, None)
    # Organic had its visit, lead and sale in February only: its March figures are 0, its rates null.
    assert [(organic[f], organic[f"{f}_previous"]) for f in ("visits", "leads", "sales", "revenue")] == [
        (0, 1), (0, 1), (0, 1), (0, 300)]
    assert (organic["bounce_rate"], organic["lead_rate"], organic["average_premium"]) == (None, None, None)
    # The same JSON types in both periods: an int count, a float (attributed) count, an amount to the cent.
    doc = json.loads(reports.render(result, "json"), parse_float=str)
    organic_doc = next(r for r in doc if r["lever"] == "search_organic")
    assert (organic_doc["visits"], organic_doc["sales"], organic_doc["revenue"]) == (0, "0.0", "0.00")
    display_doc = next(r for r in doc if r["lever"] == "display")
    assert (display_doc["visits_previous"], display_doc["online_sales_previous"], display_doc["revenue_previous"]) == (
        0, "0.0", "0.00")


def test_attribution_compared_credits_a_missing_lever_a_fractional_zero(store, plan):
    march_against_february(store)
    attribution = {r["lever"]: r for r in reports.run(store, plan, "attribution", {**MARCH, "model": "last_touch"})
                   .records()}
    assert (attribution["search_organic"]["conversions"], attribution["search_organic"]["revenue"]) == (0.0, 0)
    assert isinstance(attribution["search_organic"]["conversions"], float)


def test_a_share_is_zero_where_its_period_has_something_to_share_and_null_where_it_has_nothing(store, plan):
    march_against_february(store)
    paths = {r["path"]: r for r in reports.run(store, plan, "paths", {**MARCH, "offline_touch": "false"}).records()}
    assert (paths["(no touch)"]["share"], paths["(no touch)"]["share_previous"]) == (0.5, 0.5)
    display = paths["display"]  # no display path in February, which had two conversions
    assert (display["conversions_previous"], display["revenue_previous"], display["share_previous"],
            display["touches_previous"], display["days_previous"]) == (0, 0, 0.0, None, None)
    # Nothing at all in the period before January: no conversion to share.
    january = reports.run(store, plan, "paths", {"from": "2026-02-01", "to": "2026-03-01", "compare": "true"})
    assert {r["path"]: (r["conversions_previous"], r["share_previous"]) for r in january.records()} == {
        "search_organic": (0, None), "broker": (0, None)}
    media = reports.run(store, plan, "media_pos", {**MARCH, "model": "linear"}).records()
    assert [(r["broker_id"], r["lever"], r["conversions"], r["conversions_previous"], r["share_previous"])
            for r in media] == [("B042", "", 1.0, 1.0, 1.0)]


def test_a_funnel_segment_missing_then_has_zero_visitors_and_a_drop_off_but_on_its_first_line(store, plan):
    j = Journeys()
    for n, (when, campaign) in enumerate((("2026-02-10 10:00", "winter"), ("2026-03-10 10:00", "spring"))):
        j.page(f"F{n}", f"s{n}", when, lever="display", utm_medium="cpm", utm_campaign=campaign)
        j.add("touch", f"F{n}", f"s{n}", when, lever="display", utm_medium="cpm", utm_campaign=campaign)
        j.step("moto_quote", "vehicle", 1, f"F{n}", f"s{n}", when.replace(":00", ":01", 1))
        j.step("moto_quote", "rider", 2, f"F{n}", f"s{n}", when.replace(":00", ":02", 1))
    j.store(store)
    rows = reports.run(store, plan, "funnel", {**MARCH, "by": "campaign"}).records()
    spring = [r for r in rows if r["campaign"] == "spring"]
    assert [(r["step"], r["visitors"], r["visitors_previous"], r["drop_off_previous"]) for r in spring][:3] == [
        ("vehicle", 1, 0, None), ("rider", 1, 0, 0), ("coverage", 0, 0, 0)]
    assert all(r["from_first_previous"] is None and r["median_seconds_previous"] is None for r in spring)
    winter = [r for r in rows if r["campaign"] == "winter"]
    assert [(r["visitors"], r["visitors_previous"]) for r in winter][:2] == [(0, 1), (0, 1)]


def test_each_figure_is_followed_by_its_previous_periods(store, plan):
    """Compared, each figure X is followed by X_previous; the funnel's own `from_previous` (documented, stable) by
    `from_previous_previous`."""
    assert [c for r in reports.REPORTS.values() if r.compares for c in r.column_names
            if c.endswith("_previous")] == ["from_previous"]
    result = reports.run(store, plan, "funnel", {"from": "2026-03-01", "to": "2026-04-01", "compare": "true"})
    figures = [c for c in reports.REPORTS["funnel"].column_names
               if c not in reports.REPORTS["funnel"].keys and c != "segment"]
    assert [c for c in result.columns if c not in reports.REPORTS["funnel"].keys] == \
        [name for c in figures for name in (c, c + "_previous")]
    assert "from_previous_previous" in result.columns


def test_the_printed_sql_of_a_compared_report_says_how_to_get_its_previous_figures(engine_dir, store, plan):
    """`--compare --sql` printed this period's SQL alone, as if it gave the compared report: nothing said where the
    `_previous` figures came from. Its commented SET lines, run in place of this period's, give them."""
    from click.testing import CliRunner

    from collector.cli import main
    from tests.conftest import EXAMPLE_PLAN

    visits(store, "2026-03-01 10:00", "2026-03-03 10:00", "2026-03-05 10:00", "2026-03-07 10:00", "2026-03-12 10:00")
    where = ["--clickhouse", f"chdb://{engine_dir}", "--database", store.database]
    options = ["--from", "2026-03-11", "--to", "2026-03-21", "--interval", "week", "--compare"]
    report = CliRunner().invoke(main, ["report", "overview", *options, "--format", "json", "--plan", str(EXAMPLE_PLAN),
                                       *where])
    assert report.exit_code == 0, report.output
    expected = [(r["period"], r["visits"], r["visits_previous"]) for r in json.loads(report.output)]
    assert expected == [("2026-03-09", 1, 3), ("2026-03-16", 0, 1)]
    printed = CliRunner().invoke(main, ["report", "overview", *options, "--sql", "--plan", str(EXAMPLE_PLAN), *where])
    assert printed.exit_code == 0, printed.output
    now = CliRunner().invoke(main, ["sql", "-", *where, "--format", "json"], input=printed.output)
    assert [(r["period"], int(r["visits"])) for r in map(json.loads, now.output.splitlines())] == [
        (p, v) for p, v, _ in expected]
    instead = {line[3:].split(" = ")[0]: line[3:] for line in printed.output.splitlines() if line.startswith("-- SET ")}
    assert set(instead) == {"SET param_from", "SET param_to", "SET param_shift_ms"}
    before = "\n".join(instead.get(line.split(" = ")[0], line) for line in printed.output.splitlines())
    out = CliRunner().invoke(main, ["sql", "-", *where, "--format", "json"], input=before)
    assert out.exit_code == 0, out.output
    assert [(r["period"], int(r["visits"])) for r in map(json.loads, out.output.splitlines())] == [
        (p, v) for p, _, v in expected]
