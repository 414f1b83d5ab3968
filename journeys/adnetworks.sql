-- Offline conversions whose buyer's journey carries an ad network's click id within the lookback: one row per
-- sale, with the last click of that network before it, and the buyer's consent. journeys/adnetworks.py leaves out
-- the sales of buyers who did not consent and writes the others in the network's format.
--
-- Parameters: {from} and {to} (the sales' signature time, `to` excluded; with {cancelled}, the time they were
-- cancelled), {click_type} (gclid, fbclid), {lookback_days} (how long before the sale a click still counts) and
-- {cancelled} (false: the sales to send; true: the cancelled ones to retract). `{db}` is the database.
WITH

-- the sales signed in the period, one row each (a corrected line replaced the old one); a cancelled sale is
-- never sent. With {cancelled}: the sales cancelled in the period, whatever their signature time, to be
-- retracted (docs/adnetworks.md, "A sale cancelled after it was sent")
sales AS (
    SELECT conversion_id, ts, premium, currency, channel, broker_id, phone_key, crm_id, ad_consent, cancelled_at
    FROM {db}.conversions FINAL
    WHERE if({cancelled:Bool},
             status = 'cancelled' AND cancelled_at >= {from:DateTime64(3, 'UTC')} AND cancelled_at < {to:DateTime64(3, 'UTC')},
             status != 'cancelled' AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')})
),

-- each identity key's person, as the last stitching run wrote it
person_of_key AS (
    SELECT key_type, key, argMax(person_id, updated_at) AS person_id
    FROM {db}.person_keys
    GROUP BY key_type, key
),

-- the buyer: the person of the sale's phone, and of its CRM id (the same person once stitched)
sale_person AS (
    SELECT s.conversion_id, k.person_id
    FROM sales AS s
    INNER JOIN person_of_key AS k ON k.key_type = 'phone' AND k.key = s.phone_key
    WHERE s.phone_key != ''
    UNION DISTINCT
    SELECT s.conversion_id, k.person_id
    FROM sales AS s
    INNER JOIN person_of_key AS k ON k.key_type = 'crm' AND k.key = s.crm_id
    WHERE s.crm_id != ''
),

-- the visitor ids of each person
person_visitor AS (
    SELECT person_id, key AS visitor_id
    FROM person_of_key
    WHERE key_type = 'visitor'
),

-- each click id of the network a visitor landed with, when it was first seen (the click), and in which session
clicks AS (
    SELECT visitor_id, click_id, min(ts) AS clicked_at, argMin(session_id, ts) AS session_id
    FROM {db}.events
    WHERE click_id_type = {click_type:String} AND click_id != '' AND NOT is_bot
    GROUP BY visitor_id, click_id
),

-- the clicks on the buyer's journey, before the sale and within the lookback
sale_clicks AS (
    SELECT sp.conversion_id AS conversion_id, sp.person_id AS person_id, c.click_id AS click_id,
           c.clicked_at AS clicked_at, c.session_id AS session_id
    FROM sale_person AS sp
    INNER JOIN person_visitor AS pv ON pv.person_id = sp.person_id
    INNER JOIN clicks AS c ON c.visitor_id = pv.visitor_id
)

SELECT
    s.conversion_id AS conversion_id,
    s.ts AS ts,
    toString(s.premium) AS premium,
    s.currency AS currency,
    s.channel AS channel,
    argMax(c.click_id, c.clicked_at) AS click_id,       -- the last click before the sale
    max(c.clicked_at) AS clicked_at,
    s.ad_consent AS ad_consent,                         -- granted, denied, or '' (not said)
    argMax(c.person_id, c.clicked_at) AS person_id,     -- the buyer, and the session of the click (--model)
    argMax(c.session_id, c.clicked_at) AS click_session,
    s.broker_id AS signer,
    s.cancelled_at AS cancelled_at
FROM sales AS s
INNER JOIN sale_clicks AS c ON c.conversion_id = s.conversion_id
WHERE c.clicked_at < s.ts AND c.clicked_at >= s.ts - toIntervalDay({lookback_days:UInt32})
GROUP BY s.conversion_id, s.ts, s.premium, s.currency, s.channel, s.ad_consent, s.broker_id, s.cancelled_at
ORDER BY ts, conversion_id
