"""The tag's size (as built, and as a site downloads it with the example plan) against its budget and the anchors'
published sizes, and the main-thread cost of a step call.

Run by `make bench`. Figures only, no assertions: sizes in bytes, and the cost of 1,000 `parcours('step', …)`
calls in Chromium beside baselines measured in the same page, in the same run.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.tag import PLACEHOLDER, TAG_FILE, render_tag  # noqa: E402
from tagplan import compile_plan  # noqa: E402
from tagplan.load import load_plan  # noqa: E402

BUDGET_GZIP = 2560
# Published sizes, as their projects state them (not measured here).
ANCHORS = [
    ("Plausible npm module (published)", 2694),
    ("Snowplow browser tracker (published)", 17400),
    ("Segment analytics.js (published)", 31000),
]
CHROMIUM = os.environ.get("PARCOURS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CALLS = 1000
ROUNDS = 7
# https: a secure context, as production sites are (crypto.randomUUID exists only there); http: the fallback.
ORIGINS = ("https://bench.parcours.test", "http://bench.parcours.test")


def brotli_size(data: bytes) -> int | None:
    """Brotli through node's zlib (no Python brotli dependency); None without node."""
    node = shutil.which("node")
    if not node:
        return None
    out = subprocess.run([node, "-e", "process.stdout.write(String(require('zlib').brotliCompressSync("
                          "require('fs').readFileSync(0)).length))"], input=data, capture_output=True, check=True)
    return int(out.stdout)


def _sizes(text: str) -> tuple[int, int, int | None]:
    raw = text.encode()
    return len(raw), len(gzip.compress(raw, compresslevel=9)), brotli_size(raw)


def sizes(source: str, served: str, with_markup: str, with_numbers: str, config_bytes: int) -> None:
    """The bundle as built and the tag as a site downloads it, side by side, against the budget and the anchors."""
    rows = [("bundle (as built, placeholder unreplaced)", _sizes(source)),
            ("served, example plan without its number pool", _sizes(served)),
            ("served, plan with a markup form (+ add-on)", _sizes(with_markup)),
            ("served, example plan (+ numbers add-on)", _sizes(with_numbers))]
    print(f"tag size ({TAG_FILE.relative_to(ROOT)}; the example plan's config is {config_bytes} B of JSON)")
    print(f"  {'':<46} {'raw':>7} {'gzip -9':>8} {'brotli':>7}")
    for name, (raw, gz, br) in rows:
        print(f"  {name:<46} {raw:>6} B {gz:>6} B {br if br is not None else '?':>5} B")
    bundle_gz, served_gz = rows[0][1][1], rows[1][1][1]
    print(f"  bundle budget {BUDGET_GZIP} B gzip: {bundle_gz / BUDGET_GZIP:.0%} of it, {BUDGET_GZIP - bundle_gz:+d} B left")
    print(f"  markup add-on: +{rows[2][1][1] - served_gz} B gzip, only for plans with a `markup: true` form")
    print(f"  numbers add-on: +{rows[3][1][1] - served_gz} B gzip, only for plans with call_centre.numbers")
    for name, size in ANCHORS:
        print(f"  vs {name:<38} {size:>6} B: served parcours gzip is {served_gz / size:.2f}x ({size - served_gz:+d} B)")


STEP_COST = """async ([calls, rounds]) => {
  const tick = () => new Promise((r) => setTimeout(r, 20));
  // Baselines are too quick to time over 1,000 calls (performance.now() is coarsened): 100x more.
  const time = (fn, n = calls) => { const t0 = performance.now(); for (let i = 0; i < n; i++) fn(i); return (performance.now() - t0) / n; };
  const noop = function () {};
  const out = { step: [], noop: [], push: [] };
  for (let r = 0; r < rounds; r++) {
    const sink = [];
    out.noop.push(time((i) => noop('step', 'moto_quote', 'vehicle', i), calls * 100));
    out.push.push(time((i) => sink.push({ e: 'form_step', t: Date.now(), q: i, f: 'moto_quote', s: 'vehicle' }), calls * 100));
    out.step.push(time(() => parcours('step', 'moto_quote', 'vehicle')));
    await tick();  // let the batches go out between rounds, as they would on a page
  }
  return out;
}"""


def step_cost(tag: str, origin: str) -> None:
    from playwright.sync_api import sync_playwright

    page_html = ("<!doctype html><html><head><script>window.parcours=window.parcours||function(){"
                 "arguments.t=Date.now();(parcours.q=parcours.q||[]).push(arguments)};</script><script async src='/t.js'></script>"
                 "</head><body><p>bench</p></body></html>")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route(f"{origin}/", lambda r: r.fulfill(body=page_html, content_type="text/html"))
        page.route(f"{origin}/t.js", lambda r: r.fulfill(body=tag, content_type="text/javascript"))
        page.route(f"{origin}/collect", lambda r: r.fulfill(status=204))
        page.goto(f"{origin}/")
        page.wait_for_function("() => window.parcours && window.parcours.l")
        res = page.evaluate(STEP_COST, [CALLS, ROUNDS])
        browser.close()
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"\nstep call, main thread, Chromium, {origin} ({CALLS} calls x {ROUNDS} rounds, median of rounds)")
    print(f"  parcours('step', ...)           {med['step'] * 1000:8.2f} us/call  ({med['step']:.4f} ms; target < 0.1 ms)")
    print(f"  baseline: Array.push of object  {med['push'] * 1000:8.3f} us/call  -> step is {med['step'] / med['push']:.0f}x")
    print(f"  baseline: no-op function call   {med['noop'] * 1000:8.3f} us/call  -> step is {med['step'] / max(med['noop'], 1e-9):.0f}x")
    print(f"  rounds (us/call): step {[round(v * 1000, 1) for v in res['step']]}")
    print(f"  (totals / calls: {CALLS} step calls, {CALLS * 100} baseline calls per round)")


def main() -> None:
    if not TAG_FILE.exists():
        sys.exit(f"error: {TAG_FILE} is missing: run `make tag`")
    source = TAG_FILE.read_text()
    example = ROOT / "examples" / "moto-insurance.yaml"
    text = example.read_text()
    with_numbers = render_tag(source, compile_plan(load_plan(example)))
    with tempfile.TemporaryDirectory() as tmp:
        # The core tag as sites download it: the example plan without call_centre.numbers, which brings an add-on.
        plain_plan = Path(tmp) / "plain.yaml"
        plain_plan.write_text(text[:text.index("  numbers:\n")])
        plan = compile_plan(load_plan(plain_plan))
        served = render_tag(source, plan)
        markup_plan = Path(tmp) / "plan.yaml"
        markup_plan.write_text(plain_plan.read_text().replace("    label: Devis assurance moto\n",
                                                              "    label: Devis assurance moto\n    markup: true\n"))
        with_markup = render_tag(source, compile_plan(load_plan(markup_plan)))
    sizes(source, served, with_markup, with_numbers, len(json.dumps(plan.tag_config, separators=(",", ":"))))
    load = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (shared with other work)")
    for origin in ORIGINS:
        step_cost(served, origin)
    assert PLACEHOLDER in source


if __name__ == "__main__":
    main()
