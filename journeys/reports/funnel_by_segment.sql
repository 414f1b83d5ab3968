    -- The funnel's counts per segment (funnel.sql), for a breakdown or a filter, from each visitor's row per
    -- chain: the visitors per level reached, and in chain 1's rows their step events with their times and
    -- the sessions they left the form at a step, each figure per step index from 0 to 1,023 (-Resample, as in
    -- funnel_whole; -Array: over each visitor's array). The runner leaves this branch out when the report has
    -- neither.
    UNION ALL
    SELECT segment, fact.1 AS kind, fact.2 AS code, fact.3 AS level, fact.4 AS n, fact.5 AS seconds
    FROM (
        SELECT segment, chain_number,
               countIfResample(0, 33, 1)(stepped, reached) AS levels,
               countResampleArray(0, 1024, 1)(arrayMap(s -> s.1, steps)) AS step_counts,
               quantilesExactInclusiveResampleArray(0.5, 0.9, 0, 1024, 1)(arrayMap(s -> s.2, steps),
                                                                        arrayMap(s -> s.1, steps)) AS times,
               countResampleArray(0, 1024, 1)(left_steps) AS abandons
        FROM segmented
        WHERE NOT ({by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
          AND kept
        GROUP BY segment, chain_number
    )
    ARRAY JOIN arrayConcat(
        arrayMap((n, i) -> ('level', toUInt16(chain_number), toUInt8(i - 1), n, [0., 0.]), levels, arrayEnumerate(levels)),
        arrayMap((n, q, i) -> ('step', toUInt16(i - 1), toUInt8(0), n, q), step_counts, times, arrayEnumerate(step_counts)),
        arrayMap((n, i) -> ('abandon', toUInt16(i - 1), toUInt8(0), n, [0., 0.]), abandons, arrayEnumerate(abandons))) AS fact
    WHERE fact.4 > 0
