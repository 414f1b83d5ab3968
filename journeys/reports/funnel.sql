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
-- The last closing run that kept form sessions (journeys/closing.py): the form events before its closed_before
-- are read from parcours.closed_form_sessions, a row per form session, except those of the sessions with a
-- form event stored since its late_after (late); every other one from parcours.events. No run yet: all of them.
(SELECT (count() > 0, max(closed_before), max(late_after)) FROM parcours.touches_runs WHERE forms = 1) AS last_run,
if(last_run.1, last_run.2, toDateTime64(0, 3, 'UTC')) AS kept_before,

-- The late sessions, once per query (a list looked up by a hash table: `transform`): their form events stored
-- since the run's late_after, the first of them before its closed_before.
(SELECT groupUniqArray(session_id)
 FROM parcours.events
 WHERE event IN ('form_step', 'form_submit', 'form_abandon') AND form_id = {form:String}
   AND inserted_at >= last_run.3 AND ts < kept_before) AS late_sessions,

live_events AS (
    -- The form's events in the period that no run kept, each once: a retried event may be stored twice
    -- until ClickHouse merges it.
    SELECT event_id, any(event) AS event, any(visitor_id) AS visitor_id, any(session_id) AS session_id,
           any(ts) AS ts, any(step_index) AS step_index, any(step_elapsed_ms) AS step_elapsed_ms,
           any(device_type) AS device_type
    FROM (
        -- Two reads each pruned to nothing when it has nothing to read (the first before any run, every form
        -- event: no run kept one): the events from kept_before on, and before it those of the late sessions.
        SELECT event_id, event, visitor_id, session_id, ts, step_index, step_elapsed_ms, device_type
        FROM parcours.events
        WHERE event IN ('form_step', 'form_submit', 'form_abandon') AND form_id = {form:String}
          AND ts >= greatest({from:DateTime64(3, 'UTC')}, kept_before) AND ts < {to:DateTime64(3, 'UTC')}
          AND NOT is_bot
        UNION ALL
        SELECT event_id, event, visitor_id, session_id, ts, step_index, step_elapsed_ms, device_type
        FROM parcours.events
        WHERE event IN ('form_step', 'form_submit', 'form_abandon') AND form_id = {form:String}
          AND ts >= {from:DateTime64(3, 'UTC')} AND ts < least({to:DateTime64(3, 'UTC')}, kept_before)
          AND NOT is_bot
          AND notEmpty(late_sessions)
          AND transform(session_id, late_sessions, arrayMap(s -> true, late_sessions), false)
    )
    GROUP BY event_id
),

-- The sessions that may have several rows below, once per query: those of the kept rows marked partial, and
-- those with events not kept.
(SELECT groupUniqArray(session_id)
 FROM (SELECT session_id FROM parcours.closed_form_sessions
       WHERE form_id = {form:String} AND partial
         AND first_ts < {to:DateTime64(3, 'UTC')} AND last_ts >= {from:DateTime64(3, 'UTC')}
       UNION ALL
       SELECT session_id FROM live_events)) AS split_sessions,

form_sessions AS (
    -- Per form session, its events in the period, bots left out, each once, by time: its steps (times, step
    -- index or 0 for the submit, ms on the step) and its abandons (times, step index). A session has a row
    -- per closing run that kept some of its events (one crossing a run's closed_before, two) and one for the
    -- others: every figure below adds them up per visitor, per event or per session. A kept row wholly in
    -- the period is read as it is (its arrays not filtered: a seventh less CPU than an `if` on each).
    SELECT session_id, visitor_id, device_type,
           notEmpty(split_sessions) AND transform(session_id, split_sessions, arrayMap(s -> true, split_sessions), false) AS split,
           step_ts AS times, step_codes AS codes, step_ms AS elapsed, abandon_ts AS abandon_times,
           abandon_steps AS abandon_codes
    FROM parcours.closed_form_sessions
    WHERE form_id = {form:String}
      AND first_ts < {to:DateTime64(3, 'UTC')} AND last_ts >= {from:DateTime64(3, 'UTC')}
      AND closed_before <= kept_before
      AND NOT (notEmpty(late_sessions) AND transform(session_id, late_sessions, arrayMap(s -> true, late_sessions), false))
      AND first_ts >= {from:DateTime64(3, 'UTC')} AND last_ts < {to:DateTime64(3, 'UTC')}
    UNION ALL
    -- A kept row that crosses a bound of the period: its events in the period only.
    SELECT session_id, visitor_id, device_type,
           notEmpty(split_sessions) AND transform(session_id, split_sessions, arrayMap(s -> true, split_sessions), false) AS split,
           arrayFilter(t -> t >= {from:DateTime64(3, 'UTC')} AND t < {to:DateTime64(3, 'UTC')}, step_ts) AS times,
           arrayFilter((c, t) -> t >= {from:DateTime64(3, 'UTC')} AND t < {to:DateTime64(3, 'UTC')}, step_codes, step_ts) AS codes,
           arrayFilter((e, t) -> t >= {from:DateTime64(3, 'UTC')} AND t < {to:DateTime64(3, 'UTC')}, step_ms, step_ts) AS elapsed,
           arrayFilter(t -> t >= {from:DateTime64(3, 'UTC')} AND t < {to:DateTime64(3, 'UTC')}, abandon_ts) AS abandon_times,
           arrayFilter((c, t) -> t >= {from:DateTime64(3, 'UTC')} AND t < {to:DateTime64(3, 'UTC')}, abandon_steps, abandon_ts) AS abandon_codes
    FROM parcours.closed_form_sessions
    WHERE form_id = {form:String}
      AND first_ts < {to:DateTime64(3, 'UTC')} AND last_ts >= {from:DateTime64(3, 'UTC')}
      AND closed_before <= kept_before
      AND NOT (notEmpty(late_sessions) AND transform(session_id, late_sessions, arrayMap(s -> true, late_sessions), false))
      AND NOT (first_ts >= {from:DateTime64(3, 'UTC')} AND last_ts < {to:DateTime64(3, 'UTC')})
    UNION ALL
    SELECT session_id, visitor_id, device_type, true AS split,
           arrayMap(s -> s.1, steps) AS times, arrayMap(s -> s.2, steps) AS codes, arrayMap(s -> s.3, steps) AS elapsed,
           arrayMap(a -> a.1, abandons) AS abandon_times, arrayMap(a -> a.2, abandons) AS abandon_codes
    FROM (
        SELECT session_id, visitor_id, argMin(device_type, ts) AS device_type,
               arraySort(groupArrayIf((ts, if(event = 'form_submit', 0, step_index), step_elapsed_ms),
                                      event != 'form_abandon')) AS steps,
               arraySort(groupArrayIf((ts, step_index), event = 'form_abandon')) AS abandons
        FROM live_events
        GROUP BY session_id, visitor_id
    )
),

funnel_rows AS (
    SELECT row.position AS position, row.step_index AS step_index, row.step AS step, row.label AS label,
           row.optional AS optional, row.chain AS chain, row.level AS level, row.previous AS previous,
           row.previous_chain AS previous_chain, row.previous_level AS previous_level
    FROM (SELECT arrayJoin({rows:Array(Tuple(position UInt16, step_index UInt16, step String, label String,
                                            optional Bool, chain UInt16, level UInt8, previous UInt16,
                                            previous_chain UInt16, previous_level UInt8))}) AS row)
),

split_left_sessions AS (
    -- The sessions with several rows that left the form without submitting it, at the step of their last
    -- form_abandon, their rows added up. (split_sessions empty, a period before the last closing run: nothing
    -- read.)
    SELECT session_id, any(visitor_id) AS visitor_id,
           argMaxIf(abandon_codes[-1], abandon_times[-1], notEmpty(abandon_codes)) AS last_step
    FROM form_sessions
    WHERE notEmpty(split_sessions) AND split AND (notEmpty(abandon_codes) OR has(codes, 0))
    GROUP BY session_id
    HAVING max(notEmpty(abandon_codes)) AND NOT max(has(codes, 0)) AND last_step != 0
),

levels AS (
    -- Per visitor and chain: how many of the chain's steps were completed in order within the window.
    -- windowFunnel takes one condition per step: a chain has at most 32 (ClickHouse's limit). An event's
    -- place in the chain (indexOf: 0 when it is not in it) is found once, not compared with 32 elements.
    -- The collector runs this with the conditions up to the longest chain's length only (the same levels).
    -- For a breakdown or a filter (funnel_segments), in chain 1's row, the visitor's other facts gathered in
    -- the same pass: the session where they started the form (its first step or abandon) and its device,
    -- their steps (step, ms on it), and the step each of their sessions left the form at (as in
    -- left_sessions); without one, ClickHouse computes none of them (a subquery's columns nobody reads).
    -- The rows read: each step event, and for a breakdown or a filter, the abandons (funnel_segment_rows).
    SELECT visitor_id, chain_number,
           windowFunnel({window_ms:UInt64})(toUInt64(toUnixTimestamp64Milli(ts)),
               (indexOf(chain, code) AS place) = 1, place = 2, place = 3, place = 4,
               place = 5, place = 6, place = 7, place = 8,
               place = 9, place = 10, place = 11, place = 12,
               place = 13, place = 14, place = 15, place = 16,
               place = 17, place = 18, place = 19, place = 20,
               place = 21, place = 22, place = 23, place = 24,
               place = 25, place = 26, place = 27, place = 28,
               place = 29, place = 30, place = 31, place = 32) AS level,
           max(is_step) AS stepped,
           argMin(session_id, ts) AS first_session,
           argMin(device_type, ts) AS first_device,
           groupArrayIf((code, elapsed_ms), is_step AND chain_number = 1) AS steps,
           groupArrayIf(left_step, left_step != 0 AND chain_number = 1) AS left_steps
    FROM (
        SELECT visitor_id, session_id, toString(device_type) AS device_type, ts, code, elapsed_ms,
               true AS is_step, toUInt16(0) AS left_step
        FROM form_sessions
        ARRAY JOIN times AS ts, codes AS code, elapsed AS elapsed_ms
{funnel_segment_rows}
    )
    ARRAY JOIN {chains:Array(Array(UInt16))} AS chain,
               arrayEnumerate({chains:Array(Array(UInt16))}) AS chain_number
    GROUP BY visitor_id, chain_number
),

{funnel_segments},

counts AS (
    -- Per segment: visitors per chain and level reached; per step, its events and their times; abandons.
    -- Without a breakdown, the whole funnel has its lines even with no visitor at all.
    SELECT '' AS segment, 'none' AS kind, 0 AS code, 0 AS level, 0 AS n, [0, 0] AS seconds WHERE {by:String} = ''
{funnel_whole}
{funnel_by_segment}
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
