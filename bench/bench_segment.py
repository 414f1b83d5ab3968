"""The Segment-compatible API's cost beside the tag's endpoint: events/s through POST /v1/batch (Segment track
calls, read as wire events then ingested) against POST /collect (the same events in the tag's wire format), in
the same run, on the same collector (one worker, the embedded engine storing every event).

One client on one keep-alive connection sends batches of 100 events to each endpoint in turn, for a bounded
number of rounds; figures are printed, never asserted. The figure that matters is the ratio: what reading
Segment's format (and its auth) costs on top of the one ingest path (target: at least 60% of /collect).

    python bench/bench_segment.py [--rounds 30] [--events 100]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "examples" / "moto-insurance.yaml"
TOKEN = "bench-admin-token"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tag_body(n: int) -> bytes:
    now = int(time.time() * 1000)
    events = [{"id": str(uuid.uuid4()), "e": "contract_signed", "t": now, "vid": f"v{i}", "sid": "s",
               "p": {"contract_id": f"C-{uuid.uuid4().hex[:12]}", "premium": 412.5, "quote_id": "Q-BENCH1",
                     "channel": "shop"}} for i in range(n)]
    return json.dumps({"sent": now, "events": events}).encode()


def _segment_body(n: int) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    calls = [{"type": "track", "event": "Contract Signed", "anonymousId": f"v{i}", "messageId": str(uuid.uuid4()),
              "timestamp": now, "properties": {"contract_id": f"C-{uuid.uuid4().hex[:12]}", "premium": 412.5,
                                               "quote_id": "Q-BENCH1", "channel": "shop"},
              "context": {"library": {"name": "analytics-python", "version": "2.4.0"}}} for i in range(n)]
    return json.dumps({"batch": calls, "sentAt": now}).encode()


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--rounds", type=int, default=30)
    args.add_argument("--events", type=int, default=100)
    opts = args.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-segment-"))
    port = _port()
    env = {**os.environ, "PARCOURS_ADMIN_TOKEN": TOKEN, "PARCOURS_SECRET": "bench"}
    server = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--plan", str(PLAN), "--port", str(port),
                               "--data-dir", str(data), "--source-rate", "1000000000"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the collector did not start")
                time.sleep(0.3)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/write-keys?source=bench", data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        key = json.loads(urllib.request.urlopen(req, timeout=30).read())["key"]
        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        spent = {"/collect": 0.0, "/v1/batch": 0.0}
        for _ in range(opts.rounds):
            for path, body, headers in (
                    ("/collect", _tag_body(opts.events), {"Content-Type": "text/plain"}),
                    ("/v1/batch", _segment_body(opts.events), {"Content-Type": "application/json",
                                                                "Authorization": auth})):
                began = time.perf_counter()
                conn.request("POST", path, body, headers)
                resp = conn.getresponse()
                resp.read()
                spent[path] += time.perf_counter() - began
                if resp.status not in (200, 204):
                    raise SystemExit(f"{path} answered {resp.status}")
        total = opts.rounds * opts.events
        rates = {path: total / seconds for path, seconds in spent.items()}
        for path, rate in rates.items():
            print(f"{path:10} {rate:10,.0f} events/s  ({opts.rounds} batches of {opts.events}, one connection)")
        print(f"/v1/batch is {rates['/v1/batch'] / rates['/collect']:.0%} of /collect (target: at least 60%)")
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
