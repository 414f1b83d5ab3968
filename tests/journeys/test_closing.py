"""Closing runs: the touches of ended sessions kept as rows (parcours.closed_touches), never counted twice,
never missing an event stored late, erased with their person."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.storage import Store
from journeys import closing, erase
from tests.journeys.builder import Journeys
from tests.journeys.test_touches import PERIOD, _touches


@pytest.fixture(autouse=True)
def no_margin(monkeypatch):
    """Every event these tests store is stored before the next run begins: no margin needed (one test sets it)."""
    monkeypatch.setattr(closing, "MARGIN", dt.timedelta(0))


def kept(store: Store) -> dict[str, int]:
    """Rows of closed_touches per session."""
    return {s: n for s, n in store.query(
        f"SELECT session_id, count() FROM {store.database}.closed_touches GROUP BY session_id").rows}


def fail_recording(store: Store, monkeypatch) -> None:
    """A run that writes its rows, then fails to record itself (the server went away)."""
    real = store.insert_rows

    def refused(table, rows, *args, **kwargs):
        if table == "touches_runs":
            raise RuntimeError("the server went away")
        return real(table, rows, *args, **kwargs)

    monkeypatch.setattr(store, "insert_rows", refused)
    with pytest.raises(RuntimeError):
        closing.close(store)


def history() -> Journeys:
    j = Journeys()
    j.page("v1", "a", "2026-03-02 10:00", referrer="https://www.google.fr/")
    j.page("v1", "a", "2026-03-02 10:03")
    j.add("touch", "v2", "b", "2026-03-03 23:58", lever="display", utm_medium="cpm", utm_campaign="spring")
    j.page("v2", "b", "2026-03-03 23:58")
    j.page("v2", "b", "2026-03-04 00:04")  # the same session, across midnight: a row on each day
    j.page("bot", "c", "2026-03-05 09:00", is_bot=True)
    return j


def test_a_run_keeps_each_ended_session_once_and_the_view_reads_the_same(store, plan):
    history().store(store)
    before = _touches(store, plan, PERIOD)
    run = closing.close(store)
    assert run.closed_before == closing.closed_before(run.watermark) and run.closed_before < run.watermark
    assert kept(store) == {"a": 1, "b": 1}, "the bot's session is no touch"
    assert run.sessions == 2 and run.replaced == 0
    assert _touches(store, plan, PERIOD) == before
    assert before["b"]["lever"] == "display" and before["b"]["ended_at"].day == 4
    again = closing.close(store)
    assert (again.sessions, kept(store)) == (0, {"a": 1, "b": 1}), "nothing new: nothing written"


def test_sessions_stored_within_the_margin_before_a_run_are_written_again_by_the_next(store, plan, monkeypatch):
    monkeypatch.setattr(closing, "MARGIN", dt.timedelta(hours=1))  # inserts that may still have been in flight
    history().store(store)
    before = _touches(store, plan, PERIOD)
    closing.close(store)
    again = closing.close(store)
    assert (again.sessions, again.replaced, kept(store)) == (2, 2, {"a": 1, "b": 1}), "in place, never twice"
    assert _touches(store, plan, PERIOD) == before


def test_an_event_stored_after_the_run_counts_at_once_and_the_next_run_replaces_the_row(store, plan):
    j = history()
    j.store(store)
    closing.close(store)
    late = Journeys()
    late._seq = dict(j._seq)
    late.submit("moto_quote", "v1", "a", "2026-03-02 10:05")  # a retried batch, a log replayed after an outage
    late.page("v3", "d", "2026-03-06 12:00")  # a whole session arriving late
    late.store(store)
    now = _touches(store, plan, PERIOD)
    assert (now["a"]["leads"], now["a"]["bounced"]) == (1, 0) and "d" in now, "read from the sessions at once"
    assert kept(store) == {"a": 1, "b": 1}
    run = closing.close(store)
    assert (run.sessions, run.replaced) == (2, 1)
    assert kept(store) == {"a": 1, "b": 1, "d": 1}
    assert _touches(store, plan, PERIOD) == now


def test_a_run_that_failed_half_way_counts_nothing_twice_and_the_next_one_finishes(store, plan, monkeypatch):
    history().store(store)
    before = _touches(store, plan, PERIOD)
    fail_recording(store, monkeypatch)
    assert kept(store) == {"a": 1, "b": 1}, "written, but not recorded"
    assert _touches(store, plan, PERIOD) == before, "rows of an unrecorded run are not read"
    monkeypatch.undo()
    run = closing.close(store)
    assert (run.sessions, run.replaced) == (2, 2) and kept(store) == {"a": 1, "b": 1}
    assert _touches(store, plan, PERIOD) == before


def test_a_session_still_going_is_not_closed(store, plan):
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    j = Journeys()
    j.page("v9", "now", today)
    j.store(store)
    closing.close(store)
    assert kept(store) == {}
    today_period = {"from": "2026-01-01 00:00:00", "to": "2100-01-01 00:00:00"}
    assert set(_touches(store, plan, today_period)) == {"now"}


def test_erasing_a_person_erases_their_kept_touches(store, plan):
    history().store(store)
    closing.close(store)
    done = erase.erase(store, plan, b"k" * 32, "visitor", "v2")
    assert done.removed["closed_touches"] == 1
    assert kept(store) == {"a": 1}
    assert set(_touches(store, plan, PERIOD)) == {"a"}


def test_one_process_of_the_machine_closes_at_a_time(tmp_path):
    with closing.machine_lock(tmp_path) as first:
        with closing.machine_lock(tmp_path) as second:
            assert (first, second) == (True, False)
    with closing.machine_lock(tmp_path) as again:
        assert again


# The form sessions (parcours.closed_form_sessions): the funnel reads them for the events before the last run's
# closed_before, and gives the same figures as from the events alone, whatever happened to the runs.
FUNNEL_PERIOD = {"from": "2026-03-01", "to": "2026-04-01"}


def form_rows(store: Store) -> dict[str, int]:
    """Rows of closed_form_sessions per session."""
    return {s: n for s, n in store.query(
        f"SELECT session_id, count() FROM {store.database}.closed_form_sessions GROUP BY session_id").rows}


def funnel(store: Store, plan) -> list[tuple]:
    from journeys import reports
    return [(r["step"], r["visitors"], r["completions"], r["abandons"], r["median_seconds"])
            for r in reports.run(store, plan, "funnel", FUNNEL_PERIOD).records()]


def quotes() -> tuple[Journeys, list]:
    j = Journeys()
    first = [j.step("moto_quote", "vehicle", 1, "v1", "a", "2026-03-02 10:00", elapsed_ms=4000),
             j.step("moto_quote", "rider", 2, "v1", "a", "2026-03-02 10:01", elapsed_ms=60000)]
    j.abandon("moto_quote", "coverage", 3, "v1", "a", "2026-03-02 10:02")
    j.step("moto_quote", "vehicle", 1, "v2", "b", "2026-03-03 23:58", elapsed_ms=5000)
    j.abandon("moto_quote", "rider", 2, "v2", "b", "2026-03-04 00:05")  # across midnight
    j.step("moto_quote", "vehicle", 1, "bot", "c", "2026-03-05 09:00", is_bot=True)
    return j, first


def test_a_run_keeps_each_form_session_once_and_the_funnel_reads_the_same(store, plan):
    j, _ = quotes()
    j.store(store)
    before = funnel(store, plan)
    assert before[0][:3] == ("vehicle", 2, 2) and before[1][3] == 1, "v2 left at rider"
    run = closing.close(store)
    assert run.form_sessions == 2 and form_rows(store) == {"a": 1, "b": 1}, "the bot's events are no step"
    assert funnel(store, plan) == before
    assert closing.close(store).form_sessions == 0 and form_rows(store) == {"a": 1, "b": 1}


def test_a_late_form_event_is_read_at_once_and_its_session_written_again_in_one_row(store, plan):
    j, first = quotes()
    j.store(store)
    closing.close(store)
    j.store(store, first)  # a retried batch, stored after the run
    late = Journeys()
    late._seq = dict(j._seq)
    late.submit("moto_quote", "v1", "a", "2026-03-02 10:03")  # a log replayed after an outage
    late.store(store)
    now = funnel(store, plan)
    assert now[-1][:3] == ("submit", 0, 1) and now[2][3] == 0, "a submitted: no abandon at coverage any more"
    run = closing.close(store)
    assert run.form_sessions == 1 and form_rows(store) == {"a": 1, "b": 1}
    assert funnel(store, plan) == now


def test_a_form_run_that_failed_half_way_counts_nothing_twice(store, plan, monkeypatch):
    j, _ = quotes()
    j.store(store)
    before = funnel(store, plan)
    fail_recording(store, monkeypatch)
    assert form_rows(store) == {"a": 1, "b": 1}, "written, but not recorded"
    assert funnel(store, plan) == before, "rows of an unrecorded run are not read"
    monkeypatch.undo()
    closing.close(store)
    assert form_rows(store) == {"a": 1, "b": 1}
    assert funnel(store, plan) == before


def test_a_run_before_this_table_existed_leaves_the_form_events_to_the_first_run_after(store, plan):
    """A database whose closing runs kept touches before migration 57: the funnel reads the events until a run
    records forms = 1; that run keeps every form event stored before it."""
    j, _ = quotes()
    j.store(store)
    closing.close(store)
    store.query(f"TRUNCATE TABLE {store.database}.closed_form_sessions", readonly=False)
    store.query(f"ALTER TABLE {store.database}.touches_runs UPDATE forms = 0 WHERE 1 SETTINGS mutations_sync = 2",
                readonly=False)
    before = funnel(store, plan)
    assert before[0][:3] == ("vehicle", 2, 2)
    assert closing.close(store).form_sessions == 2
    assert funnel(store, plan) == before


def test_erasing_a_person_erases_their_kept_form_sessions(store, plan):
    j, _ = quotes()
    j.store(store)
    closing.close(store)
    done = erase.erase(store, plan, b"k" * 32, "visitor", "v2")
    assert done.removed["closed_form_sessions"] == 1
    assert form_rows(store) == {"a": 1}


def test_a_form_session_split_between_runs_counts_as_one_session(store, plan, monkeypatch):
    """v1 leaves the form at coverage, then comes back and submits it in the same session: not an abandon.
    A run whose closed_before falls between the two keeps the first part; the second is read from the
    events, then kept by the next run in a row of its own: the session is still one."""
    j, _ = quotes()
    j.submit("moto_quote", "v1", "a", "2026-03-02 10:03")
    j.store(store)
    before = funnel(store, plan)
    assert before[2][3] == 0 and before[-1][2] == 1, "a submitted: no abandon at coverage"
    with monkeypatch.context() as m:
        m.setattr(closing, "closed_before", lambda now: dt.datetime(2026, 3, 2, 10, 2, 30))
        closing.close(store)
    assert form_rows(store) == {"a": 1}
    assert funnel(store, plan) == before
    closing.close(store)
    assert form_rows(store) == {"a": 2, "b": 1}
    assert funnel(store, plan) == before
