"""The match report (reconciliation): how many sales were joined to an online journey, how, and why not.

match.sql gives the lines (all sales, per channel, broker, adviser, import file, and per sale with
`--by sale`); the JSON is one object: the line of all sales at the top, the reasons and methods as
objects, and every line under `lines`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from journeys.reports.base import CENT, Column, Context, Report, Result
from journeys.touches import view_parameters

REASONS = {"no_phone": "no phone in the file", "phone_not_seen": "phone never seen online",
           "key_ambiguous": "key ambiguous", "outside_lookback": "journey outside the lookback",
           "after_sale": "journey only after the sale", "no_visit": "no visit counted"}
"""The unmatched reasons: their column in match.sql and their words in the JSON's `by_reason`."""
ZERO = 0 * CENT
"""No money, to the cent (0.00)."""
METHODS = {"by_phone": "phone", "by_crm": "crm", "by_both": "both", "by_person": "person"}
CALLS_SQL = "match_calls.sql"
CALL_REASONS = ("ambiguous_lease", "ambiguous_phone", "anonymous_caller", "callee_not_seen", "phone_not_seen")
"""The reasons a call is unmatched (callcentre/calls.sql), each a column of match_calls.sql."""


def parameters(ctx: Context) -> dict[str, Any]:
    by = ctx.breakdown(("sale",))
    lookback = ctx.lookback
    return {"by": by, "lookback_s": lookback, "touches_from": ctx.options.start - dt.timedelta(seconds=lookback),
            **view_parameters(ctx.plan)}


def document(ctx: Context, result: Result) -> Result:
    """The summary object, from the line of all sales (zeros when the period has none)."""
    lines = result.records()
    top = next((r for r in lines if r["dimension"] == "all"), None)
    if top is None:
        # No sale in the period: the line of all sales in zeros, in the CSV and the table too (they had a header
        # only), its amounts to the cent as a sum of premiums is (the JSON's `0.00`, not `0`).
        top = {c: 0 for c in result.columns} | {"dimension": "all", "value": "", "match_rate": None}
        top |= {c: ZERO for c in result.columns if "revenue" in c} | {c: None for c in result.columns if "days" in c}
        result = Result(result.columns, [[top[c] for c in result.columns], *result.rows])
    doc = {
        "conversions": top["conversions"], "matched": top["matched"], "unmatched": top["unmatched"],
        "match_rate": top["match_rate"], "revenue": top["revenue"], "matched_revenue": top["matched_revenue"],
        "cancelled": top["cancelled"], "cancelled_revenue": top["cancelled_revenue"],
        "by_method": {word: top[column] for column, word in METHODS.items()},
        "by_reason": {word: top[column] for column, word in REASONS.items()},
        "days_to_sale": {"median": top["median_days_to_sale"], "p90": top["p90_days_to_sale"]},
        "days_quote_to_sale": {"median": top["median_days_quote_to_sale"], "p90": top["p90_days_quote_to_sale"]},
        "lookback_days": ctx.lookback / 86400,
        "calls": calls(ctx),
        "lines": [r for r in lines if r["dimension"] != "all"],
    }
    return Result(result.columns, result.rows, doc)


def calls(ctx: Context) -> dict[str, Any]:
    """The calls of the period by how they matched (match_calls.sql): `calls`, `by_lease`, `by_caller_phone`,
    `by_callee_phone`, `unmatched`, and `by_reason` (every reason, 0 included)."""
    row: dict[str, Any] = {}  # no call in the period: every count 0, without planning the call views
    if ctx.has_calls(ctx.options.start, ctx.options.end):
        (row,) = ctx.query(CALLS_SQL, {"from": ctx.options.start, "to": ctx.options.end}).records() or [{}]
    count = {name: int(row.get(name, 0)) for name in ("calls", "by_lease", "by_caller_phone", "by_callee_phone",
                                                      "unmatched", *CALL_REASONS)}
    return {**{k: count[k] for k in ("calls", "by_lease", "by_caller_phone", "by_callee_phone", "unmatched")},
            "by_reason": {reason: count[reason] for reason in CALL_REASONS}}


REPORT = Report(
    name="match",
    title="Reconciliation: sales matched to an online journey, how, and why the others were not",
    sql="match.sql",
    columns=(
        Column("dimension", "`all` (every sale), `channel`, `broker` (who signed), `adviser`, `source` (the import "
                            "file), or `sale` (with `--by sale`)"),
        Column("value", "the channel, broker id, adviser, file name or contract id; empty on the `all` line"),
        Column("conversions", "sales signed in the period (the latest import of each contract), cancelled ones "
                              "left out"),
        Column("matched", "of those, sales whose person visited the site in the lookback before the sale"),
        Column("unmatched", "conversions - matched"),
        Column("match_rate", "matched / conversions; null without conversions"),
        Column("by_phone", "matched sales whose phone was sent online (in a form) and not their quote id"),
        Column("by_crm", "matched sales whose quote (CRM) id was sent online and not their phone"),
        Column("by_both", "matched sales whose phone and quote id were both sent online"),
        Column("by_person", "matched sales joined through another key of their person only"),
        Column("no_phone", "unmatched: no phone in the file, and a quote id never seen online"),
        Column("phone_not_seen", "unmatched: a phone never sent online (a walk-in customer, or a typo)"),
        Column("key_ambiguous", "unmatched: the phone or quote id is shared by too many visitors "
                                "(parcours.identity_hot_keys)"),
        Column("outside_lookback", "unmatched: the person visited the site, but earlier than the lookback"),
        Column("after_sale", "unmatched: the person visited the site, but only after the sale (a phone or quote id "
                             "sent online once signed)"),
        Column("no_visit", "unmatched: its phone or quote id was sent online, but none of the person's visits counts "
                           "(every one a bot's, or the key sent through the API without a visit)"),
        Column("revenue", "the sales' premiums (exact decimals), cancelled ones left out"),
        Column("matched_revenue", "the matched sales' premiums"),
        Column("cancelled", "sales signed in the period and cancelled since (withdrawn, cancelled: their status), "
                            "neither matched nor unmatched"),
        Column("cancelled_revenue", "their premiums"),
        Column("median_days_to_sale", "median days from the first visit in the lookback to the sale (matched sales)"),
        Column("p90_days_to_sale", "90th percentile of the same"),
        Column("median_days_quote_to_sale", "median days from the last quote (form_submit) in the lookback to the sale"),
        Column("p90_days_quote_to_sale", "90th percentile of the same"),
    ),
    keys=("dimension", "value"),
    options=frozenset({"by", "lookback"}),
    parameters=parameters,
    post=document,
    compares=False,
)
