-- What matched: each sale signed in [from, to) (parcours.conversions, the latest import of each contract),
-- its person (through its phone key, else its CRM/quote id: parcours.person_keys, the stitching), and that
-- person's visits in the lookback before the sale (lookback_s seconds). A sale is matched when there is at
-- least one. How: `phone` (its phone was sent online, in a form), `crm` (its quote id was), `both`, or
-- `person` (joined through another key of the person). Why the others are not, first that applies:
-- `key ambiguous` (its phone or quote id is shared by too many: parcours.identity_hot_keys),
-- `journey outside the lookback` (the person visited, but earlier), `journey only after the sale` (the person
-- visited, but only after it: a phone or quote id sent online once signed), `no visit counted` (its phone or
-- quote id was sent online, but none of the person's visits counts: every one a bot's, or the key sent through
-- the API without a visit), `no phone in the file` (no phone and a quote id never seen online), `phone never
-- seen online`.
--
-- A cancelled sale (withdrawn, cancelled: status) is no sale: it is counted apart (cancelled,
-- cancelled_revenue), neither matched nor unmatched, so that the figures add up to the file's lines.
--
-- One line for all sales, then one per channel, broker (who signed), adviser and import file, and with
-- by = 'sale' one per sale. With filters (lever, campaign, broker, device), only the sales of which one
-- touch matches every filter given: a visit in the lookback, or the point of sale itself (the signing
-- broker, under its lever in parcours.brokers) of an offline sale.
WITH
sales AS (
    SELECT conversion_id, ts, channel, broker_id, adviser, source, premium, phone_key, crm_id,
           status = 'cancelled' AS cancelled
    FROM parcours.conversions FINAL
    WHERE ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
),

keys AS (
    SELECT key_type, key, person_id
    FROM parcours.person_keys FINAL
    WHERE (key_type, key) IN (SELECT pair.1, pair.2 FROM sales ARRAY JOIN [('phone', phone_key), ('crm', crm_id)] AS pair)
),

seen_online AS (
    -- The sales' phones and quote ids that a visitor sent (a form, an identify): linked to a visitor id.
    SELECT DISTINCT key_type, key
    FROM parcours.identity_links
    WHERE other_type = 'visitor' AND key_type IN ('phone', 'crm')
      AND (key_type, key) IN (SELECT pair.1, pair.2 FROM sales ARRAY JOIN [('phone', phone_key), ('crm', crm_id)] AS pair)
),

ambiguous AS (
    SELECT DISTINCT key_type, key
    FROM parcours.identity_hot_keys
    WHERE (key_type, key) IN (SELECT pair.1, pair.2 FROM sales ARRAY JOIN [('phone', phone_key), ('crm', crm_id)] AS pair)
),

sale_persons AS (
    SELECT
        sales.conversion_id AS conversion_id, sales.ts AS ts, sales.channel AS channel, sales.broker_id AS broker_id,
        sales.adviser AS adviser, sales.source AS source, sales.premium AS premium, sales.phone_key AS phone_key,
        sales.crm_id AS crm_id, sales.cancelled AS cancelled,
        if(by_phone.person_id != '', by_phone.person_id, by_crm.person_id) AS person_id,
        (phone_key != '' AND ('phone', phone_key) IN (SELECT key_type, key FROM seen_online)) AS phone_seen,
        (crm_id != '' AND ('crm', crm_id) IN (SELECT key_type, key FROM seen_online)) AS crm_seen,
        (('phone', phone_key) IN (SELECT key_type, key FROM ambiguous)
         OR ('crm', crm_id) IN (SELECT key_type, key FROM ambiguous)) AS key_ambiguous
    FROM sales
    LEFT JOIN (SELECT key, person_id FROM keys WHERE key_type = 'phone') AS by_phone ON by_phone.key = sales.phone_key
    LEFT JOIN (SELECT key, person_id FROM keys WHERE key_type = 'crm') AS by_crm ON by_crm.key = sales.crm_id
),

visitors AS (
    -- The visitor ids of the sales' persons (the persons of their phone and quote id keys: computing the
    -- sales' persons a second time for this list would cost a fifth of the report).
    SELECT key AS visitor_id, person_id
    FROM parcours.person_keys FINAL
    WHERE key_type = 'visitor' AND person_id IN (SELECT person_id FROM keys)
),

person_visits AS (
    -- The sales' persons' visits, in one pass (their visitor ids joined once): the visits from the start of
    -- the first lookback window (start, and whether its landing matches every filter given: a flag carried
    -- rather than its four fields); each person's first visit ever, for "journey outside the lookback" (0
    -- when none): the earliest of those visits and of their sessions begun before that window
    -- (parcours.sessions); the quotes (form_submit events) their visitors sent from the start of the first
    -- lookback.
    SELECT visitors.person_id AS person_id,
           groupArrayIf((f.started_at, f.matched), f.kind = 'visit') AS journey,
           minIf(f.started_at, f.kind IN ('first', 'visit')) AS first_visit,
           groupUniqArrayIf(f.started_at, f.kind = 'quote') AS quoted
    FROM (
        SELECT 'visit' AS kind, visitor_id, started_at,
               ({lever:String} = '' OR lever = {lever:String}) AND ({campaign:String} = '' OR campaign = {campaign:String})
               AND ({broker:String} = '' OR broker_id = {broker:String})
               AND ({device:String} = '' OR device_type = {device:String}) AS matched
        FROM parcours.touches(from = {touches_from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                              referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
        UNION ALL
        SELECT 'first' AS kind, visitor_id, started_at, false
        FROM parcours.sessions
        WHERE day <= toDate({touches_from:DateTime64(3, 'UTC')}) AND started_at < {touches_from:DateTime64(3, 'UTC')}
          AND NOT is_bot
        UNION ALL
        SELECT 'quote' AS kind, visitor_id, ts AS started_at, false
        FROM parcours.events
        WHERE event = 'form_submit' AND NOT is_bot
          AND ts >= {touches_from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
    ) AS f
    INNER JOIN visitors ON visitors.visitor_id = f.visitor_id
    GROUP BY person_id
),

points_of_sale AS (
    SELECT broker_id, argMax(lever, updated_at) AS lever FROM parcours.brokers GROUP BY broker_id
),

per_sale AS (
    SELECT
        s.conversion_id AS conversion_id, s.ts AS ts, s.channel AS channel, s.broker_id AS broker_id,
        s.adviser AS adviser, s.source AS source, s.premium AS premium, s.cancelled AS cancelled,
        arrayFilter(v -> v.1 <= s.ts AND v.1 >= s.ts - toIntervalSecond({lookback_s:UInt32}), pv.journey) AS online,
        NOT s.cancelled AND NOT empty(online) AS is_matched,
        multiIf(NOT is_matched, '', s.phone_seen AND s.crm_seen, 'both', s.phone_seen, 'phone', s.crm_seen, 'crm',
                'person') AS method,
        multiIf(is_matched OR s.cancelled, '',
                s.key_ambiguous, 'key ambiguous',
                pv.first_visit > toDateTime64(0, 3, 'UTC') AND pv.first_visit < s.ts,
                'journey outside the lookback',
                pv.first_visit > toDateTime64(0, 3, 'UTC'), 'journey only after the sale',
                s.phone_seen OR s.crm_seen, 'no visit counted',
                s.phone_key = '', 'no phone in the file',
                'phone never seen online') AS reason,
        if(is_matched, dateDiff('millisecond', arrayMin(v -> v.1, online), s.ts) / 86400000, NULL) AS days_to_sale,
        arrayFilter(q -> q <= s.ts AND q >= s.ts - toIntervalSecond({lookback_s:UInt32}), pv.quoted) AS sale_quotes,
        if(empty(sale_quotes) OR s.cancelled, NULL, dateDiff('millisecond', arrayMax(sale_quotes), s.ts) / 86400000)
            AS days_quote_to_sale,
        -- The point of sale as a touch, for the filters: the signing broker, under its lever.
        (if(points_of_sale.lever != '', points_of_sale.lever, toString(s.channel)), toString(s.broker_id)) AS point_of_sale
    FROM sale_persons AS s
    LEFT JOIN person_visits AS pv ON pv.person_id = s.person_id AND s.person_id != ''
    LEFT JOIN points_of_sale ON points_of_sale.broker_id = s.broker_id
),

filtered AS (
    SELECT *
    FROM per_sale
    WHERE ({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
       OR arrayExists(v -> v.2, online)
       OR (channel != 'web'  -- a web sale has no point of sale (as in the other reports)
           AND ({lever:String} = '' OR point_of_sale.1 = {lever:String})
           AND ({broker:String} = '' OR point_of_sale.2 = {broker:String})
           AND {campaign:String} = '' AND {device:String} = '')
),

lines AS (
    -- Each sale counted on the line of all sales, of its channel, broker, adviser and file (and its own).
    SELECT line.1 AS dimension, line.2 AS value, f.is_matched AS is_matched, f.method AS method, f.reason AS reason,
           f.premium AS premium, f.cancelled AS is_cancelled, f.days_to_sale AS days_to_sale, f.days_quote_to_sale AS days_quote_to_sale
    FROM filtered AS f
    ARRAY JOIN [('all', ''), ('channel', toString(f.channel)), ('broker', toString(f.broker_id)),
                ('adviser', f.adviser), ('source', f.source), ('sale', f.conversion_id)] AS line
    WHERE line.1 != 'sale' OR {by:String} = 'sale'
)

SELECT
    dimension,
    value,
    countIf(NOT is_cancelled) AS conversions,
    countIf(is_matched) AS matched,
    countIf(NOT is_matched AND NOT is_cancelled) AS unmatched,
    if(conversions = 0, NULL, matched / conversions) AS match_rate,
    countIf(method = 'phone') AS by_phone,
    countIf(method = 'crm') AS by_crm,
    countIf(method = 'both') AS by_both,
    countIf(method = 'person') AS by_person,
    countIf(reason = 'no phone in the file') AS no_phone,
    countIf(reason = 'phone never seen online') AS phone_not_seen,
    countIf(reason = 'key ambiguous') AS key_ambiguous,
    countIf(reason = 'journey outside the lookback') AS outside_lookback,
    countIf(reason = 'journey only after the sale') AS after_sale,
    countIf(reason = 'no visit counted') AS no_visit,
    sumIf(premium, NOT is_cancelled) AS revenue,
    sumIf(premium, is_matched) AS matched_revenue,
    countIf(is_cancelled) AS cancelled,
    sumIf(premium, is_cancelled) AS cancelled_revenue,
    quantileExactInclusiveIf(0.5)(days_to_sale, is_matched) AS median_days_to_sale,
    quantileExactInclusiveIf(0.9)(days_to_sale, is_matched) AS p90_days_to_sale,
    quantileExactInclusiveIf(0.5)(days_quote_to_sale, days_quote_to_sale IS NOT NULL) AS median_days_quote_to_sale,
    quantileExactInclusiveIf(0.9)(days_quote_to_sale, days_quote_to_sale IS NOT NULL) AS p90_days_quote_to_sale
FROM lines
GROUP BY dimension, value
ORDER BY indexOf(['all', 'channel', 'broker', 'adviser', 'source', 'sale'], dimension), conversions DESC, value
