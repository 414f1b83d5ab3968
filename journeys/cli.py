"""`parcours report NAME`: thin over journeys.reports, on the running collector or ClickHouse opened here."""

from __future__ import annotations

import sys

import click

from collector.options import load_plan, plan_option, target_options
from collector.target import Op, Target
from journeys import reports
from journeys.reports.options import BREAKDOWNS, FORMATS, MODELS


@click.command(context_settings={"max_content_width": 100})
@click.argument("name", type=click.Choice(list(reports.REPORTS)))
@click.option("--from", "from_", metavar="WHEN", help="Start of the period (included): 30d, 2026-11-01, "
              "2026-11-01T08:00 (UTC). Default: 30 days before --to.")
@click.option("--to", metavar="WHEN", help="End of the period (excluded), same forms. Default: now.")
@click.option("--form", help="funnel: the plan's form (default: its first).")
@click.option("--model", help=f"Attribution model: {', '.join(MODELS)}, or all (attribution).")
@click.option("--by", metavar="KEY", help=f"Breakdown: {', '.join(BREAKDOWNS)}, or a property declared in the plan.")
@click.option("--window", metavar="DURATION", help="funnel: time allowed from the first step (default 1d).")
@click.option("--lookback", metavar="DURATION", help="Touches counted before a conversion (default 30d).")
@click.option("--half-life", "half_life", metavar="DURATION", help="time_decay's half-life (default 7d).")
@click.option("--offline-touch/--no-offline-touch", default=None,
              help="An offline sale adds its point of sale as the last touch (default: on).")
@click.option("--interval", type=click.Choice(["day", "week"]), help="A series: one row per day or week.")
@click.option("--compare", is_flag=True, default=None, help="Add each figure over the previous period of the same length.")
@click.option("--goal", type=click.Choice(["sale", "lead"]), help="What converts: a sale (default) or a lead.")
@click.option("--limit", metavar="N", help="paths: how many of the most frequent (default 20).")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="table", show_default=True,
              help="A table for people; CSV or JSON (docs/analysts.md, field by field) for programs.")
@click.option("--sql", "show_sql", is_flag=True, help="Print the report's SQL with its parameters instead, "
              "to paste into clickhouse-client.")
@plan_option("The tagging plan (when no collector runs; a running collector uses its own).")
@target_options
def report(target: Target, name, from_, to, form, model, by, window, lookback, half_life, offline_touch, interval,
           compare, goal, limit, fmt, show_sql, plan):
    """Print the report NAME (docs/analysts.md): the same figures as GET /api/reports/NAME."""
    raw = {"from": from_, "to": to, "form": form, "model": model, "by": by, "window": window,
           "lookback": lookback, "half_life": half_life, "interval": interval, "goal": goal, "limit": limit,
           "offline_touch": None if offline_touch is None else str(offline_touch).lower(),
           "compare": "true" if compare else None, "format": fmt}
    if show_sql:
        click.echo(reports.sql_for("parcours", load_plan(plan), name, raw), nl=False)
        return
    out = sys.stdout.buffer
    for chunk in target.stream(Op("GET", f"/api/reports/{name}",
                                  lambda store: [reports.respond(store, load_plan(plan), name, raw)[0].encode()],
                                  {k: v for k, v in raw.items() if v is not None})):
        out.write(chunk)
    out.flush()
