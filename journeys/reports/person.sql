-- One person's journey, in time order: each visit with the lever, campaign and broker of its own landing, the
-- quote form's steps, abandons and quotes sent, and the sales signed offline or online, each with its status
-- (a cancelled one says when it was cancelled, when the file said). A visit is its
-- session's touch, read from parcours.touches as the attribution reads it (never the lever the tag kept from
-- an earlier visit, which every later event carries); a step, abandon or quote shows its visit's. The person is
-- found by a quote id or by the keyed hash of a phone number (never the number itself: the API hashes a
-- typed number as the collector does), through the persons' stitching (person_keys) and, for what
-- stitching has not linked yet, directly: the visitors who sent that quote id or phone in the form, and
-- the sales carrying it. Whole history: the period does not apply.
WITH
found AS (
    -- The person holding the quote id or phone, when stitching has run.
    SELECT DISTINCT person_id
    FROM parcours.person_keys FINAL
    WHERE (key_type = 'crm' AND key = {quote_id:String} AND {quote_id:String} != '')
       OR (key_type = 'phone' AND key = {phone_key:String} AND {phone_key:String} != '')
),

person_keys AS (
    -- Every key of that person: visitor ids, phones, quote/CRM ids.
    SELECT key_type, key
    FROM parcours.person_keys FINAL
    WHERE person_id IN (SELECT person_id FROM found)
),

direct_visitors AS (
    -- Visitors who sent the quote id or the phone in the form, stitched or not.
    SELECT DISTINCT visitor_id
    FROM parcours.events
    WHERE event = 'form_submit'
      AND ((JSONExtractString(properties, 'quote_id') = {quote_id:String} AND {quote_id:String} != '')
        OR (phone_key = {phone_key:String} AND {phone_key:String} != ''))
),

visitors AS (
    SELECT key AS visitor_id FROM person_keys WHERE key_type = 'visitor'
    UNION DISTINCT
    SELECT visitor_id FROM direct_visitors
),

phones AS (
    -- The person's phones: from stitching, the one asked for, and those sent in its visitors' forms.
    SELECT key FROM person_keys WHERE key_type = 'phone'
    UNION DISTINCT
    SELECT {phone_key:String} WHERE {phone_key:String} != ''
    UNION DISTINCT
    SELECT phone_key FROM parcours.events
    WHERE event = 'form_submit' AND phone_key != '' AND visitor_id IN (SELECT visitor_id FROM visitors)
),

quotes AS (
    SELECT key FROM person_keys WHERE key_type = 'crm'
    UNION DISTINCT
    SELECT {quote_id:String} WHERE {quote_id:String} != ''
    UNION DISTINCT
    SELECT JSONExtractString(properties, 'quote_id') FROM parcours.events
    WHERE event = 'form_submit' AND visitor_id IN (SELECT visitor_id FROM visitors)
),

their_events AS (
    -- One row per event (argMax over a retried event's copies), without FINAL on the whole table; an event
    -- sent without a session id (the pixel) is a session of its own, as in parcours.touches.
    SELECT event_id, any(event) AS event, any(ts) AS at,
           any(if(session_id = '', toString(event_id), session_id)) AS session_id,
           any(step) AS step, any(JSONExtractString(properties, 'quote_id')) AS quote_id
    FROM parcours.events
    WHERE visitor_id IN (SELECT visitor_id FROM visitors) AND NOT is_bot
    GROUP BY event_id
),

touches AS (
    -- Their sessions' touches: the lever, campaign and broker of each one's own landing, read over the time
    -- their events span only.
    SELECT session_id, started_at, lever, campaign, broker_id, device_type
    FROM parcours.touches(from = (SELECT min(at) FROM their_events),
                          to = (SELECT max(at) + toIntervalMillisecond(1) FROM their_events),
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE session_id IN (SELECT session_id FROM their_events)
),

sessions AS (
    -- Each of their sessions: its page views and its form events (time, step, abandon or quote, detail).
    SELECT session_id, countIf(event = 'page_view') AS views,
           groupArrayIf((at, multiIf(event = 'form_step', 'step', event = 'form_abandon', 'abandon', 'quote'),
                         if(event = 'form_submit', quote_id, step)),
                        event IN ('form_step', 'form_abandon', 'form_submit')) AS form_rows
    FROM their_events
    GROUP BY session_id
),

visits AS (
    -- Each visit (a session with its touch), then its form events, all with its touch's lever, campaign and
    -- broker: the touches read once. A form event of a session without a touch (sent by a server) keeps none.
    SELECT row.1 AS at, row.2 AS kind, touches.lever AS lever, touches.campaign AS campaign,
           touches.broker_id AS broker_id, row.3 AS detail, CAST(NULL AS Nullable(Decimal(18, 2))) AS premium
    FROM touches
    FULL OUTER JOIN sessions ON sessions.session_id = touches.session_id
    ARRAY JOIN arrayConcat(if(touches.session_id = '', [],
                              [(touches.started_at, 'visit',
                                concat(toString(sessions.views), ' page(s), ', touches.device_type))]),
                           sessions.form_rows) AS row
),

sales AS (
    SELECT argMax(ts, imported_at) AS signed_at, 'sale' AS kind, argMax(channel, imported_at) AS sale_channel,
           '' AS campaign, argMax(broker_id, imported_at) AS signed_by,
           trimLeft(concat(argMax(product, imported_at), ' ', conversion_id,  -- no product: the id alone
                           if(argMax(cancelled_at, imported_at) > toDateTime64(0, 3, 'UTC'),
                              concat(', cancelled ', toString(toDate(argMax(cancelled_at, imported_at)))), ''))) AS detail,
           CAST(argMax(premium, imported_at) AS Nullable(Decimal(18, 2))) AS premium,
           toString(argMax(status, imported_at)) AS status
    FROM parcours.conversions
    WHERE (phone_key != '' AND phone_key IN (SELECT key FROM phones))
       OR (crm_id != '' AND crm_id IN (SELECT key FROM quotes))
    GROUP BY conversion_id
)

SELECT at AS ts, kind, lever, campaign, broker_id, detail, premium, status
FROM (
    SELECT at, kind, lever, campaign, broker_id, detail, premium, '' AS status FROM visits
    UNION ALL
    SELECT signed_at AS at, kind, sale_channel AS lever, campaign, signed_by AS broker_id, detail, premium, status
    FROM sales
)
ORDER BY at, kind
LIMIT 1000
