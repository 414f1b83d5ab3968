        -- The answered calls matched to a journey (parcours.call_touches). The runner leaves this branch out
        -- when no call started in [touches_from, to): the view costs a fixed ~0.2 s to plan, calls or not.
        UNION ALL
        SELECT person_id, visitor_id, at, lever, campaign, broker_id, device_type
        FROM parcours.call_touches(from = {touches_from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                                   call_lever = {call_lever:String},
                                   referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
