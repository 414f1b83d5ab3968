"""The ClickHouse schema: every package's migrations, applied in order of version and recorded.

Each package declares the tables it owns as `Migration`s (collector/ddl.py) in its own `migrations.py`:
the collector's events (`collector/migrations.py`), server sources (`collector/segment/migrations.py`), the
analytical side (`journeys/migrations.py`), the call centre (`callcentre/migrations.py`). A version is
applied once and recorded in `schema_migrations` by version: a released migration is never edited (a new
one changes what it made), and a version number belongs to one package.
"""

from __future__ import annotations

from callcentre import migrations as callcentre_migrations
from collector import migrations as collector_migrations
from collector.ddl import Migration, Table, migration_ddl, render
from collector.segment import migrations as segment_migrations
from journeys import migrations as journeys_migrations

DATABASE = "parcours"

SCHEMA_MIGRATIONS = Table(
    "schema_migrations", "version UInt32, name String, applied_at DateTime DEFAULT now()", "MergeTree", "version",
)

PACKAGES = (collector_migrations, segment_migrations, journeys_migrations, callcentre_migrations)
"""Where migrations are declared."""


def _in_order(*declared: tuple[Migration, ...]) -> tuple[Migration, ...]:
    """All migrations by version; a version declared twice is a programming error, refused at import."""
    every = sorted((m for migrations in declared for m in migrations), key=lambda m: m.version)
    twice = sorted({a.version for a, b in zip(every, every[1:]) if a.version == b.version})
    if twice:
        raise RuntimeError(f"schema migration versions declared twice: {twice}")
    return tuple(every)


MIGRATIONS: tuple[Migration, ...] = _in_order(*(package.MIGRATIONS for package in PACKAGES))


def bootstrap_ddl(database: str = DATABASE, cluster: str | None = None) -> list[str]:
    """The database and the table recording applied migrations."""
    on = f" ON CLUSTER {cluster}" if cluster else ""
    return [f"CREATE DATABASE IF NOT EXISTS {database}{on}", *render(SCHEMA_MIGRATIONS, database, cluster)]


def full_ddl(database: str = DATABASE, cluster: str | None = None) -> list[str]:
    """Everything, from an empty server: what `parcours schema` prints for a DBA to review."""
    return bootstrap_ddl(database, cluster) + [s for m in MIGRATIONS for s in migration_ddl(m, database, cluster)]
