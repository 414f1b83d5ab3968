    -- Each broker's name and lever: the latest row of parcours.brokers per broker_id, whatever the filters
    -- (also run alone, for the brokers the model credits that the traffic and signed sales left out).
    SELECT broker_id, argMax(name, updated_at) AS name, argMax(lever, updated_at) AS lever
    FROM parcours.brokers
    GROUP BY broker_id
