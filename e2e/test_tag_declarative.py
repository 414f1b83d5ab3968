"""The declarative helper in Chromium: a step section becoming visible completes the previous step, once."""

from __future__ import annotations

from e2e.demo import visitor_id, watch_errors

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Devis</title>
<script>window.parcours=window.parcours||function(){(parcours.q=parcours.q||[]).push(arguments)};</script>
<script async src="/t.js"></script>
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


def _open(collector, page, name):
    url = f"{collector.url}/demo/{name}.html"
    page.route(url, lambda route: route.fulfill(body=PAGE, content_type="text/html; charset=utf-8"))
    page.goto(url)
    return visitor_id(page)


def _steps(collector, vid, count):
    return collector.wait_rows(f"SELECT event, step, step_index FROM parcours.events FINAL "
                               f"WHERE visitor_id = '{vid}' AND event != 'page_view' ORDER BY seq", count)


def test_each_step_is_recorded_once_when_the_next_one_shows(collector, page):
    errors = watch_errors(page)
    vid = _open(collector, page, "declarative-done")
    for target in ["s2", "s1", "s2", "s3", "s4", "done"]:  # forward, back, forward again...
        page.evaluate(f"show('{target}')")
        page.wait_for_timeout(50)
    page.goto(f"{collector.url}/healthz")

    rows = _steps(collector, vid, 4)
    page.wait_for_timeout(300)
    rows = _steps(collector, vid, 4)
    assert [(r["event"], r["step"], r["step_index"]) for r in rows] == [
        ("form_step", "vehicle", 1), ("form_step", "rider", 2), ("form_step", "coverage", 3), ("form_step", "contact", 4)]
    assert errors == []


def test_leaving_a_declarative_form_midway_sends_form_abandon(collector, page):
    vid = _open(collector, page, "declarative-abandon")
    page.evaluate("show('s2')")
    page.evaluate("show('s3')")
    page.goto(f"{collector.url}/healthz")
    rows = _steps(collector, vid, 3)
    assert [(r["event"], r["step"]) for r in rows] == [
        ("form_step", "vehicle"), ("form_step", "rider"), ("form_abandon", "coverage")]
