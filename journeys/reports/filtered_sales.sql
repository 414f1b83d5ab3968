-- The period's sales, and with filters (lever, campaign, broker, device) the sales they keep (filter_sales):
-- shared by overview.sql and brokers.sql, spliced into each (journeys/reports/base.py, sql_text).
all_sales AS (
    -- A cancelled sale (withdrawn, cancelled) is no sale: not counted, no revenue.
    SELECT conversion_id, ts, channel, broker_id, premium, phone_key, crm_id
    FROM parcours.conversions FINAL
    WHERE ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')} AND status != 'cancelled'
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
)
