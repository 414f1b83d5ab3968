-- Traffic, leads and cost per acquisition lever: each session under the lever of its own landing
-- (parcours.touches), optionally split by a second key of that landing (by: campaign, broker or device).
-- The sales columns come from the attribution of the same period under a model (journeys/reports/levers.py).
-- Filters (lever, campaign, broker, device; '' when not given): the sessions whose own landing matches every
-- filter given; the costs of the lever and campaign (none with a broker or device filter).
WITH
touches AS (
    SELECT
        lever,
        multiIf({by:String} = 'campaign', campaign, {by:String} = 'broker', broker_id,
                {by:String} = 'device', device_type, '') AS segment,
        visitor_id,
        bounced,
        leads
    FROM parcours.touches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')},
                          referrer_rules = {referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))})
    WHERE ({lever:String} = '' OR lever = {lever:String})
      AND ({campaign:String} = '' OR campaign = {campaign:String})
      AND ({broker:String} = '' OR broker_id = {broker:String})
      AND ({device:String} = '' OR device_type = {device:String})
),

traffic AS (
    SELECT lever, segment, count() AS visits, uniq(visitor_id) AS visitors, countIf(bounced) AS bounces,
           sum(leads) AS leads
    FROM touches
    GROUP BY lever, segment
),

spend AS (
    -- Costs imported for every day the period touches, whole (costs are per day: a period of a few hours
    -- counts its day's), per lever, or per lever and
    -- campaign when split by campaign; none for the other breakdowns.
    SELECT lever, if({by:String} = 'campaign', campaign, '') AS segment, sum(amount) AS cost,
           1 AS costed
    FROM parcours.costs FINAL
    WHERE day >= toDate({from:DateTime64(3, 'UTC')}) AND day <= toDate({to:DateTime64(3, 'UTC')} - toIntervalMillisecond(1))
      AND {by:String} IN ('', 'campaign')
      AND ({lever:String} = '' OR lever = {lever:String}) AND ({campaign:String} = '' OR campaign = {campaign:String})
      AND {broker:String} = '' AND {device:String} = ''
    GROUP BY lever, segment
)

SELECT
    if(traffic.lever != '', traffic.lever, spend.lever) AS lever,
    if(traffic.lever != '', traffic.segment, spend.segment) AS segment,
    traffic.visits AS visits,
    traffic.visitors AS visitors,
    if(visits = 0, NULL, traffic.bounces / visits) AS bounce_rate,
    traffic.leads AS leads,
    if(visits = 0, NULL, leads / visits) AS lead_rate,
    if(spend.costed = 1, spend.cost, NULL) AS cost
FROM traffic
FULL OUTER JOIN spend ON spend.lever = traffic.lever AND spend.segment = traffic.segment
ORDER BY visits DESC, lever, segment
