-- The funnel's segments (funnel.sql), for a breakdown or a filter: each visitor's row per chain (levels) with the
-- segment of the session where they started the form. The runner leaves this out when the report has neither.
landings AS (
    -- The touches of the sessions that started in the period or the day before: only for a breakdown by
    -- lever, campaign or broker, or such a filter (for the others, touches_to is touches_from: nothing).
    SELECT session_id, lever, campaign, broker_id
    FROM parcours.touches(from = {touches_from:DateTime64(3, 'UTC')}, to = {touches_to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE {by:String} IN ('lever', 'campaign', 'broker') OR {lever:String} != '' OR {campaign:String} != ''
       OR {broker:String} != ''
),

property_values AS (
    -- For a breakdown by a property of the plan (an A/B variant): its first value among the visitor's
    -- events of the period. A property sent as null or "" (a page's unset or empty variable) is no value, as the
    -- collector reads it (tagplan/validators.py: neither is checked against the property's type).
    SELECT visitor_id, argMin(value, ts) AS value
    FROM (
        SELECT visitor_id, ts,
               if(JSONType(properties, {property:String}) = 'String', JSONExtractString(properties, {property:String}),
                  JSONExtractRaw(properties, {property:String})) AS value
        FROM parcours.events
        WHERE {property:String} != '' AND properties != '{}' AND JSONHas(properties, {property:String})
          AND JSONType(properties, {property:String}) != 'Null'
          AND JSONExtractRaw(properties, {property:String}) != '""'
          AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')} AND NOT is_bot
    )
    GROUP BY visitor_id
),

segmented AS (
    SELECT levels.chain_number AS chain_number, levels.level AS reached,
           levels.stepped AS stepped, levels.steps AS steps, levels.left_steps AS left_steps,
           multiIf({by:String} = 'lever', landings.lever, {by:String} = 'campaign', landings.campaign,
                   {by:String} = 'broker', landings.broker_id, {by:String} = 'device', levels.first_device,
                   {property:String} != '', property_values.value, '') AS segment,
           ({lever:String} = '' OR landings.lever = {lever:String})
           AND ({campaign:String} = '' OR landings.campaign = {campaign:String})
           AND ({broker:String} = '' OR landings.broker_id = {broker:String})
           AND ({device:String} = '' OR levels.first_device = {device:String}) AS kept
    FROM levels
    LEFT JOIN landings ON landings.session_id = levels.first_session
    LEFT JOIN property_values ON property_values.visitor_id = levels.visitor_id
)
