    -- The funnel's counts without a breakdown or a filter (funnel.sql; the runner leaves this out with one):
    -- each kind counted on its own, no visitor carried, neither a join with nothing nor a union of every fact
    -- (3.5 million rows on 10 million events).
    UNION ALL
    -- The visitors per chain and level reached, as in levels but from each form session's arrays (windowFunnel's
    -- -Array combinator), not from a row per step event: a seventh less CPU. A step's place in the chain is
    -- looked up once per event (places); the collector keeps the conditions up to the longest chain's length.
    SELECT '' AS segment, 'level' AS kind, chain_number AS code, level, count() AS n, [0, 0] AS seconds
    FROM (
        SELECT visitor_id, chain_number,
               windowFunnelArray({window_ms:UInt64})(arrayMap(t -> toUInt64(toUnixTimestamp64Milli(t)), times),
                   arrayMap(place -> place = 1, places), arrayMap(place -> place = 2, places),
                   arrayMap(place -> place = 3, places), arrayMap(place -> place = 4, places),
                   arrayMap(place -> place = 5, places), arrayMap(place -> place = 6, places),
                   arrayMap(place -> place = 7, places), arrayMap(place -> place = 8, places),
                   arrayMap(place -> place = 9, places), arrayMap(place -> place = 10, places),
                   arrayMap(place -> place = 11, places), arrayMap(place -> place = 12, places),
                   arrayMap(place -> place = 13, places), arrayMap(place -> place = 14, places),
                   arrayMap(place -> place = 15, places), arrayMap(place -> place = 16, places),
                   arrayMap(place -> place = 17, places), arrayMap(place -> place = 18, places),
                   arrayMap(place -> place = 19, places), arrayMap(place -> place = 20, places),
                   arrayMap(place -> place = 21, places), arrayMap(place -> place = 22, places),
                   arrayMap(place -> place = 23, places), arrayMap(place -> place = 24, places),
                   arrayMap(place -> place = 25, places), arrayMap(place -> place = 26, places),
                   arrayMap(place -> place = 27, places), arrayMap(place -> place = 28, places),
                   arrayMap(place -> place = 29, places), arrayMap(place -> place = 30, places),
                   arrayMap(place -> place = 31, places), arrayMap(place -> place = 32, places)) AS level
        FROM (
            SELECT visitor_id, times, chain_number, arrayMap(code -> indexOf(chain, code), codes) AS places
            FROM form_sessions
            ARRAY JOIN {chains:Array(Array(UInt16))} AS chain,
                       arrayEnumerate({chains:Array(Array(UInt16))}) AS chain_number
            WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = ''
              AND {device:String} = '' AND notEmpty(codes)
        )
        GROUP BY visitor_id, chain_number
    )
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
