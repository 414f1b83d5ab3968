-- Calls as touches of their person's journey (channel 'phone'): what the attribution paths read beside the
-- visits' touches (journeys/reports/conversion_paths.sql), so a contract signed after a call is credited
-- through it. One row per matched call that was answered (a missed or busy call is no contact), dated at
-- the call's start. The body of the parameterized view parcours.call_touches
-- (`SELECT * FROM parcours.call_touches(from = …, to = …, call_lever = …, referrer_rules = […])`), created
-- by a migration from this file: a change here needs a migration that replaces the view
-- (callcentre/migrations.py; the body a released migration created stays in callcentre/released/).
--
-- Its lever, campaign, broker and device: for a call matched by lease, those of the touch of the session
-- that held the number (parcours.touches: the lever of its own landing), since the visitor called the number
-- that visit showed; for a call matched by the caller's or callee's phone (a call-back included), the
-- plan's call_centre.lever ({call_lever:String}: 'direct' when the plan names none) and no campaign, broker
-- or device. The calls are parcours.call_matches (callcentre/calls.sql); referrer_rules as parcours.touches.
WITH
matched AS (
    SELECT call_id, start, matched_by, person_id, visitor_id, session_id
    FROM {db}.call_matches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')})
    WHERE matched_by != '' AND disposition = 'ANSWERED'
),
leased AS (
    -- The sessions that held a number called in the period: those of the calls matched by lease among them
    -- (the join below picks each call's), read from the leases rather than from `matched`, which each
    -- reference would compute again.
    SELECT session_id, started_at
    FROM {db}.number_leases
    WHERE number GLOBAL IN (SELECT dialled FROM {db}.calls FINAL
                            WHERE start >= {from:DateTime64(3, 'UTC')} AND start < {to:DateTime64(3, 'UTC')})
      AND started_at < {to:DateTime64(3, 'UTC')} AND grace_until >= {from:DateTime64(3, 'UTC')}
),
landings AS (
    -- The touch of each such session; a lease ends at most two days after it started (hold and grace,
    -- 1,440 minutes each), hence a window from three days before the first lease (or before the period),
    -- and none at all without a lease.
    SELECT session_id, lever, campaign, broker_id, device_type
    FROM {db}.touches(from = (SELECT if(count() = 0, {to:DateTime64(3, 'UTC')},
                                        greatest(min(started_at), {from:DateTime64(3, 'UTC')}) - INTERVAL 3 DAY)
                              FROM leased),
                      to = {to:DateTime64(3, 'UTC')},
                      referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE session_id GLOBAL IN (SELECT session_id FROM leased)
)
SELECT
    m.person_id AS person_id,
    m.visitor_id AS visitor_id,
    m.start AS at,
    'phone' AS channel,
    if(m.matched_by = 'lease' AND l.lever != '', l.lever, {call_lever:String}) AS lever,
    if(m.matched_by = 'lease', l.campaign, '') AS campaign,
    if(m.matched_by = 'lease', l.broker_id, '') AS broker_id,
    if(m.matched_by = 'lease', l.device_type, '') AS device_type,
    m.call_id AS call_id,
    m.matched_by AS matched_by
FROM matched AS m
LEFT JOIN landings AS l ON l.session_id = m.session_id
