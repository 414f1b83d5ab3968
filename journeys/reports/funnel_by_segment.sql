    -- The funnel's counts per segment (funnel.sql), for a breakdown or a filter: each visitor's facts, read
    -- off their rows in one shape: ('level', chain, level reached) when they completed a step, ('step', step,
    -- ms on it) per step event, ('abandon', step, 0) per session left at a step. The runner leaves this
    -- branch out when the report has neither.
    UNION ALL
    SELECT segment, fact.1 AS kind, fact.2 AS code, fact.3 AS level, count() AS n,
           quantilesExactInclusiveIf(0.5, 0.9)(fact.4, kind = 'step') AS seconds
    FROM segmented
    ARRAY JOIN arrayConcat(if(stepped, [('level', toUInt16(chain_number), toUInt8(reached), toUInt32(0))], []),
                           arrayMap(s -> ('step', s.1, toUInt8(0), s.2), steps),
                           arrayMap(s -> ('abandon', s, toUInt8(0), toUInt32(0)), left_steps)) AS fact
    WHERE NOT ({by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
      AND kept
    GROUP BY segment, kind, code, level
