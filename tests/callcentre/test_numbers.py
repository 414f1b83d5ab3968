"""Tracking numbers: one per session from the plan's pool, kept while the page is seen, rested after."""

from __future__ import annotations

import json

import pytest

from callcentre.numbers import Config, Pool, display
from collector.enrich import client_address
from collector.storage import StoreError
from tests.callcentre.conftest import LEADS_KEY, Client
from tests.conftest import refusing_client
from tests.collector.helpers import rows, run_async

NUMBERS = ["+33970000110", "+33970000111", "+33970000112"]
HOLD, GRACE = 1800.0, 1800.0
UA = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"}


def pool() -> Pool:
    return Pool(Config(list(NUMBERS), "+33970000000", HOLD, GRACE))


def test_a_session_keeps_its_number_and_sessions_get_different_ones():
    p = pool()
    a, new = p.lease("v1", "s1", "u", 0)
    assert new and a.number == NUMBERS[0] and (a.expires_at, a.grace_until) == (HOLD, HOLD + GRACE)
    again, new = p.lease("v1", "s1", "u", 600)
    assert not new and again.lease_id == a.lease_id and again.number == a.number
    assert again.expires_at == 600 + HOLD  # renewed
    b, _ = p.lease("v2", "s2", "u", 601)
    c, _ = p.lease("v3", "s3", "u", 602)
    assert [b.number, c.number] == NUMBERS[1:]
    assert p.lease("v4", "s4", "u", 603) == (None, False)  # exhausted: the page keeps the default number
    assert p.free(603) == 0


def test_a_number_rests_through_its_grace_period_and_comes_back_least_recently_used_first():
    p = pool()
    for i in range(3):
        p.lease(f"v{i}", f"s{i}", "u", i)
    # s0's lease ends at HOLD, its grace at HOLD + GRACE: not leased to anyone before.
    assert p.lease("v9", "s9", "u", HOLD + 10) == (None, False)
    # s0 comes back within its grace: its own number again.
    back, new = p.lease("v0", "s0", "u", HOLD + GRACE - 1)
    assert not new and back.number == NUMBERS[0]
    # Past every grace, the number released first goes first.
    late = HOLD * 4 + GRACE * 4
    first, new = p.lease("v9", "s9", "u", late)
    assert new and first.number == NUMBERS[1]  # s1's ended before s0's renewed lease


def test_numbers_are_shown_as_their_country_writes_them():
    assert display("+33970000112") == "09 70 00 01 12"


def test_each_worker_leases_its_share_of_the_pool(plan):
    shares = [Config.of(plan.plan.call_centre.numbers, "FR", (slot, 3)).numbers for slot in range(3)]
    assert sorted(sum(shares, [])) == sorted(Config.of(plan.plan.call_centre.numbers, "FR").numbers)
    assert [len(s) for s in shares] == [4, 3, 3]


def ask(client, visitor="v1", session="s1", headers=None):
    body = json.dumps({"v": visitor, "s": session, "u": "https://www.motoassur.example/devis"})
    return client.post("/collect/number", content=body, headers={"content-type": "text/plain", **UA, **(headers or {})})


def test_a_number_request_that_gives_a_key_twice_is_refused(client, store):
    body = '{"v": "v1", "s": "s1", "v": "v2", "u": "https://www.motoassur.example/devis"}'
    r = client.post("/collect/number", content=body, headers={"content-type": "text/plain", **UA})
    assert r.status_code == 400 and r.json()["error"] == "not a number request: v: given more than once; send each key once"


def test_the_endpoint_leases_stores_and_renews(client, store):
    first = ask(client)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    doc = first.json()
    assert doc["n"] in [f"+3397000011{i}" for i in range(10)] and doc["d"] == display(doc["n"]) and doc["r"] == 60
    (lease,) = rows(store, "SELECT lease_id, number, visitor_id, session_id, url FROM parcours.number_leases")
    assert (lease["number"], lease["visitor_id"], lease["session_id"]) == (doc["n"], "v1", "s1")
    assert ask(client).json()["n"] == doc["n"]
    assert ask(client, "v2", "s2").json()["n"] != doc["n"]


def test_the_page_url_a_lease_keeps_has_its_personal_data_removed_as_the_events_do(client, store):
    body = json.dumps({"v": "v1", "s": "s1",
                       "u": "https://www.motoassur.example/devis?contact=jean.dupont%40example.com&tel=06%2031%2042%2053%2055"})
    assert client.post("/collect/number", content=body, headers={"content-type": "text/plain", **UA}).status_code == 200
    (lease,) = rows(store, "SELECT url FROM parcours.number_leases")
    assert "dupont" not in lease["url"] and "31%2042" not in lease["url"] and "0631425355" not in lease["url"]
    assert lease["url"].startswith("https://www.motoassur.example/devis?")


def test_bots_get_the_default_number_and_take_none(client, store):
    bot = ask(client, headers={"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    assert bot.json() == {"n": "+33970000000", "d": "09 70 00 00 00", "r": 60}
    assert rows(store, "SELECT count() AS n FROM parcours.number_leases") == [{"n": 0}]


@pytest.fixture(scope="module")
def refused(databases, engine_dir, tmp_path_factory):
    """One app for the cases below: each is refused before anything is read or written."""
    with refusing_client(databases, engine_dir, tmp_path_factory.mktemp("refused"), leads_key=LEADS_KEY) as c:
        yield c


@pytest.mark.parametrize("body", [b"", b"{", b'{"v": "x"}', b'{"v": 1, "s": "s"}', b'[1]', b"x" * 5000])
def test_a_bad_request_is_a_400_that_says_what_is_expected(refused, body):
    response = refused.post("/collect/number", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 400 and response.json()["error"].startswith("not a number request")


def test_another_sites_pages_are_refused(client):
    response = ask(client, headers={"origin": "https://evil.example"})
    assert response.status_code == 403 and "not one of the plan's sites" in response.json()["error"]
    assert ask(client, headers={"origin": "http://localhost:8000"}).headers["access-control-allow-origin"] == \
        "http://localhost:8000"


def test_a_lease_the_store_cannot_take_is_not_shown(client, store):
    service = client.app.state.numbers
    real = service.book.store

    class Down:
        database = real.database

        def insert_rows(self, table, rows, token=None):
            raise StoreError("insert into number_leases failed: Connection refused (injected outage)")

    service.book.store = Down()
    try:
        assert ask(client).json()["n"] == "+33970000000"
    finally:
        service.book.store = real
    assert service.pool.free(1e12) == 10  # the number went back to the pool
    assert ask(client).json()["n"] != "+33970000000"


def test_a_restarted_collector_gives_a_session_its_number_again(lead_settings, store):
    from collector.app import create_app

    with Client(create_app(lead_settings)) as c:
        number = ask(c, "v-r", "s-r").json()["n"]
        ask(c, "v-other", "s-other")
    with Client(create_app(lead_settings)) as c:
        assert ask(c, "v-r", "s-r").json()["n"] == number
        assert ask(c, "v-new", "s-new").json()["n"] not in (number,)


def test_a_session_id_sent_with_another_visitor_id_is_not_that_session():
    p = pool()
    mine, _ = p.lease("v1", "s1", "u", 0)
    forged, new = p.lease("v-attacker", "s1", "u", 1)  # someone else's session id, a forged pair
    assert new and forged.number != mine.number and forged.visitor_id == "v-attacker"
    again, new = p.lease("v1", "s1", "u", 2)
    assert not new and again.lease_id == mine.lease_id  # the real session keeps its lease


def test_one_address_cannot_empty_the_pool_for_everyone(monkeypatch):
    """A script asking numbers for made-up sessions gets its share of the pool, then the default number."""
    from callcentre import numbers

    monkeypatch.setattr(numbers, "MIN_PER_ADDRESS", 2)
    p = pool()
    got = [p.lease(f"v{i}", f"s{i}", "u", i, address="203.0.113.7")[0] for i in range(3)]
    assert [r is not None for r in got] == [True, True, False] and p.held_by("203.0.113.7", 3) == 2
    other, new = p.lease("v-real", "s-real", "u", 4, address="198.51.100.1")
    assert new and other is not None  # another visitor still gets a number
    renewed, new = p.lease("v0", "s0", "u", 5, address="203.0.113.7")
    assert renewed is not None and not new  # a session holding its number keeps it
    # Once those leases have ended and rested, the address gets numbers again.
    assert p.lease("v9", "s9", "u", HOLD * 3 + GRACE * 3, address="203.0.113.7")[0] is not None


def test_the_addresses_of_one_ipv6_64_share_one_share_of_the_pool(monkeypatch):
    """A script on one IPv6 /64 (2^64 addresses) emptied the pool, an address at a time (outside probe)."""
    from callcentre import numbers

    monkeypatch.setattr(numbers, "MIN_PER_ADDRESS", 2)
    assert {client_address(f"2001:db8:1:2::{i}") for i in range(1, 7)} == {"2001:db8:1:2::"}
    assert client_address("203.0.113.7") == "203.0.113.7" and client_address("testclient") == "testclient"
    p = pool()
    got = [p.lease(f"v{i}", f"s{i}", "u", i, address=client_address(f"2001:db8:1:2::{i}"))[0] for i in range(1, 5)]
    assert [r is not None for r in got] == [True, True, False, False]
    assert p.lease("v9", "s9", "u", 5, address=client_address("2001:db8:1:3::1"))[0] is not None  # another /64


def test_the_endpoint_shows_the_default_number_past_an_addresss_share_and_counts_it(client, store):
    numbers = [ask(client, f"v{i}", f"s{i}").json()["n"] for i in range(4)]  # the example's 10: 3 per address
    assert len(set(numbers[:3])) == 3 and numbers[3] == "+33970000000"
    metrics = client.get("/metrics").text
    assert 'parcours_number_leases_total{outcome="limited"} 1.0' in metrics


def test_pages_get_the_default_number_until_the_leases_are_read(plan, store, monkeypatch):
    """ClickHouse away at start: the collector starts, every page gets the default number (a number leased
    now could be one a session still holds), and once the leases are read the sessions get their numbers
    again and new ones only the numbers free."""
    import asyncio
    import socket
    import time
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry

    from callcentre import numbers
    from collector.storage import Store

    start = time.time() - 60
    store.insert_rows("number_leases", [{
        "lease_id": "l-held", "number": NUMBERS[0], "visitor_id": "v-held", "session_id": "s-held", "url": "",
        "started_at": start, "expires_at": start + HOLD, "grace_until": start + HOLD + GRACE, "renewed_at": start}])
    with socket.socket() as s:  # a port nothing listens on: ClickHouse away
        s.bind(("127.0.0.1", 0))
        away = Store(f"http://127.0.0.1:{s.getsockname()[1]}", database=store.database)
    monkeypatch.setattr(numbers, "RELOAD", 0.05)
    default = "+33970000000"

    async def scenario():
        service = numbers.Service(SimpleNamespace(plan=plan), away, (0, 1), registry=CollectorRegistry())
        await service.start(5)  # does not raise: the leases are read in the background
        try:
            assert not service.loaded
            assert await service.take("v-new", "s-new", "u", False) == default
            assert await service.take("v-held", "s-held", "u", False) == default
            service.book.store = store  # ClickHouse is back
            deadline = time.monotonic() + 60  # a bound on a failure, not a speed claim
            while not service.loaded:
                assert time.monotonic() < deadline, "the leases were not read once ClickHouse was back"
                await asyncio.sleep(0.05)
            assert await service.take("v-held", "s-held", "u", False) == NUMBERS[0]
            assert await service.take("v-new", "s-new", "u", False) not in (default, NUMBERS[0])
        finally:
            await service.stop()
            away.close()

    run_async(scenario())


def test_a_lease_keeps_its_ids_and_a_long_url_redacted_as_the_events_do(client, store):
    # Outside probe: the visitor and session ids were stored as given (a phone as an id), and the URL was cut at
    # 2048 characters before its redaction, which then no longer read the number across the cut.
    base = "https://www.motoassur.example/devis?q="
    url = base + "a" * (2040 - len(base) - 5) + "&tel=07.41.53.36.48"
    body = json.dumps({"v": "06 42 45 42 73", "s": "+33 6 55 74 39 66", "u": url})
    assert client.post("/collect/number", content=body, headers={"content-type": "text/plain", **UA}).status_code == 200
    (lease,) = rows(store, "SELECT visitor_id, session_id, url FROM parcours.number_leases")
    assert (lease["visitor_id"], lease["session_id"]) == ("[phone]", "[phone]")
    assert lease["url"] == base + "a" * (2040 - len(base) - 5) + "&tel=[phone]"
