"""Campaign costs per day (`costs`): what each lever and campaign cost, for the reports' cost per lead and
per sale. `parcours import costs FILE --profile …` reads an ad platform's export as it is (the sample
couts-campagnes shape: English headers, the currency in a header, dot decimals). One row per day, lever and
campaign: a re-imported day replaces the old figure.
"""

from __future__ import annotations

from typing import IO, Any

from journeys import imports
from journeys.imports import Context, Kind, Progress, Summary
from journeys.profiles import Reader, Record, ValueProblem, amount, currency, day, text
from journeys.values import quoted
from tagplan.messages import did_you_mean

COLUMNS = (("day", "Date"), ("lever", "String"), ("campaign", "String"), ("amount", "Decimal(18, 2)"),
           ("currency", "String"), ("source", "String"), ("source_line", "UInt32"), ("profile", "String"))


def cost_row(record: Record, r: Reader, ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """One line -> its `costs` row, or the reasons it cannot be imported."""
    values = record.values
    if "" in values:
        return {}, ["expected a JSON object with the cost's fields"]
    reasons: list[str] = []
    row: dict[str, Any] = {}

    def given(name: str) -> Any:
        value = values.get(name)
        return r.defaults.get(name, value) if value is None or value == "" else value

    for name, read_value in (("day", lambda v: day(r, v)), ("lever", lambda v: text(v, 64)),
                             ("campaign", text), ("amount", lambda v: amount(r, v)),
                             ("currency", lambda v: currency(r, v))):
        try:
            row[name] = read_value(given(name))
        except ValueProblem as exc:
            reasons.append(f"{name}: {exc}")
    levers = ctx.plan.plan.levers.names if ctx.plan.plan.levers else []
    lever = row.get("lever")
    if "lever" in row and not lever:
        reasons.append("lever: required")
    elif lever and lever not in levers:
        # The lever quoted as the line's fields are kept (imports._kept): a phone typed there masked.
        reasons.append(f'lever: "{quoted(lever, 64)}" is not declared in levers.names{did_you_mean(lever, levers)}')
    if reasons:
        return {k: _plain(values.get(k)) for k in values}, reasons
    return row, []


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


KIND = Kind(name="costs", table="costs", key=("day", "lever", "campaign"),
            key_text="concat(toString(day), '/', lever, '/', campaign)", columns=COLUMNS,
            fingerprint=("amount", "currency"), row=cost_row, free_text=("campaign",))


def import_file(store, ctx: Context, stream: IO[bytes], *, source: str, profile: str | None = None,
                dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Import a cost file (canonical header day,lever,campaign,amount,currency, or through a profile)."""
    return imports.import_file(KIND, store, ctx, stream, source=source, profile=profile, dry_run=dry_run,
                               progress=progress)
