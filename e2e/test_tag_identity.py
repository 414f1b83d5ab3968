"""Identity across the plan's sites: a link to another declared host carries the visitor and session IDs, once."""

from __future__ import annotations

from urllib.parse import urlsplit

from e2e.demo import visitor_id, watch_errors
from e2e.pages import html as _page


def test_a_link_to_another_site_of_the_plan_keeps_the_visitor(collector, page):
    errors = watch_errors(page)
    port = urlsplit(collector.url).port
    here, there = f"http://127.0.0.1:{port}", f"http://localhost:{port}"  # both are origins of the example plan
    page.route(f"{here}/demo/from.html", lambda r: r.fulfill(
        body=_page(f"<a id='go' href='{there}/demo/to.html?x=1'>devis</a>"), content_type="text/html"))
    page.route(f"{there}/demo/to.html*", lambda r: r.fulfill(body=_page("<p>devis</p>"), content_type="text/html"))

    page.goto(f"{here}/demo/from.html")
    vid = visitor_id(page)
    page.click("#go")
    page.wait_for_url(f"{there}/demo/to.html?x=1")  # the id left the address bar
    page.wait_for_function("() => window.parcours && window.parcours.l")
    cookies = {(urlsplit(c["domain"]).path or c["domain"], c["name"]): c["value"] for c in page.context.cookies()}
    assert cookies[("localhost", "_pcid")] == vid == cookies[("127.0.0.1", "_pcid")]

    rows = collector.wait_rows(f"SELECT url, session_id FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                               f"AND event = 'page_view' ORDER BY client_ts", 2)
    assert [r["url"] for r in rows] == [f"{here}/demo/from.html", f"{there}/demo/to.html?x=1"]
    # One visit across the two sites: its landing is the first site's, not a referral from it.
    assert rows[0]["session_id"] == rows[1]["session_id"]

    # Coming back later through an old decorated link does not adopt the id.
    page.context.clear_cookies()
    page.goto(f"{there}/demo/to.html?_pcl={vid}.1000000000000.{rows[0]['session_id']}")
    assert visitor_id(page) != vid
    assert errors == []


def test_a_fresh_link_from_outside_the_plans_sites_does_not_impose_a_visitor(collector, page):
    """A redirector stamping fresh links with one id (issue 16): the id has the right shape and time, the referrer not."""
    errors = watch_errors(page)
    port = urlsplit(collector.url).port
    there = f"http://localhost:{port}"
    imposed = "0b6a4c2e-8f4d-4c1a-9e77-5d2f3a1b9c0d"
    page.route(f"{there}/demo/landing.html*", lambda r: r.fulfill(body=_page("<p>devis</p>"), content_type="text/html"))
    page.route("http://redirector.example/*", lambda r: r.fulfill(
        body=_page("<a id='go' href='#'>offre</a><script>document.getElementById('go').href = "
                   f"'{there}/demo/landing.html?_pcl={imposed}.' + Date.now() + '.{imposed}';</script>", head=""),
        content_type="text/html"))
    page.goto("http://redirector.example/offer")
    page.click("#go")
    page.wait_for_url(f"{there}/demo/landing.html?_pcl=*")
    vid = visitor_id(page)
    assert vid != imposed
    assert page.evaluate("document.referrer") == "http://redirector.example/"
    assert errors == []
