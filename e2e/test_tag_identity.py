"""Identity across the plan's sites: a link to another declared host carries the visitor ID, once."""

from __future__ import annotations

from urllib.parse import urlsplit

from e2e.demo import visitor_id, watch_errors

SNIPPET = ("<script>window.parcours=window.parcours||function(){(parcours.q=parcours.q||[]).push(arguments)};</script>"
           "<script async src='/t.js'></script>")


def _page(body: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'>{SNIPPET}</head><body>{body}</body></html>"


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

    rows = collector.wait_rows(f"SELECT url FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                               f"AND event = 'page_view' ORDER BY client_ts", 2)
    assert [r["url"] for r in rows] == [f"{here}/demo/from.html", f"{there}/demo/to.html?x=1"]

    # Coming back later through an old decorated link does not adopt the id.
    page.context.clear_cookies()
    page.goto(f"{there}/demo/to.html?_pcl={vid}.1000000000000")
    assert visitor_id(page) != vid
    assert errors == []
