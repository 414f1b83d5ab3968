"""What the tag says happened, on small pages of their own (issue 10): call times, attribution without storage,
the abandoned step, double submits, a refused phone's reason. Absence is proven by a later event that arrived."""

from __future__ import annotations

import time

from e2e.demo import visitor_id, watch_errors
from e2e.pages import OLD_SNIPPET, SNIPPET, serve, tag_ready

STEPS = "SELECT event, step, seq, toUnixTimestamp64Milli(client_ts) AS t, step_elapsed_ms FROM parcours.events FINAL " \
        "WHERE visitor_id = '{vid}' ORDER BY seq"


def _tag_held_back(collector, page, name: str, snippet: str):
    """Open a page whose t.js is held back; returns the held request."""
    held = []
    page.route("**/t.js", lambda route: held.append(route))
    url = serve(page, f"{collector.url}/demo/{name}.html", "<p>devis</p>", head=snippet)
    page.goto(url, wait_until="domcontentloaded")  # an async script held back delays `load`, not this
    page.wait_for_function("() => typeof parcours == 'function' && !parcours.l")
    return held


def _release(page, held) -> int:
    """Let t.js through once the page asked for it; the page's clock at that moment."""
    deadline = time.monotonic() + 60  # a bound for a page that never asks, not a speed claim
    while not held:
        assert time.monotonic() < deadline, "the page never asked for t.js"
        page.wait_for_timeout(50)
    released = page.evaluate("Date.now()")
    held[0].continue_()
    return released


def test_a_call_queued_before_the_tag_loaded_keeps_the_time_it_was_made_at(collector, page):
    errors = watch_errors(page)
    held = _tag_held_back(collector, page, "late-tag", SNIPPET)
    page.evaluate("() => parcours('step', 'moto_quote', 'vehicle')")
    called = page.evaluate("() => parcours.q[0].t")
    page.wait_for_function(f"() => Date.now() > {called} + 1500")  # the tag arrives well after the call
    released = _release(page, held)
    vid = visitor_id(page)
    view, step = collector.wait_rows(STEPS.format(vid=vid), 2)
    assert (view["event"], step["event"], step["step"]) == ("page_view", "form_step", "vehicle")
    assert step["t"] == called, "client_ts is the time of the call, not of the tag's arrival"
    assert released - step["t"] >= 1500
    # The page view dates from when the page started loading; the time on the step counts from it.
    assert view["t"] <= step["t"]
    assert step["step_elapsed_ms"] == step["t"] - view["t"]
    assert errors == []


def test_an_older_snippet_still_works_its_calls_taking_the_time_the_tag_loaded(collector, page):
    held = _tag_held_back(collector, page, "late-tag-old-snippet", OLD_SNIPPET)
    page.evaluate("() => parcours('step', 'moto_quote', 'vehicle')")
    assert page.evaluate("() => parcours.q[0].t") is None
    released = _release(page, held)
    vid = visitor_id(page)
    view, step = collector.wait_rows(STEPS.format(vid=vid), 2)
    assert (step["event"], step["step"]) == ("form_step", "vehicle")
    assert step["t"] >= released


BLOCKED_STORAGE = ("Object.defineProperty(window, 'localStorage', "
                   "{get() { throw new DOMException('The operation is insecure.', 'SecurityError'); }});")


def test_without_local_storage_the_broker_campaign_and_session_follow_to_the_next_page(collector, page):
    errors = watch_errors(page)
    page.add_init_script(BLOCKED_STORAGE)
    land = serve(page, f"{collector.url}/demo/nostorage-1.html", "<a id='next' href='/demo/nostorage-2.html'>Devis</a>")
    serve(page, f"{collector.url}/demo/nostorage-2.html",
          "<button id='send' onclick=\"parcours('submit', 'moto_quote', {quote_id: 'Q-NS1', phone: '06 12 34 56 78'})\">Envoyer</button>")
    page.goto(f"{land}?courtier=X77&utm_source=google&utm_medium=cpc&gclid=abc")
    vid = visitor_id(page)
    assert page.evaluate("() => { try { localStorage; return 'open'; } catch (e) { return e.name; } }") == "SecurityError"
    page.click("#next")
    tag_ready(page)
    page.click("#send")
    rows = collector.wait_rows(f"SELECT event, broker_id, utm_source, utm_medium, click_id, click_id_type, lever, "
                               f"session_id FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                               f"ORDER BY client_ts, seq", 4)
    assert [r["event"] for r in rows] == ["page_view", "touch", "page_view", "form_submit"]
    submit = rows[-1]
    assert (submit["broker_id"], submit["utm_source"], submit["utm_medium"], submit["click_id"], submit["click_id_type"],
            submit["lever"]) == ("X77", "google", "cpc", "abc", "gclid", "broker"), "not counted as direct"
    assert submit["session_id"] == rows[0]["session_id"], "the same session"
    cookies = {c["name"] for c in page.context.cookies()}
    assert {"_pcid", "_pcs", "_pcc"} <= cookies
    assert errors == []


def test_form_abandon_names_the_first_step_not_completed_after_steps_out_of_order(collector, page):
    url = serve(page, f"{collector.url}/demo/out-of-order.html", "<p>devis</p>")
    page.goto(url)
    vid = visitor_id(page)
    page.evaluate("() => { parcours('step', 'moto_quote', 'rider'); parcours('step', 'moto_quote', 'vehicle'); }")
    page.goto(f"{collector.url}/healthz")  # leaving: pagehide, sendBeacon
    rows = collector.wait_rows(f"SELECT event, step, step_index FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                               f"AND event = 'form_abandon'", 1)
    assert [(r["step"], r["step_index"]) for r in rows] == [("coverage", 3)], "rider and vehicle were completed"


def test_a_double_clicked_submit_is_stored_once(collector, page):
    errors = watch_errors(page)
    url = serve(page, f"{collector.url}/demo/double-click.html",
                "<button id='send' onclick=\"parcours('submit', 'moto_quote', {quote_id: 'Q-DC1', phone: '06 12 34 56 78'})\">Envoyer</button>")
    page.goto(url)
    vid = visitor_id(page)
    page.dblclick("#send")
    page.evaluate("() => parcours('submit', 'moto_quote', {quote_id: 'Q-DC2', phone: '06 12 34 56 78'})")  # another quote: sent
    # The barrier: sent after the clicks, so once it is stored, any second submit would be too.
    page.evaluate("() => parcours('track', 'brochure_downloaded', {document_url: 'https://www.motoassur.fr/g.pdf'})")
    collector.wait_rows(f"SELECT 1 FROM parcours.events WHERE visitor_id = '{vid}' AND event = 'brochure_downloaded'", 1)
    rows = collector.sql(f"SELECT JSONExtractString(properties, 'quote_id') AS quote, uniqExact(event_id) AS sends "
                         f"FROM parcours.events WHERE visitor_id = '{vid}' AND event = 'form_submit' "
                         f"GROUP BY quote ORDER BY quote")
    assert [(r["quote"], r["sends"]) for r in rows] == [("Q-DC1", 1), ("Q-DC2", 1)]
    assert errors == []


def test_a_refused_phone_number_says_what_was_expected_and_why(collector, page):
    url = serve(page, f"{collector.url}/demo/bad-phone.html", "<p>devis</p>")
    page.goto(url)
    vid = visitor_id(page)
    page.evaluate("() => parcours('submit', 'moto_quote', {quote_id: 'Q-PH1', phone: '07 11 22 33 44'})")
    rows = collector.wait_rows(f"SELECT reasons, raw FROM parcours.rejected_events WHERE raw LIKE '%{vid}%'", 1)
    assert rows[0]["reasons"] == ["properties.phone: expected a valid phone number (in FR, or with its +country code): "
                                  "not a valid range of numbers in FR"]
    assert "07 11" not in rows[0]["raw"], "the number itself is not kept"


# As Prototype.js 1.6 (still on old sites) gives arrays: their own JSON text, which the browser's JSON.stringify
# then writes as a string: the batch's events arrive as `"events": "[{…}, {…}]"`.
ARRAYS_WITH_TO_JSON = ("Array.prototype.toJSON = function () {"
                       " return '[' + this.map(function (v) { return JSON.stringify(v); }).join(', ') + ']'; };")


def test_a_page_whose_arrays_have_their_own_to_json_loses_no_event(collector, page):
    errors = watch_errors(page)
    page.add_init_script(ARRAYS_WITH_TO_JSON)
    url = serve(page, f"{collector.url}/demo/prototype-js.html", "<p>devis</p>")
    page.goto(f"{url}?courtier=B042")
    vid = visitor_id(page)
    assert page.evaluate("() => JSON.stringify({a: [1]})") == '{"a":"[1]"}', "the page's arrays are as Prototype's"
    page.evaluate("() => { parcours('step', 'moto_quote', 'vehicle'); "
                  "parcours('submit', 'moto_quote', {quote_id: 'Q-PJ1', phone: '06 12 34 56 78'}); }")
    rows = collector.wait_rows(f"SELECT event, broker_id FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                               f"ORDER BY seq", 4)
    assert [(r["event"], r["broker_id"]) for r in rows] == [
        ("page_view", "B042"), ("touch", "B042"), ("form_step", "B042"), ("form_submit", "B042")]
    assert collector.sql(f"SELECT count() AS n FROM parcours.rejected_events WHERE raw LIKE '%{vid}%'") == [{"n": 0}]
    assert errors == []
