"""Offline conversions (signed contracts) into `conversions`: from a file through an import profile or the
canonical format, or from any other source as records of canonical fields. Every sale goes through
`import_records`, whatever brought it (a file, the admin API, later a call-centre or Segment feed).

The canonical fields (docs/reconciliation.md documents each): conversion_id, ts, channel, broker_id, adviser,
shop, product, premium, currency, phone, crm_id. Only conversion_id, ts and one of phone / crm_id are
required. The phone is read in the plan's default region, normalised to E.164 and kept only as the same
keyed hash the collector gives a phone typed online (`phone_key`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from collector.enrich import phone_key
from journeys import imports
from journeys.imports import Context, Kind, Progress, Summary
from journeys.profiles import Reader, Record, ValueProblem, amount, currency, read, reader, text, timestamp
from tagplan.messages import did_you_mean

COLUMNS = (
    ("conversion_id", "String"), ("ts", "DateTime64(3, 'UTC')"), ("channel", "String"), ("broker_id", "String"),
    ("adviser", "String"), ("shop", "String"), ("product", "String"), ("premium", "Decimal(18, 2)"),
    ("currency", "String"), ("phone_key", "String"), ("crm_id", "String"),
    ("source", "String"), ("source_line", "UInt32"), ("profile", "String"),
)


def conversion_row(record: Record, r: Reader, ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """One line -> its `conversions` row, or the reasons it cannot be imported (and its fields, for fixing)."""
    values = record.values
    if "" in values:
        return {}, ["expected a JSON object with the sale's fields"]
    reasons: list[str] = []
    row: dict[str, Any] = {}

    def given(name: str) -> Any:
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return r.defaults.get(name, value)
        return value

    def take(name: str, read_value, required: str = "") -> None:
        value = given(name)
        if required and (value is None or (isinstance(value, str) and not value.strip())):
            reasons.append(f"{name}: required ({required})")
            return
        try:
            row[name] = read_value(value)
        except ValueProblem as exc:
            reasons.append(f"{name}: {exc}")

    take("conversion_id", lambda v: text(v, 128), "the contract id")
    take("ts", lambda v: timestamp(r, v), "the signature time")
    for name in ("broker_id", "adviser", "shop", "product", "crm_id"):
        take(name, text)
    take("channel", lambda v: _channel(text(v, 64), ctx))
    take("premium", lambda v: amount(r, v) if v not in (None, "") else "0.00")
    take("currency", lambda v: currency(r, v))
    phone = given("phone")
    try:
        written = text(phone, 64)
    except ValueProblem:
        written = ""
        reasons.append("phone: not a valid phone number")
    if written:
        key = phone_key(written, ctx.plan.default_region, ctx.secret)
        if key:
            row["phone_key"] = key
        else:  # never the number itself: not in a message, not in the kept line
            reasons.append(f"phone: not a valid phone number ({_digits(written)} digits, read in region "
                           f"{ctx.plan.default_region})")
    elif not row.get("crm_id") and not any(reason.startswith("crm_id:") for reason in reasons):
        reasons.append("phone, crm_id: one of them is required to match the sale to a journey")
    if reasons:
        kept = {name: _as_text(given(name)) for name in values if name != "phone"}
        if row.get("phone_key"):
            kept["phone_key"] = row["phone_key"]
        return kept, reasons
    row.setdefault("phone_key", "")
    return row, []


def _channel(value: str, ctx: Context) -> str:
    channels = ctx.plan.plan.reconciliation.channels
    if value and value not in channels:
        raise ValueProblem(f'"{value}" is not declared in reconciliation.channels{did_you_mean(value, channels)} '
                           f"(declared: {', '.join(channels)})")
    return value


def _digits(value: str) -> int:
    return sum(c.isdigit() for c in value)


def _as_text(value: Any) -> str:
    try:
        return text(value, 1024)
    except ValueProblem:
        return ""


KIND = Kind(
    name="conversions", table="conversions", key=("conversion_id",), key_text="conversion_id", columns=COLUMNS,
    fingerprint=("ts", "channel", "broker_id", "adviser", "shop", "product", "premium", "currency", "phone_key",
                 "crm_id"),
    row=conversion_row, free_text=("adviser", "shop", "product", "broker_id", "channel", "currency"),
)


def import_records(store, ctx: Context, records: Iterable[Record], *, source: str, r: Reader | None = None,
                   dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Import sales given as records of canonical fields (or as a profile read them): the one way in."""
    r = r or reader(ctx.plan.plan, "conversions")
    return imports.run(store, KIND, r, records, ctx, source=source, dry_run=dry_run, progress=progress)


def import_file(store, ctx: Context, stream: IO[bytes], *, source: str, profile: str | None = None,
                dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Import a sales file (CSV or JSON) read with a profile of the plan, or in the canonical format."""
    r = reader(ctx.plan.plan, "conversions", profile)
    return import_records(store, ctx, read(r, stream), source=source, r=r, dry_run=dry_run, progress=progress)
