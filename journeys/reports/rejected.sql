-- Events the tagging plan refused in the period, by reason and by the plan version that refused them:
-- how many events (a batch the tag sent twice stores its refused rows twice: each counts once), how many
-- have since been replayed into events (`parcours rejected replay`), when they were first and last seen,
-- and the latest one as received, personal data already removed by the collector. An event refused for
-- two reasons counts under each.
WITH
refused AS (
    SELECT event_id, raw, received_at, plan_version, reason
    FROM parcours.rejected_events
    ARRAY JOIN reasons AS reason
    WHERE received_at >= {from:DateTime64(3, 'UTC')} AND received_at < {to:DateTime64(3, 'UTC')}
),

replayed AS (
    SELECT DISTINCT event_id
    FROM parcours.rejected_replays
)

SELECT
    reason,
    plan_version,
    uniqExact(event_id, raw) AS events,
    -- GLOBAL: on a cluster both tables are Distributed; on one server it changes nothing.
    uniqExactIf((event_id, raw), event_id GLOBAL IN (SELECT event_id FROM replayed)) AS replayed,
    min(received_at) AS first_seen,
    max(received_at) AS last_seen,
    -- Its first 500 characters, … when cut (the whole of it: `parcours export --table rejected_events`).
    if(lengthUTF8(argMax(raw, received_at) AS last_raw) > 500, concat(leftUTF8(last_raw, 500), '…'), last_raw)
        AS example
FROM refused
GROUP BY reason, plan_version
ORDER BY events DESC, reason, plan_version
