"""The ClickHouse schema as versioned migrations, applied in order and recorded.

A migration is a list of operations (`Table`, `AddColumns`) rendered for one server, or for a
cluster (`ON CLUSTER`, replicated local tables behind `Distributed` tables of the same names), so
analysts query `parcours.events` either way.
"""

from __future__ import annotations

from dataclasses import dataclass

DATABASE = "parcours"


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
    """ALTER TABLE … ADD COLUMN; on a cluster both the local and the Distributed table get the columns."""

    table: str
    columns: tuple[str, ...]


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


SCHEMA_MIGRATIONS = Table(
    "schema_migrations", "version UInt32, name String, applied_at DateTime DEFAULT now()", "MergeTree", "version",
)

SESSION_ROWS = """WITH
    -- The order of events within a session as one number (argMin on a number and a String is ClickHouse's
    -- fast path): time in ms, then the order in the page. A touch event comes before any other.
    toUInt64(toUnixTimestamp64Milli(ts)) * 65536 + least(seq, 65535) AS event_order,
    bitOr(bitShiftLeft(toUInt64(event != 'touch'), 62), event_order) AS landing_order,
    -- Host names as Python's urllib reads them (tagplan/levers.py): after any user@, without the port.
    arrayElement(splitByChar('@', extract(url, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)')), -1) AS url_netloc,
    arrayElement(splitByChar('@', extract(referrer, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)')), -1) AS referrer_netloc
SELECT
    toDate(ts) AS day,
    if(session_id = '', toString(event_id), session_id) AS session_id,
    min(visitor_id) AS visitor_id,
    min(ts) AS started_at,
    max(ts) AS ended_at,
    -- The landing's fields in one String, separated by the unit separator (removed from each field).
    argMinState(arrayStringConcat(arrayMap(field -> replaceAll(field, '\\x1F', ''), [
        lower(if(startsWith(url_netloc, '['), extract(url_netloc, '^\\\\[([^\\\\]]*)\\\\]'), splitByChar(':', url_netloc)[1])),
        lower(if(startsWith(referrer_netloc, '['), extract(referrer_netloc, '^\\\\[([^\\\\]]*)\\\\]'),
                 splitByChar(':', referrer_netloc)[1])),
        toString(device_type), toString(lever), toString(broker_id), toString(utm_source), toString(utm_medium),
        toString(utm_campaign)]), '\\x1F'), landing_order) AS landing,
    max(toUInt8(event = 'touch')) AS tagged,
    min(if(event = 'page_view', event_id, NULL)) AS first_page_view,
    max(if(event = 'page_view', event_id, NULL)) AS last_page_view,
    max(toUInt8(event NOT IN ('page_view', 'touch'))) AS interacted,
    groupUniqArrayArray(if(event = 'form_submit', [event_id], [])) AS submits,
    max(is_bot) AS is_bot
FROM {events}
GROUP BY day, session_id"""
"""Each event's contribution to its session's row of the day: the materialized view's query, and the backfill's."""

TOUCHES_VIEW = """CREATE VIEW IF NOT EXISTS {db}.touches{on_cluster} AS
-- One row per session that started in [from, to), bots left out: a touch, dated at its start, with the
-- lever, broker and campaign of its own landing. A session with a `touch` event (a landing whose URL carried
-- campaign or broker parameters) takes that event's lever (the plan's rules, applied by the collector to
-- those parameters, the referrer and the page); any other takes the first of referrer_rules that its
-- landing's referrer matches: the plan's lever rules that can match a landing without parameters
-- (journeys/touches.py builds them). No lever at all is 'direct'.
WITH
sessions AS (
    -- A session's rows of each day (the day before `from` for one that started before midnight, and the
    -- day after `to` for one still going) merged: exact, whatever ClickHouse has merged yet.
    SELECT
        session_id,
        min(visitor_id) AS visitor_id,
        min(started_at) AS started_at,
        max(ended_at) AS ended_at,
        splitByChar('\\x1F', argMinMerge(landing)) AS landing_fields,
        landing_fields[1] AS landing_host,
        landing_fields[2] AS referrer_host,
        landing_fields[3] AS device_type,
        max(tagged) = 1 AS has_touch,
        max(interacted) = 1 AS has_interaction,
        -- No page view, or a single one (its smallest and largest id are the same), and nothing else.
        coalesce(min(first_page_view) = max(last_page_view), true) AND NOT has_interaction AS bounced,
        length(groupUniqArrayArray(submits)) AS leads,
        max(is_bot) AS is_bot
    FROM {db}.sessions
    WHERE day BETWEEN toDate({from:DateTime64(3, 'UTC')}) - 1 AND toDate({to:DateTime64(3, 'UTC')}) + 1
    GROUP BY session_id
    HAVING started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')} AND NOT is_bot
)
SELECT
    session_id,
    visitor_id,
    started_at,
    ended_at,
    landing_host,
    referrer_host,
    device_type,
    has_touch AS tagged,
    if(tagged, landing_fields[4],
       arrayFirst(rule -> (empty(rule.domains) OR hasAny(splitByChar('.', referrer_host), rule.domains))
                          AND multiIf(rule.referrer = 'external', referrer_host != '' AND referrer_host != landing_host,
                                      rule.referrer = 'present', referrer_host != '',
                                      rule.referrer = 'absent', referrer_host = '',
                                      true),
                  {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}).lever
    ) AS rule_lever,
    if(rule_lever = '', 'direct', rule_lever) AS lever,
    if(tagged, landing_fields[5], '') AS broker_id,
    if(tagged, landing_fields[6], '') AS utm_source,
    if(tagged, landing_fields[7], '') AS utm_medium,
    if(tagged, landing_fields[8], '') AS campaign,
    has_interaction AS interacted,
    leads,
    bounced
FROM sessions"""
"""The touches: a parameterized view, `SELECT * FROM parcours.touches(from = …, to = …, referrer_rules = […])`."""

SESSIONS_V2 = """
    day Date COMMENT 'UTC day of the events the row sums up: a session crossing midnight has a row per day',
    session_id String COMMENT 'the session id, or the event id of an event sent without one (the pixel)',
    visitor_id SimpleAggregateFunction(min, String),
    started_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'its first event',
    ended_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')) COMMENT 'its last event',
    landing SimpleAggregateFunction(min, String)
        COMMENT 'its first touch event, else its first event: order (20 digits), landing host, referrer host, device_type, lever, broker_id, utm_source, utm_medium, utm_campaign, separated by \\\\x1F',
    tagged SimpleAggregateFunction(max, UInt8) COMMENT '1 when it has a touch event (campaign or broker parameters)',
    first_page_view SimpleAggregateFunction(min, Nullable(UUID)) COMMENT 'smallest page_view event id',
    last_page_view SimpleAggregateFunction(max, Nullable(UUID)) COMMENT 'largest: the same when it has one page view',
    interacted SimpleAggregateFunction(max, UInt8) COMMENT '1 when it has an event other than page_view and touch',
    submits SimpleAggregateFunction(groupUniqArrayArray, Array(UUID)) COMMENT 'its form_submit event ids, once each',
    is_bot SimpleAggregateFunction(max, Bool)"""
"""The sessions' columns since migration 21 (docs/clickhouse.md#parcourssessions-and-the-parcourstouches-view)."""

SESSION_ROWS_V2 = """WITH
    -- The order of events within a session as one number: time in ms, then the order in the page; a touch
    -- event comes before any other. Written as 20 digits before the landing's fields, so that the smallest
    -- String is the first event's: min() on a String is ClickHouse's fast path (measured 3 times faster to
    -- merge than an argMin state, and 7 times faster than min() of a Tuple).
    toUInt64(toUnixTimestamp64Milli(ts)) * 65536 + least(seq, 65535) AS event_order,
    bitOr(bitShiftLeft(toUInt64(event != 'touch'), 62), event_order) AS landing_order,
    -- Host names as Python's urllib reads them (tagplan/levers.py): after any user@, without the port.
    arrayElement(splitByChar('@', extract(url, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)')), -1) AS url_netloc,
    arrayElement(splitByChar('@', extract(referrer, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)')), -1) AS referrer_netloc
SELECT
    toDate(ts) AS day,
    if(session_id = '', toString(event_id), session_id) AS session_id,
    min(visitor_id) AS visitor_id,
    min(ts) AS started_at,
    max(ts) AS ended_at,
    -- The landing's order then its fields, separated by the unit separator (removed from each field).
    min(arrayStringConcat(arrayMap(field -> replaceAll(field, '\\x1F', ''), [
        leftPad(toString(landing_order), 20, '0'),
        lower(if(startsWith(url_netloc, '['), extract(url_netloc, '^\\\\[([^\\\\]]*)\\\\]'), splitByChar(':', url_netloc)[1])),
        lower(if(startsWith(referrer_netloc, '['), extract(referrer_netloc, '^\\\\[([^\\\\]]*)\\\\]'),
                 splitByChar(':', referrer_netloc)[1])),
        toString(device_type), toString(lever), toString(broker_id), toString(utm_source), toString(utm_medium),
        toString(utm_campaign)]), '\\x1F')) AS landing,
    max(toUInt8(event = 'touch')) AS tagged,
    min(if(event = 'page_view', event_id, NULL)) AS first_page_view,
    max(if(event = 'page_view', event_id, NULL)) AS last_page_view,
    max(toUInt8(event NOT IN ('page_view', 'touch'))) AS interacted,
    groupUniqArrayArray(if(event = 'form_submit', [event_id], [])) AS submits,
    max(is_bot) AS is_bot
FROM {events}
-- The tag's events only (its pixel's included): a server's events (the Segment-compatible API) are no visit.
WHERE source = 'tag'
GROUP BY day, session_id"""
"""Each tag event's contribution to its session's row of the day (since migration 21): the materialized
view's query, and the rebuild's."""

TOUCHES_VIEW_V2 = """CREATE VIEW IF NOT EXISTS {db}.touches{on_cluster} AS
-- One row per session that started in [from, to), bots left out: a touch, dated at its start, with the
-- lever, broker and campaign of its own landing. A session with a `touch` event (a landing whose URL carried
-- campaign or broker parameters) takes that event's lever (the plan's rules, applied by the collector to
-- those parameters, the referrer and the page); any other takes the first of referrer_rules that its
-- landing's referrer matches: the plan's lever rules that can match a landing without parameters
-- (journeys/touches.py builds them). No lever at all is 'direct'.
WITH
sessions AS (
    -- A session's rows of each day (the day before `from` for one that started before midnight, and the
    -- day after `to` for one still going) merged: exact, whatever ClickHouse has merged yet.
    SELECT
        session_id,
        min(visitor_id) AS visitor_id,
        min(started_at) AS started_at,
        max(ended_at) AS ended_at,
        -- The first of its rows' landings (each begins with its order), split: order, then the fields.
        splitByChar('\\x1F', min(landing)) AS landing_fields,
        landing_fields[2] AS landing_host,
        landing_fields[3] AS referrer_host,
        landing_fields[4] AS device_type,
        max(tagged) = 1 AS has_touch,
        max(interacted) = 1 AS has_interaction,
        -- No page view, or a single one (its smallest and largest id are the same), and nothing else.
        coalesce(min(first_page_view) = max(last_page_view), true) AND NOT has_interaction AS bounced,
        length(groupUniqArrayArray(submits)) AS leads,
        max(is_bot) AS is_bot
    FROM {db}.sessions
    WHERE day BETWEEN toDate({from:DateTime64(3, 'UTC')}) - 1 AND toDate({to:DateTime64(3, 'UTC')}) + 1
    GROUP BY session_id
    HAVING started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')} AND NOT is_bot
)
SELECT
    session_id,
    visitor_id,
    started_at,
    ended_at,
    landing_host,
    referrer_host,
    device_type,
    has_touch AS tagged,
    if(tagged, landing_fields[5],
       arrayFirst(rule -> (empty(rule.domains) OR hasAny(splitByChar('.', referrer_host), rule.domains))
                          AND multiIf(rule.referrer = 'external', referrer_host != '' AND referrer_host != landing_host,
                                      rule.referrer = 'present', referrer_host != '',
                                      rule.referrer = 'absent', referrer_host = '',
                                      true),
                  {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}).lever
    ) AS rule_lever,
    if(rule_lever = '', 'direct', rule_lever) AS lever,
    if(tagged, landing_fields[6], '') AS broker_id,
    if(tagged, landing_fields[7], '') AS utm_source,
    if(tagged, landing_fields[8], '') AS utm_medium,
    if(tagged, landing_fields[9], '') AS campaign,
    has_interaction AS interacted,
    leads,
    bounced
FROM sessions"""
"""The touches view over the sessions of migration 21: the same columns as before."""

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
    # Offline sales and what the reports join them with (journeys/). A re-imported sale with the same
    # conversion_id replaces the old one: the row with the latest imported_at wins (read FINAL or argMax).
    Migration(10, "conversions, brokers, costs and rejected import lines", (
        Table("conversions", """
            conversion_id String COMMENT 'the contract id: one row per sale, the key a re-import replaces',
            ts DateTime64(3, 'UTC') COMMENT 'signature time',
            channel LowCardinality(String) COMMENT 'shop, call_centre, web, or a channel the plan declares',
            broker_id LowCardinality(String) COMMENT 'the broker (or adviser code) who signed',
            adviser String COMMENT 'the adviser who signed, as the file names them',
            shop String COMMENT 'the shop or agency',
            product String,
            premium Decimal(18, 2),
            currency LowCardinality(String),
            phone_key String COMMENT 'HMAC-SHA256 of the E.164 phone number, as in events',
            crm_id String COMMENT 'the CRM or quote id (the quote form''s quote_id)',
            source String COMMENT 'the file (or upload) the sale came from',
            source_line UInt32 COMMENT 'its line in that file (for JSON, the line its record starts on)',
            profile LowCardinality(String) COMMENT 'the import profile that read it, empty for the canonical format',
            fingerprint UInt64 COMMENT 'hash of the sale''s fields (not its source): an unchanged line is not written again',
            imported_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(imported_at)", order_by="conversion_id",
              sharding_key="cityHash64(conversion_id)"),
        Table("brokers", """
            broker_id String,
            name String,
            lever LowCardinality(String),
            shop String,
            network String,
            source String COMMENT 'plan, or the file it was imported from',
            source_line UInt32,
            profile LowCardinality(String),
            fingerprint UInt64,
            updated_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(updated_at)", order_by="broker_id", sharding_key="cityHash64(broker_id)"),
        Table("costs", """
            day Date,
            lever LowCardinality(String),
            campaign String,
            amount Decimal(18, 2),
            currency LowCardinality(String),
            source String,
            source_line UInt32,
            profile LowCardinality(String),
            fingerprint UInt64,
            imported_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(imported_at)", order_by="(day, lever, campaign)",
              sharding_key="cityHash64(day, lever, campaign)"),
        Table("import_rejects", """
            kind LowCardinality(String) COMMENT 'conversions, costs or brokers',
            source String,
            line UInt32,
            record_key String COMMENT 'the conversion_id, broker_id or day/lever/campaign of the line, when readable',
            reasons Array(String),
            fields String COMMENT 'JSON of the line''s fields as read, the phone number removed',
            phone_key String COMMENT 'HMAC of the line''s phone, when it was valid',
            crm_id String,
            profile LowCardinality(String),
            resolved Bool COMMENT 'a later import of the line (or of its key) succeeded',
            rejected_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(rejected_at)", order_by="(kind, source, line)",
              sharding_key="cityHash64(kind, source, line)"),
    )),
    # One person across visitor ids, phones and CRM ids (journeys/persons.py). The stitcher reads the rows
    # stored since its last run by `inserted_at`, which a late insert (a log replayed after an outage, a
    # rejected event replayed) gets at the time it is stored, whatever its event time.
    Migration(11, "identity links and persons", (
        AddColumns("events", (
            "inserted_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when ClickHouse stored the row'",
        )),
        AddIndex("events", "inserted_at_minmax", "inserted_at TYPE minmax GRANULARITY 1"),
        Table("identity_links", """
            key_type LowCardinality(String) COMMENT 'visitor, phone or crm',
            key String,
            other_type LowCardinality(String),
            other String,
            source LowCardinality(String) COMMENT 'events, conversions…: where the two keys were seen together',
            first_seen DateTime64(3, 'UTC'),
            inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree", order_by="(key_type, key, other_type, other)",
              sharding_key="cityHash64(key_type, key)"),
        Table("person_keys", """
            key_type LowCardinality(String) COMMENT 'visitor, phone or crm',
            key String,
            person_id String,
            updated_at DateTime64(3, 'UTC') COMMENT 'the stitching run that wrote it (its watermark)'""",
              engine="ReplacingMergeTree(updated_at)", order_by="(key_type, key)",
              sharding_key="cityHash64(key_type, key)"),
        Table("identity_hot_keys", """
            key_type LowCardinality(String),
            key String,
            reason LowCardinality(String) COMMENT 'too_many_visitors or too_many_phones',
            linked UInt32 COMMENT 'how many visitors (or phones) it links',
            detected_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(detected_at)", order_by="(key_type, key)",
              sharding_key="cityHash64(key_type, key)"),
        Table("stitch_runs", """
            run_id UUID,
            watermark DateTime64(3, 'UTC') COMMENT 'rows stored up to this time are stitched',
            started_at DateTime64(3, 'UTC'),
            finished_at DateTime64(3, 'UTC') DEFAULT now64(3),
            links UInt64,
            keys_written UInt64,
            merges UInt64,
            hot_keys UInt64,
            host String""",
              engine="MergeTree", order_by="watermark", sharding_key="rand()"),
    )),
    # Erasure rewrites parts without the person's rows; the old parts go once ClickHouse's cleanup runs,
    # every 30-40 s by default, every second asked here. (The embedded engine reads the period when a table
    # loads and does not always keep to it: `parcours erase` reattaches the tables it changed, which
    # removes the old parts at once. A server keeps old parts old_parts_lifetime, 8 minutes by default.)
    Migration(12, "erasure audit", (
        Table("erasures", """
            erasure_id UUID,
            erased_at DateTime64(3, 'UTC') DEFAULT now64(3),
            key_kind LowCardinality(String) COMMENT 'phone, visitor or crm: the kind of key asked for, never its value',
            keys UInt32 COMMENT 'how many keys (visitor ids, phones, CRM ids) the person had',
            removed Map(String, UInt64) COMMENT 'rows removed per table'""",
              engine="MergeTree", order_by="erased_at"),
        *(LocalSetting(table, "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0")
          for table in ("events", "rejected_events", "rejected_replays", "conversions", "import_rejects",
                        "identity_links", "person_keys", "identity_hot_keys")),
    )),
    # Sessions for reports, read exactly once without FINAL (docs/clickhouse.md#parcourssessions): a
    # materialized view sums each insert into events up per (day, session) as aggregate states that a
    # retried event cannot change (min, max, argMin, a set of ids), so GROUP BY session_id over
    # a few rows per session gives exact figures whatever ClickHouse has merged. Created before the
    # backfill: an event stored in between is summed twice, which changes nothing.
    Migration(20, "sessions summed up by a materialized view, and the touches view", (
        Table("sessions", """
            day Date COMMENT 'UTC day of the events the row sums up: a session crossing midnight has a row per day',
            session_id String COMMENT 'the session id, or the event id of an event sent without one (the pixel)',
            visitor_id SimpleAggregateFunction(min, String),
            started_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'its first event',
            ended_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')) COMMENT 'its last event',
            landing AggregateFunction(argMin, String, UInt64)
                COMMENT 'landing host, referrer host, device_type, lever, broker_id, utm_source, utm_medium, utm_campaign of its first touch event, else of its first event, separated by \\\\x1F',
            tagged SimpleAggregateFunction(max, UInt8) COMMENT '1 when it has a touch event (campaign or broker parameters)',
            first_page_view SimpleAggregateFunction(min, Nullable(UUID)) COMMENT 'smallest page_view event id',
            last_page_view SimpleAggregateFunction(max, Nullable(UUID)) COMMENT 'largest: the same when it has one page view',
            interacted SimpleAggregateFunction(max, UInt8) COMMENT '1 when it has an event other than page_view and touch',
            submits SimpleAggregateFunction(groupUniqArrayArray, Array(UUID)) COMMENT 'its form_submit event ids, once each',
            is_bot SimpleAggregateFunction(max, Bool)""",
              engine="AggregatingMergeTree", partition_by="toYYYYMM(day)", order_by="(day, session_id)",
              sharding_key="cityHash64(session_id)"),
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_mv{on_cluster} TO {db}.sessions{local} AS\n"
        + SESSION_ROWS.replace("{events}", "{db}.events{local}"),
        "INSERT INTO {db}.sessions\n" + SESSION_ROWS.replace("{events}", "{db}.events"),
        TOUCHES_VIEW,
        # Erasure deletes a person's sessions too (journeys/erase.py): their old parts go at once.
        LocalSetting("sessions", "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"),
    )),
    # Sessions rebuilt (docs/clickhouse.md#parcourssessions-and-the-parcourstouches-view): the landing as the
    # min() of a String that begins with its order, cheaper to merge than migration 20's argMin state; and
    # from the tag's events only: migration 20 also summed up each event of the Segment-compatible API as a
    # session of its own (no session id), a direct visit. Everything is rebuilt from the events: the view
    # first, then the table from the events already stored (an event stored in between is summed twice,
    # which changes nothing). Reports read nothing meanwhile: this runs before the collector serves.
    Migration(21, "sessions rebuilt: the tag's events only, the landing as a plain String", (
        # The events' source comes with migration 50 (server sources); a new database runs this one first:
        # the column is added here, with migration 50's definition word for word (50 then adds nothing).
        AddColumns("events", (
            "source LowCardinality(String) DEFAULT 'tag' COMMENT 'tag (the web tag and its pixel), or the server "
            "source whose write key sent the event'",
        )),
        "DROP VIEW IF EXISTS {db}.touches{on_cluster}",
        "DROP VIEW IF EXISTS {db}.sessions_mv{on_cluster}",
        "DROP TABLE IF EXISTS {db}.sessions{on_cluster} SYNC",
        "DROP TABLE IF EXISTS {db}.sessions{local}{on_cluster} SYNC",  # on a cluster, the local tables
        Table("sessions", SESSIONS_V2, engine="AggregatingMergeTree", partition_by="toYYYYMM(day)",
              order_by="(day, session_id)", sharding_key="cityHash64(session_id)"),
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_mv{on_cluster} TO {db}.sessions{local} AS\n"
        + SESSION_ROWS_V2.replace("{events}", "{db}.events{local}"),
        "INSERT INTO {db}.sessions\n" + SESSION_ROWS_V2.replace("{events}", "{db}.events"),
        TOUCHES_VIEW_V2,
        LocalSetting("sessions", "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"),
    )),
    # The call centre (callcentre/). The one place a phone number is kept: sealed (AES-256-GCM, a key apart
    # from the HMAC secret), only for a visitor who ticked the call-back box, deleted at purge_after. Stored
    # uncompressed: ciphertext does not compress, and the purge test can look for it on disk.
    Migration(35, "call-back consents", (
        Table("lead_contacts", """
            event_id String COMMENT 'the form_step event that carried the phone and the ticked box',
            consented_at DateTime64(3, 'UTC') COMMENT 'when the box was ticked and the step sent (the event time)',
            visitor_id String,
            session_id String,
            form_id LowCardinality(String),
            step LowCardinality(String),
            step_index UInt16,
            phone_key String COMMENT 'HMAC-SHA256 of the E.164 phone number, as in events',
            sealed String CODEC(NONE) COMMENT 'the E.164 phone number, sealed: key id, nonce, AES-256-GCM ciphertext and tag',
            wording LowCardinality(String) COMMENT 'version of the call-back box wording the visitor ticked',
            url String COMMENT 'the page where the box was ticked',
            plan_version LowCardinality(String),
            purge_after DateTime64(3, 'UTC') COMMENT 'consented_at + the lead rule''s retention_days: deleted then',
            inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(inserted_at)", order_by="event_id", sharding_key="cityHash64(event_id)"),
        LocalSetting("lead_contacts", "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"),
    )),
    Migration(36, "tracking number leases", (
        Table("number_leases", """
            lease_id String,
            number String COMMENT 'the tracking number shown, E.164',
            visitor_id String,
            session_id String,
            url String COMMENT 'the page that leased it',
            started_at DateTime64(3, 'UTC'),
            expires_at DateTime64(3, 'UTC') COMMENT 'last renewal + hold_minutes: the lease ends then',
            grace_until DateTime64(3, 'UTC') COMMENT 'expires_at + grace_minutes: calls until then still count for it',
            renewed_at DateTime64(3, 'UTC') COMMENT 'the version: the latest row of a lease is current'""",
              engine="ReplacingMergeTree(renewed_at)", order_by="lease_id", sharding_key="cityHash64(lease_id)"),
    )),
    Migration(37, "calls", (
        Table("calls", """
            call_id String COMMENT 'the telephony system''s id of the call (Asterisk uniqueid): the key a re-import replaces',
            start DateTime64(3, 'UTC'),
            answered_at DateTime64(3, 'UTC') COMMENT '0 (1970) when the call was not answered',
            ended_at DateTime64(3, 'UTC'),
            caller LowCardinality(String) COMMENT 'number, anonymous (no caller id) or invalid',
            caller_key String COMMENT 'HMAC-SHA256 of the caller''s E.164 number, as phone_key in events',
            dialled String COMMENT 'the number called, E.164: a tracking number, the default one, or another',
            duration UInt32 COMMENT 'seconds, ringing included',
            billsec UInt32 COMMENT 'seconds of conversation',
            disposition LowCardinality(String) COMMENT 'ANSWERED, NO ANSWER, BUSY, FAILED',
            agent String COMMENT 'the agent or extension that took it',
            source String,
            source_line UInt32,
            profile LowCardinality(String),
            fingerprint UInt64,
            imported_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(imported_at)", order_by="call_id", sharding_key="cityHash64(call_id)"),
    )),
    Migration(38, "call-back lead deliveries (the webhook outbox)", (
        Table("lead_deliveries", """
            lead_id String COMMENT 'the form_abandon event that made the lead',
            state LowCardinality(String) COMMENT 'pending, delivered, withdrawn (no longer a lead) or expired (past its deadline)',
            attempts UInt32,
            next_attempt_at DateTime64(3, 'UTC'),
            last_error String,
            delivered_at DateTime64(3, 'UTC'),
            visitor_id String,
            phone_key String,
            form_id LowCardinality(String),
            call_by DateTime64(3, 'UTC') COMMENT 'the lead''s deadline (D or D+1)',
            updated_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(updated_at)", order_by="lead_id", sharding_key="cityHash64(lead_id)"),
        *(LocalSetting(table, "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0")
          for table in ("number_leases", "calls", "lead_deliveries")),
    )),
    # A number called that is not one of the plan's (an agent calling a customer back) is a person's phone:
    # kept only as its keyed hash, as a caller's is.
    Migration(39, "calls: the keyed hash of a number called that is not ours", (
        AddColumns("calls", (
            "dialled_key String COMMENT 'HMAC-SHA256 of the number called when it is not one of the plan''s "
            "(a call-back to a customer); dialled then says other'",
        )),
    )),
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
        # the events stored since the last run's watermark, as stitching does.
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
    # A sale is sent back to the ad networks only when its buyer agreed (journeys/adnetworks.py): the answer
    # the contract or the CRM records, imported with the sale.
    Migration(51, "the buyer's consent to sharing a sale with the ad networks", (
        AddColumns("conversions", (
            "ad_consent LowCardinality(String) DEFAULT '' COMMENT 'granted or denied: may the sale be sent to the "
            "ad networks (parcours export conversions); empty when the source did not say'",
        )),
    )),
)


def render(op: Table | AddColumns | AddIndex | LocalSetting | str, database: str = DATABASE,
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
        if not cluster:
            return [f"ALTER TABLE {database}.{op.table} {adds}"]
        return [f"ALTER TABLE {database}.{op.table}_local{on} {adds}",
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


def migration_ddl(migration: Migration, database: str = DATABASE, cluster: str | None = None) -> list[str]:
    """Every statement of a migration, in order."""
    return [s for op in migration.statements for s in render(op, database, cluster)]


def bootstrap_ddl(database: str = DATABASE, cluster: str | None = None) -> list[str]:
    """The database and the table recording applied migrations."""
    on = f" ON CLUSTER {cluster}" if cluster else ""
    return [f"CREATE DATABASE IF NOT EXISTS {database}{on}", *render(SCHEMA_MIGRATIONS, database, cluster)]


def full_ddl(database: str = DATABASE, cluster: str | None = None) -> list[str]:
    """Everything, from an empty server: what `parcours schema` prints for a DBA to review."""
    return bootstrap_ddl(database, cluster) + [s for m in MIGRATIONS for s in migration_ddl(m, database, cluster)]
