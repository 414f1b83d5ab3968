"""The Segment-compatible API on the real app and the embedded engine: what a server's calls become.

Requests are built here as Segment's HTTP API defines them (its libraries are driven in e2e/test_segment.py):
auth, limits, refusals and back-pressure, and what lands in events and rejected_events.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gzip
import json
import uuid

import pytest
from starlette.testclient import TestClient

from collector.app import create_app
from collector.segment import keys
from tests.collector.conftest import ADMIN
from tests.collector.helpers import Outage, rows
from tests.conftest import Client, drained


def key_for(client, source="back_office") -> str:
    r = client.post("/api/write-keys", params={"source": source, "description": "tests"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()["key"]


def basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "content-type": "application/json"}


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def track(event="Contract Signed", **fields) -> dict:
    props = {"contract_id": "C-1", "premium": 412.5, "phone": "06 12 34 56 78", "quote_id": "Q-8F2KX1"}
    return {"type": "track", "event": event, "userId": "CUST-1", "properties": props,
            "messageId": str(uuid.uuid4()), "timestamp": iso(now()), **fields}


def send(client, key, *messages, sent=None, **extra):
    body = {"batch": list(messages), "sentAt": iso(sent or now()), **extra}
    return client.post("/v1/batch", content=json.dumps(body), headers=basic(key))


def test_track_identify_and_page_land_with_their_source(client, store):
    key = key_for(client)
    r = send(client, key,
             track(anonymousId="v-web-1"),
             {"type": "identify", "anonymousId": "v-web-1", "userId": "CUST-1", "messageId": "m-2",
              "traits": {"phone": "+33 6 12 34 56 78", "quote_id": "Q-8F2KX1", "email": "x@example.fr", "name": "X"}},
             {"type": "page", "anonymousId": "v-web-1", "name": "Devis", "messageId": "m-3",
              "properties": {"url": "https://www.motoassur.example/devis?courtier=B042&gclid=G1", "title": "Devis"},
              "context": {"campaign": {"source": "crm", "medium": "email", "name": "relance"},
                          "ip": "203.0.113.77", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "accepted": 3, "rejected": 0}
    got = rows(store, "SELECT event, source, visitor_id, user_id, phone_key != '' AS has_phone, properties, url, "
                      "broker_id, click_id, utm_medium, ip, browser FROM parcours.events ORDER BY event")
    assert [g["event"] for g in got] == ["contract_signed", "identify", "page_view"]
    assert {g["source"] for g in got} == {"back_office"}
    assert {g["visitor_id"] for g in got} == {"v-web-1"}
    assert [g["user_id"] for g in got] == ["CUST-1", "CUST-1", ""]
    signed, identify, page = got
    assert signed["has_phone"] and identify["has_phone"] and not page["has_phone"]
    assert json.loads(signed["properties"]) == {"contract_id": "C-1", "premium": 412.5, "quote_id": "Q-8F2KX1"}
    assert json.loads(identify["properties"]) == {"quote_id": "Q-8F2KX1"}  # the phone hashed, the rest not kept
    assert (page["url"], page["broker_id"], page["click_id"], page["utm_medium"]) == (
        "https://www.motoassur.example/devis?courtier=B042&gclid=G1", "B042", "G1", "email")
    assert (page["ip"], page["browser"]) == ("203.0.113.0", "Firefox")
    assert "x@example.fr" not in json.dumps(rows(store, "SELECT * FROM parcours.events"), default=str)


def test_the_same_phone_gets_the_same_key_as_from_the_tag(client, store):
    key = key_for(client)
    send(client, key, {"type": "identify", "userId": "CUST-9", "traits": {"phone": "0612345678"}})
    client.post("/collect", content=json.dumps({"events": [{
        "id": str(uuid.uuid4()), "e": "identify", "t": int(now().timestamp() * 1000), "vid": "v9",
        "p": {"phone": "+33 6 12 34 56 78"}}]}), headers={"content-type": "text/plain"})
    got = rows(store, "SELECT source, phone_key FROM parcours.events ORDER BY source")
    assert [g["source"] for g in got] == ["back_office", "tag"]
    assert got[0]["phone_key"] == got[1]["phone_key"] != ""


def test_a_message_sent_twice_is_one_event(client, store):
    key = key_for(client)
    message = track(anonymousId="v1")
    assert send(client, key, message).json()["accepted"] == 1
    assert send(client, key, message).json()["accepted"] == 1  # a retry: accepted again, stored once
    assert rows(store, "SELECT count() AS n, any(message_id) AS m FROM parcours.events FINAL") == [
        {"n": 1, "m": message["messageId"]}]


def test_the_time_is_corrected_for_the_senders_clock_as_segment_does(client, store):
    key = key_for(client)
    skew = dt.timedelta(hours=2)  # the sender's clock is two hours ahead
    made = now() + skew - dt.timedelta(minutes=10)  # by its clock: ten minutes before sending
    send(client, key, track(timestamp=iso(made)), sent=now() + skew)
    (row,) = rows(store, "SELECT toUnixTimestamp64Milli(ts) AS ts, toUnixTimestamp64Milli(client_ts) AS client, "
                         "toUnixTimestamp64Milli(received_at) AS received FROM parcours.events")
    assert row["client"] == int(made.timestamp() * 1000)
    expected = row["received"] - 10 * 60 * 1000  # receivedAt - (sentAt - originalTimestamp)
    assert abs(row["ts"] - expected) < 2_000
    # originalTimestamp wins over timestamp; without sentAt the time is taken as given
    early = now() - dt.timedelta(days=3)
    r = client.post("/v1/track", headers=basic(key), content=json.dumps(
        track(originalTimestamp=iso(early), timestamp=iso(now()), messageId="m-orig")))
    assert r.status_code == 200
    (row,) = rows(store, "SELECT toUnixTimestamp64Milli(ts) AS ts FROM parcours.events WHERE message_id = 'm-orig'")
    assert row["ts"] == int(early.timestamp() * 1000)


def test_invalid_calls_are_kept_as_rejected_with_reasons_and_the_batch_goes_on(client, store):
    key = key_for(client, "crm")
    bad_props = track(properties={"contract_id": "C-2", "premium": "cher", "coupon": "X"}, messageId="bad-1")
    r = send(client, key, track(), bad_props, track(event="Quote Shared", messageId="bad-2"),
             {"type": "track", "userId": "u", "messageId": "bad-3"},
             {"type": "alias", "previousId": "a", "userId": "b", "messageId": "bad-4"},
             {"type": "track", "event": "Contract Signed", "messageId": "bad-5"},
             {"type": "page", "userId": "u", "timestamp": "hier", "messageId": "bad-6"}, "not a call")
    assert r.status_code == 200
    doc = r.json()
    assert (doc["accepted"], doc["rejected"]) == (1, 7)
    reasons = {item["messageId"]: item["reasons"] for item in doc["rejected_events"]}
    assert reasons["bad-1"] == ["properties.premium: expected a number, got a string",
                                "properties.coupon: property is not declared in the plan"]
    assert reasons["bad-2"] == ['event: "quote_shared" is not declared in the plan (version 2026.11.1)']
    assert reasons["bad-3"] == ["event: required for a track call"]
    assert reasons["bad-4"][0].startswith("type: alias calls are not taken: parcours joins identities by")
    assert reasons["bad-5"] == ["userId, anonymousId: one of them is required"]
    assert reasons["bad-6"] == ['timestamp: "hier" is not an ISO 8601 time such as 2026-11-20T14:03:00.000Z']
    assert reasons[""] == ["the call: expected an object, got a string"]
    stored = rows(store, "SELECT source, reasons, raw FROM parcours.rejected_events")
    assert len(stored) == 7 and {s["source"] for s in stored} == {"crm"}
    assert not any("06 12 34 56 78" in s["raw"] for s in stored)  # the phone redacted from every raw


def test_write_key_in_the_body_and_refusals_without_a_valid_one(client, store):
    key = key_for(client)
    body = {"batch": [track()], "writeKey": key}
    plain = {"content-type": "application/json"}
    assert client.post("/v1/batch", content=json.dumps(body), headers=plain).status_code == 200
    missing = client.post("/v1/batch", content=json.dumps({"batch": [track()]}), headers=plain)
    assert missing.status_code == 401 and missing.json()["error"].startswith("no write key:")
    wrong = send(client, "wk_not-a-key", track())
    assert wrong.status_code == 401
    assert wrong.json()["message"] == ("unknown or revoked write key; an operator creates one with "
                                       "`parcours keys create SOURCE`")
    listed = client.get("/api/write-keys", headers=ADMIN).json()
    assert listed["columns"] == ["key", "source", "description", "created_at", "revoked_at"]
    assert [r[:3] for r in listed["rows"]] == [[key[:keys.SHOWN], "back_office", "tests"]]
    assert key not in json.dumps(listed)
    r = client.post("/api/write-keys/revoke", params={"key": key[:keys.SHOWN]}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["source"] == "back_office"
    assert send(client, key, track()).status_code == 401  # at once
    assert client.get("/api/write-keys", headers=ADMIN).json()["rows"] == []
    assert len(client.get("/api/write-keys?all=true", headers=ADMIN).json()["rows"]) == 1
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]
    stored = rows(store, "SELECT key_hash FROM parcours.write_keys")
    assert {s["key_hash"] for s in stored} == {keys.key_hash(key)}  # the hash, never the key


def test_a_source_is_named_in_plan_words(client):
    r = client.post("/api/write-keys", params={"source": "Back Office"}, headers=ADMIN)
    assert r.status_code == 400
    assert r.json()["error"].startswith('source "Back Office": a source is named in lower-case letters')
    assert client.post("/api/write-keys", params={"source": "tag"}, headers=ADMIN).status_code == 400


def test_segment_size_limits_and_gzip(client, store):
    key = key_for(client)
    big = track(properties={"contract_id": "C-9", "premium": 1.0, "product": "x" * 33_000}, messageId="big")
    r = client.post("/v1/track", content=json.dumps(big), headers=basic(key))
    assert r.status_code == 400
    assert r.json()["error"] == ("the call is larger than 32768 bytes, Segment's limit; send fewer or shorter "
                                 "properties")
    r = send(client, key, track(messageId="small"), big)  # in a batch: that call alone is rejected
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    assert r.json()["rejected_events"][0]["reasons"][0].startswith("event: 33")
    # Just within Segment's 32 KB: taken, though the event it becomes is longer than the call.
    fits = track("Brochure Downloaded", properties={"document_url": "https://x.example/"}, messageId="fits")
    fits["properties"]["document_url"] += "z" * (32_760 - len(json.dumps(fits)))
    assert 32_700 < len(json.dumps(fits)) <= 32_768
    r = client.post("/v1/track", content=json.dumps(fits), headers=basic(key))
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (1, 0), r.text
    many = [track(properties={"contract_id": f"C-{i}", "premium": 1.0, "product": "y" * 20_000}) for i in range(30)]
    r = send(client, key, *many)
    assert r.status_code == 400 and r.json()["error"].startswith("the batch is larger than 512000 bytes")
    packed = gzip.compress(json.dumps({"batch": [track(messageId="zipped")]}).encode())
    r = client.post("/v1/batch", content=packed, headers={**basic(key), "content-encoding": "gzip"})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    # read as JSON whatever the declared type (RudderStack's Node library sends axios' form type)
    packed = gzip.compress(json.dumps({"batch": [track(messageId="zipped-form")]}).encode())
    r = client.post("/v1/batch", content=packed, headers={**basic(key), "content-encoding": "gzip",
                                                          "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert rows(store, "SELECT message_id FROM parcours.events ORDER BY message_id") == [
        {"message_id": "fits"}, {"message_id": "small"}, {"message_id": "zipped"}, {"message_id": "zipped-form"}]


@pytest.mark.parametrize("mark, codec", [(b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                                         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe\x00\x00", "utf-32-le")],
                         ids=["UTF-8 BOM", "UTF-16 LE", "UTF-16 BE", "UTF-32 LE"])
def test_a_body_with_a_byte_order_mark_lands(client, store, mark, codec):
    """An outside probe's finding: a body with a BOM (.NET's and PowerShell's UTF-8 writers put one) was a 400,
    which Segment's libraries never retry: the batch lost."""
    key = key_for(client)
    batch = json.dumps({"batch": [track(messageId="bom-batch")], "sentAt": iso(now())}, ensure_ascii=False)
    r = client.post("/v1/batch", content=mark + batch.encode(codec), headers=basic(key))
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (1, 0), r.text
    call = json.dumps(track(messageId="bom-call"), ensure_ascii=False)
    r = client.post("/v1/track", content=mark + call.encode(codec), headers=basic(key))
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (1, 0), r.text
    assert rows(store, "SELECT message_id FROM parcours.events ORDER BY message_id") == [
        {"message_id": "bom-batch"}, {"message_id": "bom-call"}]


@pytest.mark.parametrize("call", ["alias", "group", "screen"])
def test_unsupported_calls_are_refused_with_what_to_send_instead(client, call):
    key = key_for(client)
    r = client.post(f"/v1/{call}", content=json.dumps({"userId": "u"}), headers=basic(key))
    assert r.status_code == 400
    assert r.json()["error"].startswith(f"{call} calls are not taken: ")


def test_a_single_call_with_a_field_of_the_wrong_type_is_kept_as_rejected(client, store):
    key = key_for(client)
    r = client.post("/v1/track", headers=basic(key), content=json.dumps({"userId": "u", "event": 5, "messageId": "odd"}))
    assert r.status_code == 200
    assert r.json()["rejected_events"] == [{"messageId": "odd", "reasons": ["event: expected a string, got a number"]}]
    assert rows(store, "SELECT source, reasons FROM parcours.rejected_events") == [
        {"source": "back_office", "reasons": ["event: expected a string, got a number"]}]
    assert client.post("/v1/track", headers=basic(key), content=b"[1, 2]").status_code == 400


def test_an_id_of_the_wrong_type_says_what_it_may_be(client, store):
    """An outside probe's finding: the reason read "userId: expected an integer, got an object", where a string is
    what senders send."""
    key = key_for(client)
    r = client.post("/v1/track", headers=basic(key),
                    content=json.dumps({"userId": {"id": 7}, "event": "Contract Signed", "messageId": "typed"}))
    assert r.status_code == 200
    assert r.json()["rejected_events"] == [
        {"messageId": "typed", "reasons": ["userId: expected an integer or a string, got an object"]}]


def test_a_body_that_is_no_batch_is_a_400(client):
    key = key_for(client)
    r = client.post("/v1/batch", content=b'{"batch": [', headers=basic(key))
    assert r.status_code == 400
    assert r.json()["error"] == 'expected a JSON object {"batch": [...]}: not valid JSON: it ends too early'


def test_a_batch_of_more_calls_than_the_limit_is_a_400_and_stores_nothing(client, store):
    """120,000 empty calls in one 500 KB batch held every other request for 6 s (outside probe)."""
    key = key_for(client)
    r = client.post("/v1/batch", content=b'{"batch": [' + b",".join([b"{}"] * 1_001) + b"]}", headers=basic(key))
    assert r.status_code == 400
    assert r.json()["error"] == ('expected a JSON object {"batch": [...]}: 1001 calls, more than 1000 in one batch; '
                                 'send smaller batches')
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 0}]
    assert send(client, key, *[track() for _ in range(1_000)]).status_code == 200


def test_a_source_sending_too_fast_is_told_when_to_retry(settings, store):
    # A debt of minutes, so that the next request finds it unpaid however slow a loaded machine is between the
    # two (a debt of 3 s was paid back before the next request, beside make bench).
    with Client(create_app(dataclasses.replace(settings, source_rate=1))) as client:
        key = key_for(client)
        assert send(client, key, *[track() for _ in range(200)]).status_code == 200  # a burst is taken whole...
        r = send(client, key, track())
        assert r.status_code == 429  # ...and paid for: 199 events over the rate, up to 199 seconds at 1 a second
        wait = int(r.headers["retry-after"])
        assert 1 <= wait <= 199
        assert r.json()["error"] == f'source "back_office" sends more than 1 events a second; retry after {wait} s'
        other = key_for(client, "crm")
        assert send(client, other, track()).status_code == 200  # another source is not held back


def test_a_full_log_answers_503_with_retry_after(settings, store):
    app = create_app(dataclasses.replace(settings, wal_max_bytes=1 << 16, wal_segment_bytes=1 << 12, retry_max=0.2))
    with TestClient(app) as client:
        key = key_for(client)
        drained(app)
        outage = app.state.writer.sink = Outage(store)
        for _ in range(400):
            r = send(client, key, *[track() for _ in range(10)])
            if r.status_code != 200:
                break
        assert r.status_code == 503 and r.headers["retry-after"] == str(settings.retry_after)
        assert r.json()["code"] == "busy"
        outage.down = False
        app.state.writer.retry_now()
        drained(app)
        assert send(client, key, track()).status_code == 200


def test_until_the_keys_are_read_calls_are_answered_503(client):
    client.app.state.write_keys = keys.KeyRing()  # as when ClickHouse was out of reach at start
    r = send(client, "wk_whatever", track())
    assert r.status_code == 503 and r.headers["retry-after"]
    assert r.json()["error"] == "the collector has not read its write keys yet (ClickHouse out of reach); retry later"


def _poisoned(call: dict, bad: bytes) -> bytes:
    """A call whose userId holds `bad` raw in its JSON text (invalid UTF-8, a lone surrogate)."""
    return json.dumps({**call, "userId": "BAD"}).encode().replace(b'"BAD"', b'"' + bad + b'"')


@pytest.mark.parametrize("bad", [b"\xff\xfe", b"\\ud800"], ids=["invalid-utf8", "lone-surrogate"])
def test_one_unreadable_call_is_rejected_and_its_batch_kept(client, store, bad):
    """Issue 9 item 3 on the Segment API: invalid UTF-8 in one call was a 500 with a traceback, a lone
    surrogate a 400 for the whole batch."""
    key = key_for(client)
    good = track()
    body = b'{"batch": [' + json.dumps(good).encode() + b", " + _poisoned(track(), bad) + b'], "sentAt": "' \
        + iso(now()).encode() + b'", "context": {"library": {"name": "\xff"}}}'
    r = client.post("/v1/batch", content=body, headers=basic(key))
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    drained(client.app)
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]
    (rejected,) = rows(store, "SELECT source, reasons FROM parcours.rejected_events")
    assert rejected["source"] == "back_office" and len(rejected["reasons"]) == 1


def test_a_single_call_with_invalid_utf8_is_rejected_not_a_500(client, store):
    key = key_for(client)
    r = client.post("/v1/track", content=_poisoned(track(), b"\xff"), headers=basic(key))
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == 1 and r.json()["rejected_events"][0]["reasons"][0].startswith("not valid UTF-8 text")


@pytest.mark.parametrize("raw", [b"\x00", b"\t", b"\n"], ids=["nul", "tab", "newline"])
def test_a_single_call_with_a_control_character_raw_in_a_string_is_rejected_not_a_400(client, store, raw):
    """JSON wants it escaped; in a batch such a call was kept as rejected, alone it was a 400, which Segment's
    libraries do not retry: the call was lost."""
    key = key_for(client)
    r = client.post("/v1/track", content=_poisoned(track(), b"x" + raw + b"y"), headers=basic(key))
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (0, 1)
    drained(client.app)
    (kept,) = rows(store, "SELECT source, raw FROM parcours.rejected_events")
    assert kept["source"] == "back_office" and '"userId"' in kept["raw"]


def test_a_single_call_with_a_lone_surrogate_is_rejected_not_a_400(client, store):
    """As in a batch (and in the tag's /collect): the call is kept as rejected with its reason, the sender told
    in a 200; it was a 400 for the whole request, so the call was neither stored nor kept."""
    key = key_for(client)
    r = client.post("/v1/track", content=_poisoned(track(), b"\\ud800"), headers=basic(key))
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (0, 1)
    # the write key in the body is still read when a string elsewhere cannot be
    body = _poisoned(track(writeKey=key), b"x\\udc00")
    r = client.post("/v1/page", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    at = body.index(b"\\udc00")
    assert r.json()["rejected_events"][0]["reasons"] == [
        f'not valid JSON: "\\udc00" is half of a UTF-16 surrogate pair, which no text holds (byte {at})']
    drained(client.app)
    kept = rows(store, "SELECT source, reasons, raw FROM parcours.rejected_events")
    assert [k["source"] for k in kept] == ["back_office", "back_office"]
    assert all("\\ud800" in k["raw"] or "\\udc00" in k["raw"] for k in kept)
    for bad in (b'{"type": "track", "userId": "\\ud800"', b'["\\ud800"]', b'{"a": 1} {"\\ud800": 2}'):
        r = client.post("/v1/track", content=bad, headers=basic(key))  # no call at all: still the request's 400
        assert r.status_code == 400 and r.json()["error"].startswith("expected a JSON object, one Segment call: ")


def test_keys_given_twice(client, store):
    """A key given twice (repeats.py): `batch` (or sentAt, context, writeKey) twice refuses the request, whose
    calls would otherwise be half stored; in a call, the call is kept as rejected, both values in its raw."""
    key = key_for(client)
    first, second = json.dumps(track()).encode(), json.dumps(track()).encode()
    r = client.post("/v1/batch", content=b'{"batch": [%s], "batch": [%s]}' % (first, second), headers=basic(key))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == 'expected a JSON object {"batch": [...]}: batch: given more than once; send each key once'
    r = client.post("/v1/batch", content=b'{"batch": [%s], "sentAt": "x", "sentAt": "y"}' % first, headers=basic(key))
    assert r.status_code == 400 and "sentAt: given more than once" in r.json()["error"]
    good = track()
    event_twice = json.dumps(track()).encode().replace(b'"event": "Contract Signed"',
                                                       b'"event": "Contract Signed", "event": "Quote Shared"')
    premium_twice = json.dumps(track()).encode().replace(b'"premium": 412.5', b'"premium": 412.5, "premium": 4.125')
    body = b'{"batch": [%s, %s, %s]}' % (json.dumps(good).encode(), event_twice, premium_twice)
    r = client.post("/v1/batch", content=body, headers=basic(key))
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 2)
    assert [e["reasons"] for e in r.json()["rejected_events"]] == [
        ["event: given more than once; send each key once"],
        ["properties.premium: given more than once; send each key once"]]
    r = client.post("/v1/track", content=event_twice, headers=basic(key))  # a single call: kept as rejected too
    assert r.status_code == 200 and r.json()["rejected_events"][0]["reasons"] == [
        "event: given more than once; send each key once"]
    drained(client.app)
    raws = [k["raw"] for k in rows(store, "SELECT raw FROM parcours.rejected_events")]
    assert sum('"premium":412.5,"premium":4.125' in raw for raw in raws) == 1
    assert sum('"event":"Contract Signed","event":"Quote Shared"' in raw for raw in raws) == 2
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]


def test_a_phone_written_with_no_break_spaces_is_written_nowhere(client, store):
    """An outside tester's finding: a userId written with no-break spaces was stored raw in visitor_id (user:06 71
    82 93 04), user_id, and then identity_links and person_keys; an event name holding a phone was snake-cased
    before redaction and kept as call_06_71_82_93_04 in rejected_events (event, reasons, raw)."""
    nbsp = "06\u00a071\u00a082\u00a093\u00a004"
    key = key_for(client)
    r = send(client, key,
             {"type": "identify", "userId": nbsp, "traits": {"quote_id": "Q-8F2KX1"}, "messageId": "m-1"},
             {"type": "track", "event": "Call 06 71 82 93 04", "anonymousId": "v-1", "messageId": "m-2"},
             {"type": "track", "event": f"Call {nbsp}", "anonymousId": "v-1", "messageId": "m-3"})
    assert r.status_code == 200, r.text
    (ident,) = rows(store, "SELECT visitor_id, user_id FROM parcours.events")
    assert ident["user_id"].startswith("hash:") and ident["visitor_id"] == "user:" + ident["user_id"]
    # the same person as when written with plain spaces: keyed on the E.164 number
    plain = send(client, key, {"type": "identify", "userId": "06 71 82 93 04", "messageId": "m-4"})
    assert plain.status_code == 200
    assert {g["user_id"] for g in rows(store, "SELECT user_id FROM parcours.events")} == {ident["user_id"]}
    rejected = rows(store, "SELECT event, reasons, raw FROM parcours.rejected_events")
    assert len(rejected) == 2 and all(k["event"] == "call_phone" for k in rejected), rejected
    stitched = client.post("/api/persons/stitch", headers=ADMIN)
    assert stitched.status_code == 200, stitched.text
    dump = json.dumps([rows(store, f"SELECT * FROM parcours.{t}") for t in
                       ("events", "rejected_events", "identity_links", "person_keys")], default=str, ensure_ascii=False)
    assert "hash:" in dump
    for spelling in ("71 82 93 04", "71\u00a082\u00a093\u00a004", "71_82_93_04", "0671829304", "+33671829304"):
        assert spelling not in dump, spelling
