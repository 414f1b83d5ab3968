-- The touches of the buyers of the sales an ad-network export weights by an attribution model
-- (journeys/click_credit.py): each session of their visitor ids (parcours.touches: the lever of its own
-- landing) and each answered call matched to them (parcours.call_touches), as the attribution reports read
-- them (journeys/reports/conversion_paths.sql).
--
-- Parameters: {persons} (the buyers' person ids), {from} and {to} (when the touches started), referrer_rules
-- and call_lever as for those views. `{db}` is the database.
WITH

-- the buyers' visitor ids, as the last stitching run wrote them
visitors AS (
    SELECT key AS visitor_id, argMax(person_id, updated_at) AS person_id
    FROM {db}.person_keys
    WHERE key_type = 'visitor'
    GROUP BY key
    HAVING person_id IN {persons:Array(String)}
)

SELECT v.person_id AS person_id, t.session_id AS session_id, t.started_at AS at, t.lever AS lever
FROM {db}.touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                  referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}) AS t
INNER JOIN visitors AS v ON v.visitor_id = t.visitor_id
UNION ALL
SELECT person_id, '' AS session_id, at, lever
FROM {db}.call_touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')}, call_lever = {call_lever:String},
                       referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
WHERE person_id IN {persons:Array(String)}
