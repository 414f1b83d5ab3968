"""Collector throughput, latency, lag and memory under load from wrk, beside a bare Starlette endpoint.

Every scenario runs a server in its own process (uvicorn, httptools, uvloop, one worker) and loads it from
wrk in another process on loopback, for a bounded time. Figures are printed, never asserted: the one that
matters is the ratio of the collector's single-event requests/s to the bare endpoint's, measured in the
same run (target: at least 50%), with the embedded engine storing every event.

    python bench/bench_collector.py [--duration 10] [--soak 60] [--connections 64] [--query 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "examples" / "moto-insurance.yaml"
SERVER = ["--http", "httptools", "--loop", "uvloop"]

# A realistic page_view (or a batch of them, with form steps) and a fresh random event_id per event,
# so the engine stores every event instead of collapsing duplicates.
LUA = r"""
local per_request = %(events)d
local delay_ms = %(delay)d
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local function uuid()
  return string.format("%%08x-%%04x-4%%03x-a%%03x-%%012x", math.random(0, 0xffffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffffffffff))
end
local steps = {"vehicle", "rider", "coverage", "contact"}
local function event(i)
  local common = '"t":1795000000000,"q":' .. i .. ',"vid":"v-bench-visitor-0001","sid":"s-bench-session-01",' ..
    '"url":"https://www.motoassur.example/devis?courtier=B042&utm_source=display","ref":"https://www.google.com/",' ..
    '"c":{"courtier":"B042","utm_source":"display","utm_medium":"cpm","utm_campaign":"moto-spring"}'
  if i %% 2 == 0 then
    return '{"id":"' .. uuid() .. '","e":"form_step","f":"moto_quote","s":"' .. steps[(i / 2) %% 4 + 1] .. '",' .. common .. '}'
  end
  return '{"id":"' .. uuid() .. '","e":"page_view",' .. common .. '}'
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
request = function()
  local events = {}
  for i = 1, per_request do events[i] = event(i) end
  return wrk.format(nil, "/collect", nil, '{"sent":1795000000100,"events":[' .. table.concat(events, ",") .. ']}')
end
if delay_ms > 0 then
  delay = function() return delay_ms end
end
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds of load per scenario (default 10)")
    ap.add_argument("--soak", type=int, default=60, help="seconds of sustained load for the RSS curve (600 = the "
                    "issue's 10 minutes; 0 skips it)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    ap.add_argument("--query", type=int, default=30, help="seconds of the analyst query the lag is measured "
                    "under (default 30)")
    args = ap.parse_args()
    wrk = _wrk()
    if not wrk:
        print("SKIP bench_collector: wrk is not installed and could not be installed "
              "(apt-get install wrk); nothing measured.")
        return 0
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
          "(shared with other work: figures vary between runs; compare the ratios)")
    print(f"load: wrk -t1 -c{args.connections} -d{args.duration}s, one server process "
          "(uvicorn, httptools, uvloop, one worker)\n")
    with tempfile.TemporaryDirectory(prefix="parcours-bench-") as tmp:
        tmp = Path(tmp)
        scripts = {n: _lua(tmp, n, 0) for n in (1, 20)}
        results = {}
        # Interleaved, twice, so a burst of load from elsewhere hits both sides alike.
        for rnd in (1, 2):
            for name, start in (("bare", _start_bare), ("collector", _start_collector)):
                with start(tmp / f"{name}-{rnd}") as server:
                    for n in (1, 20):
                        cpu = server.cpu_seconds()
                        r = _run_wrk(wrk, server.url, scripts[n], args.connections, args.duration)
                        if name == "collector":
                            r["drain"] = server.drain()  # the writer's work for this load counts too
                        r["cpu_us"] = (server.cpu_seconds() - cpu) / max(1, r["requests"]) * 1e6
                        results.setdefault((name, n), []).append(r)
        _print_throughput(results)
        peak = max(r["rps"] for r in results[("collector", 1)])
        with _start_collector(tmp / "lag") as server:
            _lag(wrk, server, tmp, peak / 2, args.duration)
        with _start_collector(tmp / "lag-query") as server:
            _lag_under_query(wrk, server, tmp, peak / 2, args.query)
        if args.soak:
            with _start_collector(tmp / "soak") as server:
                _soak(wrk, server, scripts[1], args.connections, args.soak)
    return 0


# ---- servers

class Server:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path):
        self.proc, self.url, self.log = proc, url, log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process: less sensitive to other load than requests/s."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def ready(self) -> dict:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as resp:
            return resp.read().decode()

    def drain(self, timeout: float = 300) -> float:
        """Seconds until the write-ahead log is empty (everything accepted is in ClickHouse)."""
        start = time.monotonic()
        while self.ready().get("wal_records", 1) and time.monotonic() - start < timeout:
            time.sleep(0.1)
        return time.monotonic() - start


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(cmd: list[str], log: Path, health: str, env: dict | None = None) -> Server:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **(env or {})})
    url = health.rsplit("/", 1)[0]
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(health, timeout=1)
            return Server(proc, url, log)
        except urllib.error.HTTPError:
            return Server(proc, url, log)  # it answers (405 on GET /collect for the bare app)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit(f"server did not start:\n{log.read_text()}")
            time.sleep(0.2)


def _start_bare(data: Path) -> Server:
    port = _port()
    return _spawn([sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), *SERVER,
                   "--workers", "1", "--no-access-log", "--log-level", "warning"],
                  data / "bare.log", f"http://127.0.0.1:{port}/collect")


def _start_collector(data: Path) -> Server:
    port = _port()
    # `parcours serve` runs uvicorn with its defaults, which pick httptools and uvloop when installed
    # (uvicorn[standard]), like SERVER for the bare app.
    return _spawn([sys.executable, "-m", "collector", "serve", "--plan", str(PLAN), "--port", str(port),
                   "--data-dir", str(data), "--log-level", "warning"],
                  data.parent / f"{data.name}.log", f"http://127.0.0.1:{port}/healthz",
                  {"PARCOURS_SECRET": "bench-secret", "PARCOURS_ADMIN_TOKEN": "bench", "PARCOURS_LEADS_KEY": "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"})


# ---- wrk

def _wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print("wrk not found: installing Debian's wrk with apt-get ...", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(sudo + cmd, env=env, capture_output=True).returncode != 0:
            return None
    return shutil.which("wrk")


def _lua(tmp: Path, events: int, delay_ms: int) -> Path:
    path = tmp / f"load-{events}-{delay_ms}.lua"
    path.write_text(LUA % {"events": events, "delay": delay_ms})
    return path


def _run_wrk(wrk: str, url: str, script: Path, connections: int, seconds: int) -> dict:
    out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"{url}/collect"], capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "requests": requests, "p50": _latency(out, "50%"), "p99": _latency(out, "99%"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "errors": errors.group(1) if errors else ""}


def _latency(out: str, pct: str) -> float:
    m = re.search(rf"{re.escape(pct)}\s+([\d.]+)(us|ms|s)\b", out)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]


# ---- reports

def _best(runs: list[dict]) -> dict:
    return max(runs, key=lambda r: r["rps"])


def _print_throughput(results: dict) -> None:
    print(f"{'scenario':<28}{'req/s':>10}{'events/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}   runs (req/s)")
    for (name, n), runs in results.items():
        best = _best(runs)
        label = f"{name}, {'single event' if n == 1 else f'batches of {n}'}"
        extra = ""
        if any(r["non2xx"] for r in runs):
            extra += f"  non-2xx: {sum(r['non2xx'] for r in runs)}"
        if any(r["errors"] for r in runs):
            extra += f"  socket errors: {'; '.join(r['errors'] for r in runs if r['errors'])}"
        if "drain" in best:
            extra += f"  log drained {max(r['drain'] for r in runs):.1f} s after load"
        cpu = min(r["cpu_us"] for r in runs)
        print(f"{label:<28}{best['rps']:>10.0f}{best['rps'] * n:>11.0f}{best['p50']:>9.1f}{best['p99']:>9.1f}{cpu:>12.0f}   "
              f"{' / '.join(str(round(r['rps'])) for r in runs)}{extra}")
    single = _best(results[("collector", 1)])["rps"] / _best(results[("bare", 1)])["rps"]
    batch = _best(results[("collector", 20)])["rps"] / _best(results[("bare", 20)])["rps"]
    cpu = min(r["cpu_us"] for r in results[("bare", 1)]) / min(r["cpu_us"] for r in results[("collector", 1)])
    print(f"\nratio collector / bare endpoint, single event: {single:.0%} (target >= 50%); "
          f"batches of 20: {batch:.0%}  [best run of each]")
    print(f"ratio by server CPU per request (bare / collector, single event; the collector's includes its "
          f"writer and the embedded engine storing the events): {cpu:.0%}")


def _histogram(metrics: str, name: str) -> dict[float, float]:
    out = {}
    for m in re.finditer(rf'^{name}_bucket{{le="([^"]+)"}} ([\d.e+]+)$', metrics, re.M):
        out[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = float(m.group(2))
    return out


def _quantile(before: dict, after: dict, q: float) -> tuple[float, float]:
    """The bucket holding quantile q of the observations between two scrapes: (lower, upper) bound."""
    diff = sorted((le, after[le] - before.get(le, 0)) for le in after)
    total = diff[-1][1]
    lower = 0.0
    for le, count in diff:
        if count >= q * total:
            return lower, le
        lower = le
    return lower, float("inf")


def _lag(wrk: str, server: Server, tmp: Path, rate: float, seconds: int) -> None:
    """Acceptance (log commit) to stored in ClickHouse, at half the peak single-event rate."""
    delay = 20  # ms between a connection's requests: rate = connections * 1000 / (delay + latency)
    connections = max(1, round(rate * delay / 1000))
    before = _histogram(server.metrics(), "parcours_lag_seconds")
    r = _run_wrk(wrk, server.url, _lua(tmp, 1, delay), connections, seconds)
    server.drain()
    after = _histogram(server.metrics(), "parcours_lag_seconds")
    p50, p99 = _quantile(before, after, 0.5), _quantile(before, after, 0.99)
    print(f"\nlag, acceptance -> queryable in ClickHouse, at {r['rps']:.0f} req/s (target: half the peak, "
          f"{rate:.0f}; {connections} connections paced by wrk): p50 in ({p50[0]}, {p50[1]}] s, "
          f"p99 in ({p99[0]}, {p99[1]}] s (target p99 < 2 s; histogram buckets; --batch-age 1 s by default)")


# An analyst's query as heavy as they come: every core hashing numbers until max_execution_time, then the
# partial count (timeout_overflow_mode = 'break').
ANALYST_QUERY = ("SELECT count() AS n FROM numbers(1000000000000) WHERE sipHash64(number) % 7 = 1 "
                 "SETTINGS max_execution_time = {seconds}, timeout_overflow_mode = 'break'")


def _lag_under_query(wrk: str, server: Server, tmp: Path, rate: float, seconds: int) -> None:
    """The lag at half the peak single-event rate while an analyst's query keeps the engine busy for
    `seconds` (POST /api/sql: a client of its own, the writer inserting on its own)."""
    done: dict = {}

    def query() -> None:
        started = time.monotonic()
        req = urllib.request.Request(f"{server.url}/api/sql", data=ANALYST_QUERY.format(seconds=seconds).encode(),
                                     headers={"Authorization": "Bearer bench"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=seconds + 120) as resp:
                resp.read()
                done["answer"] = str(resp.status)
        except urllib.error.HTTPError as exc:
            done["answer"] = f"{exc.code} {exc.read()[:200]!r}"
        done["seconds"] = time.monotonic() - started

    delay = 20
    connections = max(1, round(rate * delay / 1000))
    before = _histogram(server.metrics(), "parcours_lag_seconds")
    thread = threading.Thread(target=query, daemon=True)
    thread.start()
    time.sleep(1)  # the query is under way before the load starts (a bench, not a test)
    r = _run_wrk(wrk, server.url, _lua(tmp, 1, delay), connections, seconds - 2)
    server.drain()
    after = _histogram(server.metrics(), "parcours_lag_seconds")
    thread.join(seconds + 130)
    p50, p99 = _quantile(before, after, 0.5), _quantile(before, after, 0.99)
    print(f"\nlag under an analyst query ({done.get('seconds', float('nan')):.0f} s of a full-CPU query on "
          f"POST /api/sql, answered {done.get('answer', 'not')}): at {r['rps']:.0f} req/s (target: half the peak, "
          f"{rate:.0f}): p50 in ({p50[0]}, {p50[1]}] s, p99 in ({p99[0]}, {p99[1]}] s (target p99 < 2 s); "
          f"non-2xx {r['non2xx']}")


def _soak(wrk: str, server: Server, script: Path, connections: int, seconds: int) -> None:
    """RSS of the collector under sustained single-event load, sampled every few seconds."""
    proc = subprocess.Popen([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), f"{server.url}/collect"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    step = max(5, seconds // 12)
    samples = [(0, server.rss_mib())]
    start = time.monotonic()
    while proc.poll() is None:
        time.sleep(1)
        t = time.monotonic() - start
        if t >= samples[-1][0] + step:
            samples.append((round(t), server.rss_mib()))
    out = proc.stdout.read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    samples.append((round(time.monotonic() - start), server.rss_mib()))
    ready = server.ready()
    drained = server.drain()
    samples.append((round(time.monotonic() - start), server.rss_mib()))
    second_half = [(t, m) for t, m in samples if t >= seconds / 2]
    print(f"\nRSS under {seconds} s of sustained load ({rps.group(1) if rps else '?'} req/s; log depth at the end "
          f"{ready.get('wal_records')} records, drained {drained:.1f} s later):")
    print("  " + ", ".join(f"{t}s {m:.0f} MiB" for t, m in samples))
    mib = [m for _, m in second_half]
    print(f"  second half: trend {_slope(second_half) * 60:+.1f} MiB/min (least squares), range {max(mib) - min(mib):.0f} "
          f"MiB (start {samples[0][1]:.0f}, peak {max(m for _, m in samples):.0f}, end {samples[-1][1]:.0f} MiB)")


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, value): a flat RSS oscillates around 0, a leak shows as a steady rise."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt, mv = sum(t for t, _ in points) / n, sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / var if var else 0.0


if __name__ == "__main__":
    sys.exit(main())
