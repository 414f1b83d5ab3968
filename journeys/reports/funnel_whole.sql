    -- The funnel's counts without a breakdown or a filter (funnel.sql; the runner leaves this out with one):
    -- each kind counted on its own, no visitor carried, neither a join with nothing nor a union of every fact
    -- (3.5 million rows on 10 million events).
    UNION ALL
    SELECT '' AS segment, 'level' AS kind, chain_number AS code, level, count() AS n, [0, 0] AS seconds
    FROM levels
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
      AND stepped
    GROUP BY chain_number, level
    UNION ALL
    -- The steps and the abandons in one read of the form sessions, each figure per step index from 0 (the
    -- submit) to 1,023 (the -Resample combinator: an aggregate per value of its last argument): the step
    -- events and their times (-Array: over each element of the session's arrays), and the sessions with a
    -- single row that left the form without submitting it, at the step of their last form_abandon.
    SELECT '' AS segment, fact.1 AS kind, fact.2 AS code, 0 AS level, fact.3 AS n, fact.4 AS seconds
    FROM (
        SELECT countResampleArray(0, 1024, 1)(codes) AS steps,
               quantilesExactInclusiveResampleArray(0.5, 0.9, 0, 1024, 1)(elapsed, codes) AS times,
               countIfResample(0, 1024, 1)(NOT split AND notEmpty(abandon_codes) AND NOT has(codes, 0),
                                           abandon_codes[-1]) AS abandons
        FROM form_sessions
        WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
    )
    ARRAY JOIN arrayConcat(
        arrayMap((n, q, i) -> ('step', toUInt16(i - 1), n, q), steps, times, arrayEnumerate(steps)),
        arrayMap((n, i) -> ('abandon', toUInt16(i - 1), n, [0., 0.]), abandons, arrayEnumerate(abandons))) AS fact
    WHERE fact.3 > 0
    UNION ALL
    -- The sessions with several rows that left the form at a step, their rows added up.
    SELECT '' AS segment, 'abandon' AS kind, last_step AS code, 0 AS level, count() AS n, [0, 0] AS seconds
    FROM split_left_sessions
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
    GROUP BY last_step
