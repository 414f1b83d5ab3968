"""The ClickHouse schema as versioned migrations, applied in order and recorded."""

from __future__ import annotations

from dataclasses import dataclass

DATABASE = "parcours"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


# Dedup by event_id: a retried batch carries the same event_id, event and client
# time, so ReplacingMergeTree keeps one row per sorting key; analysts use FINAL
# (or the events_dedup view) to read exactly one row per event.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events and rejected_events", (
        """
        CREATE TABLE IF NOT EXISTS {db}.events (
            event_id UUID,
            event LowCardinality(String),
            ts DateTime64(3, 'UTC') COMMENT 'event time, corrected for the device clock skew',
            client_ts DateTime64(3, 'UTC') COMMENT 'device clock when the event was created',
            sent_at DateTime64(3, 'UTC') COMMENT 'device clock when the batch was sent',
            received_at DateTime64(3, 'UTC') COMMENT 'collector clock on receipt',
            visitor_id String,
            session_id String,
            seq UInt32 COMMENT 'order of the event within its page',
            url String,
            referrer String,
            broker_id LowCardinality(String),
            broker_name LowCardinality(String),
            lever LowCardinality(String),
            utm_source LowCardinality(String),
            utm_medium LowCardinality(String),
            utm_campaign LowCardinality(String),
            utm_term String,
            utm_content String,
            click_id String,
            click_id_type LowCardinality(String),
            captured Map(String, String),
            form_id LowCardinality(String),
            step LowCardinality(String),
            step_index UInt16 COMMENT '1-based position of the step in its form, 0 when none',
            properties String COMMENT 'JSON of the validated properties, personal data removed',
            phone_key String COMMENT 'HMAC-SHA256 of the E.164 phone number',
            user_agent String,
            ip String COMMENT 'truncated client address',
            plan_version LowCardinality(String)
        )
        ENGINE = ReplacingMergeTree(received_at)
        PARTITION BY toYYYYMM(client_ts)
        ORDER BY (toDate(client_ts), event, event_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS {db}.rejected_events (
            received_at DateTime64(3, 'UTC'),
            event_id String,
            event String,
            reasons Array(String),
            raw String COMMENT 'the event as received, personal data removed',
            user_agent String,
            ip String,
            plan_version LowCardinality(String)
        )
        ENGINE = MergeTree
        PARTITION BY toYYYYMM(received_at)
        ORDER BY received_at
        """,
    )),
    # The batch writer gives every insert a deterministic insert_deduplication_token; a plain MergeTree
    # only remembers tokens when this window is set (it is 0 by default off replicated tables). Replaying
    # the batch in flight at a crash then stores nothing twice, even without FINAL.
    Migration(3, "insert deduplication window for the batch writer", (
        "ALTER TABLE {db}.events MODIFY SETTING non_replicated_deduplication_window = 1000",
        "ALTER TABLE {db}.rejected_events MODIFY SETTING non_replicated_deduplication_window = 1000",
    )),
)


def migration_ddl(migration: Migration, database: str = DATABASE) -> list[str]:
    return [s.format(db=database).strip() for s in migration.statements]
