"""The thin path: Chromium lands on the demo with a broker ID, completes two steps, rows land in ClickHouse."""

from __future__ import annotations

import uuid


def test_steps_and_broker_reach_clickhouse(collector, page):
    campaign = f"e2e-{uuid.uuid4().hex[:8]}"
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{collector.url}/demo/?courtier=B042&utm_source=display&utm_medium=cpm&utm_campaign={campaign}")
    page.click("#next-vehicle")
    page.wait_for_selector("#step-rider:not([hidden])")
    page.click("#next-rider")
    page.wait_for_selector("#step-coverage:not([hidden])")

    where = f"utm_campaign = '{campaign}'"
    views = collector.wait_rows(f"SELECT broker_id, broker_name, lever, url FROM parcours.events FINAL "
                                f"WHERE event = 'page_view' AND {where}", 1)
    steps = collector.wait_rows(f"SELECT step, step_index, seq, broker_id, form_id, visitor_id, session_id "
                                f"FROM parcours.events FINAL WHERE event = 'form_step' AND {where} ORDER BY seq", 2)

    assert len(views) == 1
    assert views[0]["broker_id"] == "B042"
    assert views[0]["broker_name"] == "Comparamoto"
    assert views[0]["lever"] == "broker"
    assert [(s["step"], s["step_index"]) for s in steps] == [("vehicle", 1), ("rider", 2)]
    assert all(s["broker_id"] == "B042" and s["form_id"] == "moto_quote" for s in steps)
    assert steps[0]["seq"] < steps[1]["seq"]
    assert len({s["visitor_id"] for s in steps}) == 1 and steps[0]["visitor_id"]
    assert errors == []
