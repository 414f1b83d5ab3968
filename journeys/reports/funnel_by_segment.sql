    -- The funnel's counts per segment (funnel.sql), for a breakdown or a filter: the runner leaves this branch
    -- out when the report has neither.
    UNION ALL
    SELECT segments.segment AS segment, kind, code, if(kind = 'level', value, 0) AS level, count() AS n,
           quantilesExactIf(0.5, 0.9)(value, kind = 'step') AS seconds
    FROM all_facts
    JOIN segments ON segments.visitor_id = all_facts.visitor_id
    WHERE NOT ({by:String} = '' AND {lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
      AND segments.kept
    GROUP BY segment, kind, code, level
