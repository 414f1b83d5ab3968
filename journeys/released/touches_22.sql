-- One row per session that started in [from, to), bots left out: a touch, dated at its start, with the
-- lever, broker and campaign of its own landing. The body of the parameterized view parcours.touches
-- (`SELECT * FROM parcours.touches(from = …, to = …, referrer_rules = […])`), created by a migration from
-- this file: a change here needs a migration that replaces the view (journeys/migrations.py).
--
-- A session with a `touch` event (a landing whose URL carried campaign or broker parameters) takes that
-- event's lever (the plan's rules, applied by the collector to those parameters, the referrer and the page);
-- any other takes the first of referrer_rules that its landing's referrer matches: the plan's lever rules
-- that can match a landing without parameters (journeys/touches.py builds them). No lever at all is 'direct'.
--
-- parcours.sessions holds a row per session and day, summed up by a materialized view, and until ClickHouse
-- merges them, a row per insert: merged with GROUP BY session_id, the figures are exact whatever has been
-- merged. Once merged, nearly every session has a single row (10 million events: 2,298,850 sessions in
-- 2,302,471 rows), and a single row is read as it is: only the sessions with several rows in those days
-- are grouped, a quarter less CPU for the whole view than grouping them all.
WITH
multi_row AS (
    -- The sessions with more than one row in the days read: the day before `from` for one that started
    -- before midnight, and the day after `to` for one still going.
    SELECT session_id
    FROM {db}.sessions
    WHERE day BETWEEN toDate({from:DateTime64(3, 'UTC')}) - 1 AND toDate({to:DateTime64(3, 'UTC')}) + 1
    GROUP BY session_id
    HAVING count() > 1
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
        landing_fields[2] AS landing_host,
        landing_fields[3] AS referrer_host,
        landing_fields[4] AS device_type,
        tagged = 1 AS has_touch,
        interacted = 1 AS has_interaction,
        coalesce(first_page_view = last_page_view, true) AND NOT has_interaction AS bounced,
        length(submits) AS leads,
        is_bot
    FROM {db}.sessions
    WHERE day BETWEEN toDate({from:DateTime64(3, 'UTC')}) - 1 AND toDate({to:DateTime64(3, 'UTC')}) + 1
      AND session_id NOT IN (SELECT session_id FROM multi_row)
      AND started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')} AND NOT is_bot
    UNION ALL
    -- The others: their rows merged, each column by its own function.
    SELECT
        session_id,
        min(visitor_id) AS visitor_id,
        min(started_at) AS started_at,
        max(ended_at) AS ended_at,
        -- The first of its rows' landings (each begins with its order), split: order, then the fields.
        splitByChar('\x1F', min(landing)) AS landing_fields,
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
      AND session_id IN (SELECT session_id FROM multi_row)
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
FROM sessions
