"""Reports speed: every report on seeded data, each beside two baselines measured in the same run: a plain
count() scan of the period's events, and the bare ClickHouse query computing the report's core aggregate
over the same rows (the issue's target: every report in about a second, within 1.5x of its bare query).

The data is generated inside the engine (INSERT ... SELECT FROM numbers(), bench/reports_data.py): by default
10 million events (1 million visitors, about 2.3 million sessions), 100,000 sales, their persons, 60 points of
sale, 90 days of costs. The sessions table fills through its materialized view, as in production.
Run: .venv/bin/python bench/bench_reports.py [--events 100M] [--data-dir DIR to keep and reuse the data]
Printed, never asserted.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import reports_data as data  # noqa: E402

from collector.storage import Store  # noqa: E402
from journeys import closing, reports  # noqa: E402
from tagplan import compile_plan, load_plan  # noqa: E402

DB = "bench"
PERIOD = {"from": data.START, "to": "2026-04-01"}
WHERE = "ts >= '2026-01-01 00:00:00' AND ts < '2026-04-01 00:00:00'"
FORM = f"form_id = 'moto_quote' AND {WHERE}"

BARE = {
    "funnel": f"""
        SELECT level, count() FROM (
            SELECT visitor_id, windowFunnel(86400000)(toUInt64(toUnixTimestamp64Milli(ts)),
                step_index = 1, step_index = 2, step_index = 3, step_index = 4) AS level
            FROM {DB}.events WHERE event = 'form_step' AND form_id = 'moto_quote' AND {WHERE}
            GROUP BY visitor_id) GROUP BY level""",
    "funnel, all its figures": f"""
        SELECT 'level' AS kind, level AS code, count() AS n, [0., 0.] AS seconds FROM (
            SELECT visitor_id, windowFunnel(86400000)(toUInt64(toUnixTimestamp64Milli(ts)),
                step_index = 1, step_index = 2, step_index = 3, step_index = 4, event = 'form_submit') AS level
            FROM {DB}.events WHERE event IN ('form_step', 'form_submit') AND {FORM}
            GROUP BY visitor_id) GROUP BY level
        UNION ALL
        SELECT 'step', if(event = 'form_submit', 0, step_index), count(), quantilesExactInclusive(0.5, 0.9)(step_elapsed_ms)
        FROM {DB}.events WHERE event IN ('form_step', 'form_submit') AND {FORM} GROUP BY 2
        UNION ALL
        SELECT 'abandon', last_step, count(), [0., 0.] FROM (
            SELECT session_id, argMaxIf(step_index, ts, event = 'form_abandon') AS last_step
            FROM {DB}.events WHERE event IN ('form_abandon', 'form_submit') AND {FORM}
            GROUP BY session_id HAVING countIf(event = 'form_submit') = 0) GROUP BY last_step""",
    "funnel by lever, all its figures": f"""
        SELECT lever, 'level' AS kind, level AS code, count() AS n, [0., 0.] AS seconds FROM (
            SELECT visitor_id, argMin(lever, ts) AS lever, windowFunnel(86400000)(toUInt64(toUnixTimestamp64Milli(ts)),
                step_index = 1, step_index = 2, step_index = 3, step_index = 4, event = 'form_submit') AS level
            FROM {DB}.events WHERE event IN ('form_step', 'form_submit') AND {FORM}
            GROUP BY visitor_id) GROUP BY lever, level
        UNION ALL
        SELECT lever, 'step', if(event = 'form_submit', 0, step_index), count(),
               quantilesExactInclusive(0.5, 0.9)(step_elapsed_ms)
        FROM {DB}.events WHERE event IN ('form_step', 'form_submit') AND {FORM} GROUP BY 1, 3
        UNION ALL
        SELECT lever, 'abandon', last_step, count(), [0., 0.] FROM (
            SELECT session_id, any(lever) AS lever, argMaxIf(step_index, ts, event = 'form_abandon') AS last_step
            FROM {DB}.events WHERE event IN ('form_abandon', 'form_submit') AND {FORM}
            GROUP BY session_id HAVING countIf(event = 'form_submit') = 0) GROUP BY lever, last_step""",
    "levers": f"""
        SELECT lever, uniq(session_id), uniq(visitor_id), countIf(event = 'form_submit')
        FROM {DB}.events WHERE {WHERE} GROUP BY lever""",
    "brokers": f"""
        SELECT broker_id, uniq(session_id), uniq(visitor_id), countIf(event = 'form_submit')
        FROM {DB}.events WHERE {WHERE} GROUP BY broker_id""",
    "overview": f"""
        SELECT uniq(session_id), uniq(visitor_id), countIf(event = 'form_submit') FROM {DB}.events WHERE {WHERE}""",
    "lever paths": f"""
        SELECT path, count() FROM (
            SELECT visitor_id, arrayCompact(arrayMap(t -> t.2, arraySort(groupArray((ts, lever))))) AS path
            FROM {DB}.events WHERE {WHERE} GROUP BY visitor_id) GROUP BY path""",
}
"""The core aggregate of each report, over the events themselves (no deduplication, no touches). The funnel has
two: its levels alone (windowFunnel: the issue's example), and every figure it gives (levels to the submit, each
step's events and times, the abandons), by lever for `--by lever` (the lever of the visitor's first step)."""

SCAN = f"SELECT count() FROM {DB}.events WHERE {WHERE}"
"""The simplest baseline: reading the period's events, nothing computed."""

RUNS = [
    ("overview", {}, "overview"),
    ("overview --interval day", {"interval": "day"}, "overview"),
    ("funnel", {}, "funnel"),
    ("funnel", {}, "funnel, all its figures"),
    ("levers", {}, "levers"),
    ("campaigns", {}, "levers"),
    ("brokers", {}, "brokers"),
    ("attribution --model all", {"model": "all"}, "lever paths"),
    ("paths", {}, "lever paths"),
    ("media_pos", {}, "lever paths"),
    ("match", {}, "lever paths"),
    ("funnel --by lever", {"by": "lever"}, "funnel by lever, all its figures"),
    ("levers --device mobile", {"device": "mobile"}, "levers"),
    ("overview --lever display", {"lever": "display"}, "overview"),
    ("attribution --lever display", {"model": "all", "lever": "display"}, "lever paths"),
]


def count(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KMG")) * scale)


def generate(store: Store, events: int) -> None:
    visitors, sales = events // 10, events // 100
    sessions = int(events / data.EVENTS_PER_SESSION)
    fields = {"db": DB, "visitors": visitors, "sessions": sessions, "sales": sales, "start": data.START,
              "days": data.DAYS}
    for name, sql in (("events", data.EVENTS), ("persons", data.PERSONS), ("sales", data.SALES),
                      ("brokers", data.BROKERS), ("costs", data.COSTS)):
        t = time.perf_counter()
        store.query(sql.format(**fields), readonly=False)
        print(f"  generated {name:8} in {time.perf_counter() - t:6.1f} s", flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # the embedded engine's threads are this process's
    return usage.ru_utime + usage.ru_stime


def best(fn, repeat: int) -> tuple[float, float]:
    """(wall, CPU) seconds, each the best of `repeat` runs: the machine is shared, the minimum is the least
    noisy figure; CPU time (all threads) counts the work whatever else runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(_cpu() - c)
    return min(wall), min(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="10M", help="events to generate (10M, 100M...)")
    parser.add_argument("--data-dir", help="keep the generated data here and reuse it on the next run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each query; the best is printed")
    args = parser.parse_args()
    events = count(args.events)
    tmp = None
    if args.data_dir:
        path = Path(args.data_dir) / f"reports-{events}"
    else:
        tmp = tempfile.mkdtemp(prefix="parcours-bench-")
        path = Path(tmp)
    fresh = not (path / "generated").exists()
    store = Store(f"chdb://{path}", database=DB)
    try:
        store.migrate()
        if fresh:
            print(f"generating {events:,} events in {path}")
            generate(store, events)
            (path / "generated").write_text(str(events))
        # What the collector does every 5 minutes: the touches of ended sessions kept (journeys/closing.py).
        t = time.perf_counter()
        run = closing.close(store)
        print(f"closing run: {run.sessions:,} sessions kept in {time.perf_counter() - t:.1f} s")
        (stored, sessions, visitors), = store.query(
            f"SELECT count(), uniqExact(session_id), uniqExact(visitor_id) FROM {DB}.events").rows
        (sales,), = store.query(f"SELECT count() FROM {DB}.conversions").rows
        print(f"{stored:,} events, {sessions:,} sessions, {visitors:,} visitors, {sales:,} sales")
        plan = compile_plan(load_plan(ROOT / "examples" / "moto-insurance.yaml"))
        bare_times: dict[str, tuple[float, float]] = {}
        store.query(SCAN)
        scan_wall, scan_cpu = best(lambda: store.query(SCAN), args.repeat)
        print(f"baseline: count() of the period's events {scan_wall:.3f} s wall, {scan_cpu:.3f} s CPU")
        print(f"\n{'report':30} {'wall s':>7} {'/scan':>6} {'bare':>6} {'ratio':>6} {'cpu s':>7} {'bare':>6} "
              f"{'ratio':>6}  bare query")
        for label, raw, bare in RUNS:
            name = label.split()[0]
            run = lambda: reports.run(store, plan, name, {**PERIOD, **raw})  # noqa: E731
            sql = BARE[bare]
            run()  # warm: parse, caches
            if bare not in bare_times:
                store.query(sql)
                bare_times[bare] = best(lambda: store.query(sql), args.repeat)
            (wall, cpu), (bare_wall, bare_cpu) = best(run, args.repeat), bare_times[bare]
            print(f"{label:30} {wall:7.2f} {wall / scan_wall:5.0f}x {bare_wall:6.2f} {wall / bare_wall:5.2f}x "
                  f"{cpu:7.2f} {bare_cpu:6.2f} {cpu / bare_cpu:5.2f}x  {bare}", flush=True)
    finally:
        store.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
