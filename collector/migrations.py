"""The collector's tables: events and rejected events, their enrichment, replays and dead letters."""

from __future__ import annotations

from collector.ddl import AddColumns, LocalSetting, Migration, Table

# Dedup by event_id: a retried batch carries the same event_id, event and client
# time, so ReplacingMergeTree keeps one row per sorting key; analysts use FINAL
# to read exactly one row per event. On a cluster, events are sharded by event_id
# so both copies of a retried event reach the same shard.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events and rejected_events", (
        Table("events", """
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
            plan_version LowCardinality(String)""",
              engine="ReplacingMergeTree(received_at)", partition_by="toYYYYMM(client_ts)",
              order_by="(toDate(client_ts), event, event_id)", sharding_key="cityHash64(event_id)"),
        Table("rejected_events", """
            received_at DateTime64(3, 'UTC'),
            event_id String,
            event String,
            reasons Array(String),
            raw String COMMENT 'the event as received, personal data removed',
            user_agent String,
            ip String,
            plan_version LowCardinality(String)""",
              engine="MergeTree", partition_by="toYYYYMM(received_at)", order_by="received_at",
              sharding_key="cityHash64(event_id)"),
    )),
    Migration(2, "user agent, rejected replay", (
        AddColumns("events", (
            "browser LowCardinality(String) AFTER user_agent",
            "browser_version String AFTER browser",
            "os LowCardinality(String) AFTER browser_version",
            "os_version String AFTER os",
            "device_type LowCardinality(String) COMMENT 'desktop, mobile, tablet, bot or other' AFTER os_version",
            "is_bot Bool COMMENT 'a crawler or automation client, kept but flagged' AFTER device_type",
        )),
        AddColumns("rejected_events", (
            "sent_at DateTime64(3, 'UTC') COMMENT 'device clock when the batch was sent, 0 when unknown' AFTER received_at",
            "phone_key String COMMENT 'HMAC of the phone, kept so a replayed event gets it back' AFTER raw",
        )),
        Table("rejected_replays", """
            event_id String,
            replayed_at DateTime64(3, 'UTC'),
            plan_version LowCardinality(String) COMMENT 'the plan the event passed on replay'""",
              engine="ReplacingMergeTree(replayed_at)", order_by="event_id", sharding_key="cityHash64(event_id)"),
    )),
    # The batch writer gives every insert a deterministic insert_deduplication_token; a plain MergeTree
    # only remembers tokens when this window is set (0 by default). Replaying the batch in flight at a
    # crash then stores nothing twice, even without FINAL. Replicated tables (a cluster) keep
    # replicated_deduplication_window blocks by default.
    Migration(3, "insert deduplication window for the batch writer", (
        LocalSetting("events", "non_replicated_deduplication_window = 1000"),
        LocalSetting("rejected_events", "non_replicated_deduplication_window = 1000"),
    )),
    Migration(4, "time spent on each form step", (
        AddColumns("events", (
            "step_elapsed_ms UInt32 COMMENT 'form_step: ms since the previous step of the page, or since it loaded'"
            " AFTER step_index",
        )),
    )),
    # Rows ClickHouse refused for what they hold, isolated by the batch writer (collector/refusals.py).
    # The same row set aside twice (a batch replayed after a crash) has the same id: FINAL keeps one, the
    # latest by replayed_at, which replay sets.
    Migration(5, "dead letters: rows ClickHouse refused", (
        Table("dead_letters", """
            id UUID COMMENT 'of the row: a hash of its table and line',
            set_aside_at DateTime64(3, 'UTC') COMMENT 'collector clock when ClickHouse refused the row',
            target LowCardinality(String) COMMENT 'the table the row was for: events or rejected_events',
            event_id String,
            event String,
            error String COMMENT 'ClickHouse''s refusal, first line',
            error_code UInt32,
            line String COMMENT 'the row as the collector wrote it (JSONEachRow), personal data already removed',
            replayed_at DateTime64(3, 'UTC') COMMENT 'when replay stored it in its table; 0 while set aside'""",
              engine="ReplacingMergeTree(replayed_at)", partition_by="toYYYYMM(set_aside_at)", order_by="id",
              sharding_key="cityHash64(id)"),
    )),
    Migration(6, "the device time of events whose client time was implausible", (
        AddColumns("events", (
            "client_ts_original Nullable(DateTime64(3, 'UTC')) COMMENT 'the device time as sent when it was "
            "implausible (see --max-event-age, --max-clock-ahead) and client_ts holds the corrected time; "
            "NULL otherwise' AFTER client_ts",
        )),
    )),
)
