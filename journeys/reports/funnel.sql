-- Funnel of one form: for each step in the plan's order, then the submit, the visitors who completed it
-- after completing every required (non-optional) earlier step, in order, each such chain within
-- {window_ms} milliseconds of its first step. Events of bots are left out.
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
    SELECT event_id, event, visitor_id, session_id, ts, step_index, step_elapsed_ms,
           if(event = 'form_submit', 0, step_index) AS code
    FROM parcours.events
    WHERE event IN ('form_step', 'form_submit', 'form_abandon')
      AND form_id = {form:String}
      AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
      AND NOT is_bot
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
    -- Per line: the visitors whose chain got at least as far as the line's level.
    SELECT position, countIf(levels.level >= funnel_rows.level) AS visitors
    FROM funnel_rows
    INNER JOIN levels ON levels.chain_number = funnel_rows.chain
    GROUP BY position
),

step_events AS (
    -- Each form_step and form_submit once.
    SELECT event_id, any(code) AS code, any(step_elapsed_ms) AS elapsed_ms
    FROM form_events
    WHERE event != 'form_abandon'
    GROUP BY event_id
),

per_step AS (
    -- Completions (distinct events: the submit's are the leads) and the time spent on each step:
    -- step_elapsed_ms, the time since the previous step of the page (or since it loaded).
    SELECT code, count() AS completions,
           quantileExact(0.5)(elapsed_ms) / 1000 AS median_seconds,
           quantileExact(0.9)(elapsed_ms) / 1000 AS p90_seconds
    FROM step_events
    GROUP BY code
),

abandons AS (
    -- Sessions that left the form without submitting it, at the step of their last form_abandon.
    SELECT last_step AS code, count() AS abandons
    FROM (
        SELECT session_id,
               argMaxIf(step_index, ts, event = 'form_abandon') AS last_step,
               countIf(event = 'form_abandon') > 0 AS left_form,
               countIf(event = 'form_submit') > 0 AS submitted
        FROM form_events
        GROUP BY session_id
    )
    WHERE left_form AND NOT submitted AND last_step != 0
    GROUP BY code
)

SELECT
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
FROM funnel_rows
LEFT JOIN reached ON reached.position = funnel_rows.position
LEFT JOIN reached AS prior ON prior.position = funnel_rows.previous
CROSS JOIN (SELECT sum(visitors) AS visitors FROM reached WHERE position = 1) AS first
LEFT JOIN per_step ON per_step.code = funnel_rows.step_index
LEFT JOIN abandons ON abandons.code = funnel_rows.step_index
ORDER BY funnel_rows.position
