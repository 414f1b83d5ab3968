"""ClickHouse away or hung, against a real collector and a real ClickHouse HTTP interface (e2e/chserver.py):
the collector starts without it and accepts into its log; /readyz says degraded; once ClickHouse answers,
the migrations run and the log drains. A ClickHouse that stops answering (SIGSTOP) shows in /readyz."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
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


class Hung:
    """A server that takes connections and reads what comes, and never answers: a ClickHouse stuck in a way a
    health check cannot tell from a slow one (a proxy whose back end is gone, a host out of memory swapping).
    `stop` closes every connection, as a restarted server's are."""

    def __init__(self, port: int | None = None):
        self.sock = socket.create_server(("127.0.0.1", port or 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass

    def stop(self) -> None:
        self.sock.close()
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


class HungRun:
    """A collector against a Hung server (its own command line, for a restart), then a real ClickHouse on that port."""

    def __init__(self, tmp_path: Path, *extra: str):
        self.tmp_path, self.hung, self.front = tmp_path, Hung(), None
        self.args = ("--clickhouse", f"http://127.0.0.1:{self.hung.port}", "--batch-age", "0.05", "--retry-max", "0.5",
                     "--clickhouse-connect-timeout", "1", "--clickhouse-timeout", "2", *extra)
        self.start()

    def start(self) -> None:
        self.proc, self.url, self.log = start_collector(self.tmp_path, *self.args)

    def clickhouse_back(self) -> ClickHouseFront:
        """ClickHouse restarted: the connections the hung one held are closed, then it answers on the same port."""
        self.hung.stop()
        self.front = ClickHouseFront(self.tmp_path, self.hung.port)
        return self.front


@contextlib.contextmanager
def against_hung(tmp_path: Path, *extra: str):
    """A HungRun; its logs shown if the test fails, and everything it started stopped after."""
    run = HungRun(tmp_path, *extra)
    try:
        yield run
    except BaseException:
        show(run.log, tmp_path / "chserver.log")
        raise
    finally:
        stop_collector(run.proc)
        run.hung.stop()
        if run.front:
            run.front.stop()


def test_the_collector_starts_and_answers_while_clickhouse_takes_connections_and_never_answers(tmp_path):
    """An outside probe's finding: started against such a server, the collector stayed in its start-up for more
    than 5 minutes (the migrations' clients wait 300 s a call), answering nothing, not even /healthz: every event
    sent meanwhile was refused at the door. It now asks the server first, bounded by --clickhouse-connect-timeout,
    and starts as it does when ClickHouse is down."""
    with against_hung(tmp_path) as run:
        url = run.url
        good = [event(), event(), event()]
        assert send(url, good + [event("newsletter_signup")]) == (204, "3", "1")  # into the log
        status, body = until(lambda: (lambda r: r if r[0] == 503 else None)(ready(url)), "readyz degraded")
        assert body["status"] == "degraded" and body["wal_records"] >= 1, body
        assert any("cannot be reached" in r or "has not answered for" in r or "held up" in r
                   for r in body["reasons"]), body
        more = [event() for _ in range(5)]
        for e in more:  # still answered, one batch after another, while the writer waits on ClickHouse
            assert send(url, [e]) == (204, "1", "0")
        until(lambda: metric(url, "parcours_clickhouse_errors_total") >= 1, "a failed insert counted in /metrics")

        front = run.clickhouse_back()
        until(lambda: ready(url)[0] == 200 and ready(url)[1]["wal_records"] == 0, "ready and drained", 180)
        assert front.rows("SELECT toString(event_id) FROM parcours.events FINAL ORDER BY 1") == sorted(
            (e["id"],) for e in good + more)
        assert front.rows("SELECT count() FROM parcours.rejected_events") == [(1,)]
        assert "starting anyway: events are accepted into the write-ahead log" in run.log.read_text()


def test_the_collector_stops_while_clickhouse_hangs_and_what_it_took_lands_at_the_next_start(tmp_path):
    """An outside probe's finding: stopped (SIGTERM) while such a server hung, the collector did not end: its shutdown
    asked ClickHouse to stop the queries still running on its event loop, on a client that waits 300 s, then waited
    for each background turn 30 s one after the other; processes stopped so were still there minutes later."""
    with against_hung(tmp_path, "--shutdown-timeout", "3") as run:
        taken = [event(), event()]
        assert send(run.url, taken) == (204, "2", "0")
        run.proc.terminate()
        try:
            run.proc.wait(timeout=60)  # a bound on a failure, not a speed claim: it waited on ClickHouse for minutes
        except subprocess.TimeoutExpired:
            pytest.fail("the collector did not stop within 60 s of SIGTERM while ClickHouse hung")
        assert "stay in the log for the next start" in run.log.read_text()

        front = run.clickhouse_back()
        run.start()
        until(lambda: ready(run.url)[0] == 200 and ready(run.url)[1]["wal_records"] == 0, "ready and drained", 180)
        assert front.rows("SELECT toString(event_id) FROM parcours.events FINAL ORDER BY 1") == sorted(
            (e["id"],) for e in taken)
