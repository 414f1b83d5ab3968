"""Reports on conversion paths (conversion_paths.sql): attribution, the most frequent paths, and the media
that brought each point of sale's customers. SQL extracts the paths; journeys/attribution.py credits them."""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from journeys.attribution import MODELS, PathTable, attribute, attribute_groups, path_table, removal_effects
from journeys.reports.base import (COUNTED, SEGMENT, WIDER, Absent, Column, Context, Derive, Report, ReportError, Result,
                                   money)
from journeys.reports.options import FILTERS
from journeys.touches import view_parameters

SQL = "conversion_paths.sql"
BREAKDOWNS = ("campaign", "broker", "device")
NO_TOUCH = ""
"""The lever of a media x point-of-sale line for sales with no online touch in the lookback window."""


def path_parameters(ctx: Context, *, by: str | None = None, goal: str | None = None,
                    offline_touch: bool | None = None, nulls: bool | None = None,
                    ages: bool | None = None, pos_alone: bool = False) -> dict[str, Any]:
    """conversion_paths.sql's parameters from the options (some reports fix a few). Null paths are read
    only for the Markov model, the touches' ages only for time decay; `pos_alone` for a caller whose model
    credits an offline sale's point of sale alone (LAST_TOUCH_MODELS; taken only without filters, which may keep
    a path for an online touch)."""
    o = ctx.options
    offline_touch = o.offline_touch if offline_touch is None else offline_touch
    return {
        "nulls": o.model in ("", "all", "markov") if nulls is None else nulls,
        "ages": o.model in ("", "all", "time_decay") if ages is None else ages,
        "from": o.start, "to": o.end, "touches_from": o.start - dt.timedelta(seconds=ctx.lookback),
        "lookback_s": ctx.lookback, "goal": goal or o.goal,
        "offline_touch": offline_touch,
        "pos_alone": pos_alone and offline_touch and not o.filtered,
        "by": ctx.breakdown(BREAKDOWNS) if by is None else by,
        **o.filters, **view_parameters(ctx.plan),
    }


LAST_TOUCH_MODELS = ("last_touch", "last_non_direct")
"""The models that credit a path's last touch alone, which an offline sale's point of sale is, unless its lever is
direct (conversion_paths.sql's pos_alone)."""

WIDEST_BY = "broker"
"""The breakdown computed in the place of none for the null paths (the attribution of every model, the dashboard's
widest query): on the seed as costly as without (5.33 CPU s both), and the brokers' paths are then read off it
too."""


def wider_paths(p: Mapping[str, Any]) -> list[tuple[dict[str, Any], Derive, bool]]:
    """The conversion paths' queries whose result also gives the result of these parameters (base.WIDER): the
    same, with null paths, with the touches' ages, with any breakdown for none, with the point of sale as a touch
    (without filters: a filter may keep a path for its point of sale). With null paths and no breakdown, the
    first is split by broker and computed in its place when none is shared yet."""
    filtered = any(p[f] for f in FILTERS)
    out = []
    for nulls in dict.fromkeys((p["nulls"], True)):
        for ages in dict.fromkeys((p["ages"], True)):
            for by in ((p["by"],) if p["by"] else ("", *BREAKDOWNS)):
                for offline_touch in dict.fromkeys((p["offline_touch"], not filtered)):
                    for pos_alone in dict.fromkeys((p["pos_alone"] and offline_touch, False)):
                        q = {**p, "nulls": nulls, "ages": ages, "by": by, "offline_touch": offline_touch,
                             "pos_alone": pos_alone}
                        if q != p:
                            out.append((q, narrower_paths(q, p), False))
    if p["nulls"] and not p["by"] and not filtered:
        widest = {**p, "by": WIDEST_BY, "pos_alone": False}
        out = [(widest, narrower_paths(widest, p), True), *[w for w in out if w[0] != widest]]
    return out


def narrower_paths(source: Mapping[str, Any], target: Mapping[str, Any]) -> Derive:
    """How the paths of `target` are read off those of a wider `source` (wider_paths): the null paths left out,
    the point of sale taken off the end of an offline sale's path, or left alone in it (pos_alone), the keys or
    the ages emptied, and the rows that became the same added up. None when a sale's channel is empty (whether
    its point of sale was made a touch is then not known: computed instead)."""
    strip = source["offline_touch"] and not target["offline_touch"]
    alone = target["pos_alone"] and not source["pos_alone"]

    def derive(result: Result) -> Result | None:
        at = {c: i for i, c in enumerate(result.columns)}
        lev, key, age, conv, val, nul, chan, sig, day = (at[c] for c in (
            "levers", "keys", "ages_days", "conversions", "value", "nulls", "channel", "signer", "days"))
        rows: dict[tuple, list[Any]] = {}
        for r in result.rows:
            conversions, nulls = r[conv], r[nul] if target["nulls"] else 0
            if not conversions and not nulls:
                continue
            levers, keys, ages, days = r[lev], r[key], r[age], r[day]
            if (strip or alone) and conversions:
                if not r[chan]:
                    return None
                if r[chan] != "web" and strip:
                    levers, keys, ages = levers[:-1], keys[:-1], ages[:-1]
                elif r[chan] != "web" and levers[-1] != "direct":  # its point of sale alone (no online touch, 0 days)
                    levers, keys, ages, days = levers[-1:], keys[-1:], ages[-1:], 0
            if not target["by"]:
                keys = [""] * len(levers)
            if not target["ages"]:
                ages = []
            k = (tuple(levers), tuple(keys), tuple(ages), r[chan], r[sig])
            row = rows.get(k)
            if row is None:
                rows[k] = row = list(r)
                row[lev], row[key], row[age], row[nul], row[day] = list(levers), list(keys), list(ages), nulls, days
            else:
                row[conv] += conversions
                row[nul] += nulls
                row[val] += r[val]
                row[day] += days
        return Result(list(result.columns), [rows[k] for k in sorted(rows)])

    return derive


def table(result: Result, by: str) -> PathTable:
    """The paths as attribution's table: a channel is the lever, or (lever, key) with a breakdown."""
    levers, keys, conversions, value, nulls, ages = (
        [r[i] for r in result.rows] for i in map(result.columns.index,
                                                 ("levers", "keys", "conversions", "value", "nulls", "ages_days")))
    channels = [list(zip(path_levers, path_keys)) for path_levers, path_keys in zip(levers, keys)] if by else levers
    return path_table(zip(channels, conversions, value, nulls, ages))


def _half_life(ctx: Context) -> float:
    return ctx.options.half_life / 86400


def _models(ctx: Context) -> tuple[str, ...]:
    return MODELS if ctx.options.model in ("", "all") else (ctx.options.model,)


# --- attribution ------------------------------------------------------------------------------------------

def attribution(ctx: Context, result: Result) -> Result:
    by = ctx.options.by
    t = table(result, by)
    rows = []
    for model in _models(ctx):
        credit = attribute(t, model, _half_life(ctx))
        lines = []
        for channel, (conversions, revenue) in credit.items():
            lever, key = channel if by else (channel, "")
            lines.append([model, lever, key, round(conversions, 6), money(revenue)])
        lines.sort(key=lambda r: (-r[3], r[1], r[2]))
        rows += lines
    return Result(["model", "lever", SEGMENT, "conversions", "revenue"], rows)


ATTRIBUTION = Report(
    name="attribution",
    title="Conversions and revenue per lever under each attribution model",
    sql=SQL,
    columns=(
        Column("model", "first_touch, last_touch, last_non_direct, linear, position_based, time_decay or markov"),
        Column("lever", "the acquisition lever (a touch's; the point of sale's for the last touch of an offline sale)"),
        Column(SEGMENT, "with `--by campaign|broker|device`: the touch's campaign, broker or device (the broker who "
                        "signed, for a point-of-sale touch); the field is named after the breakdown"),
        Column("conversions", "conversions the model credits to the lever (fractions add up to whole conversions)", absent=COUNTED),
        Column("revenue", "their revenue (premium), shared with the same weights", absent=COUNTED),
    ),
    keys=("model", "lever"),
    options=frozenset({"model", "by", "lookback", "half_life", "offline_touch", "goal"}),
    parameters=path_parameters,
    post=attribution,
    defaults={"model": "all"},
)


# --- paths ------------------------------------------------------------------------------------------------

def frequent_paths(ctx: Context, result: Result) -> Result:
    """The conversion paths grouped by their sequence of levers (consecutive repeats collapsed)."""
    at = {c: i for i, c in enumerate(result.columns)}
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(lambda: [0.0, decimal.Decimal(0), 0.0, decimal.Decimal(0)])
    total = 0.0
    for r in result.rows:
        conversions = r[at["conversions"]]
        if not conversions:
            continue
        levers = r[at["levers"]]
        path = tuple(lever for i, lever in enumerate(levers) if i == 0 or lever != levers[i - 1])
        g = groups[path]
        g[0] += conversions
        g[1] += r[at["value"]]
        g[2] += len(levers) * conversions
        g[3] += r[at["days"]]
        total += conversions
    rows = [[" > ".join(path) if path else "(no touch)", int(g[0]), g[1],
             g[0] / total, g[2] / g[0], float(g[3]) / g[0]] for path, g in groups.items()]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return Result(["path", "conversions", "revenue", "share", "touches", "days"], rows[: ctx.options.limit])


PATHS = Report(
    name="paths",
    title="The most frequent paths to conversion",
    sql=SQL,
    columns=(
        Column("path", "the levers of the touches before the conversion, in order, consecutive repeats collapsed "
                       "(`display > search_paid > broker`); `(no touch)` when none"),
        Column("conversions", "conversions that followed this path", absent=COUNTED),
        Column("revenue", "their revenue", absent=COUNTED),
        Column("share", "conversions / all conversions of the period",
               absent=Absent(lambda row, rows: bool(rows), "0 when that period has conversions, else null")),
        Column("touches", "average number of touches per conversion, repeats included"),
        Column("days", "average days from the path's first touch to the conversion"),
    ),
    keys=("path",),
    options=frozenset({"lookback", "offline_touch", "goal", "limit"}),
    parameters=lambda ctx: path_parameters(ctx, by="", nulls=False, ages=False),
    post=frequent_paths,
)


# --- media x point of sale --------------------------------------------------------------------------------

def media_by_point_of_sale(ctx: Context, result: Result) -> Result:
    """Each signing broker's offline sales shared among the levers of their customers' online touches."""
    at = {c: i for i, c in enumerate(result.columns)}
    offline = [r for r in result.rows if r[at["conversions"]] and r[at["channel"]] != "web"]
    signers = sorted({r[at["signer"]] for r in offline})
    index = {s: i for i, s in enumerate(signers)}
    t = table(Result(result.columns, offline), "")
    group = np.array([index[r[at["signer"]]] for r in offline], dtype=np.int64)
    model = ctx.options.model or "linear"
    if model == "all":
        raise ReportError("model: media_pos takes one model (one of: " + ", ".join(MODELS) + ")",
                          error_code="model_one", report="media_pos", allowed=list(MODELS))
    removal = None
    if model == "markov":  # the removal effects of every path read (null paths and web sales too), as attribution's
        every = table(result, "")
        effects = dict(zip(every.channels, removal_effects(every)))
        removal = np.array([effects[channel] for channel in t.channels])
    conv, val = attribute_groups(t, model, group, len(signers), _half_life(ctx), markov_per_path=True,
                                 removal=removal)
    sold = np.bincount(group, t.conversions, minlength=len(signers))
    untouched = t.length == 0
    rows = []
    for s, signer in enumerate(signers):
        lines = [[signer, lever, round(float(conv[c, s]), 6), money(val[c, s]),
                  float(conv[c, s] / sold[s])] for c, lever in enumerate(t.channels) if conv[c, s] > 0]
        none = float(t.conversions[untouched & (group == s)].sum())
        if none:
            lines.append([signer, NO_TOUCH, none, money(t.value[untouched & (group == s)].sum()),
                          none / float(sold[s])])
        lines.sort(key=lambda r: (-r[2], r[1]))
        rows += lines
    return Result(["broker_id", "lever", "conversions", "revenue", "share"], rows)


MEDIA_POS = Report(
    name="media_pos",
    title="Media x point of sale: the levers that brought each broker's offline customers",
    sql=SQL,
    columns=(
        Column("broker_id", "the broker or adviser who signed the offline sales (`conversions.broker_id`)"),
        Column("lever", "a lever of their customers' online touches in the lookback window; empty for the sales "
                        "with no online touch"),
        Column("conversions", "the broker's sales the model credits to the lever (default model: linear; markov "
                              "shares each sale among its own touches by removal effect)", absent=COUNTED),
        Column("revenue", "their revenue", absent=COUNTED),
        Column("share", "conversions / the broker's offline sales",
               absent=Absent(lambda row, rows: any(r["broker_id"] == row["broker_id"] for r in rows),
                             "0 when the broker signed offline sales in that period, else null")),
    ),
    keys=("broker_id", "lever"),
    options=frozenset({"model", "lookback", "half_life"}),
    parameters=lambda ctx: path_parameters(ctx, by="", goal="sale", offline_touch=False,
                                           nulls=ctx.options.model == "markov",
                                           ages=ctx.options.model == "time_decay"),
    post=media_by_point_of_sale,
)

WIDER[SQL] = wider_paths
