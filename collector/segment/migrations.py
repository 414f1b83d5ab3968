"""The tables of server sources (the Segment-compatible API): write keys, and each event's source."""

from __future__ import annotations

from collector.ddl import AddColumns, Migration, Table

MIGRATIONS: tuple[Migration, ...] = (
    # Servers send events too, through the Segment-compatible API (collector/segment/): each under the write
    # key of a source (a back office, a CRM, a call centre), stored hashed, never as given. An event says
    # which source sent it; the tag's events (and its pixel's) are `tag`, the default, rows stored before too.
    Migration(50, "server sources: write keys, the source of each event, conversions from events", (
        AddColumns("events", (
            "source LowCardinality(String) DEFAULT 'tag' COMMENT 'tag (the web tag and its pixel), or the server "
            "source whose write key sent the event'",
            "user_id String COMMENT 'server events: the userId the sender gave (Segment''s), as given'",
            "message_id String COMMENT 'server events: the messageId as sent; event_id is derived from it'",
        )),
        AddColumns("rejected_events", (
            "source LowCardinality(String) DEFAULT 'tag' COMMENT 'tag, or the server source that sent the event'",
        )),
        Table("write_keys", """
            key_hash String COMMENT 'SHA-256 of the key, hex: the key itself is shown once, at creation, and kept nowhere',
            key_prefix String COMMENT 'the first characters of the key, to tell keys apart in lists',
            source LowCardinality(String) COMMENT 'the source the key sends for (back_office, crm, call_centre…)',
            description String,
            created_at DateTime64(3, 'UTC'),
            revoked_at Nullable(DateTime64(3, 'UTC')) COMMENT 'NULL while the key is valid',
            updated_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(updated_at)", order_by="key_hash", sharding_key="cityHash64(key_hash)"),
        # Conversions from events the plan marks as conversions (journeys/event_conversions.py): each run reads
        # the events stored since the last run's watermark, as stitching does. (Journeys' table, released in
        # this migration with the server sources whose events it reads.)
        Table("event_conversion_runs", """
            watermark DateTime64(3, 'UTC') COMMENT 'events stored up to this time are read',
            started_at DateTime64(3, 'UTC'),
            events UInt64 COMMENT 'conversion events read',
            imported UInt64,
            updated UInt64,
            rejected UInt64,
            host String""",
              engine="MergeTree", order_by="watermark"),
    )),
)
