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
    SELECT '' AS segment, 'step' AS kind, code, 0 AS level, count() AS n, quantilesExactInclusive(0.5, 0.9)(elapsed_ms) AS seconds
    FROM step_events
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
    GROUP BY code
    UNION ALL
    SELECT '' AS segment, 'abandon' AS kind, last_step AS code, 0 AS level, count() AS n, [0, 0] AS seconds
    FROM left_sessions
    WHERE {by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = ''
    GROUP BY last_step
