"""The reports bench's data: seeded events, persons and sales generated inside the engine (INSERT … SELECT
FROM numbers()), fast enough for 10 million events in a few tens of seconds.

Deterministic: every random choice is a hash of the session (or sale) number, so two runs hold the same rows
except the event ids. Shapes: sessions spread over 90 days, 60% landing with campaign or broker parameters
(a `touch` event), the others from a search engine, another site or nowhere; 35% start the 4-step quote
form, each step kept by 75% of those who reached the previous one; 90% of those who finish submit; most
who stop send a `form_abandon`. Each event is stored when it happened (`inserted_at` = its time), as a
collector running those 90 days would have stored it: stored all at once just before the bench's closing run,
every session would be late for it (journeys/closing.py) and the reports would read every event until the next.
"""

from __future__ import annotations

START = "2026-01-01 00:00:00"
DAYS = 90
EVENTS_PER_SESSION = 4.35
"""Measured on the generator's output: sessions = events / this."""

EVENTS = """
INSERT INTO {db}.events (event_id, event, ts, client_ts, sent_at, received_at, visitor_id, session_id, seq, url,
                         referrer, broker_id, lever, utm_source, utm_medium, utm_campaign, form_id, step,
                         step_index, step_elapsed_ms, properties, device_type, is_bot, inserted_at)
SELECT
    generateUUIDv4(s * 16 + k) AS event_id,
    e.1 AS event,
    start + toIntervalMillisecond(k * 41000 + (h1 % 9000)) AS ts,
    ts AS client_ts, ts AS sent_at, ts AS received_at,
    concat('v', toString(s % {visitors})) AS visitor_id,
    concat('s', toString(s)) AS session_id,
    toUInt32(k) AS seq,
    if(e.1 = 'page_view' AND e.2 > 0, concat('https://www.motoassur.example/page-', toString(e.2)),
       'https://www.motoassur.example/devis') AS url,
    if(k = 1, referrer0, 'https://www.motoassur.example/devis') AS referrer,
    if(tagged, broker0, '') AS broker_id,
    if(tagged, lever0, '') AS lever,
    if(tagged, source0, '') AS utm_source,
    if(tagged, medium0, '') AS utm_medium,
    if(tagged, campaign0, '') AS utm_campaign,
    if(e.1 IN ('form_step', 'form_submit', 'form_abandon'), 'moto_quote', '') AS form_id,
    if(e.1 IN ('form_step', 'form_abandon'), ['vehicle', 'rider', 'coverage', 'contact'][e.2], '') AS step,
    toUInt16(if(e.1 IN ('form_step', 'form_abandon'), e.2, 0)) AS step_index,
    toUInt32(if(e.1 = 'form_step', 15000 + h2 % 120000, 0)) AS step_elapsed_ms,
    '{{}}' AS properties,
    ['desktop', 'mobile', 'mobile', 'tablet'][1 + h1 % 4] AS device_type,
    h2 % 200 = 0 AS is_bot,
    ts AS inserted_at
FROM (
    SELECT
        number AS s,
        cityHash64(number, 1) AS h1,
        cityHash64(number, 2) AS h2,
        toDateTime64('{start}', 3, 'UTC') + toIntervalSecond(h1 % ({days} * 86400)) AS start,
        h2 % 100 < 60 AS tagged,
        cityHash64(number, 3) % 100 AS roll,
        multiIf(roll < 25, 'display', roll < 45, 'search_paid', roll < 60, 'social', roll < 75, 'email',
                roll < 92, 'broker', 'affiliation') AS lever0,
        multiIf(lever0 = 'broker', ['B042', 'B107'][1 + roll % 2], lever0 = 'display', 'D001',
                lever0 = 'affiliation', 'A310', '') AS broker0,
        multiIf(lever0 = 'display', 'regie', lever0 = 'search_paid', 'google', lever0 = 'social', 'facebook',
                lever0 = 'email', 'newsletter', '') AS source0,
        multiIf(lever0 = 'display', 'cpm', lever0 = 'search_paid', 'cpc', lever0 = 'social', 'social',
                lever0 = 'email', 'email', '') AS medium0,
        concat(lever0, '-', ['spring', 'summer', 'brand', 'retarget'][1 + cityHash64(number, 4) % 4]) AS campaign0,
        multiIf(tagged, '', roll < 50, 'https://www.google.fr/', roll < 70, 'https://forum.motards.example/t/1', '')
            AS referrer0,
        cityHash64(number, 5) % 100 < 35 AS in_form,
        cityHash64(number, 7) % 100 < 75 AS kept_2,
        kept_2 AND cityHash64(number, 8) % 100 < 75 AS kept_3,
        kept_3 AND cityHash64(number, 9) % 100 < 75 AS kept_4,
        toUInt8(if(in_form, 1 + kept_2 + kept_3 + kept_4, 0)) AS steps_done,
        steps_done = 4 AND cityHash64(number, 10) % 100 < 90 AS submitted,
        steps_done > 0 AND NOT submitted AND cityHash64(number, 11) % 100 < 80 AS abandoned,
        arrayConcat(
            [('page_view', 0)],
            if(tagged, [('touch', 0)], []),
            arrayMap(i -> ('page_view', i), range(1, 1 + toUInt8(h2 % 4))),
            arrayMap(i -> ('form_step', i), range(1, 1 + steps_done)),
            if(submitted, [('form_submit', 0)], []),
            if(abandoned, [('form_abandon', steps_done + 1)], [])
        ) AS evs
    FROM numbers({sessions})
)
ARRAY JOIN evs AS e, arrayEnumerate(evs) AS k
SETTINGS optimize_on_insert = 0
"""

PERSONS = """
INSERT INTO {db}.person_keys (key_type, key, person_id, updated_at)
SELECT ['visitor', 'phone'][1 + number % 2], concat(['v', 'k'][1 + number % 2], toString(intDiv(number, 2))),
       concat('p', toString(intDiv(number, 2))), toDateTime64('{start}', 3, 'UTC')
FROM numbers({visitors} * 2)
"""
"""Every visitor is a person with one phone (k<n>), as the stitching would leave them."""

SALES = """
INSERT INTO {db}.conversions (conversion_id, ts, channel, broker_id, premium, currency, phone_key, source, source_line)
SELECT
    concat('C', toString(number)) AS conversion_id,
    toDateTime64('{start}', 3, 'UTC') + toIntervalSecond(cityHash64(number, 21) % ({days} * 86400)) AS ts,
    multiIf(cityHash64(number, 22) % 100 < 60, 'shop', cityHash64(number, 22) % 100 < 85, 'call_centre', 'web') AS channel,
    multiIf(channel = 'shop', concat('S', leftPad(toString(1 + cityHash64(number, 23) % 50), 2, '0')),
            channel = 'call_centre', concat('A', leftPad(toString(1 + cityHash64(number, 23) % 10), 2, '0')), '') AS broker_id,
    toDecimal64(300 + cityHash64(number, 24) % 1200, 2) AS premium,
    'EUR' AS currency,
    concat('k', toString(cityHash64(number, 20) % {visitors})) AS phone_key,
    'bench' AS source,
    toUInt32(number + 1) AS source_line
FROM numbers({sales})
"""
"""Sales spread over the 90 days, by random visitors' phones: 60% in 50 shops, 25% by 10 call-centre advisers."""

BROKERS = """
INSERT INTO {db}.brokers (broker_id, name, lever, shop, network, source)
SELECT concat('S', leftPad(toString(number + 1), 2, '0')), concat('Agence ', toString(number + 1)), 'broker',
       concat('Agence ', toString(number + 1)), 'bench', 'bench' FROM numbers(50)
UNION ALL
SELECT concat('A', leftPad(toString(number + 1), 2, '0')), concat('Conseiller ', toString(number + 1)), 'call_centre',
       '', 'bench', 'bench' FROM numbers(10)
"""

COSTS = """
INSERT INTO {db}.costs (day, lever, campaign, amount, currency, source, source_line)
SELECT toDate('{start}') + intDiv(number, 24) AS day,
       ['display', 'search_paid', 'social', 'email', 'broker', 'affiliation'][1 + intDiv(number % 24, 4)] AS lever,
       concat(lever, '-', ['spring', 'summer', 'brand', 'retarget'][1 + number % 4]) AS campaign,
       toDecimal64(50 + cityHash64(number) % 500, 2) AS amount, 'EUR', 'bench', toUInt32(number + 1)
FROM numbers({days} * 24)
"""
