"""kill -9 of the real collector under load: every acknowledged event is stored exactly once, no raw phone on disk."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import uuid
from urllib.parse import urlsplit

from e2e.conftest import Collector, start_collector, stop_collector
from tests.collector.helpers import files_written

# The same phone in the spellings a visitor types; none may reach the disk in any of them.
PHONES = ["06 12 34 56 78", "+33612345678", "06.12.34.56.78", "0033 6 12 34 56 78"]
NEEDLES = [b"612345678", b"12 34 56 78", b"12.34.56.78", b"6 12 34 56 78", "12 34 56 78".encode("utf-16-le")]
# Insert often, in small batches, so the kill lands between inserts, during one, or before a checkpoint.
ARGS = ("--batch-age", "0.05", "--batch-rows", "40")


def _events(n: int) -> list[dict]:
    now = int(time.time() * 1000)
    base = {"t": now, "q": 1, "vid": "v-crash", "sid": "s-crash", "url": "https://www.motoassur.example/devis",
            "c": {"courtier": "B042"}}
    out = [{**base, "id": str(uuid.uuid4()), "e": "page_view"}]
    if n % 3 == 0:
        out.append({**base, "id": str(uuid.uuid4()), "e": "form_submit", "f": "moto_quote",
                    "p": {"phone": PHONES[n % len(PHONES)], "quote_id": f"Q-{n}"}})
    if n % 5 == 0:  # rejected (bad quote_id), its raw payload holding a phone
        out.append({**base, "id": str(uuid.uuid4()), "e": "form_submit", "f": "moto_quote",
                    "p": {"phone": PHONES[n % len(PHONES)], "quote_id": "lowercase"}})
    return out


class Sender(threading.Thread):
    """Posts batches on one keep-alive connection until stopped; keeps the ids of acknowledged events."""

    def __init__(self, url: str, seed: int):
        super().__init__(daemon=True)
        self.netloc = urlsplit(url).netloc
        self.seed, self.acked, self.answered, self.stop = seed, [], 0, threading.Event()

    def run(self):
        conn = http.client.HTTPConnection(self.netloc, timeout=10)
        n = self.seed
        while not self.stop.is_set():
            n += 1
            events = _events(n)
            try:
                conn.request("POST", "/collect", json.dumps({"events": events}), {"content-type": "text/plain"})
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                return  # the collector died (even mid-answer): what was not answered was not acknowledged
            if resp.status == 204:
                self.acked += [e["id"] for e in events]
                self.answered += 1


PER_ROUND = 60  # acknowledged requests before each kill: the kill lands under load, however fast the machine


def _load(url: str, round_: int) -> list[Sender]:
    """Senders running until stopped, once they have had PER_ROUND requests acknowledged between them."""
    senders = [Sender(url, (round_ * 4 + seed) * 1_000_000) for seed in range(4)]
    for s in senders:
        s.start()
    deadline = time.monotonic() + 300  # a bound for a collector that stopped answering, not a speed claim
    while sum(s.answered for s in senders) < PER_ROUND:
        assert time.monotonic() < deadline and any(s.is_alive() for s in senders), \
            f"only {sum(s.answered for s in senders)} requests acknowledged: the collector is not taking load"
        time.sleep(0.01)
    return senders


def _wait_drained(collector: Collector, timeout: float = 60.0) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{collector.url}/readyz", timeout=5) as resp:
                if json.loads(resp.read())["wal_records"] == 0:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("the restarted collector did not drain its log")


def test_kill_9_loses_no_acknowledged_event_and_duplicates_none(tmp_path):
    acked: list[str] = []
    proc, url, log = start_collector(tmp_path, *ARGS)
    try:
        for round_ in range(2):  # two crashes, the second while replaying what the first left
            senders = _load(url, round_)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            for s in senders:
                s.stop.set()
                s.join(timeout=15)
                acked += s.acked
            proc, url, log = start_collector(tmp_path, *ARGS)
        collector = Collector(url, tmp_path, log)
        _wait_drained(collector)

        assert len(acked) >= 2 * PER_ROUND  # each round had its requests acknowledged before the kill
        final = {r["event_id"]: r["n"] for r in collector.sql(
            "SELECT toString(event_id) AS event_id, count() AS n FROM parcours.events FINAL GROUP BY event_id")}
        rejected = {r["event_id"]: r["n"] for r in collector.sql(
            "SELECT event_id, count() AS n FROM parcours.rejected_events GROUP BY event_id")}
        stored = {**final, **rejected}
        missing = [i for i in acked if i not in stored]
        assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:3]}"
        assert set(rejected.values()) == {1}, "a rejected event stored twice"
        # Without FINAL too: the batch in flight at each kill was replayed with the same dedup token.
        (plain,) = collector.sql("SELECT count() AS rows, uniqExact(event_id) AS ids FROM parcours.events")
        assert plain["rows"] == plain["ids"] == len(final)
    finally:
        stop_collector(proc)

    hits = []
    for path, data in files_written(tmp_path):
        hits += [f"{path.relative_to(tmp_path)}: {n!r}" for n in NEEDLES if n in data]
    assert not hits, f"raw phone number on disk: {hits}"
