"""ClickHouse away or hung, against a real collector and a real ClickHouse HTTP interface (e2e/chserver.py):
the collector starts without it and accepts into its log; /readyz says degraded; once ClickHouse answers,
the migrations run and the log drains. A ClickHouse that stops answering (SIGSTOP) shows in /readyz."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from collector.schema import MIGRATIONS
from e2e.conftest import _free_port, start_collector, stop_collector
from e2e.test_workers import ClickHouseFront
from tests.collector.helpers import event


def ready(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def until(predicate, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached in {timeout} s")
        time.sleep(0.2)


def send(url: str, events: list[dict]) -> tuple[int, str, str]:
    body = json.dumps({"sent": int(time.time() * 1000), "events": events}).encode()
    req = urllib.request.Request(f"{url}/collect", data=body, headers={"content-type": "text/plain"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.headers["x-parcours-accepted"], resp.headers["x-parcours-rejected"]


def show(*logs: Path) -> None:
    """Print logs for a failed test (pytest shows what was printed)."""
    for path in logs:
        print(f"--- {path}\n{path.read_text() if path.exists() else '(none)'}")


def test_the_collector_starts_while_clickhouse_is_down_and_drains_once_it_is_back(tmp_path):
    port = _free_port()
    proc, url, log = start_collector(tmp_path, "--clickhouse", f"http://127.0.0.1:{port}", "--batch-age", "0.05",
                                     "--retry-max", "0.5", "--clickhouse-connect-timeout", "1")
    front = None
    try:
        status, body = ready(url)
        assert status == 503 and body["status"] == "degraded", body
        assert any(f"ClickHouse cannot be reached at http://127.0.0.1:{port}" in r for r in body["reasons"]), body
        good = [event(), event(), event()]
        assert send(url, good + [event("newsletter_signup")]) == (204, "3", "1")  # into the log

        front = ClickHouseFront(tmp_path, port)  # ClickHouse is back
        until(lambda: ready(url)[0] == 200 and ready(url)[1]["wal_records"] == 0, "ready and drained")
        assert front.rows("SELECT toString(event_id) FROM parcours.events ORDER BY 1") == sorted(
            (e["id"],) for e in good)
        assert front.rows("SELECT count() FROM parcours.rejected_events") == [(1,)]
        assert front.rows("SELECT version, count() FROM parcours.schema_migrations GROUP BY version "
                          "ORDER BY version") == [(m.version, 1) for m in MIGRATIONS]
        text = log.read_text()
        assert "starting anyway: events are accepted into the write-ahead log" in text
        # one line of ours per state change, not the HTTP client's two more per retry
        assert "Unexpected Http Driver Exception" not in text and "after connection broken" not in text
        assert "schema migrations applied" in text and "Traceback" not in text
    except BaseException:
        show(log, tmp_path / "chserver.log")
        raise
    finally:
        stop_collector(proc)
        if front:
            front.stop()


def test_a_hung_clickhouse_shows_in_readyz_and_nothing_is_lost(tmp_path):
    front = ClickHouseFront(tmp_path)
    proc, url, log = start_collector(tmp_path, "--clickhouse", front.dsn, "--batch-age", "0.05", "--retry-max", "0.5",
                                     "--clickhouse-timeout", "3")
    stopped = False
    try:
        first = [event(), event()]
        assert send(url, first) == (204, "2", "0")
        until(lambda: ready(url)[0] == 200 and ready(url)[1]["wal_records"] == 0, "stored")

        os.kill(front.proc.pid, signal.SIGSTOP)
        stopped = True
        later = [event(), event(), event()]
        assert send(url, later) == (204, "3", "0")  # accepted into the log while ClickHouse hangs
        status, body = until(lambda: (lambda r: r if r[0] == 503 else None)(ready(url)), "readyz degraded")
        assert body["status"] == "degraded" and body["wal_records"] >= 1, body
        assert any("ClickHouse has not answered for" in r or "cannot be reached" in r for r in body["reasons"]), body

        os.kill(front.proc.pid, signal.SIGCONT)
        stopped = False
        until(lambda: ready(url)[0] == 200 and ready(url)[1]["wal_records"] == 0, "ready and drained again")
        ids = {e["id"] for e in first + later}
        assert {i for (i,) in front.rows("SELECT toString(event_id) FROM parcours.events FINAL")} == ids
    except BaseException:
        show(log, front.log)
        raise
    finally:
        if stopped:
            os.kill(front.proc.pid, signal.SIGCONT)
        stop_collector(proc)
        front.stop()
