-- The funnel's segments (funnel.sql), for a breakdown or a filter: each visitor's segment, and every fact of
-- theirs in one shape to be joined to it. The runner leaves this out when the report has neither.
first_sessions AS (
    -- For a breakdown: each visitor's first session in the form, and its device (without one, none).
    SELECT visitor_id, argMin(session_id, first) AS session_id, argMin(toString(device_type), first) AS device_type
    FROM (SELECT visitor_id, session_id, device_type,
                 least(if(empty(times), toDateTime64('2299-12-31', 3, 'UTC'), times[1]),
                       if(empty(abandon_times), toDateTime64('2299-12-31', 3, 'UTC'), abandon_times[1])) AS first
          FROM form_sessions
          WHERE notEmpty(times) OR notEmpty(abandon_times))
    WHERE {by:String} != '' OR NOT ({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
    GROUP BY visitor_id
),

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
    -- events of the period.
    SELECT visitor_id, argMin(value, ts) AS value
    FROM (
        SELECT visitor_id, ts,
               if(JSONType(properties, {property:String}) = 'String', JSONExtractString(properties, {property:String}),
                  JSONExtractRaw(properties, {property:String})) AS value
        FROM parcours.events
        WHERE {property:String} != '' AND properties != '{}' AND JSONHas(properties, {property:String})
          AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')} AND NOT is_bot
    )
    GROUP BY visitor_id
),

segments AS (
    SELECT first_sessions.visitor_id AS visitor_id,
           multiIf({by:String} = 'lever', landings.lever, {by:String} = 'campaign', landings.campaign,
                   {by:String} = 'broker', landings.broker_id, {by:String} = 'device', first_sessions.device_type,
                   {property:String} != '', property_values.value, '') AS segment,
           ({lever:String} = '' OR landings.lever = {lever:String})
           AND ({campaign:String} = '' OR landings.campaign = {campaign:String})
           AND ({broker:String} = '' OR landings.broker_id = {broker:String})
           AND ({device:String} = '' OR first_sessions.device_type = {device:String}) AS kept
    FROM first_sessions
    LEFT JOIN landings ON landings.session_id = first_sessions.session_id
    LEFT JOIN property_values ON property_values.visitor_id = first_sessions.visitor_id
),

all_facts AS (
    -- With a breakdown or a filter, every fact of a visitor in one shape, to be joined to their segment:
    -- ('level', chain, level reached), ('step', step, time on it) per event, ('abandon', step, 0) per session.
    SELECT 'level' AS kind, visitor_id, chain_number AS code, level AS value FROM levels
    UNION ALL
    SELECT 'step' AS kind, visitor_id, code, elapsed_ms AS value FROM step_events
    UNION ALL
    SELECT 'abandon' AS kind, visitor_id, last_step AS code, 0 AS value FROM left_sessions
)
