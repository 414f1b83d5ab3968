"""The analytical side's tables: offline sales and what they join with, persons, erasure, sessions."""

from __future__ import annotations

from pathlib import Path

from collector.ddl import AddColumns, AddIndex, LocalSetting, Migration, Table, view_from_file

HERE = Path(__file__).parent
RELEASED = HERE / "released"
"""View bodies as released migrations created them, never edited: the files beside this one are the current ones."""

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

MIGRATIONS: tuple[Migration, ...] = (
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
    # The touches view reads a session's single row as it is and groups only the sessions with several rows
    # (journeys/touches.sql): the same rows, a quarter less CPU. Its body is now that file.
    Migration(22, "touches view: single-row sessions read as they are", (
        view_from_file("touches", RELEASED / "touches_22.sql"),
    )),
    # The touches of closed sessions kept in a table by the collector's closing runs (journeys/closing.py), a
    # plain row per session rather than parcours.sessions' rows merged at each report: the touches view reads
    # it for the sessions it holds and parcours.live_touches for the others (docs/clickhouse.md). Left empty
    # here: the collector's first run fills it, and the view gives the same rows meanwhile.
    Migration(23, "touches of closed sessions kept in a table", (
        Table("closed_touches", """
            session_id String,
            visitor_id String,
            started_at DateTime64(3, 'UTC'),
            ended_at DateTime64(3, 'UTC'),
            landing_host LowCardinality(String),
            referrer_host LowCardinality(String),
            device_type LowCardinality(String),
            tagged UInt8 COMMENT '1 when it has a touch event (campaign or broker parameters)',
            tagged_lever LowCardinality(String) COMMENT 'the lever given to its touch event; the referrer rules apply at query time',
            broker_id LowCardinality(String),
            utm_source LowCardinality(String),
            utm_medium LowCardinality(String),
            campaign LowCardinality(String),
            interacted UInt8 COMMENT '1 when it has an event other than page_view and touch',
            leads UInt64 COMMENT 'its form submissions',
            bounced UInt8 COMMENT '1 when it has a single page view, or none, and nothing else'""",
              engine="MergeTree", partition_by="toYYYYMM(started_at)", order_by="(toDate(started_at), visitor_id)",
              sharding_key="cityHash64(session_id)"),
        Table("touches_runs", """
            watermark DateTime64(3, 'UTC') COMMENT 'ClickHouse time at its start: later events make a session late',
            closed_before DateTime64(3, 'UTC') COMMENT 'closed_touches holds the sessions begun before this',
            late_after DateTime64(3, 'UTC') COMMENT 'its watermark less a margin: a session with an event stored since is read live',
            sessions UInt64 COMMENT 'rows written',
            replaced UInt64 COMMENT 'of which rows replacing those of late sessions',
            seconds Float64,
            host String""",
              engine="MergeTree", order_by="watermark"),
        view_from_file("live_touches", HERE / "live_touches.sql"),
        view_from_file("touches", RELEASED / "touches_23.sql"),
        # Erasure deletes a person's rows here too (journeys/erase.py): their old parts go at once.
        LocalSetting("closed_touches", "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"),
    )),
    # The touches view applies the referrer rules once per referrer host of the kept sessions rather than once
    # per session (journeys/touches.sql): the same rows, about half a CPU second less per 2 million sessions.
    Migration(24, "touches view: the referrer rules applied once per referrer host", (
        view_from_file("touches", HERE / "touches.sql"),
    )),
    # A sale is sent back to the ad networks only when its buyer agreed (journeys/adnetworks.py): the answer
    # the contract or the CRM records, imported with the sale.
    Migration(51, "the buyer's consent to sharing a sale with the ad networks", (
        AddColumns("conversions", (
            "ad_consent LowCardinality(String) DEFAULT '' COMMENT 'granted or denied: may the sale be sent to the "
            "ad networks (parcours export conversions); empty when the source did not say'",
        )),
    )),
    # The form events of ended sessions kept by the closing runs (journeys/closing.py), a row per form, session
    # and visitor with its steps sorted and each event once, so that the funnel reads a row per form session
    # instead of grouping the events table's form events three times (docs/clickhouse.md). Left empty here: the
    # collector's first run after it fills it from the events already stored, and the funnel reads every form
    # event from parcours.events until a run has recorded `forms = 1`.
    Migration(57, "form sessions of ended sessions kept in a table", (
        Table("closed_form_sessions", """
            form_id LowCardinality(String),
            session_id String,
            visitor_id String,
            closed_before DateTime64(3, 'UTC') COMMENT 'the closed_before of the run that wrote the row: its events are before it',
            first_ts DateTime64(3, 'UTC') COMMENT 'its first form event in the row',
            last_ts DateTime64(3, 'UTC') COMMENT 'its last form event in the row',
            device_type LowCardinality(String) COMMENT 'the device of its first form event',
            partial UInt8 COMMENT '1 when another row may hold events of its session: an earlier run kept some, or it had events after closed_before',
            step_ts Array(DateTime64(3, 'UTC')) COMMENT 'its form_step and form_submit events, each once, by time: their times',
            step_codes Array(UInt16) COMMENT 'their step index, 0 for a form_submit',
            step_ms Array(UInt32) COMMENT 'their step_elapsed_ms',
            abandon_ts Array(DateTime64(3, 'UTC')) COMMENT 'its form_abandon events, each once, by time: their times',
            abandon_steps Array(UInt16) COMMENT 'their step index'""",
              engine="MergeTree", partition_by="toYYYYMM(first_ts)", order_by="(form_id, first_ts)",
              sharding_key="cityHash64(session_id)"),
        AddColumns("touches_runs", (
            "forms UInt8 DEFAULT 0 COMMENT '1 when the run also kept the form sessions (closed_form_sessions)'",
        )),
        # Erasure deletes a person's rows here too (journeys/erase.py): their old parts go at once.
        LocalSetting("closed_form_sessions", "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"),
    )),
    # The rows ClickHouse refused (collector/deadletters.py) hold whole rows of events: erasure deletes a
    # person's there too (journeys/erase.py), and their old parts go at once.
    Migration(58, "dead letters erased with their person", (
        LocalSetting("dead_letters", "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"),
    )),
    # A sale can be withdrawn or cancelled (a "rétractation" within 14 days, an "annulation"): the import
    # (journeys/conversions.py) writes the sale again with its status, and the reports count signed sales only.
    # Rows stored before read as signed.
    Migration(59, "a sale's status: signed or cancelled", (
        AddColumns("conversions", (
            "status LowCardinality(String) DEFAULT 'signed' COMMENT 'signed, or cancelled (withdrawn, cancelled): a "
            "cancelled sale is no sale in the reports'",
            "cancelled_at DateTime64(3, 'UTC') DEFAULT 0 COMMENT 'when it was cancelled; 1970-01-01 (0) when it "
            "is signed or the source did not say'",
        )),
    )),
    # A JSON array written on one line (minified) holds several records on that line: each rejected one is kept
    # apart by its number within the line (the key had the line only, and the last reject of a line replaced
    # the others). Rows stored before read 0, the type's default: the line's only record. (No DEFAULT clause:
    # ClickHouse refuses a column with a default expression in the sorting key of the ALTER that adds it.)
    Migration(60, "rejected import lines: the record of a line holding several", (
        AddColumns("import_rejects", (
            "record UInt32 COMMENT 'which record of its line, from 1, when the line holds several (a "
            "JSON array on one line); 0 when it holds one'",
        ), order_by="(kind, source, line, record)"),
    )),
)
