-- One row per session that started in [from, to), bots left out: a touch, dated at its start, with the
-- lever, broker and campaign of its own landing. The body of the parameterized view parcours.touches
-- (`SELECT * FROM parcours.touches(from = …, to = …, referrer_rules = […])`), created by a migration from
-- this file: a change here needs a migration that replaces the view (journeys/migrations.py).
--
-- A session with a `touch` event (a landing whose URL carried campaign or broker parameters) takes that
-- event's lever (the plan's rules, applied by the collector to those parameters, the referrer and the page);
-- any other takes the first of referrer_rules that its landing's referrer matches: the plan's lever rules
-- that can match a landing without parameters (journeys/touches.py builds them), so a change of the plan's
-- rules shows in every report at once. No lever at all is 'direct'.
--
-- The sessions come from two places that never hold the same one: parcours.closed_touches, a row per session
-- kept by the collector's closing runs (journeys/closing.py) for the sessions that began before the last
-- run's `closed_before` (an hour before it began) and have had no event stored since; and the view
-- parcours.live_touches, the others, computed from parcours.sessions. Reports read the same rows whether a
-- run has happened or not, only faster after.
WITH
last_run AS (
    SELECT max(closed_before) AS closed_before,
           if(count() = 0, now64(3, 'UTC'), max(late_after)) AS late_since
    FROM {db}.touches_runs
),

late AS (
    -- As in live_touches: sessions with a tag event stored since the last run's late_after (read there).
    SELECT DISTINCT if(session_id = '', toString(event_id), session_id) AS session_id
    FROM {db}.events
    WHERE inserted_at >= (SELECT late_since FROM last_run) AND source = 'tag'
),

sessions AS (
    SELECT *
    FROM {db}.closed_touches
    WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}
      AND started_at < (SELECT closed_before FROM last_run)
      AND session_id NOT IN (SELECT session_id FROM late)
    UNION ALL
    SELECT * FROM {db}.live_touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')})
),

referrer_levers AS (
    -- The referrer rules, once per referrer host of the untagged sessions rather than once per session: the
    -- lever of a referrer from another site than the landing's (`external`), then from the same site; ''
    -- when no rule matches.
    SELECT groupArray(referrer_host) AS hosts, groupArray(levers[1]) AS external_levers,
           groupArray(levers[2]) AS own_site_levers
    FROM (
        SELECT
            referrer_host,
            arrayMap(external -> arrayFirst(
                         rule -> (empty(rule.domains) OR hasAny(splitByChar('.', referrer_host), rule.domains))
                                 AND multiIf(rule.referrer = 'external', external AND referrer_host != '',
                                             rule.referrer = 'present', referrer_host != '',
                                             rule.referrer = 'absent', referrer_host = '',
                                             true),
                         {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}).lever,
                     [true, false]) AS levers
        FROM (SELECT DISTINCT referrer_host FROM sessions WHERE NOT tagged)
    )
),

-- The three arrays from one evaluation (two would each give their own order).
(SELECT (hosts, external_levers, own_site_levers) FROM referrer_levers) AS referrer_map

SELECT
    session_id,
    visitor_id,
    started_at,
    ended_at,
    landing_host,
    referrer_host,
    device_type,
    tagged,
    if(tagged, tagged_lever,
       if(referrer_host != landing_host, transform(referrer_host, referrer_map.1, referrer_map.2, ''),
          transform(referrer_host, referrer_map.1, referrer_map.3, ''))) AS rule_lever,
    if(rule_lever = '', 'direct', rule_lever) AS lever,
    broker_id,
    utm_source,
    utm_medium,
    campaign,
    interacted,
    leads,
    bounced
FROM sessions
