"""One person's journey (the dashboard's search): found by quote id or by a phone's keyed hash.

A phone number itself is never a report option: `hash_phone` turns a typed number into the key the
collector stores (E.164, then HMAC-SHA256 with the collector's secret), and only the key reaches the SQL.
"""

from __future__ import annotations

from typing import Any

from collector import enrich
from journeys.reports.base import Column, Context, Report, ReportError
from journeys.touches import view_parameters


def hash_phone(raw: str, region: str, secret: bytes) -> str:
    """The phone's key as the collector stores it; ReportError when it is not a phone number."""
    key = enrich.phone_key(raw, region, secret)
    if not key:
        raise ReportError("phone: not a valid phone number (e.g. 06 12 34 56 78 or +33 6 12 34 56 78)",
                          error_code="phone_invalid")
    return key


def parameters(ctx: Context) -> dict[str, Any]:
    if not ctx.options.quote_id and not ctx.options.phone_key:
        raise ReportError("person: give a quote id (quote_id) or a phone (the dashboard's search box)",
                          error_code="person_key_missing")
    return {"quote_id": ctx.options.quote_id, "phone_key": ctx.options.phone_key, **view_parameters(ctx.plan)}


REPORT = Report(
    name="person",
    title="One person's journey, by quote id or phone",
    sql="person.sql",
    columns=(
        Column("ts", "when (UTC): a visit's first event, the step, abandon or quote's event, the sale's signature"),
        Column("kind", "visit, step, abandon, quote (the form sent) or sale"),
        Column("lever", "a visit's lever, of its own landing as its touch (see Touches); a step, abandon or quote: "
                        "its visit's; on a sale, its channel (shop, call_centre, web…)"),
        Column("campaign", "a visit's utm_campaign (of its touch; a step, abandon or quote: its visit's)"),
        Column("broker_id", "a visit's broker (?courtier=; a step, abandon or quote: its visit's); on a sale, who "
                            "signed it"),
        Column("detail", "a visit's page views and device; the step; the quote id; the sale's product and id (a "
                         "cancelled one's with its date when known: `, cancelled 2026-10-12`)"),
        Column("premium", "a sale's premium, null otherwise"),
        Column("status", "a sale's status: signed, or cancelled (withdrawn, cancelled: no sale in the other "
                         "reports); empty otherwise"),
    ),
    options=frozenset({"quote_id", "phone_key"}),
    filters=False,
    compares=False,  # the whole journey, whatever the period: no previous one to set beside it
    parameters=parameters,
)
