"""The tag on the demo form: steps in order, submit, the broker ID across page loads, abandonment."""

from __future__ import annotations

import json

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
