"""The schema's operations (`Table`, `AddColumns`, `AddIndex`, `LocalSetting`, plain SQL), grouped in versioned
`Migration`s, and the SQL each renders: for one server, or for a cluster (`ON CLUSTER`, replicated local tables
behind `Distributed` tables of the same names), so analysts query `parcours.events` either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Table:
    """CREATE TABLE; on a cluster, a replicated `<name>_local` on every node plus a Distributed `<name>`."""

    name: str
    columns: str
    engine: str
    """MergeTree family on one server, e.g. "ReplacingMergeTree(received_at)"; made Replicated* on a cluster."""
    order_by: str
    partition_by: str = ""
    sharding_key: str = "rand()"
    """Which shard a row goes to; rows sharing a dedup key must share a shard, so FINAL can merge them."""


@dataclass(frozen=True)
class AddColumns:
    """ALTER TABLE … ADD COLUMN; on a cluster both the local and the Distributed table get the columns.

    `order_by`: the table's new sorting key, the old one with columns added here at its end (ClickHouse allows
    only that, in the same ALTER); on a cluster, the local tables' (a Distributed table has none)."""

    table: str
    columns: tuple[str, ...]
    order_by: str = ""


@dataclass(frozen=True)
class AddIndex:
    """ALTER TABLE … ADD INDEX (a data-skipping index); on a cluster, on the local tables only."""

    table: str
    name: str
    definition: str
    """e.g. "inserted_at TYPE minmax GRANULARITY 1"."""


@dataclass(frozen=True)
class LocalSetting:
    """A table setting for a single server; on a cluster the replicated tables have their own."""

    table: str
    setting: str


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[Table | AddColumns | AddIndex | LocalSetting | str, ...]
    """Operations; a plain SQL string (with `{db}`, `{on_cluster}`, and `{local}`: "_local" on a cluster) is
    passed through as written."""


def view_from_file(name: str, path: Path) -> str:
    """CREATE OR REPLACE VIEW from an SQL file holding its body (`{db}` in it is the database): a change to
    the file changes the migration that reads it, which tests/collector/test_schema.py refuses once released."""
    body = path.read_text(encoding="utf-8").strip()
    return f"CREATE OR REPLACE VIEW {{db}}.{name}{{on_cluster}} AS\n{body}"


def render(op: Table | AddColumns | AddIndex | LocalSetting | str, database: str,
           cluster: str | None = None) -> list[str]:
    """The SQL statements for one operation, on one server or on a cluster."""
    on = f" ON CLUSTER {cluster}" if cluster else ""
    if isinstance(op, str):
        # Placeholders replaced, not str.format: view bodies hold ClickHouse's own {name:Type} parameters.
        local = "_local" if cluster else ""
        return [op.replace("{db}", database).replace("{on_cluster}", on).replace("{local}", local).strip()]
    if isinstance(op, AddIndex):
        table = f"{op.table}_local{on}" if cluster else op.table
        return [f"ALTER TABLE {database}.{table} ADD INDEX IF NOT EXISTS {op.name} {op.definition}"]
    if isinstance(op, LocalSetting):
        return [] if cluster else [f"ALTER TABLE {database}.{op.table} MODIFY SETTING {op.setting}"]
    if isinstance(op, AddColumns):
        adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {c}" for c in op.columns)
        sorted_by = f"{adds}, MODIFY ORDER BY {op.order_by}" if op.order_by else adds
        if not cluster:
            return [f"ALTER TABLE {database}.{op.table} {sorted_by}"]
        return [f"ALTER TABLE {database}.{op.table}_local{on} {sorted_by}",
                f"ALTER TABLE {database}.{op.table}{on} {adds}"]
    columns = "\n".join("    " + line.strip() for line in op.columns.strip().splitlines())
    partition = f"\nPARTITION BY {op.partition_by}" if op.partition_by else ""
    if not cluster:
        return [f"CREATE TABLE IF NOT EXISTS {database}.{op.name} (\n{columns}\n)\n"
                f"ENGINE = {op.engine}{partition}\nORDER BY {op.order_by}"]
    local = f"{op.name}_local"
    return [
        f"CREATE TABLE IF NOT EXISTS {database}.{local}{on} (\n{columns}\n)\n"
        f"ENGINE = {_replicated(op.engine, database, local)}{partition}\nORDER BY {op.order_by}",
        f"CREATE TABLE IF NOT EXISTS {database}.{op.name}{on} AS {database}.{local}\n"
        f"ENGINE = Distributed({cluster}, {database}, {local}, {op.sharding_key})",
    ]


def _replicated(engine: str, database: str, table: str) -> str:
    """ReplacingMergeTree(v) -> ReplicatedReplacingMergeTree('<zk path>', '{replica}', v)."""
    name, _, args = engine.partition("(")
    args = args.rstrip(")")
    # {shard} and {replica} are server macros, filled in by each node's configuration.
    zk = "'/clickhouse/tables/{shard}/" + database + "/" + table + "', '{replica}'"
    return f"Replicated{name}({zk}{', ' + args if args else ''})"


def migration_ddl(migration: Migration, database: str, cluster: str | None = None) -> list[str]:
    """Every statement of a migration, in order."""
    return [s for op in migration.statements for s in render(op, database, cluster)]


def mutation(database: str, cluster: str | None, table: str, action: str, condition: str) -> str:
    """The ALTER that deletes (or updates) a table's rows, waited for (`action`: DELETE, or UPDATE and its
    assignments); on a cluster, every replica's local table."""
    target = f"{database}.{table}_local ON CLUSTER {cluster}" if cluster else f"{database}.{table}"
    return f"ALTER TABLE {target} {action} WHERE {condition} SETTINGS mutations_sync = 2"
