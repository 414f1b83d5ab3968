"""A plan edited while the collector runs reaches the browser: a new captured parameter and a new event, no restart."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest

from e2e.conftest import ROOT, _serve

PLAN = ROOT / "examples" / "moto-insurance.yaml"


@pytest.fixture
def own_collector(tmp_path, tmp_path_factory):
    """A collector of its own, serving a copy of the example plan that the test edits."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.read_text())
    yield from _serve(tmp_path_factory, plan)


def plan_version(url: str) -> str:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
        return json.loads(resp.read())["plan_version"]


def test_an_edited_plan_reaches_the_browser_without_restart(own_collector, browser):
    c = own_collector
    tag = f"p-{uuid.uuid4().hex[:6]}"
    page = browser.new_page()
    page.goto(f"{c.url}/demo/?promo={tag}&utm_campaign={tag}")
    page.evaluate("parcours('track', 'quote_shared', {channel: 'email'})")
    (before,) = c.wait_rows("SELECT reasons, plan_version FROM parcours.rejected_events WHERE event = 'quote_shared'", 1)
    assert before == {"reasons": ['event: "quote_shared" is not declared in the plan (version 2026.11.1)'],
                      "plan_version": "2026.11.1"}
    page.close()

    text = c.plan.read_text().replace('"2026.11.1"', '"2026.12.0"')
    text = text.replace("    - {name: utm_source, keep_days: 30}\n", "    - {name: utm_source, keep_days: 30}\n    - {name: promo, keep_days: 7}\n")
    text = text.replace("events:\n", "events:\n  quote_shared:\n    properties:\n      channel: {type: enum, values: [email, whatsapp]}\n", 1)
    c.plan.write_text(text)
    deadline = time.monotonic() + 60  # the watcher polls each second; a bound for a loaded machine
    while plan_version(c.url) != "2026.12.0" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert plan_version(c.url) == "2026.12.0", c.log.read_text()

    page = browser.new_page()  # a fresh context: no cached /t.js
    page.goto(f"{c.url}/demo/?promo={tag}&utm_campaign={tag}")
    page.evaluate("parcours('track', 'quote_shared', {channel: 'email'})")
    rows = c.wait_rows(f"SELECT event, captured['promo'] AS promo, plan_version FROM parcours.events "
                       f"WHERE utm_campaign = '{tag}' AND event != 'touch' ORDER BY event", 3)
    events = sorted((r["event"], r["promo"], r["plan_version"]) for r in rows)
    assert ("page_view", "", "2026.11.1") in events  # before the edit: promo not captured
    assert ("page_view", tag, "2026.12.0") in events
    assert ("quote_shared", tag, "2026.12.0") in events
    page.close()
