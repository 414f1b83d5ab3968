"""`parcours rejected`, `export` and `schema` as a user runs them, opening the engine directly.

Each runs in its own process: chDB allows one data directory per process, and the tests hold another.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from click.testing import CliRunner

from collector.cli import main
from tests.conftest import EXAMPLE_PLAN, ROOT

SEED = """
import json, sys, time, uuid
from collector import ingest
from collector.storage import Store, default_dsn
from pathlib import Path
from tagplan import compile_plan, load_plan
store = Store(default_dsn(Path(sys.argv[1])))
store.migrate()
plan = compile_plan(load_plan(sys.argv[2]))
now = int(time.time() * 1000)
events = [{"id": sys.argv[3], "e": "newsletter_signup", "t": now}, {"id": str(uuid.uuid4()), "e": "page_view", "t": now}]
out = ingest.ingest(json.dumps({"sent": now, "events": events}).encode(),
                    ingest.Request(now), plan, b"cli-secret")
store.insert_rows("events", out.events)
store.insert_rows("rejected_events", out.rejected)
store.close()
"""


def parcours(*args, env=None):
    return subprocess.run([sys.executable, "-m", "collector", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_summary_replay_and_export_without_a_running_collector(tmp_path):
    data = tmp_path / "data"
    eid = str(uuid.uuid4())
    seeded = subprocess.run([sys.executable, "-c", SEED, str(data), str(EXAMPLE_PLAN), eid],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert seeded.returncode == 0, seeded.stderr

    summary = parcours("rejected", "summary", "--since", "1h", "--data-dir", str(data), "--format", "json")
    assert summary.returncode == 0, summary.stderr
    (line,) = summary.stdout.splitlines()
    doc = json.loads(line)
    assert doc["reason"] == 'event: "newsletter_signup" is not declared in the plan (version 2026.11.1)'
    assert doc["events"] == 1 and doc["replayed"] == 0

    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(EXAMPLE_PLAN.read_text().replace(
        "events:\n", "events:\n  newsletter_signup:\n    description: Signed up.\n", 1))
    args = ["rejected", "replay", "--since", "1h", "--plan", str(fixed), "--secret", "cli-secret", "--data-dir", str(data)]
    dry = parcours(*args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == "would replay 1 of 1 rejected events; 0 still rejected, 0 already in events\n"
    assert parcours(*args).stdout == "replayed 1 of 1 rejected events; 0 still rejected, 0 already in events\n"
    assert parcours(*args).stdout == "replayed 0 of 0 rejected events; 0 still rejected, 0 already in events\n"

    export = parcours("export", "--table", "events", "--format", "jsonl", "--data-dir", str(data))
    assert export.returncode == 0, export.stderr
    assert sorted(json.loads(r)["event"] for r in export.stdout.splitlines()) == ["newsletter_signup", "page_view"]


def test_replay_needs_a_since_and_says_so():
    r = CliRunner().invoke(main, ["rejected", "replay"])
    assert r.exit_code == 2 and "Missing option '--since'" in r.output


def test_a_bad_since_is_a_sentence(tmp_path):
    r = parcours("rejected", "summary", "--since", "last tuesday", "--data-dir", str(tmp_path))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith('Error: "last tuesday" is not a time')


def test_schema_prints_the_cluster_ddl():
    r = CliRunner().invoke(main, ["schema", "--cluster", "analytics"])
    assert r.exit_code == 0
    assert "CREATE DATABASE IF NOT EXISTS parcours ON CLUSTER analytics;" in r.output
    assert "ENGINE = Distributed(analytics, parcours, events_local, cityHash64(event_id));" in r.output
