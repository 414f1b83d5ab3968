"""The tag on the demo form: steps in order, submit, the broker ID across page loads, abandonment."""

from __future__ import annotations

import json
import re
import time

from e2e.demo import complete, visitor_id, watch_errors


def test_a_full_quote_records_each_step_in_order_then_the_submit(collector, page):
    errors = watch_errors(page)
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.url.endswith("/collect") else None)

    page.goto(f"{collector.url}/demo/")
    vid = visitor_id(page)
    complete(page, "vehicle", "rider", "coverage", "contact")

    rows = collector.wait_rows(f"SELECT event, step, step_index, seq, form_id, phone_key, properties "
                               f"FROM parcours.events FINAL WHERE visitor_id = '{vid}' ORDER BY seq", 6)
    assert [(r["event"], r["step"], r["step_index"]) for r in rows] == [
        ("page_view", "", 0),
        ("form_step", "vehicle", 1), ("form_step", "rider", 2), ("form_step", "coverage", 3), ("form_step", "contact", 4),
        ("form_submit", "", 0),
    ]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
    submit = rows[-1]
    assert submit["form_id"] == "moto_quote" and submit["phone_key"], "the phone arrives as its keyed hash"
    assert "06 12" not in submit["properties"]
    # Time since the previous step travels with each step (wire key `dt`).
    steps = [e for b in bodies for e in b["events"] if e["e"] == "form_step"]
    assert [e["s"] for e in steps] == ["vehicle", "rider", "coverage", "contact"]
    assert all(isinstance(e["dt"], int) and e["dt"] >= 0 for e in steps)
    assert errors == []


def test_a_quote_sent_while_the_collector_fails_leaves_no_phone_in_the_browsers_storage(collector, page):
    """The outbound queue keeps a stored copy of what is unsent, but never of an event carrying a phone: the rider
    step (the call-back phone) and the submit stay in the page's memory, retried from there."""
    failed: list[dict] = []

    def unavailable(route):
        failed.append(json.loads(route.request.post_data))
        route.fulfill(status=503)

    page.route("**/collect", unavailable)
    page.goto(f"{collector.url}/demo/")
    complete(page, "vehicle")
    page.fill("#callback-phone", "07 98 76 54 32")
    page.check("#callback-consent")
    complete(page, "rider", "coverage", "contact")
    deadline = time.monotonic() + 30
    while not any(e["e"] == "form_submit" for b in failed for e in b["events"]):
        assert time.monotonic() < deadline, "the submit was never attempted"
        page.wait_for_timeout(100)  # the page runs (and retries) meanwhile

    stored = page.evaluate("JSON.stringify(Object.entries(localStorage))")
    assert not re.search(r"6\D?12\D?34\D?56\D?78|7\D?98\D?76\D?54\D?32", stored), stored
    queue = json.loads(page.evaluate("localStorage.getItem('_pcq')"))
    assert [(e["e"], e.get("s")) for e in queue] == [
        ("page_view", None), ("form_step", "vehicle"), ("form_step", "coverage"), ("form_step", "contact")
    ], "every other unsent event keeps its stored copy"


def test_the_broker_id_of_the_landing_is_still_on_a_submit_two_page_loads_later(collector, page):
    page.goto(f"{collector.url}/demo/?courtier=B107&utm_source=comparateur&utm_medium=affiliation")
    vid = visitor_id(page)
    page.goto(f"{collector.url}/demo/")
    page.goto(f"{collector.url}/demo/")
    complete(page, "vehicle", "rider", "coverage", "contact")

    rows = collector.wait_rows(f"SELECT event, broker_id, broker_name, utm_source, url FROM parcours.events FINAL "
                               f"WHERE visitor_id = '{vid}' AND event IN ('form_submit', 'touch', 'page_view') "
                               f"ORDER BY client_ts, seq", 5)
    assert [r["event"] for r in rows] == ["page_view", "touch", "page_view", "page_view", "form_submit"]
    submit = rows[-1]
    assert (submit["broker_id"], submit["broker_name"], submit["utm_source"]) == ("B107", "Assurland Moto", "comparateur")
    assert submit["url"] == f"{collector.url}/demo/", "the landing parameters are not in the submit page's URL"
    assert rows[1]["broker_id"] == "B107", "the landing is reported as a touch of its own"


def test_leaving_at_step_2_sends_form_abandon(collector, page):
    page.goto(f"{collector.url}/demo/")
    vid = visitor_id(page)
    complete(page, "vehicle")
    page.goto(f"{collector.url}/healthz")  # leaving the page: pagehide, sendBeacon

    rows = collector.wait_rows(f"SELECT event, form_id, step, step_index FROM parcours.events FINAL "
                               f"WHERE visitor_id = '{vid}' AND event = 'form_abandon'", 1)
    assert [(r["form_id"], r["step"], r["step_index"]) for r in rows] == [("moto_quote", "rider", 2)]


def test_no_form_abandon_after_a_submit(collector, page):
    page.goto(f"{collector.url}/demo/")
    vid = visitor_id(page)
    complete(page, "vehicle", "rider", "coverage", "contact")
    page.goto(f"{collector.url}/healthz")
    # The next page resends whatever the last one left unacknowledged: once its page view is in, so would an abandon be.
    page.goto(f"{collector.url}/demo/")
    collector.wait_rows(f"SELECT 1 FROM parcours.events FINAL WHERE visitor_id = '{vid}' AND event = 'page_view'", 2)
    rows = collector.sql(f"SELECT event FROM parcours.events FINAL WHERE visitor_id = '{vid}' AND event = 'form_abandon'")
    assert rows == []
