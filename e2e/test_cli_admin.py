"""The admin commands and the ingest formats against the real collector process (it owns the engine)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import urllib.request
import uuid

from e2e.conftest import ROOT


def parcours(collector, *args):
    out = subprocess.run([sys.executable, "-m", "collector", *args, "--data-dir", str(collector.data)],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_gzip_pixel_summary_replay_and_export_through_the_running_collector(collector):
    signup, view = str(uuid.uuid4()), str(uuid.uuid4())
    body = json.dumps({"events": [{"id": signup, "e": "newsletter_signup", "t": 1795000000000},
                                  {"id": view, "e": "page_view", "t": 1795000000000}]}).encode()
    req = urllib.request.Request(f"{collector.url}/collect", data=gzip.compress(body),
                                 headers={"content-type": "text/plain", "content-encoding": "gzip"})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 204 and resp.read() == b""
        assert (resp.headers["x-parcours-accepted"], resp.headers["x-parcours-rejected"]) == ("1", "1")
    with urllib.request.urlopen(f"{collector.url}/collect?e=page_view&c.courtier=D001&vid=pixel-{view}") as resp:
        assert resp.headers["content-type"] == "image/gif"
    # Accepted means in the write-ahead log; the batch writer stores it within --batch-age.
    (rejected,) = collector.wait_rows(f"SELECT event, reasons FROM parcours.rejected_events WHERE event_id = '{signup}'", 1)
    assert rejected == {"event": "newsletter_signup",
                        "reasons": ['event: "newsletter_signup" is not declared in the plan (version 2026.11.1)']}
    (pixel,) = collector.wait_rows(f"SELECT event, broker_id FROM parcours.events WHERE visitor_id = 'pixel-{view}'", 1)
    assert pixel == {"event": "page_view", "broker_id": "D001"}

    summary = parcours(collector, "rejected", "summary", "--format", "json")
    reasons = {json.loads(line)["reason"] for line in summary.splitlines()}
    assert 'event: "newsletter_signup" is not declared in the plan (version 2026.11.1)' in reasons

    dry = parcours(collector, "rejected", "replay", "--since", "1h", "--dry-run", "--format", "json")
    assert json.loads(dry)["still_rejected"]['event: "newsletter_signup" is not declared in the plan (version 2026.11.1)'] >= 1

    exported = parcours(collector, "export", "--table", "events", "--format", "jsonl")
    by_id = {row["event_id"]: row for row in map(json.loads, exported.splitlines())}
    assert view in by_id and signup not in by_id
    pixel = [r for r in by_id.values() if r["visitor_id"] == f"pixel-{view}"]
    assert [(r["broker_id"], r["broker_name"], r["lever"]) for r in pixel] == [("D001", "Régie Display Moto", "display")]
