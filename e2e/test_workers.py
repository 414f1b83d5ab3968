"""`parcours serve --workers 2` into a ClickHouse server: two processes, each with its own log and writer;
every accepted event stored once, every rejected one kept, migrations recorded once, logs drained on stop.

The server is e2e/chserver.py: ClickHouse's HTTP interface in front of the real engine (chDB), since test
machines have no ClickHouse server.
"""

from __future__ import annotations

import asyncio
import fcntl
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import clickhouse_connect
import pytest

from collector.schema import MIGRATIONS
from collector.wal import Wal
from e2e.conftest import ROOT, _free_port, start_collector, stop_collector
from tests.collector.helpers import event

SENDERS, REQUESTS = 4, 30  # per sender: single events and batches of 8, a rejected event in every third


class ClickHouseFront:
    """e2e/chserver.py in its own process, over its own data directory."""

    def __init__(self, data: Path, port: int | None = None):
        self.port = port or _free_port()
        self.dsn = f"http://127.0.0.1:{self.port}"
        self.log = data / "chserver.log"
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "e2e.chserver", "--port", str(self.port), "--data", str(data / "chserver")],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.dsn}/ping", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the ClickHouse front did not start:\n{self.log.read_text()}")
                time.sleep(0.1)

    def rows(self, sql: str) -> list[tuple]:
        client = clickhouse_connect.get_client(dsn=self.dsn)
        try:
            return [tuple(r) for r in client.query(sql).result_rows]
        finally:
            client.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


class Sender(threading.Thread):
    """Posts, a connection per request so that both workers accept some; keeps the ids answered for."""

    def __init__(self, url: str, n: int):
        super().__init__(daemon=True)
        self.netloc, self.n = urlsplit(url).netloc, n
        self.accepted: list[str] = []
        self.rejected: list[str] = []
        self.errors: list[str] = []

    def run(self):
        for i in range(REQUESTS):
            good = [event(vid=f"v{self.n}", sid=f"s{self.n}-{i}", q=k + 1) for k in range(1 if i % 2 else 8)]
            bad = [event("newsletter_signup")] if i % 3 == 0 else []
            body = json.dumps({"sent": int(time.time() * 1000), "events": good + bad})
            conn = http.client.HTTPConnection(self.netloc, timeout=30)
            conn.request("POST", "/collect", body, {"content-type": "text/plain"})
            resp = conn.getresponse()
            answer = resp.read()
            conn.close()
            counts = (resp.getheader("x-parcours-accepted"), resp.getheader("x-parcours-rejected"))
            if resp.status != 204 or counts != (str(len(good)), str(len(bad))):
                self.errors.append(f"{resp.status} {counts} {answer!r}")
                continue
            self.accepted += [e["id"] for e in good]
            self.rejected += [e["id"] for e in bad]


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes under `pid` (multiprocessing's resource tracker is a child too)."""
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if ppid == str(pid) and b"spawn_main" in cmdline:
            out.append(int(proc.name))
    return out


def _locked(directory: Path) -> bool:
    """Whether another process holds the log directory's lock (wal.claim_slot)."""
    with open(directory / "lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def _left_in_log(directory: Path) -> tuple[int, int]:
    """(records not yet stored, last record stored) of one worker's log, read as the next start would."""
    async def read():
        wal = Wal(directory, fsync=False)
        await wal.open()
        try:
            return wal.depth_records, wal.checkpoint.lsn
        finally:
            await wal.close()
    with ThreadPoolExecutor(1) as thread:  # this thread may have a loop running already (Playwright's)
        return thread.submit(asyncio.run, read()).result()


@pytest.fixture
def clickhouse_front(tmp_path):
    front = ClickHouseFront(tmp_path)
    yield front
    front.stop()


@dataclass
class Workers:
    proc: subprocess.Popen
    url: str
    log: Path


@pytest.fixture
def collector_workers(tmp_path, clickhouse_front):
    """`parcours serve --workers 2` into the front, batches inserted every 50 ms."""
    proc, url, log = start_collector(tmp_path, "--workers", "2", "--clickhouse", clickhouse_front.dsn,
                                     "--batch-age", "0.05", "--batch-rows", "50")
    yield Workers(proc, url, log)
    stop_collector(proc)


def test_two_workers_store_every_event_once_through_a_clickhouse_server(tmp_path, clickhouse_front, collector_workers):
    proc, front, wal = collector_workers.proc, clickhouse_front, tmp_path / "wal"
    deadline = time.monotonic() + 60  # a bound for a failing start, not a speed claim
    # Both workers serving: each claimed its log and finished its startup (a worker still starting accepts
    # nothing, and the other one took every request: a run beside `make bench` saw {'0': (0, 120), '1': (0, 0)}).
    while not (len(_workers(proc.pid)) == 2 and all((wal / s).is_dir() and _locked(wal / s) for s in "01")
               and collector_workers.log.read_text(errors="replace").count("Application startup complete") >= 2):
        assert time.monotonic() < deadline, f"two workers did not claim wal/0 and wal/1 and start: {sorted(wal.iterdir())}"
        time.sleep(0.2)
    assert not (wal / "2").exists()

    senders = [Sender(collector_workers.url, n) for n in range(SENDERS)]
    for s in senders:
        s.start()
    for s in senders:
        s.join(timeout=60)
    assert not any(s.errors for s in senders), [s.errors for s in senders]
    accepted = [i for s in senders for i in s.accepted]
    rejected = [i for s in senders for i in s.rejected]
    assert len(accepted) == SENDERS * REQUESTS // 2 * (1 + 8) and len(rejected) == SENDERS * REQUESTS // 3

    stop_collector(proc)  # SIGTERM to uvicorn's parent: each worker drains its log, then exits
    assert proc.returncode == 0
    assert not _locked(wal / "0") and not _locked(wal / "1")
    left = {s: _left_in_log(wal / s) for s in "01"}
    assert all(depth == 0 for depth, _ in left.values()), f"records left in the logs: {left}"
    # Each accepted request is one log record: both workers took requests, and stored all of theirs.
    assert all(stored > 0 for _, stored in left.values()), f"a worker took no request: {left}"
    assert sum(stored for _, stored in left.values()) == SENDERS * REQUESTS

    ((rows, ids),) = front.rows("SELECT count(), uniqExact(event_id) FROM parcours.events")
    assert (rows, ids) == (len(accepted), len(accepted)), "events lost or stored twice"
    assert {str(i) for (i,) in front.rows("SELECT event_id FROM parcours.events")} == set(accepted)
    stored_rejected = front.rows("SELECT event_id, reasons FROM parcours.rejected_events")
    assert sorted(i for i, _ in stored_rejected) == sorted(rejected)
    assert all("is not declared in the plan" in reasons[0] for _, reasons in stored_rejected)
    migrations = front.rows("SELECT version, count() FROM parcours.schema_migrations GROUP BY version ORDER BY version")
    assert migrations == [(m.version, 1) for m in MIGRATIONS], f"each migration should be recorded once: {migrations}"

    text = collector_workers.log.read_text()  # the workers log too (drained, below)
    applied = f"schema migrations applied: {[m.version for m in MIGRATIONS]}"
    assert text.count(applied) == 1 and text.index(applied) < text.index("Started server process"), \
        "the parent should migrate, before the workers start"
    assert text.count("shutdown: write-ahead log drained into ClickHouse") == 2
    assert "POST /collect" not in text  # no line per request, in workers either
