-- Calls matched to journeys: each call that started in [from, to), with what it matched and how. The body
-- of the parameterized view parcours.call_matches (`SELECT * FROM parcours.call_matches(from = …, to = …)`),
-- created by a migration from this file: a change here needs a migration that replaces the view.
--
-- 1. By lease: the session that held the dialled number when the call started, from its lease to the end
--    of its grace period (number_leases.grace_until). One visitor held it: matched_by = 'lease'.
-- 2. Else by the caller's phone: the person whose phone key it is (person_keys): matched_by = 'caller_phone'.
-- 3. Else, for a call the call centre made (the number called is not one of the plan's: a call-back), by
--    the phone it called: matched_by = 'callee_phone'.
-- 4. Else unmatched, and `reason` says why: 'ambiguous_lease' (several visitors held the number then),
--    'ambiguous_phone' (the caller's or callee's phone is shared by too many visitors to be one person's),
--    'callee_not_seen' (a call made to a phone never left online), 'anonymous_caller' (no caller number, or
--    an unreadable one), 'phone_not_seen' (never left online).
-- Parameters: {from:DateTime64(3, 'UTC')}, {to:DateTime64(3, 'UTC')}.
WITH
calls AS (
    SELECT call_id, start, answered_at, billsec, disposition, agent, dialled, dialled_key, caller, caller_key, source
    FROM {db}.calls FINAL
    WHERE start >= {from:DateTime64(3, 'UTC')} AND start < {to:DateTime64(3, 'UTC')}
),
leases AS (
    -- Each lease of a dialled number: its latest renewal says until when it held the number.
    SELECT
        lease_id,
        any(number) AS leased_number,
        any(visitor_id) AS visitor_id,
        any(session_id) AS session_id,
        min(started_at) AS started_at,
        max(grace_until) AS grace_until
    FROM {db}.number_leases AS rows
    -- Only the rows that can hold a call of the period: a lease's latest grace_until is its largest.
    WHERE rows.number GLOBAL IN (SELECT dialled FROM calls)
      AND rows.started_at < {to:DateTime64(3, 'UTC')} AND rows.grace_until >= {from:DateTime64(3, 'UTC')}
    GROUP BY lease_id
),
held AS (
    SELECT
        c.call_id AS call_id,
        uniqExact(l.visitor_id) AS visitors,
        argMax(l.visitor_id, l.started_at) AS visitor_id,
        argMax(l.session_id, l.started_at) AS session_id,
        argMax(l.lease_id, l.started_at) AS lease_id
    FROM calls AS c
    INNER JOIN leases AS l ON l.leased_number = c.dialled
    WHERE c.start >= l.started_at AND c.start <= l.grace_until
    GROUP BY c.call_id
),
phones AS (
    SELECT key AS caller_key, argMax(person_id, updated_at) AS person_id
    FROM {db}.person_keys
    WHERE key_type = 'phone' AND key GLOBAL IN (SELECT caller_key FROM calls WHERE caller_key != '')
    GROUP BY key
),
callees AS (
    SELECT key AS dialled_key, argMax(person_id, updated_at) AS person_id
    FROM {db}.person_keys
    WHERE key_type = 'phone' AND key GLOBAL IN (SELECT dialled_key FROM calls WHERE dialled_key != '')
    GROUP BY key
),
hot_phones AS (
    SELECT key AS caller_key FROM {db}.identity_hot_keys FINAL WHERE key_type = 'phone'
),
visitors AS (
    SELECT key AS visitor_id, argMax(person_id, updated_at) AS person_id
    FROM {db}.person_keys
    WHERE key_type = 'visitor' AND key GLOBAL IN (SELECT visitor_id FROM held)
    GROUP BY key
)
SELECT
    c.call_id AS call_id,
    c.start AS start,
    c.dialled AS dialled,
    c.caller AS caller,
    c.disposition AS disposition,
    c.billsec AS billsec,
    c.agent AS agent,
    c.source AS source,
    multiIf(h.visitors = 1, 'lease', p.person_id != '', 'caller_phone', e.person_id != '', 'callee_phone', '')
        AS matched_by,
    multiIf(matched_by != '', '',
            h.visitors > 1, 'ambiguous_lease',
            c.caller_key GLOBAL IN (SELECT caller_key FROM hot_phones)
                OR c.dialled_key GLOBAL IN (SELECT caller_key FROM hot_phones), 'ambiguous_phone',
            c.dialled_key != '', 'callee_not_seen',
            c.caller != 'number', 'anonymous_caller',
            'phone_not_seen') AS reason,
    if(matched_by = 'lease', h.visitor_id, '') AS visitor_id,
    if(matched_by = 'lease', h.session_id, '') AS session_id,
    if(matched_by = 'lease', h.lease_id, '') AS lease_id,
    multiIf(matched_by = 'lease', v.person_id, matched_by = 'caller_phone', p.person_id,
            matched_by = 'callee_phone', e.person_id, '') AS person_id,
    c.caller_key AS caller_key,
    c.dialled_key AS dialled_key
FROM calls AS c
LEFT JOIN held AS h ON h.call_id = c.call_id
LEFT JOIN phones AS p ON p.caller_key = c.caller_key
LEFT JOIN callees AS e ON e.dialled_key = c.dialled_key
LEFT JOIN visitors AS v ON v.visitor_id = h.visitor_id
