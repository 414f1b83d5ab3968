-- Per broker: the traffic it brought (sessions whose own landing named it: ?courtier=B042, a display
-- network's id...) and the sales it signed (parcours.conversions.broker_id, offline sales in its shop or by
-- the adviser). Names and levers from parcours.brokers (the plan's broker table, or `parcours import brokers`).
-- The attributed columns come from the attribution of the same period (journeys/reports/levers.py).
-- Filters (lever, campaign, broker, device; '' when not given): the sessions whose own landing matches every
-- filter given; the sales with such a visit of their person in the lookback (lookback_s) before them, or
-- whose point of sale matches.
WITH
traffic AS (
    SELECT broker_id, count() AS visits, uniq(visitor_id) AS visitors, countIf(bounced) AS bounces,
           sum(leads) AS leads
    FROM parcours.touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE broker_id != ''
      AND ({lever:String} = '' OR lever = {lever:String})
      AND ({campaign:String} = '' OR campaign = {campaign:String})
      AND ({broker:String} = '' OR broker_id = {broker:String})
      AND ({device:String} = '' OR device_type = {device:String})
    GROUP BY broker_id
),

all_sales AS (
    SELECT conversion_id, ts, channel, broker_id, premium, phone_key, crm_id
    FROM parcours.conversions FINAL
    WHERE ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
),

filter_visits AS (
    -- With filters: the visits whose own landing matches every filter given, with their person (without
    -- filters filter_from = filter_to, in 1970, and the persons' WHERE is false: nothing is read).
    SELECT if(person_of_visitor.person_id != '', person_of_visitor.person_id, t.visitor_id) AS person_id,
           t.started_at AS started_at
    FROM parcours.touches(from = {filter_from:DateTime64(3, 'UTC')}, to = {filter_to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}) AS t
    LEFT JOIN (SELECT key, person_id FROM parcours.person_keys FINAL WHERE key_type = 'visitor'
              AND ({lever:String} != '' OR {campaign:String} != '' OR {broker:String} != '' OR {device:String} != '')) AS person_of_visitor
        ON person_of_visitor.key = t.visitor_id
    WHERE ({lever:String} = '' OR t.lever = {lever:String})
      AND ({campaign:String} = '' OR t.campaign = {campaign:String})
      AND ({broker:String} = '' OR t.broker_id = {broker:String})
      AND ({device:String} = '' OR t.device_type = {device:String})
),

filter_sales AS (
    -- With filters, the sales kept: those with a matching visit of their person (by phone key, else CRM id)
    -- in the lookback before the sale, or whose point of sale matches (an offline sale: the signing broker,
    -- under its lever in parcours.brokers); the rule attribution's paths follow (conversion_paths.sql).
    SELECT conversion_id
    FROM (
        SELECT all_sales.conversion_id AS conversion_id, all_sales.ts AS ts,
               if(by_phone.person_id != '', by_phone.person_id, by_crm.person_id) AS person_id
        FROM all_sales
        LEFT JOIN (SELECT key, person_id FROM parcours.person_keys FINAL WHERE key_type = 'phone'
              AND ({lever:String} != '' OR {campaign:String} != '' OR {broker:String} != '' OR {device:String} != '')) AS by_phone
            ON by_phone.key = all_sales.phone_key AND all_sales.phone_key != ''
        LEFT JOIN (SELECT key, person_id FROM parcours.person_keys FINAL WHERE key_type = 'crm'
              AND ({lever:String} != '' OR {campaign:String} != '' OR {broker:String} != '' OR {device:String} != '')) AS by_crm
            ON by_crm.key = all_sales.crm_id AND all_sales.crm_id != ''
    ) AS s
    INNER JOIN filter_visits ON filter_visits.person_id = s.person_id
    WHERE s.person_id != '' AND filter_visits.started_at <= s.ts
      AND filter_visits.started_at >= s.ts - toIntervalSecond({lookback_s:UInt32})
    UNION DISTINCT
    SELECT all_sales.conversion_id
    FROM all_sales
    LEFT JOIN (SELECT broker_id, argMax(lever, updated_at) AS lever FROM parcours.brokers GROUP BY broker_id) AS pos
        ON pos.broker_id = all_sales.broker_id
    WHERE all_sales.channel != 'web' AND {campaign:String} = '' AND {device:String} = ''
      AND ({lever:String} = '' OR if(pos.lever != '', pos.lever, toString(all_sales.channel)) = {lever:String})
      AND ({broker:String} = '' OR all_sales.broker_id = {broker:String})
      AND ({lever:String} != '' OR {broker:String} != '')
),

signed AS (
    SELECT broker_id, count() AS sales_signed, sum(premium) AS revenue_signed
    FROM all_sales
    WHERE broker_id != ''
      AND (({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '') OR conversion_id IN (SELECT conversion_id FROM filter_sales))
    GROUP BY broker_id
),

names AS (
    SELECT broker_id, argMax(name, updated_at) AS name, argMax(lever, updated_at) AS lever
    FROM parcours.brokers
    GROUP BY broker_id
),

brokers AS (
    SELECT if(traffic.broker_id != '', traffic.broker_id, signed.broker_id) AS broker_id,
           traffic.visits AS visits, traffic.visitors AS visitors, traffic.bounces AS bounces, traffic.leads AS leads,
           signed.sales_signed AS sales_signed, signed.revenue_signed AS revenue_signed
    FROM traffic
    FULL OUTER JOIN signed ON signed.broker_id = traffic.broker_id
)

SELECT
    brokers.broker_id AS broker_id,
    names.name AS name,
    names.lever AS lever,
    visits,
    visitors,
    if(visits = 0, NULL, bounces / visits) AS bounce_rate,
    leads,
    if(visits = 0, NULL, leads / visits) AS lead_rate,
    sales_signed,
    revenue_signed
FROM brokers
LEFT JOIN names ON names.broker_id = brokers.broker_id
ORDER BY visits + sales_signed DESC, broker_id
