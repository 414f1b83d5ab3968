-- Call-back leads: visitors who ticked the call-back box with their phone, then left the form at one of its
-- lead steps or a later one, and have not come back to it, submitted it or signed a contract since.
--
-- Parameters:
--   {since:DateTime64(3, 'UTC')}, {now:DateTime64(3, 'UTC')}: abandonments between these times
--   {rules:Array(Tuple(String, UInt16, UInt32, UInt8, String, String))}: per lead form, from the plan's
--       call_centre.leads: (form_id, the index of its from_step, quiet_minutes in seconds, days of wait: 0 for D,
--       1 for D+1, the step asking the phone and the box, the box's property)
--   {min_step:UInt16}: a step index overriding every rule's from_step (0: the rules')
--   {form:String}: one form only ('' for all)
--   {tz:String}: the time zone whose days D and D+1 are (reconciliation.time_zone)
-- The sealed phone is opened by the code that runs this (callcentre/leads.py), never by SQL. `GLOBAL IN`: on a
-- cluster the subqueries read Distributed tables (docs/scaling.md).
WITH
rules AS (
    SELECT
        rule.1 AS form_id,
        if({min_step:UInt16} > 0, {min_step:UInt16}, rule.2) AS min_step,
        rule.3 AS quiet_s,
        rule.4 AS wait_days,
        rule.5 AS lead_step,
        rule.6 AS consent
    FROM (SELECT arrayJoin({rules:Array(Tuple(String, UInt16, UInt32, UInt8, String, String))}) AS rule)
    WHERE {form:String} = '' OR rule.1 = {form:String}
),
abandons AS (
    -- Each visitor's latest abandonment of each lead form in the period: where they left, and how they came.
    SELECT
        visitor_id,
        form_id,
        toString(argMax(event_id, ts)) AS lead_id,
        max(ts) AS abandoned_at,
        argMax(session_id, ts) AS session_id,
        argMax(step, ts) AS last_step,
        argMax(step_index, ts) AS last_step_index,
        argMax(lever, ts) AS lever,
        argMax(utm_campaign, ts) AS campaign,
        argMax(broker_id, ts) AS broker_id,
        argMax(broker_name, ts) AS broker_name
    FROM {db}.events
    WHERE event = 'form_abandon'
      AND ts >= {since:DateTime64(3, 'UTC')} AND ts < {now:DateTime64(3, 'UTC')}
      AND form_id GLOBAL IN (SELECT form_id FROM rules)
      AND visitor_id != ''
    GROUP BY visitor_id, form_id
),
landings AS (
    -- How each abandoning session came: its first event's lever, campaign and broker, its landing's as in the
    -- reports (a later page reads `direct`, or `referral` on another of the plan's sites reached by a link).
    SELECT session_id, argMin(lever, ts) AS lever, argMin(utm_campaign, ts) AS campaign,
           argMin(broker_id, ts) AS broker_id, argMin(broker_name, ts) AS broker_name
    FROM {db}.events
    WHERE session_id GLOBAL IN (SELECT session_id FROM abandons) AND session_id != ''
      AND ts >= {since:DateTime64(3, 'UTC')} - INTERVAL 1 DAY AND ts < {now:DateTime64(3, 'UTC')}
    GROUP BY session_id
),
bots AS (
    -- Those whose steps of the form all came from a bot (a crawler's or a headless browser's user agent): a
    -- script that fills the form and ticks the box gets nobody called. Judged on the steps, where the box was
    -- ticked: the abandon goes by sendBeacon, which some browsers send with another user agent.
    SELECT visitor_id, form_id
    FROM {db}.events
    WHERE event = 'form_step' AND ts >= {since:DateTime64(3, 'UTC')} - INTERVAL 1 DAY AND ts < {now:DateTime64(3, 'UTC')}
      AND (visitor_id, form_id) GLOBAL IN (SELECT visitor_id, form_id FROM abandons)
    GROUP BY visitor_id, form_id
    HAVING min(is_bot) = 1
),
contacts AS (
    -- Their latest ticked box on that form whose phone is still kept.
    SELECT
        visitor_id,
        form_id,
        argMax(event_id, consented_at) AS contact_id,
        max(consented_at) AS last_consent,
        argMax(phone_key, consented_at) AS phone_key,
        argMax(sealed, consented_at) AS sealed,
        argMax(wording, consented_at) AS wording,
        argMax(url, consented_at) AS consent_url
    FROM {db}.lead_contacts
    WHERE purge_after > {now:DateTime64(3, 'UTC')}
      AND (visitor_id, form_id) GLOBAL IN (SELECT visitor_id, form_id FROM abandons)
    GROUP BY visitor_id, form_id
),
form_events AS (
    -- Their steps and submits of those forms since the consent (who came back or submitted), and since the
    -- start of the abandoning session (the time on the form; a session ends after 30 minutes idle). `unticked`:
    -- the step asking the box, sent again without it ticked (the visitor went back and unticked it).
    SELECT e.visitor_id AS visitor_id, e.form_id AS form_id, e.event AS event, e.ts AS ts, e.session_id AS session_id,
           e.step_elapsed_ms AS step_elapsed_ms, e.phone_key AS phone_key,
           e.event = 'form_step' AND e.step = r.lead_step AND JSONExtractRaw(e.properties, r.consent) != 'true' AS unticked
    FROM {db}.events AS e
    INNER JOIN rules AS r ON r.form_id = e.form_id
    WHERE e.event IN ('form_step', 'form_submit')
      AND e.ts >= least((SELECT min(last_consent) FROM contacts), {since:DateTime64(3, 'UTC')} - INTERVAL 1 DAY)
      AND (e.visitor_id, e.form_id) GLOBAL IN (SELECT visitor_id, form_id FROM contacts)
),
submits_by_phone AS (
    -- A submit of the form with the same phone, from another browser.
    SELECT phone_key, form_id, max(ts) AS submitted_at
    FROM {db}.events
    WHERE event = 'form_submit' AND phone_key GLOBAL IN (SELECT phone_key FROM contacts)
      AND ts >= (SELECT min(last_consent) FROM contacts)
    GROUP BY phone_key, form_id
),
sales AS (
    -- A contract signed with the phone; a cancelled one (withdrawn within its delay) is no sale: the lead stands.
    SELECT phone_key, max(ts) AS signed_at
    FROM {db}.conversions FINAL
    WHERE phone_key GLOBAL IN (SELECT phone_key FROM contacts) AND status != 'cancelled'
    GROUP BY phone_key
),
candidates AS (
    SELECT
        visitor_id, form_id, a.lead_id AS lead_id, a.abandoned_at AS abandoned_at, a.session_id AS session_id,
        a.last_step AS last_step, a.last_step_index AS last_step_index,
        if(l.session_id != '', l.lever, a.lever) AS lever, if(l.session_id != '', l.campaign, a.campaign) AS campaign,
        if(l.session_id != '', l.broker_id, a.broker_id) AS broker_id,
        if(l.session_id != '', l.broker_name, a.broker_name) AS broker_name,
        c.contact_id AS contact_id, c.last_consent AS consented_at, c.phone_key AS phone_key, c.sealed AS sealed,
        c.wording AS wording, c.consent_url AS consent_url, r.min_step AS min_step, r.quiet_s AS quiet_s,
        r.wait_days AS wait_days
    FROM abandons AS a
    INNER JOIN contacts AS c USING (visitor_id, form_id)
    INNER JOIN rules AS r USING (form_id)
    LEFT JOIN landings AS l ON l.session_id = a.session_id
    WHERE c.last_consent <= a.abandoned_at
      AND a.last_step_index >= r.min_step
      AND (visitor_id, form_id) GLOBAL NOT IN (SELECT visitor_id, form_id FROM bots)
),
activity AS (
    SELECT
        k.lead_id,
        maxIf(f.ts, f.ts > k.abandoned_at) AS came_back_at,
        maxIf(f.ts, f.event = 'form_submit' AND f.ts >= k.consented_at) AS submitted_at,
        -- The box unticked after it was ticked: the latest answer wins, no lead (the consent withdrawn).
        maxIf(f.ts, f.unticked AND f.ts > k.consented_at) AS withdrawn_at,
        -- Time on the form in the abandoning session: from its first step, counting the time that step took.
        minIf(f.ts, f.session_id = k.session_id AND f.event = 'form_step') AS first_step_at,
        argMinIf(f.step_elapsed_ms, f.ts, f.session_id = k.session_id AND f.event = 'form_step') AS first_step_ms
    FROM candidates AS k
    LEFT JOIN form_events AS f ON f.visitor_id = k.visitor_id AND f.form_id = k.form_id
    GROUP BY k.lead_id
)
SELECT
    k.lead_id AS lead_id,
    k.form_id AS form_id,
    k.contact_id AS contact_id,
    k.sealed AS sealed,
    k.phone_key AS phone_key,
    k.consented_at AS consented_at,
    k.wording AS wording,
    k.consent_url AS consent_url,
    k.visitor_id AS visitor_id,
    k.session_id AS session_id,
    k.abandoned_at AS abandoned_at,
    k.last_step AS last_step,
    k.last_step_index AS last_step_index,
    toUInt32(if(x.first_step_at > toDateTime64(0, 3, 'UTC'),
       round(dateDiff('millisecond', x.first_step_at, k.abandoned_at) / 1000 + x.first_step_ms / 1000),
       0)) AS time_on_form_s,  -- whole seconds
    k.lever AS lever,
    k.campaign AS campaign,
    k.broker_id AS broker_id,
    k.broker_name AS broker_name,
    d.state AS delivery,
    toDateTime64(addDays(toStartOfDay(k.abandoned_at, {tz:String}), k.wait_days + 1), 3, 'UTC') AS call_by,
    toBool(call_by <= {now:DateTime64(3, 'UTC')}) AS expired
FROM candidates AS k
INNER JOIN activity AS x USING (lead_id)
LEFT JOIN submits_by_phone AS p ON p.phone_key = k.phone_key AND p.form_id = k.form_id
LEFT JOIN sales AS s ON s.phone_key = k.phone_key
LEFT JOIN (SELECT lead_id, argMax(state, updated_at) AS state FROM {db}.lead_deliveries GROUP BY lead_id) AS d
    ON d.lead_id = k.lead_id
WHERE x.came_back_at = toDateTime64(0, 3, 'UTC')
  AND x.submitted_at = toDateTime64(0, 3, 'UTC')
  AND x.withdrawn_at = toDateTime64(0, 3, 'UTC')
  AND NOT (p.submitted_at >= k.consented_at)
  AND NOT (s.signed_at >= k.consented_at)
  AND k.abandoned_at <= {now:DateTime64(3, 'UTC')} - toIntervalSecond(k.quiet_s)
ORDER BY k.abandoned_at, k.lead_id
