"""`parcours sql` while the collector runs: it goes through the admin API, since the collector owns the engine."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

from e2e.conftest import ROOT


def test_sql_goes_through_the_running_collector(collector):
    body = b'{"events":[{"id":"0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a","e":"page_view","t":1795000000000,"c":{"courtier":"B107"}}]}'
    urllib.request.urlopen(urllib.request.Request(f"{collector.url}/collect", data=body,
                                                  headers={"content-type": "text/plain"}))
    # Accepted means in the write-ahead log; the batch writer stores it within --batch-age.
    collector.wait_rows("SELECT 1 FROM parcours.events WHERE event_id = '0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a'", 1)
    out = subprocess.run(
        [sys.executable, "-m", "collector", "sql",
         "SELECT broker_id, broker_name FROM parcours.events WHERE event_id = '0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a'",
         "--data-dir", str(collector.data)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "B107      | Assurland Moto" in out.stdout
    assert out.stdout.endswith("(1 row)\n")


def test_a_second_serve_on_the_running_collectors_data_says_where_it_is(collector):
    out = subprocess.run(
        [sys.executable, "-m", "collector", "serve", "--demo", "--plan", str(ROOT / "examples" / "moto-insurance.yaml"),
         "--data-dir", str(collector.data), "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert out.returncode == 1
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"Error: a collector (pid ") and f"already serves {collector.data}/ at {collector.url}" in line
