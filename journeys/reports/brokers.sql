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

{filtered_sales},

signed AS (
    SELECT broker_id, count() AS sales_signed, sum(premium) AS revenue_signed
    FROM all_sales
    WHERE broker_id != ''
      AND (({lever:String} = '' AND {campaign:String} = '' AND {broker:String} = '' AND {device:String} = '') OR conversion_id IN (SELECT conversion_id FROM filter_sales))
    GROUP BY broker_id
),

names AS (
{broker_names}
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
