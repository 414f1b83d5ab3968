"""The dashboard's panels as a viewer waits for them: each panel's time from the page asking for its
report(s) to their answers (then drawn), in Chromium, and the same report's API call alone for comparison.

Printed, not asserted. By default a small history is sent through a fresh collector (e2e/seed.py); point
`--data-dir` at a seeded data directory (the reports bench's 10-million-event seed, `parcours demo seed`)
to measure at scale:

    .venv/bin/python bench/bench_dashboard.py --data-dir /path/to/seeded/data [--runs 3]

The reports bench's seed (database `bench`, January to March 2026), kept with `bench_reports.py --data-dir`:

    PARCOURS_CLICKHOUSE=chdb:///path/to/reports-data PARCOURS_DATABASE=bench PARCOURS_BACKGROUND=false \
        .venv/bin/python bench/bench_dashboard.py --data-dir /tmp/users \
        --query "period=custom&from=2026-01-01&to=2026-03-31"
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.users import Users  # noqa: E402
from e2e import seed  # noqa: E402
from e2e.conftest import ADMIN_TOKEN, CHROMIUM, CHROMIUM_ARGS, start_collector, stop_collector  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

VIEWER, PASSWORD = "bench", "bench-password-long"


def at_once() -> str:
    """How many reports the page asks for at once (journeys/dashboard/src/api.js)."""
    m = re.search(r"MAX_AT_ONCE = (\d+)", (ROOT / "journeys" / "dashboard" / "src" / "api.js").read_text())
    return m.group(1) if m else "?"


def changes(page, n: int, log: Path) -> tuple[float, int, int]:
    """A viewer who cannot make up their mind: the page reloaded, then the device filter changed n times 0.6 s
    apart. (seconds from the first change until every panel is drawn, report calls sent, calls stopped)."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/reports/" in r.url else None)
    stopped = log.read_text().count("its caller went away")
    devices = page.get_by_label("Device").locator("option").evaluate_all("os => os.map(o => o.value).filter(Boolean)")
    page.reload()
    page.wait_for_selector(".panel")
    started = time.perf_counter()
    for i in range(n):
        page.wait_for_timeout(600)
        page.get_by_label("Device").select_option(devices[i % len(devices)])
    page.wait_for_function("() => !document.querySelector('.panel[data-state=loading]')", timeout=600_000)
    return time.perf_counter() - started, len(sent), log.read_text().count("its caller went away") - stopped


def api_time(url: str, call: str) -> float:
    req = urllib.request.Request(url + call, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            resp.read()
    except urllib.error.HTTPError:
        return float("nan")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="a seeded data directory (default: a fresh one with --visitors)")
    parser.add_argument("--visitors", type=int, default=2000, help="visitors sent when no --data-dir is given")
    parser.add_argument("--runs", type=int, default=3, help="page loads measured (after one warm-up)")
    parser.add_argument("--query", default="", help="the page's URL query beside lang=en (a period: the seed's days)")
    parser.add_argument("--report-memory", type=int, default=0,
                        help="the collector's --report-memory (MB): 0 (the default here) computes every call; with "
                             "answers kept, the first load (computed) is printed apart from the loads after it (kept)")
    parser.add_argument("--changes", type=int, default=0,
                        help="then a viewer who changes the device filter this many times, 0.6 s apart: the time "
                             "until every panel shows the last one, and the calls stopped on the server")
    args = parser.parse_args()
    data = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    Users(data).add(VIEWER, PASSWORD, replace=True)
    if not args.data_dir:  # the sample sales and costs, so attribution and paths have something to credit
        seed.import_offline(data, ROOT / "examples" / "moto-insurance.yaml", b"e2e-secret", ROOT / "examples" / "samples")
    proc, url, log = start_collector(data, "--max-event-age", "120", "--report-memory", str(args.report_memory),
                                     log_name="bench-dashboard.log")
    try:
        if not args.data_dir:
            sent = seed.send(url, n=args.visitors, days=30)  # the page's default period: the last 30 days
            print(f"seeded {sent} events from {args.visitors} visitors through /collect")
            time.sleep(3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            calls: list[str] = []
            page.on("request", lambda r: calls.append(r.url[len(url):]) if "/api/reports/" in r.url else None)
            page.goto(f"{url}/dashboard?lang=en" + (f"&{args.query}" if args.query else ""))
            page.fill("#name", VIEWER)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/dashboard/login" not in u)
            times: dict[str, list[float]] = {}
            page_times = []
            for run in range(args.runs + 1):
                calls.clear()
                started = time.perf_counter()
                page.reload()
                page.wait_for_function("() => document.querySelectorAll('.panel').length"
                                       " && !document.querySelector('.panel[data-state=loading]')", timeout=600_000)
                whole = time.perf_counter() - started
                states = page.evaluate("() => [...document.querySelectorAll('.panel')]"
                                       ".map(p => [p.id, p.dataset.state, +(p.dataset.ms || 0)])")
                if run == 0:  # warm-up: the engine's caches, the bundle; with answers kept, the computed load
                    first = (whole, {panel: ms / 1000 for panel, _, ms in states})
                    continue
                page_times.append(whole)
                for panel, state, ms in states:
                    times.setdefault(panel, []).append((ms / 1000 if state in ("ready", "empty") else float("nan"), state))
            report_calls = sorted(set(calls))
            asked = len(calls)  # the last load's requests: more than the distinct ones would be a panel asking twice
            changed = changes(page, args.changes, log) if args.changes else None
            browser.close()
        print(f"\npage: every panel drawn in {statistics.median(page_times):.2f} s (median of {args.runs} loads; "
              f"the page asks for at most {at_once()} reports at once; {asked} report requests per load, "
              f"{len(report_calls)} distinct)")
        if args.report_memory:
            print(f"answers kept (--report-memory {args.report_memory}): the first load, computed, drew every panel in "
                  f"{first[0]:.2f} s; the loads after it read the answers kept")
        first_column = f" {'first load':>11}" if args.report_memory else ""
        print(f"{'panel':<12} {'answered (s)':>12}{first_column}   state")
        for panel, values in times.items():
            ok = [v for v, _ in values if v == v]
            state = values[-1][1]
            print(f"{panel:<12} {statistics.median(ok) if ok else float('nan'):>12.2f}"
                  + (f" {first[1].get(panel, float('nan')):>11.2f}" if args.report_memory else "")
                  + f"   {state if ok else state + ' (report missing or failing)'}")
        if changed:
            print(f"\n{args.changes} changes of the device filter, 0.6 s apart, from a page still loading: every panel "
                  f"shows the last {changed[0]:.1f} s after the first; {changed[1]} report calls sent, {changed[2]} "
                  "stopped on the server (their caller gone)")
        print(f"\n{'report call (API alone, admin token)':<90} {'s':>6}")
        for call in report_calls:
            print(f"{call[:90]:<90} {api_time(url, call):>6.2f}")
    finally:
        stop_collector(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
