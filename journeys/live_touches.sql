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
-- merged. The collector's runs keep this to the last two days and the late sessions: a plain GROUP BY, whose
-- planning costs least (reports on small data sets pay it at every call).
WITH
-- The last run's closed_before and late_after. No run yet: every session is read here, and none is late.
(SELECT (max(closed_before), if(count() = 0, now64(3, 'UTC'), max(late_after))) FROM {db}.touches_runs) AS last_run,

late AS (
    -- The sessions with a tag event stored since the last run's late_after, and the days of those events.
    SELECT DISTINCT if(session_id = '', toString(event_id), session_id) AS session_id, toDate(ts) AS day
    FROM {db}.events
    WHERE inserted_at >= last_run.2 AND source = 'tag'
),

sessions AS (
    -- Their rows (on the days around their late events), and every row from the day before closed_before
    -- on, merged: each column by its own function. The days read: the day before `from` for a session that
    -- started before midnight, the day after `to` for one still going (day + 1 rather than a date - 1, which
    -- wraps around below 1970-01-01).
    SELECT
        session_id,
        min(visitor_id) AS first_visitor_id,
        min(started_at) AS first_event,
        max(ended_at) AS last_event,
        -- The first of its rows' landings (each begins with its order), split: order, then the fields.
        splitByChar('\x1F', min(landing)) AS landing_fields,
        max(tagged) = 1 AS has_touch,
        max(interacted) = 1 AS has_interaction,
        -- No page view, or a single one (its smallest and largest id are the same), and nothing else.
        coalesce(min(first_page_view) = max(last_page_view), true) AND NOT has_interaction AS single_page,
        length(groupUniqArrayArray(submits)) AS submissions
    FROM {db}.sessions
    WHERE day + 1 >= toDate({from:DateTime64(3, 'UTC')}) AND day <= toDate({to:DateTime64(3, 'UTC')}) + 1
      AND (day + 1 >= toDate(last_run.1)
           OR (day IN (SELECT arrayJoin([day - 1, day, day + 1]) FROM late)
               AND session_id IN (SELECT session_id FROM late)))
    GROUP BY session_id
    HAVING first_event >= {from:DateTime64(3, 'UTC')} AND first_event < {to:DateTime64(3, 'UTC')} AND NOT max(is_bot)
       AND (first_event >= last_run.1 OR session_id IN (SELECT session_id FROM late))
)

SELECT
    session_id,
    first_visitor_id AS visitor_id,
    first_event AS started_at,
    last_event AS ended_at,
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
    submissions AS leads,
    single_page AS bounced
FROM sessions
