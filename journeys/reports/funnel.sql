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
    -- windowFunnel takes one condition per step: a chain has at most 32 (ClickHouse's limit).
    SELECT visitor_id, chain_number,
           windowFunnel({window_ms:UInt64})(toUInt64(toUnixTimestamp64Milli(ts)),
               code = chain[1], code = chain[2], code = chain[3], code = chain[4],
               code = chain[5], code = chain[6], code = chain[7], code = chain[8],
               code = chain[9], code = chain[10], code = chain[11], code = chain[12],
               code = chain[13], code = chain[14], code = chain[15], code = chain[16],
               code = chain[17], code = chain[18], code = chain[19], code = chain[20],
               code = chain[21], code = chain[22], code = chain[23], code = chain[24],
               code = chain[25], code = chain[26], code = chain[27], code = chain[28],
               code = chain[29], code = chain[30], code = chain[31], code = chain[32]) AS level
    FROM form_events
    ARRAY JOIN {chains:Array(Array(UInt16))} AS chain,
               arrayEnumerate({chains:Array(Array(UInt16))}) AS chain_number
    WHERE event != 'form_abandon'
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
    GROUP BY session_id
    HAVING countIf(event = 'form_abandon') > 0 AND countIf(event = 'form_submit') = 0 AND last_step != 0
),

all_facts AS (
    -- Every fact of a visitor, in one shape:
    -- ('level', chain, level reached), ('step', step, time on it) per event, ('abandon', step, 0) per session.
    SELECT 'level' AS kind, visitor_id, chain_number AS code, level AS value FROM levels
    UNION ALL
    SELECT 'step' AS kind, visitor_id, code, elapsed_ms AS value FROM step_events
    UNION ALL
    SELECT 'abandon' AS kind, visitor_id, last_step AS code, 0 AS value FROM left_sessions
    UNION ALL
    -- Without a breakdown, the whole funnel has its lines even with no visitor at all.
    SELECT 'none' AS kind, '' AS visitor_id, 0 AS code, 0 AS value WHERE {by:String} = ''
),

facts AS (
    -- With the visitor's segment: through the segments with a breakdown or a filter; without, as they are
    -- ('' for all), not through a join with nothing (a third of the funnel's time on 10 million events).
    SELECT all_facts.*, segments.segment AS segment
    FROM all_facts
    LEFT JOIN segments ON segments.visitor_id = all_facts.visitor_id
    WHERE NOT ({by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
      AND (({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '') OR segments.kept OR all_facts.kind = 'none')
    UNION ALL
    SELECT *, '' AS segment
    FROM all_facts
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
),

counts AS (
    -- Per segment: visitors per chain and level reached; per step, its events and their times; abandons.
    SELECT segment, kind, code, if(kind = 'level', value, 0) AS level, count() AS n,
           quantileExactIf(0.5)(value, kind = 'step') / 1000 AS median_seconds,
           quantileExactIf(0.9)(value, kind = 'step') / 1000 AS p90_seconds
    FROM facts
    GROUP BY segment, kind, code, level
),

lines AS (
    -- Each line of the funnel for each segment, read off the counts in one pass.
    SELECT
        segment, position, step_index, step, label, optional, previous,
        sumIf(n, kind = 'level' AND code = chain AND counts.level >= funnel_rows.level) AS visitors,
        sumIf(n, kind = 'level' AND code = 1 AND counts.level >= 1) AS first_visitors,
        sumIf(n, kind = 'level' AND code = previous_chain AND counts.level >= previous_level) AS previous_visitors,
        sumIf(n, kind = 'step' AND code = step_index) AS completions,
        anyIf(median_seconds, kind = 'step' AND code = step_index) AS median_seconds,
        anyIf(p90_seconds, kind = 'step' AND code = step_index) AS p90_seconds,
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
