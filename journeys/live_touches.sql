-- The touches not kept in parcours.closed_touches, computed from parcours.sessions: the sessions that began
-- in [from, to), bots left out, and either after the last closing run's `closed_before`, or before it with an
-- event stored since that run's `late_after` (its start less a margin for inserts then in flight): a late
-- event, a retried batch, a session still going. One row per session, in closed_touches' columns: the lever rules on the referrer
-- are applied by parcours.touches, to both. The body of the parameterized view parcours.live_touches
-- (`SELECT * FROM parcours.live_touches(from = …, to = …)`), created by a migration from this file: a change
-- here needs a migration that replaces the view (journeys/migrations.py). The closing run itself inserts
-- `live_touches(from = 1970-01-01, to = its own closed_before)` into closed_touches (journeys/closing.py).
--
-- parcours.sessions holds a row per session and day, summed up by a materialized view, and until ClickHouse
-- merges them, a row per insert: merged with GROUP BY session_id, the figures are exact whatever has been
-- merged. Once merged, nearly every session has a single row, read as it is: only the sessions with several
-- rows in the days read are grouped.
WITH
last_run AS (
    -- No run yet: every session is read here, and none is late.
    SELECT max(closed_before) AS closed_before,
           if(count() = 0, now64(3, 'UTC'), max(late_after)) AS late_since
    FROM {db}.touches_runs
),

late AS (
    -- The sessions with a tag event stored since the last run began, and the days their rows may be on.
    SELECT DISTINCT if(session_id = '', toString(event_id), session_id) AS session_id, toDate(ts) AS day
    FROM {db}.events
    WHERE inserted_at >= (SELECT late_since FROM last_run) AND source = 'tag'
),

session_rows AS (
    -- Their rows, and every row from the day before closed_before on: the day before `from` for a session
    -- that started before midnight, the day after `to` for one still going.
    SELECT *
    FROM {db}.sessions
    -- (day + 1 rather than a date - 1, which wraps around below 1970-01-01.)
    WHERE day + 1 >= toDate({from:DateTime64(3, 'UTC')}) AND day <= toDate({to:DateTime64(3, 'UTC')}) + 1
      AND (day + 1 >= toDate((SELECT closed_before FROM last_run))
           OR (day IN (SELECT arrayJoin([day - 1, day, day + 1]) FROM late)
               AND session_id IN (SELECT session_id FROM late)))
),

multi_row AS (
    SELECT session_id FROM session_rows GROUP BY session_id HAVING count() > 1
),

sessions AS (
    -- The sessions with a single row, read as they are.
    SELECT
        session_id,
        visitor_id,
        started_at,
        ended_at,
        -- The landing's order, then its fields.
        splitByChar('\x1F', landing) AS landing_fields,
        tagged = 1 AS has_touch,
        interacted = 1 AS has_interaction,
        coalesce(first_page_view = last_page_view, true) AND NOT has_interaction AS bounced,
        length(submits) AS leads,
        is_bot
    FROM session_rows
    WHERE session_id NOT IN (SELECT session_id FROM multi_row)
    UNION ALL
    -- The others: their rows merged, each column by its own function.
    SELECT
        session_id,
        min(visitor_id) AS visitor_id,
        min(started_at) AS started_at,
        max(ended_at) AS ended_at,
        -- The first of its rows' landings (each begins with its order), split: order, then the fields.
        splitByChar('\x1F', min(landing)) AS landing_fields,
        max(tagged) = 1 AS has_touch,
        max(interacted) = 1 AS has_interaction,
        -- No page view, or a single one (its smallest and largest id are the same), and nothing else.
        coalesce(min(first_page_view) = max(last_page_view), true) AND NOT has_interaction AS bounced,
        length(groupUniqArrayArray(submits)) AS leads,
        max(is_bot) AS is_bot
    FROM session_rows
    WHERE session_id IN (SELECT session_id FROM multi_row)
    GROUP BY session_id
)

SELECT
    session_id,
    visitor_id,
    started_at,
    ended_at,
    -- The types of closed_touches' columns, so that parcours.touches reads the two alike.
    toLowCardinality(landing_fields[2]) AS landing_host,
    toLowCardinality(landing_fields[3]) AS referrer_host,
    toLowCardinality(landing_fields[4]) AS device_type,
    has_touch AS tagged,
    -- The lever the collector gave its touch event; the referrer's is the view parcours.touches's to give.
    toLowCardinality(if(tagged, landing_fields[5], '')) AS tagged_lever,
    toLowCardinality(if(tagged, landing_fields[6], '')) AS broker_id,
    toLowCardinality(if(tagged, landing_fields[7], '')) AS utm_source,
    toLowCardinality(if(tagged, landing_fields[8], '')) AS utm_medium,
    toLowCardinality(if(tagged, landing_fields[9], '')) AS campaign,
    has_interaction AS interacted,
    leads,
    bounced
FROM sessions
WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')} AND NOT is_bot
  AND (started_at >= (SELECT closed_before FROM last_run) OR session_id IN (SELECT session_id FROM late))
