"""compare=true: each figure beside the same report over the period of the same length just before."""

from __future__ import annotations

import datetime as dt

import pytest

from journeys import reports
from tests.journeys.builder import Journeys, cost, sale


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
