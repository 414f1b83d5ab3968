"""The tag's size against its budget and the anchors' published sizes, and the main-thread cost of a step call.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.tag import PLACEHOLDER, TAG_FILE, render_tag  # noqa: E402
from tagplan import compile_plan  # noqa: E402
from tagplan.load import load_plan  # noqa: E402

BUDGET_GZIP = 2500
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


def sizes(source: str) -> None:
    raw = source.encode()
    gz = len(gzip.compress(raw, compresslevel=9))
    br = brotli_size(raw)
    print(f"tag size ({TAG_FILE.relative_to(ROOT)}, as built, placeholder unreplaced)")
    print(f"  raw      {len(raw):>6} B")
    print(f"  gzip -9  {gz:>6} B   budget {BUDGET_GZIP} B: {gz / BUDGET_GZIP:.0%} of it, {BUDGET_GZIP - gz:+d} B left")
    print(f"  brotli   {br:>6} B" if br is not None else "  brotli   (node not found)")
    for name, size in ANCHORS:
        print(f"  vs {name:<38} {size:>6} B: parcours gzip is {gz / size:.2f}x")


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
                 "(parcours.q=parcours.q||[]).push(arguments)};</script><script async src='/t.js'></script>"
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
    sizes(source)
    plan = compile_plan(load_plan(ROOT / "examples" / "moto-insurance.yaml"))
    served = render_tag(source, plan)
    print(f"  as served with the example plan: {len(served.encode())} B raw, "
          f"{len(gzip.compress(served.encode(), compresslevel=9))} B gzip (the config is {len(json.dumps(plan.tag_config))} B)")
    load = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (shared with other work)")
    for origin in ORIGINS:
        step_cost(served, origin)
    assert PLACEHOLDER in source


if __name__ == "__main__":
    main()
