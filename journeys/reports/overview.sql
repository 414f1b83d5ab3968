-- The period at a glance, or as a series (interval: 'day' or 'week', '' for one line): visits, leads, sales
-- online and offline by signature date (not attributed), revenue, cost. Days are UTC days.
-- Filters (lever, campaign, broker, device; '' when not given): the visits whose own landing matches every
-- filter given; the sales with such a visit of their person in the lookback (lookback_s) before them, or
-- whose point of sale matches; the costs of the lever and campaign (none with a broker or device filter).
WITH
periods AS (
    -- Every day (or Monday) of the period, so that a day without anything still has its line.
    SELECT DISTINCT multiIf({interval:String} = 'day', day, {interval:String} = 'week', toMonday(day),
                            toDate({from:DateTime64(3, 'UTC')})) AS period
    FROM (SELECT toDate({from:DateTime64(3, 'UTC')}) + number AS day
          FROM numbers(toUInt64(dateDiff('day', toDate({from:DateTime64(3, 'UTC')}),
                                         toDate({to:DateTime64(3, 'UTC')} - toIntervalMillisecond(1))) + 1)))
),

traffic AS (
    SELECT multiIf({interval:String} = 'day', toDate(started_at), {interval:String} = 'week', toMonday(toDate(started_at)),
                   toDate({from:DateTime64(3, 'UTC')})) AS period,
           count() AS visits, uniq(visitor_id) AS visitors, countIf(bounced) AS bounces, sum(leads) AS leads
    FROM parcours.touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE ({lever:String} = '' OR lever = {lever:String})
      AND ({campaign:String} = '' OR campaign = {campaign:String})
      AND ({broker:String} = '' OR broker_id = {broker:String})
      AND ({device:String} = '' OR device_type = {device:String})
    GROUP BY period
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

sales AS (
    SELECT multiIf({interval:String} = 'day', toDate(ts), {interval:String} = 'week', toMonday(toDate(ts)),
                   toDate({from:DateTime64(3, 'UTC')})) AS period,
           countIf(channel = 'web') AS online_sales, countIf(channel != 'web') AS offline_sales,
           sum(premium) AS revenue
    FROM all_sales
    WHERE ({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '') OR conversion_id IN (SELECT conversion_id FROM filter_sales)
    GROUP BY period
),

spend AS (
    SELECT multiIf({interval:String} = 'day', day, {interval:String} = 'week', toMonday(day),
                   toDate({from:DateTime64(3, 'UTC')})) AS period,
           sum(amount) AS cost, 1 AS costed
    FROM parcours.costs FINAL
    WHERE day >= toDate({from:DateTime64(3, 'UTC')}) AND day < toDate({to:DateTime64(3, 'UTC')})
      AND ({lever:String} = '' OR lever = {lever:String}) AND ({campaign:String} = '' OR campaign = {campaign:String})
      AND {broker:String} = '' AND {device:String} = ''
    GROUP BY period
)

SELECT
    periods.period AS period,
    traffic.visits AS visits,
    traffic.visitors AS visitors,
    if(visits = 0, NULL, traffic.bounces / visits) AS bounce_rate,
    traffic.leads AS leads,
    if(visits = 0, NULL, leads / visits) AS lead_rate,
    sales.online_sales AS online_sales,
    sales.offline_sales AS offline_sales,
    online_sales + offline_sales AS sales,
    sales.revenue AS revenue,
    if(visits = 0, NULL, sales / visits) AS conversion_rate,
    if(sales = 0, NULL, round(toDecimal128(revenue, 6) / sales, 2)) AS average_premium,
    if(spend.costed = 1, spend.cost, NULL) AS cost,
    if(sales = 0, NULL, round(toDecimal128(cost, 6) / sales, 2)) AS cost_per_sale
FROM periods
LEFT JOIN traffic ON traffic.period = periods.period
LEFT JOIN sales ON sales.period = periods.period
LEFT JOIN spend ON spend.period = periods.period
ORDER BY period
