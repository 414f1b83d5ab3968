"""One person across visits, phones and quotes: incremental, deterministic stitching on the embedded engine."""

from __future__ import annotations

import json
import time
import uuid

from collector import ingest
from collector.enrich import phone_key
from journeys import conversions, persons
from journeys.persons import person_id
from journeys.profiles import Record
from tests.conftest import SECRET
from tests.journeys.conftest import rows


def send(store, plan, *events, at: int | None = None):
    """Events as the collector stores them (validated, enriched, the phone hashed)."""
    now = int(time.time() * 1000) if at is None else at
    batch = [{"id": str(uuid.uuid4()), "t": now, "sid": "s", **e} for e in events]
    out = ingest.ingest(json.dumps({"sent": now, "events": batch}).encode(), ingest.Request(now), plan, SECRET)
    assert not out.rejected, out.rejected
    store.insert_rows("events", out.events)


def quote(vid, quote_id, phone):
    return {"e": "form_submit", "vid": vid, "f": "moto_quote", "p": {"quote_id": quote_id, "phone": phone}}


def visit(vid):
    return {"e": "page_view", "vid": vid}


def people(store) -> dict[tuple[str, str], str]:
    return {(r["key_type"], r["key"]): r["person_id"]
            for r in rows(store, "SELECT key_type, key, person_id FROM parcours.person_keys FINAL")}


def key(phone):
    return ("phone", phone_key(phone, "FR", SECRET))


def test_a_submit_links_the_visitor_its_phone_and_its_quote_and_every_visitor_gets_a_row(store, plan):
    send(store, plan, visit("v1"), quote("v1", "Q-1", "06 12 34 56 78"), visit("v2"))
    run = persons.stitch(store, persons.config(plan))
    got = people(store)
    assert got == {("visitor", "v1"): got[("visitor", "v1")], key("0612345678"): got[("visitor", "v1")],
                   ("crm", "Q-1"): got[("visitor", "v1")], ("visitor", "v2"): person_id(("visitor", "v2"))}
    assert got[("visitor", "v1")] == person_id(("crm", "Q-1")), "a new person is named after its first key"
    assert (run.links, run.keys_written) == (3, 4)


def test_a_person_keeps_its_id_as_keys_join_and_a_merge_keeps_the_smaller(store, plan):
    cfg = persons.config(plan)
    send(store, plan, quote("v1", "Q-1", "0612345678"))
    send(store, plan, visit("v9"))
    persons.stitch(store, cfg)
    first, lone = people(store)[("visitor", "v1")], people(store)[("visitor", "v9")]
    # Another visit of the same phone joins the person: its id does not change.
    send(store, plan, {"e": "identify", "vid": "v2", "p": {"phone": "+33 6 12 34 56 78"}})
    persons.stitch(store, cfg)
    assert people(store)[("visitor", "v2")] == first and people(store)[("visitor", "v1")] == first
    # v9 submits a quote with the same phone: two persons merge, the smaller id stays.
    send(store, plan, quote("v9", "Q-9", "06.12.34.56.78"))
    run = persons.stitch(store, cfg)
    got = people(store)
    assert len(set(got.values())) == 1 and set(got.values()) == {min(first, lone)}
    assert run.merges == 1


def test_a_sale_links_its_phone_and_quote_to_the_journeys(store, ctx, plan):
    send(store, plan, quote("v1", "Q-1", "0611111111"))  # the quote, with one phone
    send(store, plan, {"e": "identify", "vid": "v2", "p": {"phone": "0622222222"}})  # another visit, another phone
    conversions.import_records(store, ctx, [Record(1, {"conversion_id": "C-1", "ts": "2026-10-03T10:00:00",
                                                       "phone": "06 22 22 22 22", "crm_id": "Q-1"})], source="t")
    persons.stitch(store, persons.config(plan))
    got = people(store)
    assert got[("visitor", "v1")] == got[("visitor", "v2")] == got[key("0622222222")] == got[("crm", "Q-1")]


def test_a_run_twice_writes_nothing_and_a_run_from_scratch_writes_nothing_either(store, plan):
    cfg = persons.config(plan)
    send(store, plan, quote("v1", "Q-1", "0612345678"), visit("v2"), quote("v3", "Q-3", "0612345678"))
    persons.stitch(store, cfg)
    before = rows(store, "SELECT count() AS n FROM parcours.person_keys")
    assert persons.stitch(store, cfg).keys_written == 0
    # Another process that never saw a run (several collectors, --workers N) computes the same persons.
    store.query(f"TRUNCATE TABLE {store.database}.stitch_runs", readonly=False)
    again = persons.stitch(store, cfg)
    assert again.links and again.keys_written == 0
    assert rows(store, "SELECT count() AS n FROM parcours.person_keys") == before


def test_an_event_stored_late_is_stitched_whatever_its_time(store, plan):
    cfg = persons.config(plan)
    send(store, plan, visit("v1"))
    persons.stitch(store, cfg)
    # Ten days old (a log replayed after an outage, a rejected event replayed): stored now, read now.
    send(store, plan, quote("v1", "Q-1", "0612345678"), at=int(time.time() * 1000) - 10 * 86_400_000)
    persons.stitch(store, cfg)
    assert people(store)[("crm", "Q-1")] == people(store)[("visitor", "v1")]


def test_a_phone_typed_by_too_many_visitors_links_no_one_and_is_reported(store, plan):
    cfg = persons.config(plan)
    shop = "04 72 00 00 00"  # the shop's own number, typed by customers who will not give theirs
    for i in range(cfg.max_visitors_per_key):
        send(store, plan, quote(f"v{i}", f"Q-{i}", shop))
    persons.stitch(store, cfg)
    assert len({people(store)[("visitor", f"v{i}")] for i in range(cfg.max_visitors_per_key)}) == 1, \
        "20 visitors: still plausible, one person"
    send(store, plan, quote("v99", "Q-99", shop))
    run = persons.stitch(store, cfg)
    got = people(store)
    assert key(shop) not in got, "left out: no person"
    assert len({got[("visitor", f"v{i}")] for i in [*range(cfg.max_visitors_per_key), 99]}) == \
        cfg.max_visitors_per_key + 1, "the person it made is split back into its visitors"
    assert got[("visitor", "v3")] == got[("crm", "Q-3")], "each visitor keeps its own quote"
    assert run.hot_keys == 1
    assert rows(store, "SELECT key, reason, linked FROM parcours.identity_hot_keys FINAL") == [
        {"key": key(shop)[1], "reason": "too_many_visitors", "linked": 21}]


def test_a_shared_computer_that_left_many_phones_links_no_one(store, plan):
    cfg = persons.config(plan)
    for i in range(cfg.max_phones_per_visitor + 1):  # a shop computer entering customers' quotes
        send(store, plan, quote("shop-pc", f"Q-{i}", f"06 00 00 00 {i:02d}"))
    send(store, plan, {"e": "identify", "vid": "home", "p": {"phone": "06 00 00 00 03"}})
    persons.stitch(store, cfg)
    got = people(store)
    assert ("visitor", "shop-pc") not in got
    assert got[("crm", "Q-3")] == got[key("0600000003")] == got[("visitor", "home")], "phone and quote still meet"
    assert got[("crm", "Q-3")] != got[("crm", "Q-4")]


def test_the_collector_keeps_persons_current_while_it_runs(client, store):
    from tests.collector.helpers import event, post
    from tests.journeys.conftest import ADMIN

    post(client, event("form_submit", vid="web-1", f="moto_quote", p={"quote_id": "Q-W1", "phone": "0612345678"}))
    # The background turn runs every few seconds; POST /api/persons/stitch runs one now.
    run = client.post("/api/persons/stitch", headers=ADMIN).json()
    assert set(run) == {"watermark", "links", "keys_written", "merges", "hot_keys", "seconds"}
    got = people(store)
    assert got[("visitor", "web-1")] == got[("crm", "Q-W1")] == got[key("0612345678")]
    status = client.get("/api/persons/status", headers=ADMIN).json()
    assert status["persons"] >= 1 and status["last_run"]["keys_written"] >= 0 and status["error"] is None
    assert rows(store, "SELECT count() AS n FROM parcours.brokers FINAL WHERE source = 'plan'") == [{"n": 4}], \
        "the plan's brokers are written at start"


def _staging(store) -> set[str]:
    return {r[0] for r in store.query("SELECT name FROM system.tables WHERE database = {db:String} "
                                      "AND startsWith(name, 'staging_')", parameters={"db": store.database}).rows}


def test_the_staging_tables_a_killed_process_left_are_dropped_at_the_next_start_not_those_in_use(settings, store):
    """A `kill -9` during an import, a stitching or closing run or an erasure left its Memory tables (empty once the
    process is gone): one more at each crash, listed among the data (ops probe: 13 after a few kills). The
    collector's first background turn drops those older than the process; one an import makes now stays."""
    from collector.app import create_app
    from tests.conftest import Client

    left = [f"{store.database}.staging_conversions_0ld{i}" for i in range(2)] + [f"{store.database}.staging_stitch_0ld"]
    for name in left:
        store.query(f"CREATE TABLE {name} (key String) ENGINE = Memory", readonly=False)
    time.sleep(2.5)  # older than the collector about to start, by ClickHouse's clock (to the second)
    with Client(create_app(settings)) as client:
        in_use = f"{store.database}.staging_conversions_n0w"
        store.query(f"CREATE TABLE {in_use} (key String) ENGINE = Memory", readonly=False)
        deadline = time.monotonic() + 30
        while _staging(store) & {n.split(".")[1] for n in left} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _staging(store) & {n.split(".")[1] for n in left}, "the tables a dead process left are there"
        assert "staging_conversions_n0w" in _staging(store)
    assert persons.drop_left_staging(store, older_than=3600) == 0  # a table a minute old is no one's leftover here
    assert "staging_conversions_n0w" in _staging(store)
