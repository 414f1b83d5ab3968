"""Where a command runs: the collector serving the data directory, or ClickHouse opened here; same result."""

from __future__ import annotations

import json
import os

import pytest

from collector import admin, discovery
from collector.errors import Problem
from collector.target import Local, Op, Remote, open_target
from tests.collector.conftest import ADMIN

STATEMENT = ("SELECT toDateTime64('2026-11-01 12:00:00.250', 3, 'UTC') AS t, "
             "toUUID('0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a') AS id, map('courtier', 'B042') AS captured, 1.5 AS x")


def test_a_live_collector_serving_the_data_directory_is_the_target(tmp_path):
    (tmp_path / "admin-token").write_text("t0ken\n")
    discovery.announce(tmp_path, "http://127.0.0.1:8123")  # this process: alive
    target = open_target(tmp_path)
    assert isinstance(target, Remote) and (target.url, target.token) == ("http://127.0.0.1:8123", "t0ken")
    discovery.withdraw(tmp_path)
    assert isinstance(open_target(tmp_path), Local)


def test_a_discovery_file_left_by_a_dead_collector_is_ignored(tmp_path):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    (tmp_path / discovery.FILE).write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": pid}))
    assert discovery.running(tmp_path) is None
    assert isinstance(open_target(tmp_path), Local)


@pytest.mark.parametrize("whose", ["this process (a container's pid 1 again)", "another live process"])
def test_a_discovery_file_left_by_a_killed_collector_whose_pid_lives_again_is_ignored(tmp_path, whose):
    """`kill -9`, the OOM killer or a power loss leave the file behind, and its pid may be alive again: restarted in a
    container the new collector is pid 1 as the dead one was, and refused to start, "already served" by itself, for
    good (ops probe); after a reboot another program may hold the pid. The dead collector holds no lock any more."""
    discovery.announce(tmp_path, "http://127.0.0.1:8123")
    assert discovery.running(tmp_path) == discovery.Running("http://127.0.0.1:8123", os.getpid())
    discovery.withdraw(tmp_path)  # its lock let go, as a killed process's is; its file put back as it left it
    pid = os.getpid() if whose.startswith("this") else os.getppid()
    (tmp_path / discovery.FILE).write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": pid}))
    assert discovery.running(tmp_path) is None
    assert isinstance(open_target(tmp_path), Local)


def test_a_collector_that_locks_nothing_is_alive_by_its_pid(tmp_path):
    """A collector of a version before the lock file (none in the directory): its pid says, as before."""
    (tmp_path / discovery.FILE).write_text(json.dumps({"url": "http://127.0.0.1:8123", "pid": os.getppid()}))
    assert discovery.running(tmp_path) == discovery.Running("http://127.0.0.1:8123", os.getppid())


def test_a_missing_token_is_a_sentence(tmp_path):
    discovery.announce(tmp_path, "http://127.0.0.1:8123")
    with pytest.raises(Problem, match=r"^no admin token: set PARCOURS_ADMIN_TOKEN or --admin-token \("):
        open_target(tmp_path)
    assert isinstance(open_target(tmp_path, admin_token="given"), Remote)


def test_both_ways_give_the_same_document(client, engine_dir, database, tmp_path):
    remote = client.post("/api/sql", content=STATEMENT, headers=ADMIN).json()
    local = Local(f"chdb://{engine_dir}", database, tmp_path)
    try:
        doc = local.run(Op("POST", "/api/sql", lambda store: admin.query(store, STATEMENT)))
    finally:
        local.close()
    assert doc == remote
    assert doc["rows"] == [["2026-11-01T12:00:00.250000", "0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a",
                            {"courtier": "B042"}, 1.5]]


def test_an_unreachable_collector_is_a_sentence(tmp_path):
    remote = Remote("http://127.0.0.1:9", "t", tmp_path)  # the discard port: nothing listens
    with pytest.raises(Problem, match=r"^cannot reach the collector at http://127.0.0.1:9: "):
        remote.run(Op("POST", "/api/sql", lambda store: None, body=b"SELECT 1"))
