"""The migrations: applied once on one server, and their ON CLUSTER variant (checked by ClickHouse's parser)."""

from __future__ import annotations

import hashlib

import pytest

from collector import schema
from collector.ddl import Migration, migration_ddl
from collector.schema import MIGRATIONS, full_ddl
from collector.storage import Store

RELEASED = {
    1: "0c31817be40b896b",
    2: "162586db5fdb1358",
    3: "be97aaf426f58282",
    4: "d2b47088007c850e",
    5: "5081c5aabc2600b0",
    6: "993cbba34e5f1229",
    10: "d8c53e1da29c079b",
    11: "7652da5367bb77a7",
    12: "16f3ad2e378652b7",
    20: "ef7228e473501b93",
    21: "f9c51e62106bb6fc",
    22: "6a1ad8f73074c798",
    23: "37b8eda942f861da",
    24: "237100124c172246",
    35: "960fca96b0a7f1e1",
    36: "1ee9a227d5d80795",
    37: "a3173e0f6f102d47",
    38: "114ea046c701c11c",
    39: "324abf13e10fbb38",
    50: "523f49c079f5216e",
    51: "a4a32c38da7f9ae3",
    55: "f6e788333d8ca479",
    56: "54a776c2b52a4f33",
    57: "ac49f950b59806f3",
    58: "a0f5cd1c90c632da",
    59: "8acb6aad269baf50",
    60: "8cd103abda604bd6",
}
"""Each released migration's name and SQL (one server and a cluster), hashed when it was released: a database
that recorded the version has what it made, so its SQL must never change (write a new migration instead)."""


def _fingerprint(m: Migration) -> str:
    ddl = [m.name, *migration_ddl(m, "parcours"), *migration_ddl(m, "parcours", "analytics")]
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:16]


def test_released_migrations_are_never_edited():
    by_version = {m.version: m for m in MIGRATIONS}
    assert set(RELEASED) <= set(by_version), "a released migration was removed"
    assert {v: _fingerprint(by_version[v]) for v in RELEASED} == RELEASED


def test_every_package_declares_its_own_versions_once_and_in_order():
    versions = [m.version for m in MIGRATIONS]
    assert versions == sorted(set(versions))
    for package in schema.PACKAGES:
        own = [m.version for m in package.MIGRATIONS]
        assert own == sorted(own), f"{package.__name__}: keep the tuple sorted by version"
    with pytest.raises(RuntimeError, match=r"declared twice: \[11\]"):
        schema._in_order(MIGRATIONS[:8], (Migration(11, "again", ()),))


def test_a_database_migrated_before_the_packages_declared_their_own_is_up_to_date(engine_dir, database):
    """A database every released migration was applied to (recorded by version and name, as the code before
    the split wrote them) gets nothing more, and has every table the code would create today."""
    s = Store(f"chdb://{engine_dir}", database=database)
    try:
        for statement in full_ddl(database)[:2]:
            s.query(statement, readonly=False)
        released = [m for m in MIGRATIONS if m.version in RELEASED]
        for m in released:
            for statement in migration_ddl(m, database):
                s.query(statement, readonly=False)
        names = ["events and rejected_events", "user agent, rejected replay",
                 "insert deduplication window for the batch writer", "time spent on each form step",
                 "dead letters: rows ClickHouse refused", "the device time of events whose client time was implausible",
                 "conversions, brokers, costs and rejected import lines", "identity links and persons", "erasure audit",
                 "sessions summed up by a materialized view, and the touches view",
                 "sessions rebuilt: the tag's events only, the landing as a plain String",
                 "touches view: single-row sessions read as they are",
                 "touches of closed sessions kept in a table",
                 "touches view: the referrer rules applied once per referrer host", "call-back consents",
                 "tracking number leases", "calls", "call-back lead deliveries (the webhook outbox)",
                 "calls: the keyed hash of a number called that is not ours",
                 "server sources: write keys, the source of each event, conversions from events",
                 "the buyer's consent to sharing a sale with the ad networks",
                 "calls matched to journeys, and calls as touches (views)",
                 "calls as touches: the sessions that held a number from the leases",
                 "form sessions of ended sessions kept in a table", "dead letters erased with their person",
                 "a sale's status: signed or cancelled",
                 "rejected import lines: the record of a line holding several"]
        s.insert("schema_migrations", [[v, n] for v, n in zip(RELEASED, names)], ["version", "name"])
        assert [m.name for m in released] == names
        assert s.migrate() == [m.version for m in MIGRATIONS if m.version not in RELEASED]
        assert s.migrate() == []
    finally:
        s.query(f"DROP DATABASE IF EXISTS {database}", readonly=False)
        s.close()


def test_rejected_lines_stored_before_migration_60_read_as_their_lines_only_record(engine_dir, database):
    """Migration 60 adds the record within its line to import_rejects' key (a one-line JSON array's rejects
    replaced one another): a row stored before reads record 0, and the records of one line are kept apart."""
    s = Store(f"chdb://{engine_dir}", database=database)
    try:
        for statement in full_ddl(database)[:2]:
            s.query(statement, readonly=False)
        for m in MIGRATIONS:
            if m.version < 60:
                for statement in migration_ddl(m, database):
                    s.query(statement, readonly=False)
                s.insert("schema_migrations", [[m.version, m.name]], ["version", "name"])
        s.insert("import_rejects", [["conversions", "old.json", 1, "J0"]], ["kind", "source", "line", "record_key"])
        assert s.migrate() == [60]
        s.insert("import_rejects", [["conversions", "new.json", 1, n, f"J{n}"] for n in (1, 2)],
                 ["kind", "source", "line", "record", "record_key"])
        got = s.query(f"SELECT source, line, record, record_key FROM {database}.import_rejects FINAL "
                      "ORDER BY source, record").rows
        assert got == [["new.json", 1, 1, "J1"], ["new.json", 1, 2, "J2"], ["old.json", 1, 0, "J0"]]
        (key,) = s.query("SELECT sorting_key FROM system.tables WHERE database = {db:String} "
                         "AND name = 'import_rejects'", parameters={"db": database}).rows[0]
        assert key == "kind, source, line, record"
    finally:
        s.query(f"DROP DATABASE IF EXISTS {database}", readonly=False)
        s.close()


def test_a_new_sorting_key_column_is_added_on_the_local_tables_with_the_key_and_on_the_distributed_ones_alone():
    (m,) = [m for m in MIGRATIONS if m.version == 60]
    local, distributed = migration_ddl(m, "parcours", "analytics")
    assert local.startswith("ALTER TABLE parcours.import_rejects_local ON CLUSTER analytics ADD COLUMN IF NOT "
                            "EXISTS record UInt32 ")
    assert local.endswith(", MODIFY ORDER BY (kind, source, line, record)")
    assert distributed.startswith("ALTER TABLE parcours.import_rejects ON CLUSTER analytics ADD COLUMN")
    assert "ORDER BY" not in distributed


def test_migrations_are_recorded_and_idempotent(store):
    assert store.migrate() == []
    versions = store.query(f"SELECT version FROM {store.database}.schema_migrations ORDER BY version").rows
    assert versions == [[m.version] for m in MIGRATIONS]


def test_an_existing_version_1_database_is_upgraded(engine_dir, database):
    s = Store(f"chdb://{engine_dir}", database=database)
    try:
        for statement in full_ddl(database)[:2] + migration_ddl(MIGRATIONS[0], database):
            s.query(statement, readonly=False)
        s.query(f"INSERT INTO {database}.schema_migrations (version, name) VALUES (1, 'events and rejected_events')",
                readonly=False)
        assert s.migrate() == [m.version for m in MIGRATIONS[1:]]
        columns = [r[0] for r in s.query(f"SELECT name FROM system.columns WHERE database = '{database}' "
                                         "AND table = 'events' ORDER BY position").rows]
        assert columns[columns.index("user_agent"):columns.index("user_agent") + 7] == [
            "user_agent", "browser", "browser_version", "os", "os_version", "device_type", "is_bot"]
    finally:
        s.query(f"DROP DATABASE IF EXISTS {database}", readonly=False)
        s.close()


def test_on_a_cluster_every_query_sends_its_distributed_subqueries_to_the_shards_once(engine_dir, database):
    """ClickHouse refuses an IN or JOIN subquery on a Distributed table inside a query on another by default;
    the reports, closing runs and exports are written that way, so on a cluster each query we run (and an
    analyst's, unless it sets its own) says `distributed_product_mode = 'global'`. The engine reports the
    setting each query ran with; on one server none is added."""
    setting = "SELECT getSetting('distributed_product_mode')"
    on_cluster = Store(f"chdb://{engine_dir}", database=database, cluster="analytics")
    one_server = Store(f"chdb://{engine_dir}", database=database)
    try:
        assert on_cluster.query(setting).rows == [["global"]]
        assert on_cluster.query(setting, readonly=False).rows == [["global"]]
        assert on_cluster.analyst(setting).rows == [["global"]]
        assert on_cluster.analyst(setting + " SETTINGS distributed_product_mode = 'local'").rows == [["local"]]
        assert one_server.query(setting).rows == [["deny"]]
        assert one_server.analyst(setting).rows == [["deny"]]
    finally:
        on_cluster.close()
        one_server.close()


def test_cluster_ddl_uses_replicated_local_tables_behind_distributed_ones():
    ddl = full_ddl("parcours", "analytics")
    assert ddl[0] == "CREATE DATABASE IF NOT EXISTS parcours ON CLUSTER analytics"
    events_local = next(s for s in ddl if s.startswith("CREATE TABLE IF NOT EXISTS parcours.events_local"))
    assert events_local.startswith("CREATE TABLE IF NOT EXISTS parcours.events_local ON CLUSTER analytics (\n")
    assert ("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/parcours/events_local', "
            "'{replica}', received_at)\nPARTITION BY toYYYYMM(client_ts)\nORDER BY (toDate(client_ts), event, event_id)"
            ) in events_local
    assert ("CREATE TABLE IF NOT EXISTS parcours.events ON CLUSTER analytics AS parcours.events_local\n"
            "ENGINE = Distributed(analytics, parcours, events_local, cityHash64(event_id))") in ddl
    assert ("CREATE TABLE IF NOT EXISTS parcours.rejected_events ON CLUSTER analytics AS parcours.rejected_events_local\n"
            "ENGINE = Distributed(analytics, parcours, rejected_events_local, cityHash64(event_id))") in ddl
    rejected_local = next(s for s in ddl if s.startswith("CREATE TABLE IF NOT EXISTS parcours.rejected_events_local"))
    assert "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/parcours/rejected_events_local', '{replica}')" \
        in rejected_local
    adds = [s for s in ddl if s.startswith("ALTER TABLE parcours.events") and " browser " in s]
    assert [a.split(" ADD")[0] for a in adds] == ["ALTER TABLE parcours.events_local ON CLUSTER analytics",
                                                  "ALTER TABLE parcours.events ON CLUSTER analytics"]
    assert not any("ON CLUSTER" in s for s in full_ddl("parcours"))
    # The sessions' materialized view reads each node's events into its own sessions (migration 20).
    mv = next(s for s in ddl if s.startswith("CREATE MATERIALIZED VIEW"))
    assert mv.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS parcours.sessions_mv ON CLUSTER analytics "
                         "TO parcours.sessions_local AS\n") and "FROM parcours.events_local\n" in mv


@pytest.mark.parametrize("cluster", [None, "analytics"])
def test_every_statement_parses(store, cluster):
    # formatQuery runs ClickHouse's own parser: real syntax checking without a cluster.
    for statement in full_ddl("parcours", cluster):
        (formatted,) = store.query("SELECT formatQuery({q:String})", parameters={"q": statement}).rows[0]
        assert formatted.split()[0] in ("CREATE", "ALTER", "INSERT", "DROP")


def test_the_sharding_key_accepts_a_uuid(store):
    assert store.query("SELECT cityHash64(toUUID('0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a')) > 0 AS ok").rows == [[True]]


def test_offline_tables_get_the_same_cluster_rendering():
    ddl = full_ddl("parcours", "analytics")
    for table, key in (("conversions", "cityHash64(conversion_id)"), ("person_keys", "cityHash64(key_type, key)"),
                       ("brokers", "cityHash64(broker_id)"), ("costs", "cityHash64(day, lever, campaign)"),
                       ("identity_links", "cityHash64(key_type, key)")):
        assert (f"CREATE TABLE IF NOT EXISTS parcours.{table} ON CLUSTER analytics AS parcours.{table}_local\n"
                f"ENGINE = Distributed(analytics, parcours, {table}_local, {key})") in ddl
        local = next(s for s in ddl if s.startswith(f"CREATE TABLE IF NOT EXISTS parcours.{table}_local "))
        assert f"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/parcours/{table}_local'" in local
    # A skipping index lives with the data: on the local tables only; the cleanup period is the one server's.
    assert ("ALTER TABLE parcours.events_local ON CLUSTER analytics ADD INDEX IF NOT EXISTS inserted_at_minmax "
            "inserted_at TYPE minmax GRANULARITY 1") in ddl
    assert not any("inserted_at_minmax" in s and "parcours.events " in s for s in ddl)
    assert not any("cleanup_delay_period" in s for s in ddl)
    assert "ALTER TABLE parcours.conversions MODIFY SETTING cleanup_delay_period = 1, cleanup_delay_period_random_add = 0" \
        in full_ddl("parcours")


def test_a_row_gets_the_time_it_was_stored_and_a_later_sale_replaces_an_earlier_one(store):
    db = store.database
    store.insert("events", [["6c1f0d3e-8a4e-4f55-9a3c-3b0e2c1d9f10", "page_view"]], ["event_id", "event"])
    (stored,) = store.query(f"SELECT inserted_at > now64(3) - INTERVAL 1 MINUTE FROM {db}.events").rows[0]
    assert stored
    store.insert("conversions", [["MA-1", "684.20"]], ["conversion_id", "premium"])
    store.insert("conversions", [["MA-1", "702.40"]], ["conversion_id", "premium"])
    assert store.query(f"SELECT toString(premium) FROM {db}.conversions FINAL").rows == [["702.4"]]


def test_the_events_source_is_defined_once_for_both_migrations_that_add_it():
    # Migration 21 (sessions from the tag's events) needs events.source before migration 50 adds it.
    def source(version):
        (m,) = [m for m in MIGRATIONS if m.version == version]
        return [c for op in m.statements if getattr(op, "table", "") == "events" and hasattr(op, "columns")
                for c in op.columns if c.startswith("source ")]
    assert source(21) == source(50) and len(source(21)) == 1
