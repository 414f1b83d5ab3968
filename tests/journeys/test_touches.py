"""Sessions and touches: each session once, dated at its start, with the lever of its own landing."""

from __future__ import annotations

import pytest

import collector.storage as storage
from collector.schema import MIGRATIONS
from collector.storage import Store
from journeys import closing
from journeys.touches import referrer_rules
from tagplan import compile_plan, load_plan
from tests.conftest import EXAMPLE_PLAN
from tests.journeys.builder import SITE, Journeys

PERIOD = {"from": "2026-03-01 00:00:00", "to": "2026-04-01 00:00:00"}


def touches(store: Store, plan, period=PERIOD) -> dict[str, dict]:
    """The view's rows by session, read from parcours.sessions, then again after a closing run (from
    parcours.closed_touches): the same."""
    before = _touches(store, plan, period)
    closing.close(store)
    assert _touches(store, plan, period) == before, "a closing run changed the touches"
    return before


def _touches(store: Store, plan, period) -> dict[str, dict]:
    result = store.query(
        f"SELECT * FROM {store.database}.touches(from = {{from:DateTime64(3, 'UTC')}}, "
        "to = {to:DateTime64(3, 'UTC')}, "
        "referrer_rules = {rules:Array(Tuple(domains Array(String), referrer String, lever String))})",
        parameters={**period, "rules": referrer_rules(plan)})
    return {r["session_id"]: r for r in (dict(zip(result.columns, row)) for row in result.rows)}


REFERRERS = [
    "", "https://www.google.fr/search?q=assurance+moto", "https://WWW.BING.COM/", "https://www.qwant.com#x",
    "android-app://com.google.android.gm/", "https://forum.motards.example/t/42", SITE + "/other-page",
    "https://user:pw@www.google.com:443/", "https://googleusercontent.example/", "http://[::1]:8000/",
    "http://[bad/", "not a url", "https://ecosia.org.", "//duckduckgo.com/", "https://www.motoassur.example:8443/",
]
LANDINGS = [SITE + "/devis?x=1", "http://127.0.0.1:8000/demo/", "https://user@www.motoassur.example/"]

TRICKY_PLAN = """
levers:
  names: [broker, affiliation, display, search_organic, social, referral, internal, direct, none]
  rules:
    - {lever: broker_lever, when: {broker_id: known}}
    - {lever: display, when: {utm_medium: display}}
    - {lever: social, when: {referrer_domain: [facebook, t], referrer: external}}
    - {lever: none, when: {utm_source: absent, referrer: absent}}
    - {lever: search_organic, when: {referrer_domain: google}}
    - {lever: internal, when: {referrer: present, utm_campaign: absent}}
    - {lever: broker_lever}
"""


@pytest.fixture(scope="module")
def tricky_plan(tmp_path_factory):
    base = EXAMPLE_PLAN.read_text()
    head = base[:base.index("\nlevers:\n")]
    tail = base[base.index("\n# Identity keys"):]  # identity, reconciliation, imports, the call centre
    path = tmp_path_factory.mktemp("plan") / "tricky.yaml"
    path.write_text(head + "\n" + TRICKY_PLAN + tail)
    return compile_plan(load_plan(path))


@pytest.mark.parametrize("which", ["example", "tricky"])
def test_a_landing_without_parameters_gets_the_lever_the_collector_would(store, plan, tricky_plan, which):
    plan = plan if which == "example" else tricky_plan
    j = Journeys()
    expected = {}
    for i, referrer in enumerate(REFERRERS):
        for k, url in enumerate(LANDINGS):
            session = f"s{i}-{k}"
            j.page(f"v{i}-{k}", session, "2026-03-02 10:00", url=url, referrer=referrer, lever="persisted")
            expected[session] = plan.lever("", {}, referrer, url) or "direct"
    j.store(store)
    got = {s: t["lever"] for s, t in touches(store, plan).items()}
    assert got == expected
    assert len(set(expected.values())) >= 3  # the grid reaches several rules


@pytest.mark.parametrize("which", ["example", "tricky"])
def test_a_session_read_live_gets_its_lever_whether_its_referrer_was_among_the_kept_ones_or_not(
        store, plan, tricky_plan, which):
    """The rules are applied once per referrer host of the kept sessions: a session read live (stored after
    the closing run) whose host is among them takes that lever, one with a new host gets it from the rules."""
    plan, landing = (plan if which == "example" else tricky_plan), LANDINGS[0]
    kept = Journeys()
    kept_referrers = {"kept-google": "https://www.google.fr/", "kept-inside": SITE + "/other-page",
                      "kept-outside": "https://news.example/"}
    for i, (session, referrer) in enumerate(kept_referrers.items()):
        kept.page(f"k{i}", session, "2026-03-02 10:00", url=landing, referrer=referrer)
    kept.store(store)
    closing.close(store)
    live = Journeys()
    referrers = {"live-google": "https://www.google.fr/?q=moto", "live-inside": SITE + "/a",
                 "live-outside": "https://news.example/b", "live-forum": "https://forum.motards.example/t/1",
                 "live-facebook": "https://m.facebook.com/", "live-none": ""}
    for i, (session, referrer) in enumerate(referrers.items()):
        live.page(f"l{i}", session, "2026-03-03 10:00", url=landing, referrer=referrer)
    live.store(store)
    got = {s: t["lever"] for s, t in _touches(store, plan, PERIOD).items()}
    expected = {s: plan.lever("", {}, r, landing) or "direct" for s, r in {**kept_referrers, **referrers}.items()}
    assert got == expected
    assert len(set(expected.values())) >= 3  # several rules, a referrer inside the site and outside
    kept_rows = store.query(f"SELECT session_id FROM {store.database}.closed_touches ORDER BY session_id").rows
    assert kept_rows == [[s] for s in sorted(kept_referrers)]  # the others were read live


def test_more_referrer_hosts_than_the_list_holds(store, plan):
    """The list holds the period's 1,000 most frequent referrer hosts of kept sessions: the others' sessions get
    their lever from the rules, the same."""
    j = Journeys()
    referrers = {f"s{i}": f"https://www.ref{i}.example/page" for i in range(1010)}
    referrers |= {f"g{i}": "https://www.google.fr/" for i in range(3)} | {f"i{i}": SITE + "/x" for i in range(3)}
    for i, (session, referrer) in enumerate(referrers.items()):
        j.page(f"v{i}", session, "2026-03-02 10:00", url=LANDINGS[0], referrer=referrer)
    j.store(store)
    got = {s: t["lever"] for s, t in touches(store, plan).items()}
    assert got == {s: plan.lever("", {}, r, LANDINGS[0]) or "direct" for s, r in referrers.items()}
    assert {got["g0"], got["i0"], got["s0"]} == {"search_organic", "direct", "referral"}


def test_a_session_with_a_touch_takes_its_parameters_not_the_persisted_ones(store, plan):
    j = Journeys()
    # Mrs X lands from a display ad; three days later she comes back directly: her events still carry the
    # display campaign kept by the tag, but that session's own landing is direct.
    j.page("X", "x1", "2026-03-02 10:00", lever="display", utm_medium="cpm", utm_campaign="moto-spring",
           referrer="https://news.example/")
    j.add("touch", "X", "x1", "2026-03-02 10:00", lever="display", utm_source="regie", utm_medium="cpm",
          utm_campaign="moto-spring", broker_id="D001")
    j.page("X", "x2", "2026-03-05 18:00", lever="display", utm_medium="cpm", utm_campaign="moto-spring")
    j.page("X", "x3", "2026-03-06 18:00", lever="display", utm_medium="cpm", utm_campaign="moto-spring",
           referrer="https://www.google.fr/")
    j.store(store)
    t = touches(store, plan)
    assert (t["x1"]["lever"], t["x1"]["campaign"], t["x1"]["broker_id"], t["x1"]["tagged"]) == (
        "display", "moto-spring", "D001", True)
    assert (t["x2"]["lever"], t["x2"]["campaign"], t["x2"]["tagged"]) == ("direct", "", False)
    assert t["x3"]["lever"] == "search_organic"


def stop_merges(store: Store) -> None:
    """Keep every inserted part apart, as a busy server may for a while: duplicates stay visible."""
    for table in ("events", "sessions"):
        store.query(f"SYSTEM STOP MERGES {store.database}.{table}", readonly=False)


def test_each_event_counts_once_without_final(store, plan):
    stop_merges(store)
    j = Journeys()
    a = [j.page("A", "a", "2026-03-02 10:00", referrer="https://www.google.fr/"),  # a bounce
         j.add("touch", "A", "a", "2026-03-02 10:00", lever="email", utm_medium="email")]
    b = [j.page("B", "b", "2026-03-02 11:00"), j.page("B", "b", "2026-03-02 11:01"),  # two pages
         j.submit("moto_quote", "B", "b", "2026-03-02 11:02")]
    c = [j.page("C", "c", "2026-03-02 12:00"), j.step("moto_quote", "vehicle", 1, "C", "c", "2026-03-02 12:01")]
    j.store(store)
    for _ in range(2):  # the same batches retried: stored again, unmerged
        j.store(store, a + b + c)
    assert store.query(f"SELECT count() FROM {store.database}.events").rows == [[21]]
    t = touches(store, plan)
    assert {s: (t[s]["interacted"], t[s]["leads"], t[s]["bounced"]) for s in t} == {
        "a": (False, 0, True), "b": (True, 1, False), "c": (True, 0, False)}
    assert t["a"]["lever"] == "email"  # the touch, not the referrer


def test_a_session_is_dated_at_its_start_and_summed_across_midnight(store, plan):
    j = Journeys()
    j.page("A", "late", "2026-02-28 23:50")          # starts before the period...
    j.page("A", "late", "2026-03-01 00:10")          # ...and goes on into it: not in March
    j.page("B", "night", "2026-03-31 23:55")         # starts in the period, ends after it
    j.page("B", "night", "2026-04-01 00:05")
    j.page("C", "bot", "2026-03-03 09:00", is_bot=True)
    j.add("page_view", "D", "", "2026-03-04 09:00", event_id="00000000-0000-4000-8000-000000000001")  # a pixel
    j.store(store)
    t = touches(store, plan)
    assert set(t) == {"night", "00000000-0000-4000-8000-000000000001"}
    assert not t["night"]["bounced"] and str(t["night"]["ended_at"]).startswith("2026-04-01 00:05")
    february = touches(store, plan, {"from": "2026-02-01 00:00:00", "to": "2026-03-01 00:00:00"})
    assert set(february) == {"late"} and not february["late"]["bounced"]


def test_existing_events_are_summed_up_by_the_migration(engine_dir, database, plan, monkeypatch):
    """An older database gets its sessions from the events it already holds, then from each insert."""
    store = Store(f"chdb://{engine_dir}", database=database)
    try:
        monkeypatch.setattr(storage, "MIGRATIONS", tuple(m for m in MIGRATIONS if m.version < 20))
        store.migrate()
        j = Journeys()
        before = [j.page("A", "a", "2026-03-02 10:00"), j.page("B", "b", "2026-03-02 10:05")]
        j.store(store)
        monkeypatch.setattr(storage, "MIGRATIONS", MIGRATIONS)
        assert 20 in store.migrate()
        j.page("B", "b", "2026-03-02 10:10")
        j.store(store, j.rows[2:])
        j.store(store, before)  # a retried batch from before the migration, after it
        t = touches(store, plan)
        assert (t["a"]["bounced"], t["b"]["bounced"]) == (True, False)
        assert str(t["b"]["ended_at"]).startswith("2026-03-02 10:10")
    finally:
        store.query(f"DROP DATABASE IF EXISTS {database}", readonly=False)
        store.close()


def test_server_events_are_not_visits(store, plan):
    """Events from the Segment-compatible API (a back office's `track`, no session id) are no sessions:
    before migration 21 each was summed up as a visit of its own, landing from nowhere: a direct visit."""
    j = Journeys()
    j.page("X", "x1", "2026-03-02 10:00", referrer="https://www.google.fr/")
    j.add("contract_signed", "X", "", "2026-03-02 11:00", source="back_office", user_id="crm-42")
    j.add("page_view", "user:crm-42", "", "2026-03-02 11:05", source="crm")
    j.store(store)
    assert set(touches(store, plan)) == {"x1"}
    sessions = store.query(f"SELECT count() FROM {store.database}.sessions").rows
    assert sessions == [[1]]
