-- The paths of the attribution models (journeys/attribution.py), ChannelAttribution's table of paths:
-- one row per conversion in [from, to) with the touches of its person in the lookback window before it,
-- then one row per distinct path of the persons with touches in the period and no conversion (nulls).
--
-- A conversion is a sale (goal = 'sale': parcours.conversions, latest import of each conversion_id) or a
-- lead (goal = 'lead': a form_submit event). Its person: the sale's phone key, else its CRM id, through
-- person_keys (the stitching); a lead's visitor. A touch is a session (parcours.touches: the lever of its
-- own landing); its person is its visitor's, or the visitor itself before stitching has seen it. An
-- answered call matched to a journey is a touch too (parcours.call_touches), dated at its start: the
-- lever of the session that held the number it called, else the plan's call-centre lever. An
-- offline sale (channel other than 'web') ends with its point of sale as a touch when offline_touch is
-- on: the lever of the broker or adviser who signed (parcours.brokers), else the sale's channel.
--
-- Parameters besides from, to and referrer_rules: call_lever (the plan's call_centre.lever), touches_from (from minus the lookback), lookback_s
-- (seconds), goal, offline_touch, by ('' or campaign, broker, device: each touch's key beside its lever),
-- nulls (false: only the converting persons' touches are read, for the models that need no null path),
-- ages (false: no touch's age, which only time decay reads: the conversions of one path then share a row,
-- and `days` adds up their days from the first touch),
-- pos_alone (true only for the models that credit an offline sale's last touch alone, last touch and last
-- non-direct, without filters: an offline sale whose point of sale is a touch, of a lever other than direct,
-- then has that touch alone in its path, its online touches not read),
-- and the filters lever, campaign, broker, device ('' when not given): with any, only the paths with a touch
-- that matches every filter given are kept, whole (a visit's landing, or the point of sale: its lever and
-- the signing broker).
WITH
person_of_visitor AS (
    SELECT key AS visitor_id, person_id FROM parcours.person_keys FINAL WHERE key_type = 'visitor'
),

converting_visitors AS (
    -- Without null paths: the visitors of the converting persons, stitched, or a visitor that is its own
    -- person (a lead's only: a sale's person comes from person_keys, and a person id, `p` and a hash of its
    -- first key, is never a visitor id; not reading the sales' persons a second time saves a sixth).
    SELECT key FROM parcours.person_keys FINAL
    WHERE NOT {nulls:Bool} AND key_type = 'visitor' AND person_id IN (SELECT person_id FROM touched_conversions)
    UNION ALL
    SELECT person_id FROM conversions WHERE NOT {nulls:Bool} AND {goal:String} = 'lead'
),

touches AS (
    -- Every session, and every answered call matched to a journey (parcours.call_touches), from the start of
    -- the first lookback window to the end of the period, with its person (without null paths, only the
    -- converting persons'). A call matched by a phone has its person and no visitor.
    SELECT
        multiIf(t.person_id != '', t.person_id, person_of_visitor.person_id != '', person_of_visitor.person_id,
                t.visitor_id) AS person_id,
        t.started_at AS started_at,
        t.lever AS lever,
        multiIf({by:String} = 'campaign', t.campaign, {by:String} = 'broker', t.broker_id,
                {by:String} = 'device', t.device_type, '') AS key,
        -- Whether its landing matches every filter given: a flag carried rather than the four fields (a
        -- quarter less CPU for a filtered attribution on 10 million events; without filters, a constant).
        ({lever:String} = '' OR t.lever = {lever:String}) AND ({campaign:String} = '' OR t.campaign = {campaign:String})
        AND ({broker:String} = '' OR t.broker_id = {broker:String}) AND ({device:String} = '' OR t.device_type = {device:String})
            AS matched
    FROM (
        SELECT '' AS person_id, visitor_id, started_at, lever, campaign, broker_id, device_type
        FROM parcours.touches(from = {touches_from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                              referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
{call_touch_rows}
    ) AS t
    LEFT JOIN person_of_visitor ON person_of_visitor.visitor_id = t.visitor_id
    WHERE (t.visitor_id != '' OR t.person_id != '')
      -- Without null paths: only the converting persons' sessions go through the join, and the calls (few);
      -- a person among them without conversion is left out with the paths (one set of conversions fewer
      -- to build than two filters here: a quarter of the levers' paths).
      AND ({nulls:Bool} OR t.visitor_id IN (SELECT key FROM converting_visitors) OR t.person_id != '')
),

journeys AS (
    -- Each person's touches in time order: (time, lever, key, matches the filters).
    SELECT person_id, arraySort(touch -> touch.1, groupArray((started_at, lever, key, matched))) AS journey
    FROM touches
    GROUP BY person_id
),

points_of_sale AS (
    SELECT broker_id, argMax(lever, updated_at) AS lever FROM parcours.brokers GROUP BY broker_id
),

sales AS (
    -- Each sale with the lever of its point of sale as a touch ('' when it has none), and whether that touch
    -- alone makes its path (pos_alone: one of lever other than direct).
    SELECT sale.conversion_id AS conversion_id, sale.ts AS ts, sale.channel AS channel, sale.broker_id AS signer,
           toDecimal64(sale.premium, 2) AS value, sale.phone_key AS phone_key, sale.crm_id AS crm_id,
           multiIf(NOT {offline_touch:Bool} OR channel = 'web', '',
                   points_of_sale.lever != '', points_of_sale.lever, channel) AS point_of_sale,
           {pos_alone:Bool} AND point_of_sale NOT IN ('', 'direct') AS alone
    FROM parcours.conversions AS sale FINAL
    LEFT JOIN points_of_sale ON points_of_sale.broker_id = sale.broker_id
    WHERE {goal:String} = 'sale' AND sale.ts >= {from:DateTime64(3, 'UTC')} AND sale.ts < {to:DateTime64(3, 'UTC')}
      AND sale.status != 'cancelled'  -- a cancelled sale (withdrawn, cancelled) is no conversion
),

pathed_sales AS (
    -- The sales whose paths are built from their persons' touches: without null paths, not those whose point of
    -- sale alone makes the path (alone_rows, below: their persons are not looked up nor joined to touches; on the
    -- seed, 85% of the sales, and a sixth of the levers' paths).
    -- With null paths they stay, so that their persons are not taken for persons without conversion.
    SELECT * FROM sales WHERE {nulls:Bool} OR NOT alone
),

sale_persons AS (
    SELECT pathed_sales.*, if(by_phone.person_id != '', by_phone.person_id, by_crm.person_id) AS person_id
    FROM pathed_sales
    -- Only the sales' keys are read (person_keys is sorted by key_type, key).
    LEFT JOIN (SELECT key, person_id FROM parcours.person_keys FINAL
               WHERE key_type = 'phone' AND key IN (SELECT phone_key FROM pathed_sales)) AS by_phone
        ON by_phone.key = pathed_sales.phone_key
    LEFT JOIN (SELECT key, person_id FROM parcours.person_keys FINAL
               WHERE key_type = 'crm' AND key IN (SELECT crm_id FROM pathed_sales)) AS by_crm
        ON by_crm.key = pathed_sales.crm_id
),

leads AS (
    SELECT toString(event_id) AS conversion_id, min(ts) AS submitted_at, 'web' AS channel, '' AS signer, toDecimal64(0, 2) AS value,
           any(visitor_id) AS visitor_id
    FROM parcours.events
    WHERE {goal:String} = 'lead' AND event = 'form_submit' AND NOT is_bot
      AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
    GROUP BY event_id
),

conversions AS (
    SELECT person_id, ts, value, channel, signer, point_of_sale, alone FROM sale_persons
    UNION ALL
    SELECT if(person_of_visitor.person_id != '', person_of_visitor.person_id, leads.visitor_id) AS person_id,
           leads.submitted_at AS ts, leads.value, leads.channel, leads.signer, '' AS point_of_sale, false AS alone
    FROM leads LEFT JOIN person_of_visitor ON person_of_visitor.visitor_id = leads.visitor_id
),

-- The conversions, computed once (a subquery of one row, its value kept for the whole query): the two below read
-- them, and a CTE is computed again wherever it is read (each time the sales, their persons by phone and by CRM
-- id, and their points of sale: a tenth of the levers' paths).
(SELECT groupArray((person_id, ts, value, channel, signer, point_of_sale, alone)) FROM conversions) AS sold,

touched_conversions AS (
    -- The conversions whose paths have online touches (without pos_alone, all of them): only their persons'
    -- touches are read when null paths are not (on the seed, 85% of the sales are signed offline).
    SELECT conversion.1 AS person_id FROM (SELECT arrayJoin(sold) AS conversion) WHERE NOT conversion.7
),

person_conversions AS (
    SELECT conversion.1 AS person_id,
           groupArray((conversion.2, conversion.3, conversion.4, conversion.5, conversion.6, conversion.7)) AS converted
    FROM (SELECT arrayJoin(sold) AS conversion)
    GROUP BY person_id
),

persons AS (
    -- Every person with touches or conversions: a conversion whose person is unknown ('') has no touch.
    SELECT
        if(journeys.person_id != '', journeys.person_id, person_conversions.person_id) AS person_id,
        journeys.journey AS journey,
        person_conversions.converted AS converted
    FROM journeys
    FULL OUTER JOIN person_conversions ON person_conversions.person_id = journeys.person_id
),

paths AS (
    -- A person without conversion is one null path; a person with conversions, one path for each.
    SELECT
        empty(converted) AS not_converted,
        conversion.1 AS converted_at,
        conversion.2 AS value,
        conversion.3 AS channel,
        conversion.4 AS signer,
        conversion.5 AS point_of_sale,
        -- The touches in the window (a null path: the period; a conversion: its lookback) are a run of the
        -- journey, which is in time order: sliced out of each of its columns, not filtered touch by touch.
        journey.1 AS times,
        multiIf(not_converted, arrayFirstIndex(t -> t >= {from:DateTime64(3, 'UTC')}, times),
                conversion.6, 0,  -- its point of sale alone
                arrayFirstIndex(t -> t >= converted_at - toIntervalSecond({lookback_s:UInt32}), times)) AS first,
        if(not_converted, length(times), arrayLastIndex(t -> t <= converted_at, times)) AS last,
        if(first = 0 OR last < first, 0, last - first + 1) AS touched,
        greatest(first, 1) AS start,  -- arraySlice counts from 1 (0 when no touch is in the window: none taken)
        arraySlice(times, start, touched) AS online_times,
        arraySlice(journey.2, start, touched) AS online_levers,
        arraySlice(journey.3, start, touched) AS online_keys,
        arraySlice(journey.4, start, touched) AS online_matches
    FROM persons
    ARRAY JOIN if(empty(converted), [(toDateTime64(0, 3, 'UTC'), toDecimal64(0, 2), '', '', '', false)], converted) AS conversion
    WHERE {nulls:Bool} OR NOT empty(converted)
),

path_rows AS (
    SELECT
        arrayConcat(online_levers, if(point_of_sale != '', [point_of_sale], [])) AS levers,
        arrayConcat(online_keys, if(point_of_sale != '', [if({by:String} = 'broker', signer, '')], [])) AS keys,
        if(not_converted OR NOT {ages:Bool}, [],
           arrayConcat(arrayMap(t -> dateDiff('millisecond', t, converted_at) / 86400000, online_times),
                       if(point_of_sale != '', [0.0], []))) AS ages_days,
        -- Days from the path's first touch to the conversion (0 without an online touch): the paths' days, a
        -- decimal so that their sums are exact in any order.
        toDecimal128(if(not_converted OR touched = 0, 0, dateDiff('millisecond', online_times[1], converted_at)), 9)
            / 86400000 AS days,
        toUInt64(NOT not_converted) AS conversions,
        if(not_converted, toDecimal64(0, 2), value) AS value,
        toUInt64(not_converted) AS nulls,
        if(not_converted, '', channel) AS channel,
        if(not_converted, '', signer) AS signer
    FROM paths
    WHERE NOT (not_converted AND touched = 0)
      AND (({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '')
           OR has(online_matches, true)
           OR (point_of_sale != '' AND ({lever:String} = '' OR point_of_sale = {lever:String})
               AND ({broker:String} = '' OR signer = {broker:String})
               AND {campaign:String} = '' AND {device:String} = ''))
),

alone_rows AS (
    -- Without null paths, a sale whose point of sale alone makes its path (pos_alone: never with filters).
    SELECT [point_of_sale] AS levers, [if({by:String} = 'broker', signer, '')] AS keys,
           if({ages:Bool}, [0.0], []) AS ages_days, toDecimal128(0, 9) / 86400000 AS days, toUInt64(1) AS conversions,
           value, toUInt64(0) AS nulls, channel, signer
    FROM sales
    WHERE alone AND NOT {nulls:Bool}
)

-- With ages, conversions keep a row each (their touches' ages differ); null paths are counted per distinct path.
-- In order: the models' sums then add up the same floats in the same order each time.
SELECT levers, keys, ages_days, sum(conversions) AS conversions, sum(value) AS value, sum(nulls) AS nulls,
       channel, signer, sum(days) AS days
FROM (SELECT * FROM path_rows UNION ALL SELECT * FROM alone_rows)
GROUP BY levers, keys, ages_days, channel, signer
ORDER BY levers, keys, ages_days, channel, signer
