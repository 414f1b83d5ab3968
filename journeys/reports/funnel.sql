-- Funnel of one form: for each step in the plan's order, then the submit, the visitors who completed it
-- after completing every required (non-optional) earlier step, in order, each such chain within
-- {window_ms} milliseconds of its first step; optionally per segment of visitors (by: lever, campaign or
-- broker of the session where they started the form, its device, or a property of the plan). Bots left out.
-- Filters (lever, campaign, broker, device; '' when not given): only the visitors whose session where they
-- started the form has a landing that matches every filter given.
--
-- Parameters built from the plan (journeys/reports/funnel.py):
--   chains: the chains of steps to follow, as step indexes (0 stands for the submit): chain 1 is the
--           required steps then the submit; each optional step adds a chain: the required steps before
--           it, then it.
--   rows:   one per line of the funnel: the step, its chain, the level of that chain that means "reached",
--           and the line of the previous required step (drop-off is counted from it; 0 for the first)
--           with its chain and level.
WITH
form_events AS (
    -- The form's events in the period. A retried event may be stored twice until ClickHouse merges it:
    -- every figure below is a funnel level, a distinct count or a per-event pick, so it counts once.
    SELECT event_id, event, visitor_id, session_id, ts, step_index, step_elapsed_ms, device_type,
           if(event = 'form_submit', 0, step_index) AS code
    FROM parcours.events
    WHERE event IN ('form_step', 'form_submit', 'form_abandon')
      AND form_id = {form:String}
      AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
      AND NOT is_bot
),

first_sessions AS (
    -- For a breakdown: each visitor's first session in the form, and its device (without one, none).
    SELECT visitor_id, argMin(session_id, ts) AS session_id, argMin(toString(device_type), ts) AS device_type
    FROM form_events
    WHERE {by:String} != '' OR NOT ({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
    GROUP BY visitor_id
),

landings AS (
    -- The touches of the sessions that started in the period or the day before: only for a breakdown by
    -- lever, campaign or broker (for the others this reads nothing).
    SELECT session_id, lever, campaign, broker_id
    FROM parcours.touches(from = {touches_from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE {by:String} IN ('lever', 'campaign', 'broker') OR {lever:String} != '' OR {campaign:String} != ''
       OR {broker:String} != ''
),

property_values AS (
    -- For a breakdown by a property of the plan (an A/B variant): its first value among the visitor's
    -- events of the period.
    SELECT visitor_id, argMin(value, ts) AS value
    FROM (
        SELECT visitor_id, ts,
               if(JSONType(properties, {property:String}) = 'String', JSONExtractString(properties, {property:String}),
                  JSONExtractRaw(properties, {property:String})) AS value
        FROM parcours.events
        WHERE {property:String} != '' AND properties != '{}' AND JSONHas(properties, {property:String})
          AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')} AND NOT is_bot
    )
    GROUP BY visitor_id
),

segments AS (
    SELECT first_sessions.visitor_id AS visitor_id,
           multiIf({by:String} = 'lever', landings.lever, {by:String} = 'campaign', landings.campaign,
                   {by:String} = 'broker', landings.broker_id, {by:String} = 'device', first_sessions.device_type,
                   {property:String} != '', property_values.value, '') AS segment,
           ({lever:String} = '' OR landings.lever = {lever:String})
           AND ({campaign:String} = '' OR landings.campaign = {campaign:String})
           AND ({broker:String} = '' OR landings.broker_id = {broker:String})
           AND ({device:String} = '' OR first_sessions.device_type = {device:String}) AS kept
    FROM first_sessions
    LEFT JOIN landings ON landings.session_id = first_sessions.session_id
    LEFT JOIN property_values ON property_values.visitor_id = first_sessions.visitor_id
),

funnel_rows AS (
    SELECT row.position AS position, row.step_index AS step_index, row.step AS step, row.label AS label,
           row.optional AS optional, row.chain AS chain, row.level AS level, row.previous AS previous,
           row.previous_chain AS previous_chain, row.previous_level AS previous_level
    FROM (SELECT arrayJoin({rows:Array(Tuple(position UInt8, step_index UInt16, step String, label String,
                                            optional Bool, chain UInt8, level UInt8, previous UInt8,
                                            previous_chain UInt8, previous_level UInt8))}) AS row)
),

levels AS (
    -- Per visitor and chain: how many of the chain's steps were completed in order within the window.
    -- windowFunnel takes one condition per step: a chain has at most 32 (ClickHouse's limit). An event's
    -- place in the chain (indexOf: 0 when it is not in it) is found once, not compared with 32 elements.
    SELECT visitor_id, chain_number,
           windowFunnel({window_ms:UInt64})(toUInt64(toUnixTimestamp64Milli(ts)),
               (indexOf(chain, code) AS place) = 1, place = 2, place = 3, place = 4,
               place = 5, place = 6, place = 7, place = 8,
               place = 9, place = 10, place = 11, place = 12,
               place = 13, place = 14, place = 15, place = 16,
               place = 17, place = 18, place = 19, place = 20,
               place = 21, place = 22, place = 23, place = 24,
               place = 25, place = 26, place = 27, place = 28,
               place = 29, place = 30, place = 31, place = 32) AS level
    FROM (SELECT visitor_id, ts, code FROM form_events WHERE event != 'form_abandon')
    ARRAY JOIN {chains:Array(Array(UInt16))} AS chain,
               arrayEnumerate({chains:Array(Array(UInt16))}) AS chain_number
    GROUP BY visitor_id, chain_number
),

step_events AS (
    -- Each form_step and form_submit once.
    SELECT event_id, any(code) AS code, any(visitor_id) AS visitor_id, any(step_elapsed_ms) AS elapsed_ms
    FROM form_events
    WHERE event != 'form_abandon'
    GROUP BY event_id
),

left_sessions AS (
    -- Sessions that left the form without submitting it, at the step of their last form_abandon.
    SELECT any(visitor_id) AS visitor_id, argMaxIf(step_index, ts, event = 'form_abandon') AS last_step
    FROM form_events
    WHERE event IN ('form_abandon', 'form_submit')
    GROUP BY session_id
    HAVING countIf(event = 'form_abandon') > 0 AND countIf(event = 'form_submit') = 0 AND last_step != 0
),

all_facts AS (
    -- With a breakdown or a filter, every fact of a visitor in one shape, to be joined to their segment:
    -- ('level', chain, level reached), ('step', step, time on it) per event, ('abandon', step, 0) per session.
    SELECT 'level' AS kind, visitor_id, chain_number AS code, level AS value FROM levels
    UNION ALL
    SELECT 'step' AS kind, visitor_id, code, elapsed_ms AS value FROM step_events
    UNION ALL
    SELECT 'abandon' AS kind, visitor_id, last_step AS code, 0 AS value FROM left_sessions
),

counts AS (
    -- Per segment: visitors per chain and level reached; per step, its events and their times; abandons.
    -- Without a breakdown or a filter, each kind is counted on its own, no visitor carried: neither a join
    -- with nothing nor a union of every fact (3.5 million rows on 10 million events).
    SELECT '' AS segment, 'level' AS kind, chain_number AS code, level, count() AS n, [0, 0] AS seconds
    FROM levels
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
    GROUP BY chain_number, level
    UNION ALL
    SELECT '' AS segment, 'step' AS kind, code, 0 AS level, count() AS n, quantilesExact(0.5, 0.9)(elapsed_ms) AS seconds
    FROM step_events
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
    GROUP BY code
    UNION ALL
    SELECT '' AS segment, 'abandon' AS kind, last_step AS code, 0 AS level, count() AS n, [0, 0] AS seconds
    FROM left_sessions
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
    GROUP BY last_step
    UNION ALL
    SELECT segments.segment AS segment, kind, code, if(kind = 'level', value, 0) AS level, count() AS n,
           quantilesExactIf(0.5, 0.9)(value, kind = 'step') AS seconds
    FROM all_facts
    JOIN segments ON segments.visitor_id = all_facts.visitor_id
    WHERE NOT ({by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
      AND segments.kept
    GROUP BY segment, kind, code, level
    UNION ALL
    -- Without a breakdown, the whole funnel has its lines even with no visitor at all.
    SELECT '' AS segment, 'none' AS kind, 0 AS code, 0 AS level, 0 AS n, [0, 0] AS seconds WHERE {by:String} = ''
),

lines AS (
    -- Each line of the funnel for each segment, read off the counts in one pass.
    SELECT
        segment, position, step_index, step, label, optional, previous,
        sumIf(n, kind = 'level' AND code = chain AND counts.level >= funnel_rows.level) AS visitors,
        sumIf(n, kind = 'level' AND code = 1 AND counts.level >= 1) AS first_visitors,
        sumIf(n, kind = 'level' AND code = previous_chain AND counts.level >= previous_level) AS previous_visitors,
        sumIf(n, kind = 'step' AND code = step_index) AS completions,
        anyIf(seconds[1], kind = 'step' AND code = step_index) / 1000 AS median_seconds,
        anyIf(seconds[2], kind = 'step' AND code = step_index) / 1000 AS p90_seconds,
        sumIf(n, kind = 'abandon' AND code = step_index AND step_index != 0) AS abandons
    FROM counts
    CROSS JOIN funnel_rows
    GROUP BY segment, position, step_index, step, label, optional, previous
)

SELECT
    segment,
    step_index,
    step,
    label,
    optional,
    visitors,
    completions,
    if(first_visitors = 0, NULL, visitors / first_visitors) AS from_first,
    if(previous = 0 OR previous_visitors = 0, NULL, visitors / previous_visitors) AS from_previous,
    if(previous = 0, NULL, toInt64(previous_visitors) - visitors) AS drop_off,
    abandons,
    if(step_index = 0 OR completions = 0, NULL, median_seconds) AS median_seconds,
    if(step_index = 0 OR completions = 0, NULL, p90_seconds) AS p90_seconds
FROM lines
ORDER BY max(first_visitors) OVER (PARTITION BY segment) DESC, segment, position
