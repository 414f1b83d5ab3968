"""Consent mode `required`: nothing stored and nothing sent before `consent granted`; `denied` clears storage."""

from __future__ import annotations

import uuid

from e2e.demo import complete, watch_errors

STORED = "() => Object.keys(localStorage).sort()"


def test_nothing_is_stored_or_sent_before_consent_then_held_events_follow(collector_consent, page):
    errors = watch_errors(page)
    marker = uuid.uuid4().hex
    page.goto(f"{collector_consent.url}/demo/?courtier=B042&m={marker}")
    page.wait_for_function("() => window.parcours && window.parcours.l")
    complete(page, "vehicle")
    page.wait_for_timeout(500)

    assert page.context.cookies() == []
    assert page.evaluate(STORED) == []
    where = f"url LIKE '%{marker}%'"
    assert collector_consent.sql(f"SELECT event FROM parcours.events WHERE {where}") == []

    page.evaluate("() => parcours('consent', 'granted')")
    rows = collector_consent.wait_rows(f"SELECT event, step, broker_id, visitor_id FROM parcours.events FINAL "
                                       f"WHERE {where} ORDER BY seq", 3)
    assert [(r["event"], r["step"], r["broker_id"]) for r in rows] == [
        ("page_view", "", "B042"), ("touch", "", "B042"), ("form_step", "vehicle", "B042")]
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["_pcid"] == rows[0]["visitor_id"]
    assert "_pcok" in page.evaluate(STORED)

    page.evaluate("() => parcours('consent', 'denied')")
    assert page.context.cookies() == []
    assert page.evaluate(STORED) == ["_pcok"], "only the refusal itself is remembered"

    page.reload()
    page.wait_for_function("() => window.parcours && window.parcours.l")
    complete(page, "vehicle")
    page.wait_for_timeout(500)
    assert page.context.cookies() == []
    assert page.evaluate(STORED) == ["_pcok"]
    assert len(collector_consent.sql(f"SELECT 1 FROM parcours.events WHERE {where}")) == 3, "nothing after the refusal"
    assert errors == []
