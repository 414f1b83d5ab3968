"""The overview: the period's figures, or their daily or weekly series, for the dashboard's first panel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from journeys.reports.base import COUNTED, Column, Context, Report
from journeys.touches import view_parameters


def parameters(ctx: Context) -> dict[str, Any]:
    shift_ms = ctx.options.shift // dt.timedelta(milliseconds=1)
    return {"interval": ctx.options.interval, "shift_ms": shift_ms, **ctx.filter_window(), **view_parameters(ctx.plan)}


REPORT = Report(
    name="overview",
    title="The period at a glance: visits, leads, sales, revenue, cost; or a daily or weekly series",
    sql="overview.sql",
    columns=(
        Column("period", "the first day of the period; with `--interval day|week`, each day (UTC), or each week's Monday"),
        Column("visits", "sessions that started in it (bots left out)", absent=COUNTED),
        Column("visitors", "distinct visitor ids among them, counted with ClickHouse's `uniq` (exact on small sets; on millions, within about 1%: an exact count costs twice the report's time)", absent=COUNTED),
        Column("bounce_rate", "sessions with at most one page view and no other interaction / visits"),
        Column("leads", "distinct form_submit events of those sessions", absent=COUNTED),
        Column("lead_rate", "leads / visits"),
        Column("online_sales", "sales signed in it with channel `web`", absent=COUNTED),
        Column("offline_sales", "sales signed in it through any other channel (shop, call centre...)", absent=COUNTED),
        Column("sales", "online_sales + offline_sales", absent=COUNTED),
        Column("revenue", "their premiums", absent=COUNTED),
        Column("conversion_rate", "sales / visits"),
        Column("average_premium", "revenue / sales"),
        Column("cost", "the imported costs of the days it touches, whole (a period from noon counts all of its first "
                       "day's); null when none is imported"),
        Column("cost_per_sale", "cost / sales"),
    ),
    keys=("period",),
    options=frozenset({"interval", "lookback"}),
    parameters=parameters,
)
