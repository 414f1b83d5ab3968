"""Levers, campaigns and brokers: traffic and leads from SQL, sales from the attribution of the same
paths under a model (default last_non_direct), and the cost metrics from both."""

from __future__ import annotations

import decimal
from typing import Any

import numpy as np

from journeys.attribution import attribute_groups
from journeys.reports.base import CENT, COUNTED, SEGMENT, Column, Context, Report, ReportError, Result, money
from journeys.reports.options import MODELS
from journeys.reports.paths import SQL as PATHS_SQL
from journeys.reports.paths import LAST_TOUCH_MODELS, path_parameters, table
from journeys.touches import view_parameters

DEFAULT_MODEL = "last_non_direct"
BREAKDOWNS = ("campaign", "broker", "device")


def model_of(ctx: Context) -> str:
    model = ctx.options.model or DEFAULT_MODEL
    if model == "all":
        raise ReportError(f"model: {ctx.report.name} takes one model; `parcours report attribution` compares them",
                          error_code="model_one", report=ctx.report.name, allowed=list(MODELS))
    return model


def attributed_sales(ctx: Context, by: str) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Per (lever, key): (online sales, offline sales, revenue) the model credits, as attribution does."""
    model = model_of(ctx)
    paths = ctx.query(PATHS_SQL, path_parameters(ctx, by=by, goal="sale", nulls=model == "markov",
                                                 ages=model == "time_decay", pos_alone=model in LAST_TOUCH_MODELS))
    t = table(paths, by)
    at = paths.columns.index("channel")
    offline = np.array([0 if r[at] == "web" else 1 for r in paths.rows], dtype=np.int64)
    conv, val = attribute_groups(t, model, offline, 2, ctx.options.half_life / 86400)
    out = {}
    for i, channel in enumerate(t.channels):
        key = channel if by else (channel, "")
        out[key] = (float(conv[i, 0]), float(conv[i, 1]), float(val[i].sum()))
    return out


def _ratio(a: Any, b: Any) -> float | None:
    return float(a) / float(b) if a is not None and b else None


def _per(amount: Any, count: Any) -> decimal.Decimal | None:
    """An amount per lead or sale, to the cent (None when there is none): the exact quotient of the figures the
    row shows, rounded half away from zero as ClickHouse rounds a Decimal (the overview's SQL). Through floats,
    733.26 / 4 was 183.31499999… and rounded to 183.31 where the overview said 183.32."""
    if amount is None or not count:
        return None
    with decimal.localcontext(prec=80):  # Decimal(38)'s digits over a millionth of a sale, all kept to the cent
        return (_exact(amount) / _exact(count)).quantize(CENT, rounding=decimal.ROUND_HALF_UP)


def _exact(figure: Any) -> decimal.Decimal:
    """A figure as the decimal it is shown as: an amount as it is, a count or a fractional count by its digits."""
    if isinstance(figure, decimal.Decimal):
        return figure
    return decimal.Decimal(figure) if isinstance(figure, int) else decimal.Decimal(str(float(figure)))


def levers_sales(ctx: Context) -> dict[tuple[str, str], tuple[float, float, float]]:
    return attributed_sales(ctx, ctx.breakdown(BREAKDOWNS))


def levers_post(ctx: Context, result: Result) -> Result:
    at = {c: i for i, c in enumerate(result.columns)}
    sales = ctx.beside  # levers_sales, computed while the SQL ran
    rows: dict[tuple[str, str], list[Any]] = {}
    for r in result.rows:
        rows[(r[at["lever"]], r[at[SEGMENT]])] = r
    for key in sales:
        if key not in rows:
            rows[key] = [key[0], key[1], 0, 0, None, 0, None, None]
    out = []
    for key, r in rows.items():
        online, offline, revenue = sales.get(key, (0.0, 0.0, 0.0))
        total = online + offline
        visits, leads, cost = r[at["visits"]], r[at["leads"]], r[at["cost"]]
        # sales: the sum of the two figures shown, so that they add up on screen and in the JSON; an amount per
        # sale divides the figures shown.
        shown = round(round(online, 6) + round(offline, 6), 6)
        out.append([*r[:at["lead_rate"] + 1], round(online, 6), round(offline, 6), shown,
                    money(revenue), _ratio(total, visits), _per(money(revenue), shown), cost,
                    _per(cost, leads), _per(cost, shown), _ratio(revenue, cost)])
    out.sort(key=lambda r: (-(r[2] or 0), -r[9], r[0], r[1]))
    return Result([*result.columns[:at["lead_rate"] + 1], "online_sales", "offline_sales", "sales", "revenue",
                   "conversion_rate", "average_premium", "cost", "cost_per_lead", "cost_per_sale", "roas"], out)


def parameters(ctx: Context) -> dict[str, Any]:
    return {"by": ctx.breakdown(BREAKDOWNS), **view_parameters(ctx.plan)}


COLUMNS = (
    Column("lever", "the lever of each session's own landing (see Touches); for sales, also the point of sale's"),
    Column(SEGMENT, "with `--by campaign|broker|device`: the landing's utm_campaign, broker_id or device type; "
                    "the field is named after the breakdown"),
    Column("visits", "sessions that started in the period", absent=COUNTED),
    Column("visitors", "distinct visitor ids among them, counted with ClickHouse's `uniq` (exact on small sets; on millions, within about 1%: an exact count costs twice the report's time)", absent=COUNTED),
    Column("bounce_rate", "sessions with at most one page view and no other interaction / visits"),
    Column("leads", "distinct form_submit events of those sessions", absent=COUNTED),
    Column("lead_rate", "leads / visits"),
    Column("online_sales", "sales signed online (channel `web`) in the period the model credits to the lever", absent=COUNTED),
    Column("offline_sales", "sales signed offline (shop, call centre...) the model credits to the lever", absent=COUNTED),
    Column("sales", "online_sales + offline_sales", absent=COUNTED),
    Column("revenue", "their premiums, shared with the same weights", absent=COUNTED),
    Column("conversion_rate", "sales / visits (null without visits)"),
    Column("average_premium", "revenue / sales"),
    Column("cost", "the imported costs of the days the period touches, whole, for the lever (and campaign); null "
                   "when none is imported, and on every line with `--by broker` or `--by device` (costs are imported "
                   "per lever and campaign), as the cost per lead, per sale and roas then"),
    Column("cost_per_lead", "cost / leads"),
    Column("cost_per_sale", "cost / sales"),
    Column("roas", "return on ad spend: revenue / cost"),
)

LEVERS = Report(
    name="levers",
    title="Visits, leads, sales, revenue and cost per acquisition lever",
    sql="levers.sql",
    columns=COLUMNS,
    keys=("lever",),
    options=frozenset({"model", "by", "lookback", "half_life", "offline_touch"}),
    parameters=parameters,
    beside=levers_sales,
    post=levers_post,
)

CAMPAIGNS = Report(
    name="campaigns",
    title="Visits, leads, sales, revenue and cost per campaign (utm_campaign) of each lever",
    sql="levers.sql",
    # The breakdown is always the campaign: the field is `campaign` (docs/analysts.md names it so).
    columns=(COLUMNS[0], Column(SEGMENT, "the landing's utm_campaign (empty without one)"), *COLUMNS[2:]),
    keys=("lever",),
    options=frozenset({"model", "lookback", "half_life", "offline_touch"}),
    parameters=parameters,
    beside=levers_sales,
    post=levers_post,
    defaults={"by": "campaign"},
)


def brokers_sales(ctx: Context) -> tuple[dict[tuple[str, str], tuple[float, float, float]], dict[str, tuple[str, str]]]:
    """The sales the model credits per (lever, broker), and each broker's name and lever (broker_names.sql, as
    brokers.sql reads them) for the brokers credited that its rows leave out."""
    names = ctx.query("broker_names.sql", {})
    return attributed_sales(ctx, "broker"), {r[0]: (r[1], r[2]) for r in names.rows}


def brokers_post(ctx: Context, result: Result) -> Result:
    """Add the sales the model credits to touches that came through each broker (any lever)."""
    sales, names = ctx.beside  # brokers_sales, computed while the SQL ran
    per_broker: dict[str, list[float]] = {}
    for (_, broker_id), (online, offline, revenue) in sales.items():
        if broker_id:
            acc = per_broker.setdefault(broker_id, [0.0, 0.0])
            acc[0] += online + offline
            acc[1] += revenue
    at = result.columns.index("broker_id")
    seen = {r[at] for r in result.rows}
    rows = [[*r, round(per_broker.get(r[at], [0.0, 0.0])[0], 6), money(per_broker.get(r[at], [0.0, 0.0])[1])]
            for r in result.rows]
    for broker_id, (conversions, revenue) in sorted(per_broker.items()):
        if broker_id not in seen:
            # Credited only (a touch in the lookback before the period, or a path a filter kept for another
            # touch): no row of the SQL, whose traffic and signed sales follow the filters; its name does not.
            name, lever = names.get(broker_id, ("", ""))
            rows.append([broker_id, name, lever, 0, 0, None, 0, None, 0, money(0), round(conversions, 6),
                         money(revenue)])
    return Result([*result.columns, "attributed_sales", "attributed_revenue"], rows)


BROKERS = Report(
    name="brokers",
    title="Per broker: the traffic it brought, the sales it signed and the sales its touches earned",
    sql="brokers.sql",
    columns=(
        Column("broker_id", "the broker: of a session's landing (`?courtier=`), or who signed a sale"),
        Column("name", "its name in parcours.brokers (empty when unknown)"),
        Column("lever", "its lever in parcours.brokers"),
        Column("visits", "sessions whose own landing named the broker", absent=COUNTED),
        Column("visitors", "distinct visitor ids among them, counted with ClickHouse's `uniq` (exact on small sets; on millions, within about 1%: an exact count costs twice the report's time)", absent=COUNTED),
        Column("bounce_rate", "bounced sessions / visits (null without visits)"),
        Column("leads", "distinct form_submit events of those sessions", absent=COUNTED),
        Column("lead_rate", "leads / visits"),
        Column("sales_signed", "sales of the period the broker signed (`conversions.broker_id`)", absent=COUNTED),
        Column("revenue_signed", "their premiums", absent=COUNTED),
        Column("attributed_sales", "sales the model (default last_non_direct) credits to the broker's touches, the "
                                   "point-of-sale touches of the sales it signed included", absent=COUNTED),
        Column("attributed_revenue", "their revenue, with the same weights", absent=COUNTED),
    ),
    keys=("broker_id", "name", "lever"),
    options=frozenset({"model", "lookback", "half_life", "offline_touch"}),
    parameters=lambda ctx: {**ctx.filter_window(), **view_parameters(ctx.plan)},
    beside=brokers_sales,
    post=brokers_post,
)
