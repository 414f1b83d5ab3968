"""Reports' figures kept once computed (journeys/reports/results.py): answered again only while the data they
were read from is unchanged, older ones only to a caller that takes them, forgotten on an erasure, and the
views people ask for computed again in the background."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time

import pytest

from collector.app import create_app
from journeys import reports
from journeys.reports import results
from tests.conftest import Client
from tests.journeys.builder import Journeys
from tests.journeys.test_runner import quote

PERIOD = {"from": "2026-03-01", "to": "2026-04-01"}
ADMIN = {"authorization": "Bearer admin-test-token"}
TAKES_OLDER = {**ADMIN, "cache-control": "max-age=600"}


@pytest.fixture
def quiet(settings):
    """The collector without its background turns (their writes would change the data under the tests)."""
    return dataclasses.replace(settings, background=False)


@pytest.fixture
def events(store):
    j = Journeys()
    quote(j, "A", "2026-03-02", 4)
    quote(j, "B", "2026-03-03", 2)
    j.store(store)


@pytest.fixture
def computed(monkeypatch):
    """The reports computed (by name), counted where the API and the background turn call them."""
    names: list[str] = []
    respond = reports.respond

    def counting(store, plan, name, raw):
        names.append(name)
        return respond(store, plan, name, raw)

    monkeypatch.setattr(reports, "respond", counting)
    return names


def first_visitors(response) -> int:
    return response.json()[0]["visitors"]


def test_the_same_view_is_answered_from_memory_until_the_data_changes(quiet, store, events, computed):
    with Client(create_app(quiet)) as client:
        first = client.get("/api/reports/funnel", params=PERIOD, headers=ADMIN)
        again = client.get("/api/reports/funnel", params=PERIOD, headers=ADMIN)
        assert again.text == first.text and "age" not in again.headers
        assert computed == ["funnel"]
        # Another format or other options are other figures; the same period written otherwise is the same.
        client.get("/api/reports/funnel", params={**PERIOD, "format": "csv"}, headers=ADMIN)
        client.get("/api/reports/funnel", params={**PERIOD, "window": "2h"}, headers=ADMIN)
        client.get("/api/reports/funnel", params={"from": "2026-03-01T00:00:00", "to": "2026-04-01"}, headers=ADMIN)
        assert computed == ["funnel"] * 3

        j = Journeys()
        quote(j, "C", "2026-03-04", 1)
        j.store(store)
        after = client.get("/api/reports/funnel", params=PERIOD, headers=ADMIN)
        assert (first_visitors(first), first_visitors(after)) == (2, 3)
        assert computed == ["funnel"] * 4


def test_figures_older_than_the_data_go_only_to_a_caller_that_takes_them(quiet, store, events, computed):
    with Client(create_app(quiet)) as client:
        client.get("/api/reports/funnel", params=PERIOD, headers=ADMIN)
        j = Journeys()
        quote(j, "C", "2026-03-04", 1)
        j.store(store)
        older = client.get("/api/reports/funnel", params=PERIOD, headers=TAKES_OLDER)
        assert first_visitors(older) == 2 and 0 <= int(older.headers["age"]) < 600
        assert computed == ["funnel"]
        current = client.get("/api/reports/funnel", params=PERIOD, headers={**ADMIN, "cache-control": "max-age=0"})
        assert first_visitors(current) == 3 and "age" not in current.headers
        again = client.get("/api/reports/funnel", params=PERIOD, headers=TAKES_OLDER)
        assert first_visitors(again) == 3 and "age" not in again.headers  # current again: no age
        assert computed == ["funnel"] * 2


def test_an_erasure_forgets_every_figure_kept(quiet, store, events):
    with Client(create_app(quiet)) as client:
        assert first_visitors(client.get("/api/reports/funnel", params=PERIOD, headers=ADMIN)) == 2
        r = client.post("/api/erase", json={"visitor": "A"}, headers=ADMIN)
        assert r.status_code == 200, r.text
        # Even a caller that takes older figures gets none computed with the erased person's events.
        after = client.get("/api/reports/funnel", params=PERIOD, headers=TAKES_OLDER)
        assert first_visitors(after) == 1 and "age" not in after.headers


def test_figures_begun_before_an_erasure_are_not_kept(store, plan, events):
    kept = results.Results(store, None)
    state, key = kept.state(), kept.key(plan, "funnel", PERIOD)
    began = time.time()
    kept.clear()  # an erasure ends while the figures are computed
    kept.keep(key, state, began, "[]", "application/json")
    assert kept.answer(key, state, None) is None
    kept.keep(key, state, time.time(), "[]", "application/json")
    assert kept.answer(key, state, None) is not None


def test_a_persons_journey_is_never_kept(quiet, store, events, computed):
    with Client(create_app(quiet)) as client:
        for _ in range(2):
            r = client.post("/api/reports/person", json={**PERIOD, "quote_id": "Q-1"}, headers=ADMIN)
            assert r.status_code == 200, r.text
        assert computed == ["person", "person"]


def test_the_views_asked_for_are_computed_again_when_the_data_changes_even_after_a_restart(
        store, plan, events, tmp_path, computed):
    kept = results.Results(store, tmp_path)
    raw = {**PERIOD, "format": "json"}
    key, state = kept.key(plan, "funnel", raw), kept.state()
    assert kept.answer(key, state, None, raw) is None
    assert kept.views() == [], "a caller that takes only current figures (the command line) asks for no view"
    assert kept.answer(key, state, 600, raw) is None  # the dashboard's call: a view
    kept.keep(key, state, 0.0, reports.respond(store, plan, "funnel", raw)[0], "application/json")
    moving = {"from": "30d", "format": "json"}  # a period that moves with the clock is no view to keep warm
    assert kept.answer(kept.key(plan, "levers", moving), state, 600, moving) is None
    assert [name for name, _ in kept.views()] == ["funnel"]
    assert kept.refresh(plan) == 0, "its figures are current"

    j = Journeys()
    quote(j, "C", "2026-03-04", 1)
    j.store(store)
    assert kept.refresh(plan) == 1, "figures computed long ago (0.0) and older than the data"
    answer = kept.answer(key, kept.state(), None)
    assert answer is not None and answer.age is None and json.loads(answer.body)[0]["visitors"] == 3

    kept.save()
    restarted = results.Results(store, tmp_path)
    assert restarted.refresh(plan) == 1, "the views of the last run are computed at start"
    assert restarted.answer(key, restarted.state(), None).body == answer.body
    j = Journeys()
    quote(j, "D", "2026-03-05", 1)
    j.store(store)
    assert restarted.refresh(plan) == 0, "computed less than a minute ago: not again yet"
    assert computed == ["funnel"] * 3


def test_the_dashboards_default_view_is_computed_until_a_view_is_asked_for(store, plan, events, tmp_path, computed,
                                                                           monkeypatch):
    """A new install: the background computes the page's default view (journeys/dashboard/views.py), the last 30
    days, and answers it from memory after; once a viewer has asked for a view, that one instead."""
    from journeys.dashboard import views

    kept = results.Results(store, tmp_path, default_view=views.default_view)
    default = views.default_view(plan)
    assert kept.refresh(plan) == len(default) and computed == [name for name, _ in default]
    assert kept.refresh(plan) == 0, "current"
    today = dt.datetime.now(dt.timezone.utc).date()
    raw = {**default[3][1], "from": (today - dt.timedelta(days=29)).isoformat(),
           "to": (today + dt.timedelta(days=1)).isoformat()}
    assert default[3][0] == "funnel" and kept.answer(kept.key(plan, "funnel", raw), kept.state(), None) is not None

    computed.clear()
    asked = {**PERIOD, "format": "json"}
    kept.respond(plan, "funnel", asked, max_age=600)
    j = Journeys()
    quote(j, "C", "2026-03-04", 1)
    j.store(store)
    monkeypatch.setattr(results, "FRESH_ENOUGH", 0.0)  # every figure older than the data computed again
    assert kept.refresh(plan) == 1 and computed == ["funnel", "funnel"], "the view asked for, not the default"
    assert results.Results(store, None).refresh(plan) == 0, "no default view given: nothing"


def test_a_background_turn_stopped_ends_at_once_its_query_stopped(store, plan, events, tmp_path, monkeypatch):
    """The collector stops during a turn: the query under way is killed (it would have run for ten seconds) and
    no other view is begun, rather than the shutdown waiting for the turn to end."""
    begun: list[str] = []

    def slow(store, plan, name, raw):
        begun.append(name)
        store.query("SELECT sum(sleepEachRow(0.5)) FROM numbers(20)")
        return b"[]", "application/json"

    monkeypatch.setattr(reports, "respond", slow)
    monkeypatch.setattr(results, "WARM_SETTINGS", {**results.WARM_SETTINGS, "max_block_size": 1})  # 0.5 s a row
    kept = results.Results(store, tmp_path, default_view=lambda plan: [(name, {**PERIOD, "format": "json"})
                                                                        for name in ("funnel", "levers")])
    threading.Timer(1.0, kept.stop).start()
    assert kept.refresh(plan) == 0, "the query killed: no figure kept"
    assert begun == ["funnel"], "no other view begun"


def test_the_least_recently_asked_figures_go_first_past_the_bound(store, plan, events):
    kept = results.Results(store, None, max_bytes=4000)
    state = kept.state()
    keys = [kept.key(plan, "funnel", {**PERIOD, "window": f"{h}h"}) for h in (1, 2, 3)]
    for key in keys:
        kept.keep(key, state, 0.0, "x" * 900, "application/json")
    assert kept.answer(keys[0], state, None) is not None  # asked again: the most recent now
    kept.keep(kept.key(plan, "funnel", {**PERIOD, "window": "4h"}), state, 0.0, "x" * 900, "application/json")
    assert [kept.answer(k, state, None) is not None for k in keys] == [True, False, True]


def test_figures_begun_under_the_old_plan_are_not_kept_after_a_reload(store, plan, events):
    kept = results.Results(store, None)
    state, key = kept.state(), kept.key(plan, "funnel", PERIOD)
    began = time.time()
    assert kept.key(dataclasses.replace(plan), "funnel", PERIOD) == key  # the plan reloaded meanwhile
    kept.keep(key, state, began, "[]", "application/json")
    assert kept.answer(key, state, None) is None


def test_a_new_plan_forgets_the_figures_of_the_old_one(store, plan, events):
    kept = results.Results(store, None)
    state, key = kept.state(), kept.key(plan, "funnel", PERIOD)
    kept.keep(key, state, 0.0, "[]", "application/json")
    other = dataclasses.replace(plan)
    assert kept.key(other, "funnel", PERIOD) == key and kept.answer(key, state, None) is None


@pytest.mark.parametrize("header, expected", [
    ("max-age=600", 600.0), ("no-cache, max-age=30", 30.0), ("max-age=x", None), ("", None), (None, None),
    ("max-age=\xb2", None), ("max-age=\u0663", None)])
def test_max_age_is_read_off_cache_control(header, expected):
    """A header's byte 0xB2 reads as '²': a digit to str.isdigit that float() refused (a 500 from the API)."""
    assert results.max_age(header) == expected


def test_the_last_30_days_are_tomorrow_the_last_30_days_again(store, monkeypatch, tmp_path):
    import datetime as dt

    monkeypatch.setattr(results, "_today", lambda: dt.date(2026, 11, 26))
    kept = results.Results(store, tmp_path)
    rolling = {"from": "2026-10-28", "to": "2026-11-27", "format": "json"}  # the page's "last 30 days"
    past = {"from": "2026-10-01", "to": "2026-11-01", "format": "json"}  # October: a fixed period
    for raw in (rolling, past):
        kept._note_view(("overview",), raw)
    kept.save()
    monkeypatch.setattr(results, "_today", lambda: dt.date(2026, 11, 27))
    views = [raw for _, raw in results.Results(store, tmp_path).views()]
    assert {"from": "2026-10-29", "to": "2026-11-28", "format": "json"} in views and past in views


def test_a_user_that_may_not_read_the_datas_state_gets_every_answer_computed(store, plan, events, monkeypatch, caplog):
    # As a ClickHouse user without access to system.parts: the engine refuses the state's query.
    monkeypatch.setattr(results, "STATE_SQL", "SELECT count(), 0 FROM system.no_such_table")
    kept = results.Results(store, None)
    first = kept.respond(plan, "funnel", {**PERIOD, "format": "json"})
    assert json.loads(first.body)[0]["visitors"] == 2 and "answers are not kept" in caplog.text
    assert kept.state() is None and kept.key(plan, "funnel", PERIOD) is None


def test_figures_being_computed_are_waited_for_not_computed_again(store, plan, events, monkeypatch):
    import threading

    calls: list[str] = []
    respond = reports.respond

    def slow(store_, plan_, name, raw):
        calls.append(name)
        time.sleep(0.5)  # long enough for the second call to find it under way
        return respond(store_, plan_, name, raw)

    monkeypatch.setattr(reports, "respond", slow)
    kept = results.Results(store, None)
    raw = {**PERIOD, "format": "json"}
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(kept.respond(plan, "funnel", raw))) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(60)
    assert calls == ["funnel"] and len(answers) == 3 and len({a.body for a in answers}) == 1

    # The one computing fails (its caller went away): the others compute the figures themselves.
    failing = {"left": 1}

    def fails_once(store_, plan_, name, raw_):
        calls.append(name)
        time.sleep(0.5)
        if failing["left"]:
            failing["left"] -= 1
            raise results.QueryRefused("stopped")
        return respond(store_, plan_, name, raw_)

    monkeypatch.setattr(reports, "respond", fails_once)
    calls.clear()
    other = {**raw, "window": "2h"}
    outcomes: list = []

    def ask():
        try:
            outcomes.append(kept.respond(plan, "funnel", other).body)
        except results.QueryRefused:
            outcomes.append("failed")

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(60)
    assert sorted(o == "failed" for o in outcomes) == [False, True] and calls == ["funnel", "funnel"]


def test_the_datas_state_moves_with_writes_not_with_merges(store, events):
    kept = results.Results(store, None)
    j = Journeys()
    quote(j, "C", "2026-03-04", 2)
    j.store(store)  # a second part
    before = kept.state()
    store.command(f"OPTIMIZE TABLE {store.database}.events FINAL")  # the parts merged: the same rows
    parts = store.query(f"SELECT count() FROM system.parts WHERE database = '{store.database}' AND table = 'events' "
                        "AND active").rows[0][0]
    assert parts == 1 and kept.state() == before
    store.command(f"ALTER TABLE {store.database}.events DELETE WHERE visitor_id = 'C' SETTINGS mutations_sync = 1")
    after_delete = kept.state()
    assert after_delete != before
    store.command(f"ALTER TABLE {store.database}.events UPDATE step_elapsed_ms = 5 WHERE visitor_id = 'A' "
                  "SETTINGS mutations_sync = 1")  # the same rows, other values
    assert kept.state() != after_delete
    after_delete = kept.state()
    j = Journeys()
    quote(j, "D", "2026-03-05", 1)
    j.store(store)
    assert kept.state() not in (before, after_delete)


def test_reports_computed_from_the_same_data_share_a_query_asked_twice(store, plan, events, monkeypatch):
    """The dashboard's levers and paths read the same conversion paths: computed once while the data is the
    same, again after a write or an erasure; the figures are those computed alone."""
    from journeys.reports import base

    ran: list[str] = []
    query = base.Context._query

    def counting(self, sql, parameters):
        ran.append(self.report.name)
        return query(self, sql, parameters)

    monkeypatch.setattr(base.Context, "_query", counting)
    asked = {"levers": {**PERIOD, "format": "json", "model": "linear"}, "paths": {**PERIOD, "format": "json"}}
    alone = [reports.respond(store, plan, name, options)[0] for name, options in asked.items()]
    assert ran == ["levers", "levers", "paths"]  # levers: its traffic, then the paths

    kept = results.Results(store, None)
    ran.clear()
    shared = [kept.respond(plan, name, options).body for name, options in asked.items()]
    assert shared == alone and ran == ["levers", "levers"], "the paths' query run once, for levers"

    j = Journeys()
    quote(j, "C", "2026-03-04", 1)
    j.store(store)
    ran.clear()
    kept.respond(plan, "paths", asked["paths"])
    assert ran == ["paths"], "new data: computed again"
    kept.clear()  # an erasure
    ran.clear()
    kept.respond(plan, "levers", asked["levers"])
    assert ran == ["levers", "levers"], "after an erasure: nothing shared from before"


@pytest.fixture
def seeded(store, plan, ctx):
    """The demo data set (journeys/seed.py), small: web and offline sales, brokers, calls, null paths."""
    import io

    from callcentre import calls
    from journeys import brokers, cancellations, conversions, costs, persons, seed

    data = seed.generate(visitors=400, until=dt.date(2026, 3, 31))
    seed.store_events(store, plan, ctx.secret, data.events)
    for name, kind, profile in seed.import_order(data.files):
        module = {"conversions": conversions, "brokers": brokers, "costs": costs, "calls": calls,
                  "cancellations": cancellations}[kind]
        module.import_file(store, ctx, io.BytesIO(data.files[name]), source=name, profile=profile)
    persons.stitch(store, persons.config(plan))


def paths_queries(monkeypatch) -> list[tuple[str, str, bool, bool, bool]]:
    """The conversion paths' queries run: (report, by, nulls, ages, offline_touch)."""
    from journeys.reports import base

    ran: list[tuple[str, str, bool, bool, bool]] = []
    query = base.Context._query

    def counting(self, sql, parameters):
        if "nulls" in parameters:
            ran.append((self.report.name, parameters["by"], parameters["nulls"], parameters["ages"],
                        parameters["offline_touch"]))
        return query(self, sql, parameters)

    monkeypatch.setattr(base.Context, "_query", counting)
    return ran


@pytest.mark.parametrize("first", ["attribution", "levers"])
def test_the_pages_conversion_paths_are_read_off_the_widest_one_shared(store, plan, seeded, monkeypatch, first):
    """The dashboard's attribution (every model: null paths, ages) is computed split by broker, and the
    levers', brokers', media's and paths' paths (one model, no null path, no age, by broker or none, with or
    without the point of sale) read off it while it is shared: the figures those reports give alone. Asked
    before it, the levers compute their own."""
    period = {"from": "2026-02-01", "to": "2026-04-01", "format": "json", "lookback": "30d"}
    asked = {"attribution": {"model": "all"}, "levers": {"model": "linear"}, "brokers": {"model": "linear"},
             "media_pos": {"model": "linear"}, "paths": {}}
    order = [first, *[name for name in asked if name != first]]
    ran = paths_queries(monkeypatch)
    alone = {name: reports.respond(store, plan, name, {**period, **asked[name]})[0] for name in order}
    assert len(ran) == 5 and len(json.loads(alone["media_pos"])) > 5 and len(json.loads(alone["brokers"])) >= 3
    assert any(r["lever"] == "markov" or r["model"] == "markov" for r in json.loads(alone["attribution"]))

    kept = results.Results(store, None)
    ran.clear()
    shared = {name: kept.respond(plan, name, {**period, **asked[name]}).body for name in order}
    assert shared == alone
    widest = ("attribution", "broker", True, True, True)
    assert ran == ([widest] if first == "attribution" else [("levers", "", False, False, True), widest])


def test_a_background_turn_computes_the_attribution_first_and_reads_the_other_paths_off_it(
        store, plan, seeded, monkeypatch):
    """The views listed most recently asked first, except the attribution's: computed first, the levers' and
    brokers' paths read off its (asked after it on the page, they were listed before it)."""
    period = {"from": "2026-02-01", "to": "2026-04-01", "format": "json", "lookback": "30d"}
    kept = results.Results(store, None)
    for name, model in (("attribution", "all"), ("levers", "linear"), ("brokers", "linear")):
        kept.respond(plan, name, {**period, "model": model}, max_age=600)
        time.sleep(0.01)  # asked one after the other
    assert [name for name, _ in kept.views()] == ["brokers", "levers", "attribution"]
    kept.clear()  # an erasure: every answer and shared query forgotten, the views kept
    ran = paths_queries(monkeypatch)
    assert kept.refresh(plan) == 3
    assert ran == [("attribution", "broker", True, True, True)]


def test_paths_read_off_a_wider_query_are_those_the_query_gives(store, plan, seeded):
    """Every narrower set of conversion paths read off the widest (null paths, ages, by broker, the point of
    sale as a touch, with the online touches of offline sales) is row for row what conversion_paths.sql gives
    for it."""
    import itertools

    from journeys.reports import base, paths

    raw = {"from": "2026-02-01", "to": "2026-04-01", "model": "all"}
    ctx = base.Context(store, plan, reports.options("attribution", raw), paths.ATTRIBUTION)
    widest = {**paths.path_parameters(ctx), "by": "broker", "offline_touch": True}
    source = ctx.query(paths.SQL, widest)
    assert sum(r[source.columns.index("nulls")] for r in source.rows) > 0
    both = (False, True)
    for nulls, ages, by, offline_touch, pos_alone in itertools.product(both, both, ("", "broker"), both, both):
        if pos_alone and (nulls or not offline_touch):  # the levers' and brokers' paths only: one model, no null path
            continue
        target = {**widest, "nulls": nulls, "ages": ages, "by": by, "offline_touch": offline_touch,
                  "pos_alone": pos_alone}
        derived = paths.narrower_paths(widest, target)(source)
        computed = ctx.query(paths.SQL, target)
        assert derived.columns == computed.columns
        assert derived.rows == [list(r) for r in computed.rows], target


def test_paths_with_a_filter_are_not_read_off_paths_with_the_point_of_sale(store, plan, seeded, monkeypatch):
    """A filter may keep a path for its point of sale alone: the media's paths (without it) are then computed."""
    period = {"from": "2026-02-01", "to": "2026-04-01", "format": "json", "lever": "broker"}
    ran = paths_queries(monkeypatch)
    alone = [reports.respond(store, plan, name, {**period, "model": "linear"})[0] for name in ("levers", "media_pos")]
    kept = results.Results(store, None)
    ran.clear()
    assert [kept.respond(plan, name, {**period, "model": "linear"}).body for name in ("levers", "media_pos")] == alone
    assert [r[0] for r in ran] == ["levers", "media_pos"]


def test_shared_results_are_bounded_in_rows_oldest_first(store, monkeypatch):
    from journeys.reports.base import Result

    monkeypatch.setattr(results, "SHARED_ROWS", 10)
    kept = results.Results(store, None)
    computed: list[str] = []

    def rows(name, n):
        def compute():
            computed.append(name)
            return Result(["x"], [(i,) for i in range(n)])
        return compute

    for name, n in (("a", 4), ("b", 4), ("c", 4)):  # 12 rows: a, the oldest, goes
        kept._shared_query((name,), rows(name, n))
    for name in ("c", "b", "a"):
        kept._shared_query((name,), rows(name, 4))
    assert computed == ["a", "b", "c", "a"]


def test_a_wider_query_that_fails_or_cannot_give_the_result_leaves_it_computed(store):
    """Read off a wider query only when that one gives it: a wider computation that fails while waited for, or a
    result it cannot be read off (derive: None), and the query is computed itself; the one computing in another's
    place sees its own failure."""
    import threading

    from journeys.reports.base import Result

    kept = results.Results(store, None)
    computed: list[str] = []

    def compute(name, fail=False, wait=0.0):
        def run():
            time.sleep(wait)
            computed.append(name)
            if fail:
                raise results.QueryRefused("stopped")
            return Result(["x"], [[name]])
        return run

    wide = threading.Thread(target=lambda: pytest.raises(results.QueryRefused, kept._shared_query, ("wide",),
                                                         compute("wide", fail=True, wait=0.3)))
    wide.start()
    time.sleep(0.05)
    derived = kept._shared_query(("narrow",), compute("narrow"), [(("wide",), lambda r: r, compute("wide2"), False)])
    wide.join(10)
    assert computed == ["wide", "narrow"] and derived.rows == [["narrow"]]

    computed.clear()
    kept._shared_query(("wide3",), compute("wide3"))
    derived = kept._shared_query(("narrow3",), compute("narrow3"), [(("wide3",), lambda r: None, compute("x"), False)])
    assert computed == ["wide3", "narrow3"] and derived.rows == [["narrow3"]]

    computed.clear()
    widest = (("widest",), lambda r: Result(["x"], [["from " + r.rows[0][0]]]), compute("widest"), True)
    assert kept._shared_query(("n4",), compute("n4"), [widest]).rows == [["from widest"]]
    assert kept._shared_query(("n5",), compute("n5"), [widest]).rows == [["from widest"]]
    assert computed == ["widest"], "computed in its place once, then shared"
    with pytest.raises(results.QueryRefused):
        kept._shared_query(("n6",), compute("n6"), [(("w6",), lambda r: r, compute("w6", fail=True), True)])


def test_a_hand_edited_view_with_a_day_that_is_not_one_is_left_out_the_others_kept(store, tmp_path, caplog):
    views = [{"name": "overview", "raw": {"from": "today+x", "to": "today+1"}, "asked": time.time()},
             {"name": "overview", "raw": {"from": "2026-10-01", "to": "2026-11-01"}, "asked": time.time()}]
    (tmp_path / results.VIEWS_FILE).write_text(json.dumps(views))
    kept = results.Results(store, tmp_path)
    assert kept.views() == [("overview", {"from": "2026-10-01", "to": "2026-11-01"})]
    assert "a view left out" in caplog.text
