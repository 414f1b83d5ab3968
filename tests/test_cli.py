"""The `parcours` command as a user runs it: exit codes, stdout for data, stderr for diagnostics."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys

from click.testing import CliRunner

from collector import discovery
from collector.cli import main
from tests.conftest import EXAMPLE_PLAN, ROOT


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_plan_check_clean_plan_exits_0():
    r = run("plan", "check", str(EXAMPLE_PLAN))
    assert r.exit_code == 0
    assert "ok (plan version 2026.11.1)" in r.output


def test_plan_check_broken_plan_exits_1_with_every_error():
    path = ROOT / "examples" / "broken" / "levers.yaml"
    r = run("plan", "check", str(path))
    assert r.exit_code == 1
    assert f'{path}:22:15: lever "dirct" is not declared in levers.names (did you mean "direct"?)' in r.output
    assert "7 error(s)" in r.output


def test_plan_check_json():
    r = run("plan", "check", "--format", "json", str(ROOT / "examples" / "broken" / "typos.yaml"))
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and doc["ok"] is False
    assert doc["errors"][0]["line"] == 3 and doc["errors"][0]["col"] == 10


def test_snippet_points_at_the_collector():
    r = run("snippet", "--collector", "https://stats.motoassur.example/p/")
    assert r.exit_code == 0
    assert '<script async src="https://stats.motoassur.example/p/t.js"></script>' in r.output
    assert "parcours.q=parcours.q||[]" in r.output
    assert '<noscript><img src="https://stats.motoassur.example/p/collect?e=page_view"' in r.output


def test_snippet_follows_first_party_paths():
    r = run("snippet", "--collector", "/stats", "--tag-path", "/a.js", "--collect-path", "/e")
    assert '<script async src="/stats/a.js"></script>' in r.output and '<img src="/stats/e?e=page_view"' in r.output


def test_serve_refuses_to_start_without_a_secret(tmp_path):
    r = CliRunner(env={"PARCOURS_SECRET": None}).invoke(
        main, ["serve", "--plan", str(EXAMPLE_PLAN), "--data-dir", str(tmp_path)])
    assert r.exit_code == 1
    assert "PARCOURS_SECRET is not set" in r.output


def test_sql_opens_the_embedded_engine_when_no_collector_runs(tmp_path):
    # A separate process: chDB allows one data directory per process, and the tests hold another.
    out = subprocess.run(
        [sys.executable, "-m", "collector", "sql", "SELECT 1 AS one, 'B042' AS broker_id", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["one | broker_id", "----+----------", "1   | B042     ", "(1 row)"]


def test_sql_errors_are_sentences_not_tracebacks(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "collector", "sql", "SELECT nope FROM nowhere", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert out.returncode == 1
    assert out.stderr.startswith("Error: ") and "Traceback" not in out.stderr


def _serve(data, *args):
    return CliRunner(env={"PARCOURS_SECRET": "s", "PARCOURS_LEADS_KEY": "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"}).invoke(
        main, ["serve", "--plan", str(EXAMPLE_PLAN), "--data-dir", str(data), *args])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_second_collector_on_the_same_data_is_one_sentence(tmp_path):
    discovery.announce(tmp_path, "http://127.0.0.1:8123")  # this process is alive: a collector serving tmp_path
    r = _serve(tmp_path, "--port", str(_free_port()))
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output == (f"Error: a collector (pid {os.getpid()}) already serves {tmp_path}/ at http://127.0.0.1:8123: "
                        "use it (demo: http://127.0.0.1:8123/demo/), stop it first, or give this one another --data-dir\n")


def test_a_busy_port_is_one_sentence(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _serve(tmp_path, "--port", str(port))
    assert r.exit_code == 1
    assert r.output == (f"Error: port {port} on 127.0.0.1 is already in use by another program: choose another "
                        f"with --port (make demo PORT={port + 1})\n")


def test_embedded_data_held_by_another_process_is_one_sentence(tmp_path):
    engine = tmp_path / "clickhouse"
    engine.mkdir()
    with open(engine / "status", "w") as status:
        fcntl.flock(status, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as chDB holds it while it runs
        r = _serve(tmp_path, "--port", str(_free_port()))
    assert r.exit_code == 1
    assert r.output == (f"Error: the ClickHouse data in {tmp_path}/ is in use by another process (a `parcours` "
                        "command still running?): stop it, or give the collector another --data-dir\n")
