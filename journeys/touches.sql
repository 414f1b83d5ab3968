-- One row per session that started in [from, to), bots left out: a touch, dated at its start, with the
-- lever, broker and campaign of its own landing. The body of the parameterized view parcours.touches
-- (`SELECT * FROM parcours.touches(from = …, to = …, referrer_rules = […])`), created by a migration from
-- this file: a change here needs a migration that replaces the view (journeys/migrations.py).
--
-- A session with a `touch` event (a landing whose URL carried campaign or broker parameters) takes that
-- event's lever (the plan's rules, applied by the collector to those parameters, the referrer and the page);
-- any other takes the first of referrer_rules that its landing's referrer matches: the plan's lever rules
-- that can match a landing without parameters (journeys/touches.py builds them), applied here, so a change of
-- the plan's rules shows in every report at once. No lever at all is 'direct'. The rules are applied once per
-- frequent referrer host of the kept sessions (referrer_levers), not once per session: a report over millions
-- of sessions reads most levers from a short list.
--
-- The sessions come from two places that never hold the same one: parcours.closed_touches, a row per session
-- kept by the collector's closing runs (journeys/closing.py) for the sessions that began before the last
-- run's `closed_before` (an hour before it began) and have had no event stored since; and the view
-- parcours.live_touches, the others, computed from parcours.sessions. Reports read the same rows whether a
-- run has happened or not, only faster after.
WITH
-- The last run's closed_before and late_after, as parcours.live_touches reads them.
(SELECT (max(closed_before), if(count() = 0, now64(3, 'UTC'), max(late_after))) FROM {db}.touches_runs) AS last_run,

-- The referrer rules' lever of the 1,000 most frequent referrer hosts of the period's kept sessions without a
-- touch event, computed once per host rather than once per session: (hosts, the lever when the host is not
-- the landing's, the lever when it is). A session whose referrer host is not among them (a rare one, or a
-- session of parcours.live_touches with a new one) gets its lever from the same rules, below. The limit
-- bounds the list's cost where hosts are many and each rare (measured: bench/README.md).
(SELECT (groupArray(referrer_host), groupArray(levers[1]), groupArray(levers[2]))
 FROM (SELECT
           referrer_host,
           arrayMap(external -> arrayFirst(
                        rule -> (empty(rule.domains) OR hasAny(splitByChar('.', referrer_host), rule.domains))
                                AND multiIf(rule.referrer = 'external', referrer_host != '' AND external,
                                            rule.referrer = 'present', referrer_host != '',
                                            rule.referrer = 'absent', referrer_host = '',
                                            true),
                        {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}).lever,
                    [true, false]) AS levers
       FROM (SELECT toString(referrer_host) AS referrer_host
             FROM {db}.closed_touches
             WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}
               AND NOT tagged
             GROUP BY referrer_host
             ORDER BY count() DESC, referrer_host
             LIMIT 1000))
) AS referrer_levers,

late AS (
    -- As in live_touches: sessions with a tag event stored since the last run's late_after (read there).
    SELECT DISTINCT if(session_id = '', toString(event_id), session_id) AS session_id
    FROM {db}.events
    WHERE inserted_at >= last_run.2 AND source = 'tag'
),

sessions AS (
    SELECT *
    FROM {db}.closed_touches
    WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}
      AND started_at < last_run.1
      AND session_id NOT IN (SELECT session_id FROM late)
    UNION ALL
    SELECT * FROM {db}.live_touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')})
)

SELECT
    session_id,
    visitor_id,
    started_at,
    ended_at,
    landing_host,
    referrer_host,
    device_type,
    tagged,
    -- Without a touch event: the listed lever of its referrer host ('\0' when the host is not listed:
    -- `transform` looks it up in a hash table whatever the list's length, where `has` would scan the list for
    -- every row), else the rules themselves.
    if(tagged, tagged_lever,
       if((if(referrer_host = landing_host, transform(referrer_host, referrer_levers.1, referrer_levers.3, '\0'),
              transform(referrer_host, referrer_levers.1, referrer_levers.2, '\0')) AS listed_lever) != '\0',
          listed_lever,
          arrayFirst(rule -> (empty(rule.domains) OR hasAny(splitByChar('.', referrer_host), rule.domains))
                             AND multiIf(rule.referrer = 'external', referrer_host != '' AND referrer_host != landing_host,
                                         rule.referrer = 'present', referrer_host != '',
                                         rule.referrer = 'absent', referrer_host = '',
                                         true),
                     {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}).lever)
    ) AS rule_lever,
    if(rule_lever = '', 'direct', rule_lever) AS lever,
    broker_id,
    utm_source,
    utm_medium,
    campaign,
    interacted,
    leads,
    bounced
FROM sessions
