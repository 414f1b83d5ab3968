-- Funnel of one form: for each step in the plan's order, then the submit, the visitors who completed it
-- after completing every required (non-optional) earlier step, in order, each such chain within
-- {window_ms} milliseconds of its first step; optionally per segment of visitors (by: lever, campaign or
-- broker of the session where they started the form, its device, or a property of the plan). Bots left out.
--
-- Parameters built from the plan (journeys/reports/funnel.py):
--   chains: the chains of steps to follow, as step indexes (0 stands for the submit): chain 1 is the
--           required steps then the submit; each optional step adds a chain: the required steps before
--           it, then it.
--   rows:   one per line of the funnel: the step, its chain, the level of that chain that means "reached",
--           and the line of the previous required step (drop-off is counted from it; 0 for the first).
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
    -- Each visitor's first session in the form, and its device.
    SELECT visitor_id, argMin(session_id, ts) AS session_id, argMin(toString(device_type), ts) AS device_type
    FROM form_events
    GROUP BY visitor_id
),

landings AS (
    -- The touches of the sessions that started in the period or the day before: only for a breakdown by
    -- lever, campaign or broker (for the others this reads nothing).
    SELECT session_id, lever, campaign, broker_id
    FROM parcours.touches(from = {touches_from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE {by:String} IN ('lever', 'campaign', 'broker')
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
                   {property:String} != '', property_values.value, '') AS segment
    FROM first_sessions
    LEFT JOIN landings ON landings.session_id = first_sessions.session_id
    LEFT JOIN property_values ON property_values.visitor_id = first_sessions.visitor_id
),

segment_list AS (
    -- Every segment, and without a breakdown the one line of the whole funnel (even with no visitor).
    SELECT DISTINCT segment FROM (SELECT segment FROM segments UNION ALL SELECT '' AS segment WHERE {by:String} = '')
),

funnel_rows AS (
    SELECT row.position AS position, row.step_index AS step_index, row.step AS step, row.label AS label,
           row.optional AS optional, row.chain AS chain, row.level AS level, row.previous AS previous
    FROM (SELECT arrayJoin({rows:Array(Tuple(position UInt8, step_index UInt16, step String, label String,
                                            optional Bool, chain UInt8, level UInt8, previous UInt8))}) AS row)
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

reached AS (
    -- Per segment and line: the visitors whose chain got at least as far as the line's level.
    SELECT segments.segment AS segment, position, countIf(levels.level >= funnel_rows.level) AS visitors
    FROM levels
    INNER JOIN segments ON segments.visitor_id = levels.visitor_id
    INNER JOIN funnel_rows ON funnel_rows.chain = levels.chain_number
    GROUP BY segment, position
),

step_events AS (
    -- Each form_step and form_submit once.
    SELECT event_id, any(code) AS code, any(visitor_id) AS visitor_id, any(step_elapsed_ms) AS elapsed_ms
    FROM form_events
    WHERE event != 'form_abandon'
    GROUP BY event_id
),

per_step AS (
    -- Completions (distinct events: the submit's are the leads) and the time spent on each step:
    -- step_elapsed_ms, the time since the previous step of the page (or since it loaded).
    SELECT segments.segment AS segment, code, count() AS completions,
           quantileExact(0.5)(elapsed_ms) / 1000 AS median_seconds,
           quantileExact(0.9)(elapsed_ms) / 1000 AS p90_seconds
    FROM step_events
    INNER JOIN segments ON segments.visitor_id = step_events.visitor_id
    GROUP BY segment, code
),

abandons AS (
    -- Sessions that left the form without submitting it, at the step of their last form_abandon.
    SELECT segments.segment AS segment, last_step AS code, count() AS abandons
    FROM (
        SELECT session_id, any(visitor_id) AS visitor_id,
               argMaxIf(step_index, ts, event = 'form_abandon') AS last_step,
               countIf(event = 'form_abandon') > 0 AS left_form,
               countIf(event = 'form_submit') > 0 AS submitted
        FROM form_events
        GROUP BY session_id
    ) AS sessions
    INNER JOIN segments ON segments.visitor_id = sessions.visitor_id
    WHERE left_form AND NOT submitted AND last_step != 0
    GROUP BY segment, code
)

SELECT
    segment_list.segment AS segment,
    funnel_rows.step_index AS step_index,
    funnel_rows.step AS step,
    funnel_rows.label AS label,
    funnel_rows.optional AS optional,
    reached.visitors AS visitors,
    per_step.completions AS completions,
    if(first.visitors = 0, NULL, reached.visitors / first.visitors) AS from_first,
    if(funnel_rows.previous = 0 OR prior.visitors = 0, NULL, reached.visitors / prior.visitors) AS from_previous,
    if(funnel_rows.previous = 0, NULL, toInt64(prior.visitors) - reached.visitors) AS drop_off,
    abandons.abandons AS abandons,
    if(funnel_rows.step_index = 0 OR per_step.completions = 0, NULL, per_step.median_seconds) AS median_seconds,
    if(funnel_rows.step_index = 0 OR per_step.completions = 0, NULL, per_step.p90_seconds) AS p90_seconds
FROM segment_list
CROSS JOIN funnel_rows
LEFT JOIN reached ON reached.segment = segment_list.segment AND reached.position = funnel_rows.position
LEFT JOIN reached AS prior ON prior.segment = segment_list.segment AND prior.position = funnel_rows.previous
LEFT JOIN reached AS first ON first.segment = segment_list.segment AND first.position = 1
LEFT JOIN per_step ON per_step.segment = segment_list.segment AND per_step.code = funnel_rows.step_index
LEFT JOIN abandons ON abandons.segment = segment_list.segment AND abandons.code = funnel_rows.step_index
ORDER BY first.visitors DESC, segment, funnel_rows.position
