-- Calls as touches of their person's journey (channel 'phone'): what the attribution paths add beside the
-- visits' touches, so a contract signed after a call is credited through it. One row per matched call
-- that was answered (a missed or busy call is no contact).
--
-- Its lever: for a call matched by lease, the lever of the session that held the number (the visit's
-- landing: the call goes on with that campaign); for a call matched by the caller's or callee's phone (a
-- call-back), the plan's call_centre.lever ({lever:String}, 'direct' when the plan names none).
-- The calls are callcentre/calls.sql (each call and what it matched), spliced in by calls.touches();
-- parameters: from and to as there.
WITH
matched AS (
    SELECT call_id, start, matched_by, person_id, visitor_id, session_id
    FROM ({calls})
    WHERE matched_by != '' AND disposition = 'ANSWERED'
),
landings AS (
    -- The landing of each session that held a number (its first touch event); a lease ends at most two
    -- days after it started (hold and grace, 1,440 minutes each), hence the window.
    SELECT session_id, argMin(lever, ts) AS lever, argMin(utm_campaign, ts) AS campaign,
           argMin(broker_id, ts) AS broker_id
    FROM {db}.events
    WHERE event = 'touch'
      AND ts >= {from:DateTime64(3, 'UTC')} - INTERVAL 3 DAY AND ts < {to:DateTime64(3, 'UTC')}
      AND session_id GLOBAL IN (SELECT session_id FROM matched WHERE matched_by = 'lease')
    GROUP BY session_id
)
SELECT
    m.person_id AS person_id,
    m.visitor_id AS visitor_id,
    m.start AS at,
    'phone' AS channel,
    if(m.matched_by = 'lease' AND l.lever != '', l.lever, {lever:String}) AS lever,
    if(m.matched_by = 'lease', l.campaign, '') AS campaign,
    if(m.matched_by = 'lease', l.broker_id, '') AS broker_id,
    m.call_id AS call_id,
    m.matched_by AS matched_by
FROM matched AS m
LEFT JOIN landings AS l ON l.session_id = m.session_id
ORDER BY at, call_id
