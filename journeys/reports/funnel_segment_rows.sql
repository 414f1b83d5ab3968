    -- The rows the funnel's levels read besides the step events, for a breakdown or a filter only (funnel.sql;
    -- the runner leaves them out otherwise): a row per form session with abandons, at its first abandon (a
    -- step no chain holds: windowFunnel passes it by), with the step it left at when the row is the whole
    -- session; and the sessions with several rows, their rows added up (split_left_sessions).
        UNION ALL
        SELECT visitor_id, session_id, toString(device_type) AS device_type, abandon_times[1] AS ts,
               toUInt16(65535) AS code, toUInt32(0) AS elapsed_ms, false AS is_step,
               if(NOT split AND NOT has(codes, 0), abandon_codes[-1], 0) AS left_step
        FROM form_sessions
        WHERE notEmpty(abandon_codes)
        UNION ALL
        SELECT visitor_id, session_id, '' AS device_type, toDateTime64('2299-12-31', 3, 'UTC') AS ts,
               toUInt16(65535) AS code, toUInt32(0) AS elapsed_ms, false AS is_step, last_step AS left_step
        FROM split_left_sessions
