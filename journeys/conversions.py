"""Offline conversions (signed contracts) into `conversions`: from a file through an import profile or the
canonical format, or from any other source as records of canonical fields. Every sale goes through
`import_records`, whatever brought it (a file, the admin API, later a call-centre or Segment feed).

The canonical fields (docs/reconciliation.md documents each): conversion_id, ts, channel, broker_id, adviser,
shop, product, premium, currency, phone, crm_id, ad_consent, status, cancelled_at. Only conversion_id, ts and
one of phone / crm_id are required. The phone is read in the plan's default region, normalised to E.164 and
kept only as the same keyed hash the collector gives a phone typed online (`phone_key`).

A sale's `status` is `signed` or `cancelled` (a withdrawal, a cancellation: no sale in the reports), read in
the file's own words through the profile's `status_values`. A line that does not say (no status column, an
empty cell) keeps the status stored for its contract (a new one is signed): the monthly sales file imported
again does not bring back a sale a later file cancelled.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import IO, Any

from collector.enrich import phone_key
from journeys import imports
from journeys.imports import Context, Kind, Progress, Summary
from journeys.lines import in_chunks
from journeys.profiles import Reader, Record, given_by, reader
from journeys.values import ValueProblem, amount, consent, currency, kept_text, quoted, sale_status, text, timestamp
from tagplan.messages import did_you_mean

COLUMNS = (
    ("conversion_id", "String"), ("ts", "DateTime64(3, 'UTC')"), ("channel", "String"), ("broker_id", "String"),
    ("adviser", "String"), ("shop", "String"), ("product", "String"), ("premium", "Decimal(18, 2)"),
    ("currency", "String"), ("phone_key", "String"), ("crm_id", "String"),
    ("ad_consent", "String"), ("status", "String"), ("cancelled_at", "DateTime64(3, 'UTC')"), ("source", "String"),
    ("source_line", "UInt32"), ("profile", "String"),
)


_TEXTS = (("broker_id", 256), ("adviser", 256), ("shop", 256), ("product", 256), ("crm_id", 256))


def conversion_row(record: Record, r: Reader, ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """One line -> its `conversions` row, or the reasons it cannot be imported (and its fields, for fixing).

    Called once per line of files of a million: plain code, the common case (text cells) first."""
    values = record.values
    if "" in values:
        return {}, ["expected a JSON object with the sale's fields"]
    reasons: list[str] = []
    row: dict[str, Any] = {}

    given = given_by(record, r)
    contract = given("conversion_id")
    if contract is None or contract == "" or (contract.__class__ is str and not contract.strip()):
        reasons.append("conversion_id: required (the contract id)")
    else:
        try:
            row["conversion_id"] = text(contract, 128)
        except ValueProblem as exc:
            reasons.append(f"conversion_id: {exc}")
    when = given("ts")
    if when is None or (when.__class__ is str and not when.strip()):
        reasons.append("ts: required (the signature time)")
    else:
        try:
            row["ts"] = timestamp(r, when)
        except ValueProblem as exc:
            reasons.append(f"ts: {exc}")
    for name, limit in _TEXTS:
        value = given(name)
        if value.__class__ is str and len(value) <= limit:
            row[name] = value.strip()
            continue
        try:
            row[name] = text(value, limit)
        except ValueProblem as exc:
            reasons.append(f"{name}: {exc}")
    try:
        row["channel"] = _channel(text(given("channel"), 64), ctx)
    except ValueProblem as exc:
        reasons.append(f"channel: {exc}")
    premium = given("premium")
    try:
        row["premium"] = "0.00" if premium is None or premium == "" else amount(r, premium)
        if row["premium"].startswith("-"):  # sent as such to the ad networks, and counted in the revenue
            raise ValueProblem(f"{quoted(row['premium'])} is negative: a sale's premium is 0 or more")
    except ValueProblem as exc:
        reasons.append(f"premium: {exc}")
    try:
        row["currency"] = currency(r, given("currency"))
    except ValueProblem as exc:
        reasons.append(f"currency: {exc}")
    try:
        row["ad_consent"] = consent(given("ad_consent"))
    except ValueProblem as exc:
        reasons.append(f"ad_consent: {exc}")
    try:
        row["status"] = sale_status(r, given("status"))
    except ValueProblem as exc:
        reasons.append(f"status: {exc}")
    _cancelled_at(r, given("cancelled_at"), row, reasons)
    if row.get("status") == "cancelled" and "ts: required (the signature time)" in reasons:
        # A file of cancellations alone read as sales: each line says what to run instead.
        reasons[reasons.index("ts: required (the signature time)")] = (
            "ts: required (the signature time); a file of cancellations alone, without the sales' fields, is "
            "imported with parcours import cancellations")
    phone = given("phone")
    try:
        written = text(phone, 64)
    except ValueProblem:
        written = ""
        reasons.append("phone: not a valid phone number")
    hashed = values.get("phone_key")  # a sale the collector recorded as an event: its phone is a key already
    if isinstance(hashed, str) and _HMAC.fullmatch(hashed) and not written:
        row["phone_key"] = hashed
    elif written:
        key = phone_key(written, ctx.plan.default_region, ctx.secret)
        if key:
            row["phone_key"] = key
        else:  # never the number itself: not in a message, not in the kept line
            reasons.append(f"phone: not a valid phone number ({_digits(written)} digits, read in region "
                           f"{ctx.plan.default_region})")
    elif not row.get("crm_id") and not any(reason.startswith("crm_id:") for reason in reasons):
        reasons.append("phone, crm_id: one of them is required to match the sale to a journey")
    if reasons:
        kept = {name: kept_text(given(name)) for name in values if name != "phone"}
        if row.get("phone_key"):
            kept["phone_key"] = row["phone_key"]
        return kept, reasons
    row.setdefault("phone_key", "")
    return row, []


_HMAC = re.compile(r"[0-9a-f]{64}")
"""A phone key (HMAC-SHA256, hex). Files never give one: readers yield the canonical fields only."""


def _channel(value: str, ctx: Context) -> str:
    channels = ctx.plan.plan.reconciliation.channels
    if value and value not in channels:
        raise ValueProblem(f'"{quoted(value)}" is not declared in reconciliation.channels{did_you_mean(value, channels)} '
                           f"(declared: {', '.join(channels)})")
    return value


def _cancelled_at(r: Reader, value: Any, row: dict[str, Any], reasons: list[str]) -> None:
    """The cancellation time, 0 when the line gives none; a line with one and no status is cancelled."""
    row["cancelled_at"] = 0.0
    if value is None or (value.__class__ is str and not value.strip()):
        return
    try:
        row["cancelled_at"] = timestamp(r, value)
    except ValueProblem as exc:
        reasons.append(f"cancelled_at: {exc}")
        return
    if row.get("status") in ("signed", "reinstated"):
        reasons.append(f"cancelled_at: given for a sale whose status is {row['status']} "
                       "(a cancelled sale's status is cancelled)")
        return
    if isinstance(row.get("ts"), float) and row["cancelled_at"] < row["ts"]:
        day = lambda t: dt.datetime.fromtimestamp(t, r.zone).date()  # noqa: E731
        if day(row["cancelled_at"]) < day(row["ts"]):
            reasons.append("cancelled_at: before the day of the signature (ts)")
            return
        row["cancelled_at"] = row["ts"]  # the same day (a date alone is its midnight): taken at the signature
    if row.get("status") == "":
        row["status"] = "cancelled"


def _digits(value: str) -> int:
    return sum(c.isdigit() for c in value)


_STANDS = "(k.found = 1 AND k.status = 'cancelled' AND k.cancelled_at >= l.ts)"
"""A stored cancellation of the line's signature (SQL of conversions.KIND's kept columns)."""

_SALE = "ts, channel, broker_id, adviser, shop, product, premium, currency, phone_key, crm_id, ad_consent"

KIND = Kind(
    name="conversions", table="conversions", key=("conversion_id",), key_text="conversion_id", columns=COLUMNS,
    # A signed sale's fingerprint is the one rows had before statuses (migration 59): a file imported again
    # after the upgrade is unchanged, not rewritten.
    fingerprint=(*_SALE.split(", "), "status", "cancelled_at"),
    fingerprint_sql=f"if(status = 'signed', cityHash64({_SALE}), cityHash64({_SALE}, status, cancelled_at))",
    row=conversion_row, free_text=("adviser", "shop", "product", "channel", "currency"),
    # A line that does not say its status keeps the stored one (a new sale is signed), with its cancellation
    # time; a cancelled line without a time keeps the time stored for its cancellation. A line that says
    # signed leaves standing a cancellation stored of that signature (dated at or after the line's ts: the
    # month's file imported again, which says signed of every sale it had, undid the cancellations since);
    # a later signature is signed; `reinstated` signs it again whatever is stored (a cancellation by mistake).
    kept=(("status", f"multiIf(l.status = 'reinstated', 'signed', l.status = 'signed' AND {_STANDS}, 'cancelled', "
                     "l.status != '', l.status, k.found = 1, k.status, 'signed')"),
          ("cancelled_at", "if(l.cancelled_at > toDateTime64(0, 3, 'UTC') OR l.status = 'reinstated' "
                           f"OR (l.status = 'signed' AND NOT {_STANDS}) OR k.found = 0 OR k.status != 'cancelled', "
                           "l.cancelled_at, k.cancelled_at)")),
)


def import_records(store, ctx: Context, records: Iterable[Record], *, source: str, r: Reader | None = None,
                   dry_run: bool = False, progress: Progress | None = None, whole: bool = True) -> Summary:
    """Import sales given as records of canonical fields (or as a profile read them): the one way in.
    `whole`: the records are all of `source` (a file), see imports.run."""
    r = r or reader(ctx.plan.plan, "conversions")
    return imports.run(store, KIND, r, in_chunks(KIND, r, records, ctx, source), ctx, source=source,
                       dry_run=dry_run, progress=progress, whole=whole)


def import_file(store, ctx: Context, stream: IO[bytes], *, source: str, profile: str | None = None,
                dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Import a sales file (CSV or JSON) read with a profile of the plan, or in the canonical format."""
    return imports.import_file(KIND, store, ctx, stream, source=source, profile=profile, dry_run=dry_run,
                               progress=progress)
