"""The migrations: applied once on one server, and their ON CLUSTER variant (checked by ClickHouse's parser)."""

from __future__ import annotations

import pytest

from collector.schema import MIGRATIONS, full_ddl, migration_ddl
from collector.storage import Store


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
