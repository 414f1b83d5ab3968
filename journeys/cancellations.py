"""Cancellations of sales already imported (`parcours import cancellations FILE`): an insurer's file of
withdrawals ("rétractations") and cancellations, a contract id and when it was cancelled a line, without the
sale's other fields. Each line writes its stored sale again, its premium, phone and point of sale as they are,
with status `cancelled` and the line's `cancelled_at`: a cancelled sale is no sale in the reports. A contract
not stored yet is a rejected line (import the sale first, then the cancellations again).

A sales file may carry the status too (conversions.py, `status`), for partners whose export has it.
"""

from __future__ import annotations

from typing import IO, Any

from journeys import conversions, imports
from journeys.imports import Context, Kind, Progress, Summary
from journeys.profiles import Reader, Record, given_by
from journeys.values import ValueProblem, kept_text, text, timestamp

COLUMNS = (("conversion_id", "String"), ("cancelled_at", "DateTime64(3, 'UTC')"), ("source", "String"),
           ("source_line", "UInt32"), ("profile", "String"))


def cancellation_row(record: Record, r: Reader, ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """One line -> the contract and when it was cancelled, or the reasons it cannot be imported."""
    values = record.values
    if "" in values:
        return {}, ["expected a JSON object with the cancellation's fields"]
    reasons: list[str] = []
    row: dict[str, Any] = {}

    given = given_by(record, r)
    contract = given("conversion_id")
    try:
        row["conversion_id"] = text(contract, 128)
        if not row["conversion_id"]:
            reasons.append("conversion_id: required (the contract id of the cancelled sale)")
    except ValueProblem as exc:
        reasons.append(f"conversion_id: {exc}")
    when = given("cancelled_at")
    if when is None or (isinstance(when, str) and not when.strip()):
        reasons.append("cancelled_at: required (when the sale was cancelled)")
    else:
        try:
            row["cancelled_at"] = timestamp(r, when)
        except ValueProblem as exc:
            reasons.append(f"cancelled_at: {exc}")
    if reasons:
        return {name: kept_text(given(name)) for name in values}, reasons
    return row, []


KIND = Kind(
    name="cancellations", table="conversions", key=("conversion_id",), key_text="conversion_id", columns=COLUMNS,
    fingerprint=conversions.KIND.fingerprint, row=cancellation_row, changes=conversions.KIND,
    # A cancellation on its sale's day, dated before the signature's time (a date alone is that day's midnight:
    # a withdrawal the same day), is taken at the signature's time; one dated a day before is refused.
    sets=(("status", "'cancelled'"), ("cancelled_at", "greatest(l.cancelled_at, t.ts)")),
    unknown_key='conversion_id: no sale "{key}" is stored: import the sale first, then its cancellation again',
    refuse=(("l.cancelled_at < toStartOfDay(t.ts, '{time_zone}')",
             'cancelled_at: before the day of the signature of sale "{key}" (its ts)'),),
)


def import_file(store, ctx: Context, stream: IO[bytes], *, source: str, profile: str | None = None,
                dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Import a cancellations file (canonical header conversion_id,cancelled_at, or through a profile)."""
    return imports.import_file(KIND, store, ctx, stream, source=source, profile=profile, dry_run=dry_run,
                               progress=progress)
