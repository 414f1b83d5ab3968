"""A large body is turned into rows on a thread of its own: its redaction (seconds for text full of phone-like
digits) no longer holds the other requests; and a flood of large bodies is refused for retry, not queued.
Checked by the order of the answers through a real HTTP server, never by a time."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid

from collector import collect, ingest
from collector.app import create_app
from tests.collector.helpers import event, rows, serving


def _digits(n: int, seed: int) -> str:
    """Text of phone-like digit groups, the costliest to redact (each value its own: nothing cached)."""
    rng = random.Random(seed)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < n:
        parts.append(rng.choice([f"06 {rng.randrange(100):02d} {rng.randrange(100):02d} {rng.randrange(10)}",
                                 f"+33 6 {rng.randrange(100):02d} 0{rng.randrange(10)}",
                                 f"{rng.randrange(99)}.{rng.randrange(99)} {rng.randrange(99)},{rng.randrange(9)}"]))
    return " ".join(parts)


def _send(url: str, events: list[dict]) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"sent": int(time.time() * 1000), "events": events}).encode()
    request = urllib.request.Request(f"{url}/collect", data=body, headers={"content-type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _heavy(seed: int) -> list[dict]:
    return [event("page_view", vid=str(uuid.uuid4()), p={"note": _digits(20_000, seed * 100 + i)}) for i in range(4)]


def test_a_large_body_being_read_holds_no_other_request(settings, store, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real = ingest.ingest

    def held(body, *args, **kwargs):
        if len(body) > collect.HEAVY:
            entered.set()
            assert release.wait(60), "the test never released the large body"
        return real(body, *args, **kwargs)

    monkeypatch.setattr(ingest, "ingest", held)
    monkeypatch.setattr(collect, "HEAVY_WAITING", 1)
    answered: list[str] = []
    with serving(create_app(settings)) as url:
        big = threading.Thread(target=lambda: answered.append(("large", _send(url, _heavy(1)))))
        big.start()
        assert entered.wait(60)  # the large body is being read (held there until released)
        # Meanwhile a small batch is taken at once: on the event loop, it waited for the large one to end
        status, _, _ = _send(url, [event("page_view")])
        answered.append(("small", status))
        # A second large body beyond HEAVY_WAITING is refused for retry, not queued behind the first
        status, headers, body = _send(url, _heavy(2))
        assert (status, json.loads(body)["error"]) == (503, "the collector is reading other large batches; retry later")
        assert int(headers["retry-after"]) > 0
        release.set()
        big.join(120)
    assert [kind for kind, _ in answered] == ["small", "large"]
    assert answered[0][1] == 204 and answered[1][1][0] == 204
    # The large body's events are stored as any (rejected here: the plan declares no `note`), redacted
    assert answered[1][1][1]["x-parcours-rejected"] == "4"


def test_a_large_body_s_rows_are_the_same_as_on_the_event_loop(settings, store, monkeypatch):
    """The thread changes where the rows are made, not what they are: the same body either way."""
    from tests.conftest import drained

    events = [event("page_view", vid="v-large", p={"note": _digits(6_000, 7)}),
              event("page_view", vid="v-large", url="https://www.motoassur.example/?tel=06%2071%2082%2093%2004")]
    events[0]["e"] = "undeclared"
    app = create_app(settings)
    with serving(app) as url:
        monkeypatch.setattr(collect, "HEAVY", 1)  # every body on the thread
        assert _send(url, events)[0] == 204
        monkeypatch.setattr(collect, "HEAVY", 1 << 30)  # none
        monkeypatch.setattr(collect, "HEAVY_GROUPS", 1 << 30)
        for e in events:
            e["id"] = str(uuid.uuid4())
        assert _send(url, events)[0] == 204
        drained(app)
    kept = [r["url"] for r in rows(store, "SELECT url FROM parcours.events WHERE visitor_id = 'v-large'")]
    assert len(kept) == 2 and kept[0] == kept[1] and "71" not in kept[0], kept
    raws = [r["raw"] for r in rows(store, "SELECT raw FROM parcours.rejected_events")]
    assert len(raws) == 2 and len({r.replace(json.loads(r)["id"], "") for r in raws}) == 1, raws


def test_a_small_body_full_of_digit_groups_goes_to_the_thread_too(settings, store, monkeypatch):
    """An outside probe's finding: 14 KB of `0-0-0-…` in a captured parameter, under HEAVY, cost 0.6 s of
    redaction on the event loop, and every other request waited. A body with more digit groups than a tag's
    batch holds goes to the thread too; a tag's batch of 20 events does not."""
    entered, release = threading.Event(), threading.Event()
    real = ingest.ingest
    dense = [event("page_view", vid="v-dense", c={"utm_term": "0-" * 6_000})]
    dense_body = json.dumps({"sent": 1, "events": dense}).encode()
    assert len(dense_body) < collect.HEAVY and collect.heavy(dense_body)
    # separators written as JSON escapes count too (an outside probe's finding: "0\t0\t…" stayed on the loop)
    assert collect.heavy(json.dumps({"events": [{"c": {"u": "0\t" * 3_000}}]}).encode())
    assert collect.heavy(json.dumps({"events": [{"c": {"u": "0\u00a0" * 3_000}}]}).encode())
    usual = [event("form_step", f="moto_quote", s="vehicle", url="https://www.motoassur.example/devis/2026-11-27?gclid=Cj0-1_2",
                   p={"quote_id": "Q-2026-11-27-0001"}) for _ in range(20)]
    assert not collect.heavy(json.dumps({"sent": int(time.time() * 1000), "events": usual}).encode())

    def held(body, *args, **kwargs):
        if b"v-dense" in body:
            entered.set()
            assert release.wait(60), "the test never released the dense body"
        return real(body, *args, **kwargs)

    monkeypatch.setattr(ingest, "ingest", held)
    answered: list[str] = []
    with serving(create_app(settings)) as url:
        dense_sender = threading.Thread(target=lambda: answered.append(("dense", _send(url, dense)[0])))
        dense_sender.start()
        assert entered.wait(60)
        answered.append(("usual", _send(url, usual)[0]))  # on the event loop, it waited for the dense one
        release.set()
        dense_sender.join(120)
    assert answered == [("usual", 204), ("dense", 204)]
    assert rows(store, "SELECT count() AS n FROM parcours.events WHERE visitor_id = 'v-dense'") == [{"n": 1}]
