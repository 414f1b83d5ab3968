-- The period at a glance, or as a series (interval: 'day' or 'week', '' for one line): visits, leads, sales
-- online and offline by signature date (not attributed), revenue, cost. Days are UTC days.
-- Filters (lever, campaign, broker, device; '' when not given): the visits whose own landing matches every
-- filter given; the sales with such a visit of their person in the lookback (lookback_s) before them, or
-- whose point of sale matches; the costs of the lever and campaign (none with a broker or device filter).
WITH
-- 0, except in the previous period of a compared series (--compare): the period's length, added to each time
-- before it is put in its day or week, so that each day (week) of the period compared is set beside the same
-- span of time one period-length earlier, whatever the weekday or time of day the periods begin at.
toIntervalMillisecond({shift_ms:Int64}) AS shift,

periods AS (
    -- Every day (or Monday) of the period, so that a day without anything still has its line.
    SELECT DISTINCT multiIf({interval:String} = 'day', day, {interval:String} = 'week', toMonday(day),
                            toDate({from:DateTime64(3, 'UTC')} + shift)) AS period
    FROM (SELECT toDate({from:DateTime64(3, 'UTC')} + shift) + number AS day
          FROM numbers(toUInt64(dateDiff('day', toDate({from:DateTime64(3, 'UTC')} + shift),
                                         toDate({to:DateTime64(3, 'UTC')} + shift - toIntervalMillisecond(1))) + 1)))
),

traffic AS (
    SELECT multiIf({interval:String} = 'day', toDate(started_at + shift),
                   {interval:String} = 'week', toMonday(toDate(started_at + shift)),
                   toDate({from:DateTime64(3, 'UTC')} + shift)) AS period,
           count() AS visits, uniq(visitor_id) AS visitors, countIf(bounced) AS bounces, sum(leads) AS leads
    FROM parcours.touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE ({lever:String} = '' OR lever = {lever:String})
      AND ({campaign:String} = '' OR campaign = {campaign:String})
      AND ({broker:String} = '' OR broker_id = {broker:String})
      AND ({device:String} = '' OR device_type = {device:String})
    GROUP BY period
),

{filtered_sales},

sales AS (
    SELECT multiIf({interval:String} = 'day', toDate(ts + shift),
                   {interval:String} = 'week', toMonday(toDate(ts + shift)),
                   toDate({from:DateTime64(3, 'UTC')} + shift)) AS period,
           countIf(channel = 'web') AS online_sales, countIf(channel != 'web') AS offline_sales,
           sum(premium) AS revenue
    FROM all_sales
    WHERE ({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '') OR conversion_id IN (SELECT conversion_id FROM filter_sales)
    GROUP BY period
),

spend AS (
    SELECT multiIf({interval:String} = 'day', toDate(toDateTime64(day, 3, 'UTC') + shift),
                   {interval:String} = 'week', toMonday(toDate(toDateTime64(day, 3, 'UTC') + shift)),
                   toDate({from:DateTime64(3, 'UTC')} + shift)) AS period,
           sum(amount) AS cost, 1 AS costed
    FROM parcours.costs FINAL
    WHERE day >= toDate({from:DateTime64(3, 'UTC')}) AND day <= toDate({to:DateTime64(3, 'UTC')} - toIntervalMillisecond(1))
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
    -- To the cent, as an amount (the levers' average premium and cost per sale are too).
    if(sales = 0, NULL, toDecimal128(round(toDecimal128(revenue, 6) / sales, 2), 2)) AS average_premium,
    if(spend.costed = 1, spend.cost, NULL) AS cost,
    if(sales = 0, NULL, toDecimal128(round(toDecimal128(cost, 6) / sales, 2), 2)) AS cost_per_sale
FROM periods
LEFT JOIN traffic ON traffic.period = periods.period
LEFT JOIN sales ON sales.period = periods.period
LEFT JOIN spend ON spend.period = periods.period
ORDER BY period
