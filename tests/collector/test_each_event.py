"""Each event is judged on its own: one that cannot be read is kept in rejected_events with its reason,
its raw bytes escaped; the valid events of its batch are stored; the answer is a 204, never a 5xx; one
log line per problem, throttled, no traceback flood."""

from __future__ import annotations

import json
import logging
import time

from collector import ingest
from tests.collector.helpers import counts, event, rows


def body(*events: bytes, sent: int | None = None) -> bytes:
    head = b'{"sent":%d,' % sent if sent else b"{"
    return head + b'"events":[' + b",".join(events) + b"]}"


def valid() -> tuple[str, bytes]:
    e = event()
    return e["id"], json.dumps(e).encode()


def broken(inside: bytes) -> tuple[str, bytes]:
    """An event whose JSON holds `inside` (raw bytes, spliced into it as they are)."""
    e = event()
    raw = json.dumps(e).encode()
    return e["id"], raw[:-1] + b"," + inside + b"}"


def post_raw(client, data: bytes):
    return client.post("/collect", content=data, headers={"content-type": "text/plain"})


def stored_ids(store) -> set[str]:
    return {r["id"] for r in rows(store, "SELECT toString(event_id) AS id FROM parcours.events")}


def test_invalid_utf8_inside_one_event(client, store, caplog):
    caplog.set_level(logging.WARNING, logger="parcours.collect")
    good = [valid() for _ in range(3)]
    bad_url = broken(b'"url":"https://x.example/\xff\xfe"')
    bad_key = broken(b'"p":{"\xc3":"x"}')
    bad_captured = broken(b'"c":{"utm_term":"caf\xe9"}')
    r = post_raw(client, body(good[0][1], bad_url[1], good[1][1], bad_key[1], bad_captured[1], good[2][1]))
    assert counts(r) == {"accepted": 3, "rejected": 3}
    assert stored_ids(store) == {i for i, _ in good}
    kept = {r["event_id"]: r for r in rows(store, "SELECT event_id, reasons, raw FROM parcours.rejected_events")}
    assert set(kept) == {bad_url[0], bad_key[0], bad_captured[0]}
    assert all(r["reasons"][0].startswith("not valid UTF-8 text (byte ") for r in kept.values())
    assert "https://x.example/\\xff\\xfe" in kept[bad_url[0]]["raw"]  # the raw bytes, escaped
    assert "caf\\xe9" in kept[bad_captured[0]]["raw"]
    lines = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(lines) == 3 and not any(r.exc_info for r in lines)


def test_a_lone_surrogate_rejects_its_event_not_its_batch(client, store):
    good = [valid() for _ in range(2)]
    surrogate = broken(b'"url":"\\ud800"')
    low = broken(b'"vid":"\\udfff x"')
    sent = int(time.time() * 1000) + 1234
    r = post_raw(client, body(good[0][1], surrogate[1], low[1], good[1][1], sent=sent))
    assert counts(r) == {"accepted": 2, "rejected": 2}
    assert stored_ids(store) == {i for i, _ in good}
    kept = rows(store, "SELECT event_id, reasons, raw FROM parcours.rejected_events ORDER BY raw")
    assert {k["event_id"] for k in kept} == {surrogate[0], low[0]}
    assert sorted(k["reasons"][0].split(" is ")[0] for k in kept) == ['not valid JSON: "\\ud800"',
                                                                    'not valid JSON: "\\udfff"']
    assert all("is half of a UTF-16 surrogate pair, which no text holds (byte " in k["reasons"][0] for k in kept)
    assert any("\\ud800" in k["raw"] for k in kept)
    assert rows(store, "SELECT DISTINCT toUnixTimestamp64Milli(sent_at) AS sent FROM parcours.events") == [
        {"sent": sent}]  # the batch's sent, read without decoding the whole body


def test_a_property_nested_600_deep(client, store):
    good = valid()
    lists = broken(b'"p":{"x":' + b"[" * 600 + b"]" * 600 + b"}")
    objects = broken(b'"p":{"x":' + b'{"a":' * 600 + b"1" + b"}" * 600 + b"}")
    r = post_raw(client, body(lists[1], good[1], objects[1]))
    assert counts(r) == {"accepted": 1, "rejected": 2}
    assert stored_ids(store) == {good[0]}
    kept = rows(store, "SELECT event_id, reasons, length(raw) > 1200 AS whole FROM parcours.rejected_events")
    assert {k["event_id"] for k in kept} == {lists[0], objects[0]}
    assert all(k["whole"] for k in kept)


def test_a_bug_on_one_event_keeps_it_and_stores_the_others(client, store, monkeypatch, caplog):
    real = ingest._row
    good = [valid() for _ in range(2)]
    doomed = event()

    def failing(ev, *args, **kwargs):
        if ev.event_id == doomed["id"]:
            raise KeyError("a bug")
        return real(ev, *args, **kwargs)

    monkeypatch.setattr(ingest, "_row", failing)
    caplog.set_level(logging.WARNING, logger="parcours.collect")
    r = post_raw(client, body(good[0][1], json.dumps(doomed).encode(), good[1][1]))
    assert counts(r) == {"accepted": 2, "rejected": 1}
    assert rows(store, "SELECT event_id, reasons FROM parcours.rejected_events") == [
        {"event_id": doomed["id"],
         "reasons": ["the collector failed on this event (KeyError); it is kept here to replay once fixed"]}]
    (line,) = [r for r in caplog.records if "ingest failed on one event" in r.getMessage()]
    assert line.exc_info is not None  # a bug: its traceback, once


def test_problems_are_logged_throttled(client, caplog):
    caplog.set_level(logging.WARNING, logger="parcours.collect")
    events = [broken(b'"url":"\xff"')[1] for _ in range(40)]
    assert counts(post_raw(client, body(*events))) == {"accepted": 0, "rejected": 40}
    assert len([r for r in caplog.records if "could not be read" in r.getMessage()]) == 10


def test_a_body_that_is_no_batch_is_still_a_400(client):
    for data in (b'{"events":[{"id":"\\ud800"}', b'[{"events":[]}]', b'{"events":{"\\ud800":1}}',
                 b'{"sent":"\\ud800","events":[]}', b"\xff\xfe"):
        r = post_raw(client, data)
        assert r.status_code == 400, (data, r.text)
        assert r.json()["error"].startswith('expected a JSON batch {"sent": <ms>, "events": [...]}: ')
