"""Consent mode `required` (page views exempt): nothing stored and only page views sent before `consent granted`;
`denied` clears storage. Absence is proven by a later page view that did arrive: the tag sends in call order,
one request at a time, so an event sent before it would have landed first."""

from __future__ import annotations

import uuid

from e2e.demo import complete, watch_errors

STORED = "() => Object.keys(localStorage).sort()"


def _barrier(collector, page, where: str, count: int) -> None:
    """Send a page view after what came before, and wait until `count` page views of the page are stored."""
    page.evaluate("() => parcours('page')")
    collector.wait_rows(f"SELECT 1 FROM parcours.events FINAL WHERE {where} AND event = 'page_view'", count)


def test_nothing_is_stored_or_sent_before_consent_then_held_events_follow(collector_consent, page):
    errors = watch_errors(page)
    marker = uuid.uuid4().hex
    page.goto(f"{collector_consent.url}/demo/?courtier=B042&m={marker}")
    page.wait_for_function("() => window.parcours && window.parcours.l")
    where = f"url LIKE '%{marker}%'"
    complete(page, "vehicle")
    _barrier(collector_consent, page, where, 2)

    assert page.context.cookies() == []
    assert page.evaluate(STORED) == []
    assert [r["event"] for r in collector_consent.sql(f"SELECT event FROM parcours.events WHERE {where} ORDER BY seq")] == [
        "page_view", "page_view"], "the step and the touch are held"

    page.evaluate("() => parcours('consent', 'granted')")
    rows = collector_consent.wait_rows(f"SELECT event, step, broker_id, visitor_id, seq FROM parcours.events FINAL "
                                       f"WHERE {where} ORDER BY seq", 4)
    assert [(r["event"], r["step"], r["broker_id"], r["seq"]) for r in rows] == [
        ("page_view", "", "B042", 1), ("touch", "", "B042", 2), ("form_step", "vehicle", "B042", 3),
        ("page_view", "", "B042", 4)]
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["_pcid"] == rows[0]["visitor_id"], "the visitor id used so far is the one kept"
    assert "_pcok" in page.evaluate(STORED)

    page.evaluate("() => parcours('consent', 'denied')")
    assert page.context.cookies() == []
    assert page.evaluate(STORED) == ["_pcok"], "only the refusal itself is remembered"

    page.reload()
    page.wait_for_function("() => window.parcours && window.parcours.l")
    complete(page, "vehicle")
    _barrier(collector_consent, page, where, 4)  # the reload's page view and this one
    assert page.context.cookies() == []
    assert page.evaluate(STORED) == ["_pcok"]
    events = [r["event"] for r in collector_consent.sql(f"SELECT event FROM parcours.events FINAL WHERE {where} ORDER BY received_at, seq")]
    assert events.count("form_step") == 1, "nothing but page views after the refusal"
    assert errors == []
