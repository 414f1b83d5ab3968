"""The demo data set: reproducible, in the import profiles' shapes, and Mrs X's sale matched to her journey."""

from __future__ import annotations

import datetime as dt
import io

from callcentre import calls
from journeys import brokers, cancellations, conversions, costs, persons, reports, seed
from tests.journeys.conftest import rows

UNTIL = dt.date(2026, 11, 20)


def test_the_same_seed_gives_the_same_data_set():
    one, two = seed.generate(visitors=150, until=UNTIL), seed.generate(visitors=150, until=UNTIL)
    assert one.files == two.files and one.events == two.events
    assert seed.generate(visitors=150, until=UNTIL, seed=7).files != one.files


def test_the_files_have_the_partners_shapes():
    data = seed.generate(visitors=400, until=UNTIL)
    shop = next(body for name, body in data.files.items() if name.startswith("ventes-courtiers"))
    assert shop.startswith("\ufeffN° contrat;Date signature;".encode()) and b"\r\n" in shop
    assert any(b"\r\nMA-MRSX-0042;" in body for name, body in data.files.items() if name.startswith("ventes-courtiers"))
    assert any(name.startswith("ventes-crc-") and body.lstrip().startswith(b"[") for name, body in data.files.items())
    assert data.files["couts-regie.csv"].startswith(b"Day,Channel,Campaign,Cost (EUR)\n")


def test_mrs_x_is_seeded_and_her_shop_sale_is_matched_to_her_journey(store, ctx, plan):
    data = seed.generate(visitors=300, until=UNTIL)
    seed.store_events(store, plan, ctx.secret, data.events)
    imported = {}
    for name, kind, profile in seed.import_order(data.files):
        module = {"conversions": conversions, "brokers": brokers, "costs": costs, "calls": calls,
                  "cancellations": cancellations}[kind]
        imported[name] = module.import_file(store, ctx, io.BytesIO(data.files[name]), source=name, profile=profile)
    shop_files = [s for n, s in imported.items() if n.startswith("ventes-courtiers")]
    assert all(s.rejected >= 2 for s in shop_files), "each month's file has its two bad lines"
    # Some shop sales withdrawn (after their signature, by the example plan's `resiliations` profile), and a
    # contract the sales files never had; Mrs X's sale stands.
    cancelled = imported["resiliations-courtiers.csv"]
    assert cancelled.updated > 0 and cancelled.rejected == 1, cancelled.as_dict()
    assert rows(store, "SELECT count() AS n FROM parcours.conversions FINAL WHERE status = 'cancelled'") == \
        [{"n": cancelled.updated}]
    persons.stitch(store, persons.config(plan))
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 0}], "every event passes the plan"
    (sale,) = rows(store, "SELECT channel, broker_id, adviser, shop, crm_id, phone_key FROM parcours.conversions FINAL "
                          "WHERE conversion_id = 'MA-MRSX-0042'")
    assert (sale["channel"], sale["broker_id"], sale["adviser"], sale["shop"], sale["crm_id"]) == (
        "shop", "B042", "Sophie Marchand", "Lyon Part-Dieu", "Q-MRSX42")
    (her,) = rows(store, "SELECT argMax(person_id, updated_at) AS p FROM parcours.person_keys WHERE key = 'mrs-x'")
    keys = {(r["key_type"], r["key"]) for r in rows(
        store, "SELECT key_type, key FROM parcours.person_keys FINAL WHERE person_id = {p:String}", p=her["p"])}
    assert keys == {("visitor", "mrs-x"), ("phone", sale["phone_key"]), ("crm", "Q-MRSX42")}
    (touch,) = rows(store, "SELECT lever, utm_campaign FROM parcours.events FINAL WHERE visitor_id = 'mrs-x' "
                           "AND event = 'touch' ORDER BY ts LIMIT 1")
    assert touch == {"lever": "display", "utm_campaign": "moto-spring"}
    # The brief's story on the seeded data: her sale alone (the second of its signature), display's under first
    # touch, B042's shop's under last touch, half each under position-based.
    (signed,) = rows(store, "SELECT ts FROM parcours.conversions FINAL WHERE conversion_id = 'MA-MRSX-0042'")
    at = signed["ts"].replace(microsecond=0)
    credit = reports.run(store, plan, "attribution", {
        "model": "all", "by": "broker", "from": at.isoformat(), "to": (at + dt.timedelta(seconds=1)).isoformat(),
        "format": "json"}).records()
    got = {(r["model"], r["lever"], r["broker"]): r["conversions"] for r in credit if r["conversions"]}
    assert {k: v for k, v in got.items() if k[0] in ("first_touch", "last_touch", "position_based")} == {
        ("first_touch", "display", ""): 1.0, ("last_touch", "broker", "B042"): 1.0,
        ("position_based", "display", ""): 0.5, ("position_based", "broker", "B042"): 0.5}, got
    # The form's A/B test: the dashboard's funnel breaks down by the plan's `variant`, each visitor keeping hers.
    funnel = reports.run(store, plan, "funnel", {"from": "2026-01-01", "to": "2026-12-01", "by": "variant"}).records()
    first = {r["variant"]: r["visitors"] for r in funnel if r["step_index"] == 1}
    assert set(first) == {"a", "b"} and first["a"] > 0 and first["b"] > 0, first
    (split,) = rows(store, "SELECT count() AS n FROM (SELECT visitor_id FROM parcours.events WHERE step = 'vehicle' "
                           "GROUP BY visitor_id HAVING uniqExact(JSONExtractString(properties, 'variant')) > 1)")
    assert split == {"n": 0}


def test_the_call_log_joins_call_centre_buyers_to_their_journeys(store, ctx, plan):
    """The PBX log in Asterisk's shape: most call-centre buyers called before they signed, matched by their
    phone; callers never seen online and anonymous ones match nothing."""
    data = seed.generate(visitors=1500, until=UNTIL)
    assert data.files["appels-crc.csv"].startswith(b'"","') and b"ANSWERED" in data.files["appels-crc.csv"]
    seed.store_events(store, plan, ctx.secret, data.events)
    for name, kind, profile in seed.import_order(data.files):
        module = {"conversions": conversions, "brokers": brokers, "costs": costs, "calls": calls,
                  "cancellations": cancellations}[kind]
        done = module.import_file(store, ctx, io.BytesIO(data.files[name]), source=name, profile=profile)
        assert kind != "calls" or (done.imported > 0 and done.rejected == 0), done.as_dict()
    persons.stitch(store, persons.config(plan))
    matched = rows(store, "SELECT matched_by, disposition, count() AS n FROM parcours.call_matches("
                          "from = '2026-01-01 00:00:00', to = '2027-01-01 00:00:00') GROUP BY ALL ORDER BY ALL")
    by = {(r["matched_by"], r["disposition"]): r["n"] for r in matched}
    assert by.get(("caller_phone", "ANSWERED"), 0) > 0, by
    assert by.get(("", "ANSWERED"), 0) > 0, by  # the callers never seen online
