"""The broker and adviser table (`brokers`): id -> name, lever, shop, network.

The plan's broker table is its default content (`sync_plan`, run by the collector at start and on a plan
reload); `parcours import brokers FILE` refreshes it from a CSV, with the same line-numbered errors as
every import. An imported row is kept over the plan's: the file is the fuller, newer reference. Reports
join this table, so a name changed by an import shows at once.
"""

from __future__ import annotations

import uuid
from typing import IO, Any


from collector.storage import Store
from journeys import imports
from journeys.imports import Context, Kind, Progress, Summary
from journeys.profiles import Reader, Record, ValueProblem, text
from journeys.values import quoted
from tagplan import CompiledPlan
from tagplan.messages import did_you_mean

PLAN_SOURCE = "plan"
COLUMNS = (("broker_id", "String"), ("name", "String"), ("lever", "String"), ("shop", "String"),
           ("network", "String"), ("source", "String"), ("source_line", "UInt32"), ("profile", "String"))
_FINGERPRINT = ("name", "lever", "shop", "network")


def broker_row(record: Record, r: Reader, ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """One line -> its `brokers` row, or the reasons it cannot be imported."""
    values = record.values
    if "" in values:
        return {}, ["expected a JSON object with the broker's fields"]
    reasons: list[str] = []
    row: dict[str, Any] = {}
    for name, limit in (("broker_id", 64), ("name", 256), ("lever", 64), ("shop", 256), ("network", 256)):
        value = values.get(name)
        if value is None or value == "":
            value = r.defaults.get(name, value)
        try:
            row[name] = text(value, limit)
        except ValueProblem as exc:
            reasons.append(f"{name}: {exc}")
            continue
        if name in ("broker_id", "name", "lever") and not row[name]:
            reasons.append(f"{name}: required")
    levers = ctx.plan.plan.levers.names if ctx.plan.plan.levers else []
    if row.get("lever") and row["lever"] not in levers:
        # The lever quoted as the line's fields are kept (imports._kept): a phone typed there masked.
        reasons.append(f'lever: "{quoted(row["lever"], 64)}" is not declared in levers.names'
                       f'{did_you_mean(row["lever"], levers)}')
    if reasons:
        return {k: v for k, v in row.items()}, reasons
    return row, []


KIND = Kind(name="brokers", table="brokers", key=("broker_id",), key_text="broker_id", columns=COLUMNS,
            fingerprint=_FINGERPRINT, row=broker_row, free_text=("name", "shop", "network"), version="updated_at")


def import_file(store: Store, ctx: Context, stream: IO[bytes], *, source: str, profile: str | None = None,
                dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Refresh the broker table from a file (canonical header broker_id,name,lever,shop,network; `id` for
    broker_id, so the plan's own broker CSV imports as is), or through a profile of the plan."""
    return imports.import_file(KIND, store, ctx, stream, source=source, profile=profile, dry_run=dry_run,
                               progress=progress)


def sync_plan(store: Store, plan: CompiledPlan) -> int:
    """Write the plan's brokers the table lacks, or holds from an older plan; never over an imported row.
    How many were written."""
    if not plan.brokers:
        return 0
    db = store.database
    staged = f"{db}.staging_plan_brokers_{uuid.uuid4().hex[:16]}"
    rows = [{"broker_id": b.id, "name": b.name, "lever": b.lever, "shop": "", "network": "",
             "source": PLAN_SOURCE, "source_line": 0, "profile": ""} for b in plan.brokers.values()]
    columns = [n for n, _ in COLUMNS]
    store.query(f"CREATE TABLE {staged} ({', '.join(f'{n} {t}' for n, t in COLUMNS)}, "
                f"fingerprint UInt64 DEFAULT cityHash64({', '.join(_FINGERPRINT)})) ENGINE = Memory", readonly=False)
    stored = (f"SELECT broker_id, argMax(source, updated_at) AS source, argMax(fingerprint, updated_at) AS fingerprint, "
              f"1 AS found FROM {db}.brokers GROUP BY broker_id")
    wanted = (f"FROM {staged} AS p LEFT JOIN ({stored}) AS s USING (broker_id) "
              f"WHERE s.found = 0 OR (s.source = '{PLAN_SOURCE}' AND s.fingerprint != p.fingerprint)")
    try:
        store.insert_rows(staged.split(".", 1)[1], rows)
        (written,), = store.query(f"SELECT count() {wanted}").rows
        if written:
            store.query(f"INSERT INTO {db}.brokers ({', '.join(columns)}, fingerprint) "
                        f"SELECT {', '.join('p.' + c for c in columns)}, p.fingerprint {wanted}", readonly=False)
        return int(written)
    finally:
        store.query(f"DROP TABLE IF EXISTS {staged}", readonly=False)
