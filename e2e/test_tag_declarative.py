"""The declarative helper (the markup add-on) in Chromium: a step section becoming visible completes the previous
step, once. Absence is proven by a later event that did arrive (the tag sends in call order)."""

from __future__ import annotations

from e2e.demo import visitor_id, watch_errors
from e2e.pages import SNIPPET

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Devis</title>
""" + SNIPPET + """
<style>.off{display:none}</style></head><body>
<div data-parcours-form="moto_quote">
  <section data-parcours-step="vehicle" id="s1"><p>Votre moto</p></section>
  <section data-parcours-step="rider" id="s2" hidden><p>Vous</p></section>
  <section data-parcours-step="coverage" id="s3" class="off"><p>Garanties</p></section>
  <section data-parcours-step="contact" id="s4" hidden><p>Coordonnées</p></section>
  <div data-parcours-done id="done" hidden><p>Merci</p></div>
</div>
<script>
  // The site's own code, unaware of parcours: shows one section at a time.
  function show(id) {
    ['s1', 's2', 's3', 's4', 'done'].forEach(function (s) {
      var el = document.getElementById(s);
      if (s == 's3') el.className = s == id ? '' : 'off'; else el.hidden = s != id;
    });
  }
</script></body></html>"""


def _barrier(collector, page, vid):
    """A custom event sent after the moves: once it is stored, every step recorded before it is too."""
    page.evaluate("parcours('track', 'brochure_downloaded', {document_url: 'https://www.motoassur.fr/g.pdf'})")
    collector.wait_rows(f"SELECT 1 FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                        f"AND event = 'brochure_downloaded'", 1)


def _open(collector, page, name):
    url = f"{collector.url}/demo/{name}.html"
    page.route(url, lambda route: route.fulfill(body=PAGE, content_type="text/html; charset=utf-8"))
    page.goto(url)
    return visitor_id(page)


def _steps(collector, vid, count):
    return collector.wait_rows(f"SELECT event, step, step_index FROM parcours.events FINAL "
                               f"WHERE visitor_id = '{vid}' AND event != 'page_view' ORDER BY seq", count)


def test_each_step_is_recorded_once_when_the_next_one_shows(collector_markup, page):
    errors = watch_errors(page)
    vid = _open(collector_markup, page, "declarative-done")
    for target in ["s2", "s1", "s2", "s3", "s4", "done"]:  # forward, back, forward again...
        page.evaluate(f"show('{target}')")  # one task each: the observer sees each move
    _barrier(collector_markup, page, vid)
    page.goto(f"{collector_markup.url}/healthz")  # leaving: no form_abandon after the done message

    page.goto(f"{collector_markup.url}/demo/declarative-done.html")  # a second barrier: the next page's view
    collector_markup.wait_rows(f"SELECT 1 FROM parcours.events FINAL WHERE visitor_id = '{vid}' AND event = 'page_view'", 2)
    rows = collector_markup.sql(f"SELECT event, step, step_index FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                                f"AND event IN ('form_step', 'form_abandon') ORDER BY seq")
    assert [(r["event"], r["step"], r["step_index"]) for r in rows] == [
        ("form_step", "vehicle", 1), ("form_step", "rider", 2), ("form_step", "coverage", 3), ("form_step", "contact", 4)]
    assert errors == []


def test_without_the_add_on_markup_is_not_watched(collector, page):
    """The example plan has no markup form: its sites do not download the helper, and markup records nothing."""
    vid = _open(collector, page, "declarative-off")
    assert "data-parcours-form" not in page.evaluate("() => fetch('/t.js').then(r => r.text())")
    page.evaluate("show('s2')")
    _barrier(collector, page, vid)
    assert _steps(collector, vid, 1) and collector.sql(
        f"SELECT 1 FROM parcours.events FINAL WHERE visitor_id = '{vid}' AND event = 'form_step'") == []


def test_leaving_a_declarative_form_midway_sends_form_abandon(collector_markup, page):
    collector = collector_markup
    vid = _open(collector, page, "declarative-abandon")
    page.evaluate("show('s2')")
    page.evaluate("show('s3')")
    page.goto(f"{collector.url}/healthz")
    rows = _steps(collector, vid, 3)
    assert [(r["event"], r["step"]) for r in rows] == [
        ("form_step", "vehicle"), ("form_step", "rider"), ("form_abandon", "coverage")]
