-- The rows a closing run writes into parcours.closed_form_sessions (journeys/closing.py): per form, session
-- and visitor, its form events before the run's closed_before ({hi}), bots left out, each event once (a
-- retried event stored twice until ClickHouse merges it counts once), its steps and its abandons sorted by
-- time, each field in an array of its own. The events read: those from the last run's closed_before ({lo})
-- on, and every one of the late form sessions (staged in {late}: a form event of theirs stored since the last
-- run's late_after), whose rows the run deleted first. A session crossing closed_before thus has a row per
-- run, each with its own events; the funnel (journeys/reports/funnel.sql) reads them together.
SELECT
    form_id, session_id, visitor_id, closed_before, first_ts, last_ts, device_type,
    -- Another row may hold events of the session: a row kept by an earlier run (the late sessions' were
    -- deleted), or its events from closed_before on, read from the events until a later run keeps them.
    (form_id, session_id) GLOBAL IN (SELECT form_id, session_id FROM {db}.closed_form_sessions)
    OR (form_id, session_id) GLOBAL IN (SELECT form_id, session_id FROM {db}.events
                                        WHERE event IN ('form_step', 'form_submit', 'form_abandon') AND NOT is_bot
                                          AND ts >= {hi:DateTime64(3, 'UTC')}) AS partial,
    arrayMap(s -> s.1, steps) AS step_ts,
    arrayMap(s -> s.2, steps) AS step_codes,
    arrayMap(s -> s.3, steps) AS step_ms,
    arrayMap(a -> a.1, abandons) AS abandon_ts,
    arrayMap(a -> a.2, abandons) AS abandon_steps
FROM (
    SELECT
        form_id,
        session_id,
        visitor_id,
        {hi:DateTime64(3, 'UTC')} AS closed_before,
        min(ts) AS first_ts,
        max(ts) AS last_ts,
        argMin(device_type, ts) AS device_type,
        arraySort(groupArrayIf((ts, if(event = 'form_submit', 0, step_index), step_elapsed_ms),
                               event != 'form_abandon')) AS steps,
        arraySort(groupArrayIf((ts, step_index), event = 'form_abandon')) AS abandons
    FROM (
        SELECT event_id, any(event) AS event, any(form_id) AS form_id, any(session_id) AS session_id,
               any(visitor_id) AS visitor_id, any(ts) AS ts, any(step_index) AS step_index,
               any(step_elapsed_ms) AS step_elapsed_ms, any(device_type) AS device_type
        FROM (
            SELECT event_id, event, form_id, session_id, visitor_id, ts, step_index, step_elapsed_ms, device_type
            FROM {db}.events
            WHERE event IN ('form_step', 'form_submit', 'form_abandon') AND NOT is_bot
              AND ts < {hi:DateTime64(3, 'UTC')}
              AND (ts >= {lo:DateTime64(3, 'UTC')}
                   OR (form_id, session_id) GLOBAL IN (SELECT form_id, session_id FROM {late}))
        )
        GROUP BY event_id
    )
    GROUP BY form_id, session_id, visitor_id
)
