"""Delivery: nothing lost while the collector is unreachable, nothing counted twice, nothing lost before the tag loads."""

from __future__ import annotations

import time

import pytest

from e2e.demo import complete, visitor_id, watch_errors

EXACTLY_ONCE = ("SELECT event, step, seq, count() AS n FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                "GROUP BY event_id, event, step, seq, client_ts ORDER BY client_ts, seq")


def _abort(attempts):
    def handler(route):
        attempts.append(route.request.url)
        route.abort()
    return handler


def _until(page, condition, what: str, timeout: float = 60.0) -> None:
    """Let the page run until `condition()` holds (route handlers run meanwhile); no bound on how fast."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        page.wait_for_timeout(100)


def test_events_sent_while_the_collector_is_unreachable_arrive_once_it_is_back(collector, page):
    attempts: list[str] = []
    page.route("**/collect", _abort(attempts))
    page.goto(f"{collector.url}/demo/")
    vid = visitor_id(page)
    complete(page, "vehicle", "rider")
    _until(page, lambda: len(attempts) >= 2, "a retry to fail too")
    assert collector.sql(f"SELECT 1 FROM parcours.events WHERE visitor_id = '{vid}'") == []

    page.unroute("**/collect")
    rows = collector.wait_rows(EXACTLY_ONCE.format(vid=vid), 3, timeout=30)
    assert [(r["event"], r["step"], r["n"]) for r in rows] == [
        ("page_view", "", 1), ("form_step", "vehicle", 1), ("form_step", "rider", 1)]
    # Every copy that reached the collector carried the same event id.
    raw = collector.sql(f"SELECT uniqExact(event_id) AS ids FROM parcours.events WHERE visitor_id = '{vid}'")
    assert raw[0]["ids"] == 3


def test_events_left_unsent_by_a_page_are_sent_by_the_next_one(collector, page):
    attempts: list[str] = []
    page.route("**/collect", _abort(attempts))
    page.goto(f"{collector.url}/demo/")
    vid = visitor_id(page)
    complete(page, "vehicle")
    page.goto(f"{collector.url}/healthz")  # leaves at step 2: form_abandon, beacon aborted too
    assert attempts
    assert page.context.cookies()  # same browser, same storage
    page.unroute("**/collect")

    page.goto(f"{collector.url}/demo/")
    rows = collector.wait_rows(EXACTLY_ONCE.format(vid=vid), 4, timeout=30)
    assert [(r["event"], r["step"], r["n"]) for r in rows] == [
        ("page_view", "", 1), ("form_step", "vehicle", 1), ("form_abandon", "rider", 1), ("page_view", "", 1)]


def test_calls_made_before_the_tag_loaded_are_kept_in_order(collector, page):
    errors = watch_errors(page)
    held = []
    page.route("**/t.js", lambda route: held.append(route))
    page.goto(f"{collector.url}/demo/", wait_until="domcontentloaded")
    complete(page, "vehicle", "rider")
    assert page.evaluate("() => [typeof parcours.l, parcours.q.length]") == ["undefined", 2]

    page.wait_for_function("() => true")
    assert len(held) == 1
    held[0].continue_()
    vid = visitor_id(page)
    rows = collector.wait_rows(f"SELECT event, step, step_index, seq FROM parcours.events FINAL "
                               f"WHERE visitor_id = '{vid}' ORDER BY seq", 3)
    assert [(r["event"], r["step"], r["step_index"], r["seq"]) for r in rows] == [
        ("page_view", "", 0, 1), ("form_step", "vehicle", 1, 2), ("form_step", "rider", 2, 3)]
    assert errors == []
