"""Fuzzing /collect on the real app and the embedded engine: whatever arrives, never a 5xx."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from collector.app import create_app
from collector.pixel import GIF
from collector.wire import PIXEL_SCALARS
from tests.collector.helpers import counts
from tests.collector.test_each_event import body, broken, post_raw, valid
from tests.conftest import drained

FUZZ = settings(max_examples=int(__import__("os").environ.get("PARCOURS_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False), st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)
wire_event = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.uuids().map(str), json_values),
    "e": st.one_of(st.sampled_from(["page_view", "form_step", "form_submit", "callback_requested", "nope"]), json_values),
    "t": st.one_of(st.integers(min_value=-(2**64), max_value=2**64), json_values),
    "q": st.one_of(st.integers(min_value=-(2**40), max_value=2**40), json_values),
    "f": st.one_of(st.just("moto_quote"), json_values), "s": st.one_of(st.just("rider"), json_values),
    "c": st.one_of(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3), json_values),
    "p": st.one_of(st.dictionaries(st.sampled_from(["phone", "slot", "quote_id", "x"]), json_values, max_size=3),
                   json_values),
    "vid": json_values, "url": json_values, "ref": json_values,
})
batches = st.fixed_dictionaries({"events": st.one_of(st.lists(wire_event, max_size=5), json_values)},
                                optional={"sent": st.one_of(st.integers(min_value=-(2**64), max_value=2**64), json_values)})
bodies = st.one_of(batches.map(lambda b: json.dumps(b).encode()), st.binary(max_size=300))
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@pytest.fixture
def undrained(settings, store):
    """The app, not waiting for the writer after each request (as `client` does): for the tests whose
    assertions are the answers. Whatever the examples made it accept must still be stored at the end."""
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
        drained(app)


@FUZZ
@given(body=bodies,
       ctype=st.one_of(st.sampled_from(["text/plain", "application/json", "text/plain;charset=UTF-8", ""]), header_text),
       encoding=st.one_of(st.sampled_from(["", "gzip", "identity", "br", "deflate"]), header_text),
       compress=st.booleans(), origin=st.sampled_from([None, "http://localhost:8000", "https://evil.example"]))
@example(body=b'{"events":[{"id":"\\ud800","e":"page_view","t":1,"vid":"\\udfff"}]}', ctype="text/plain",
         encoding="", compress=False, origin=None)
@example(body=b'{"events":[' + b"[" * 3000 + b"]" * 3000 + b"]}", ctype="text/plain", encoding="", compress=False,
         origin=None)
@example(body=b'{"events":[{"id":"%s","e":"page_view","t":1,"c":{"a\\u0000b":"\\u0000"},"p":{}}]}'
         % str(uuid.uuid4()).encode(), ctype="text/plain", encoding="", compress=False, origin=None)
def test_post_collect_never_answers_5xx(undrained, body, ctype, encoding, compress, origin):
    headers = {"content-type": ctype, "content-encoding": encoding}
    if origin:
        headers["origin"] = origin
    r = undrained.post("/collect", content=gzip.compress(body) if compress else body, headers=headers)
    assert r.status_code < 500, r.text
    if r.status_code == 204:
        assert set(counts(r)) == {"accepted", "rejected"}
    else:
        assert set(r.json()) == {"error"}


pixel_keys = st.one_of(st.sampled_from(PIXEL_SCALARS), st.text(max_size=6).map(lambda k: "c." + k),
                       st.text(max_size=6).map(lambda k: "p." + k), st.text(max_size=6))


@FUZZ
@given(params=st.lists(st.tuples(pixel_keys, st.text(max_size=60)), max_size=10),
       referer=st.one_of(st.just(""), st.just("https://x.example/?courtier=B042&utm_source=a"), header_text))
def test_the_pixel_always_answers_a_gif(undrained, params, referer):
    r = undrained.get("/collect", params=params, headers={"referer": referer})
    assert r.status_code == 200 and r.content == GIF, r.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/api/export", "/api/rejected/summary", "/api/rejected/replay"]),
       params=st.dictionaries(st.sampled_from(["since", "until", "table", "format", "dry_run"]),
                              st.one_of(st.sampled_from(["7d", "99999999w", "0001-01-01", "9999-12-31", "csv", "jsonl",
                                                         "events", "rejected_events", "true", ""]),
                                        st.text(max_size=20)), max_size=5))
def test_admin_endpoints_never_answer_5xx_to_odd_parameters(client, path, params):
    headers = {"authorization": "Bearer admin-test-token"}
    call = client.post if path.endswith("replay") else client.get
    r = call(path, params=params, headers=headers)
    assert r.status_code < 500, r.text


any_text = st.text(max_size=60)  # any code point but lone surrogates, which JSON decoding refuses
page_views = st.fixed_dictionaries({
    "e": st.just("page_view"), "t": st.integers(min_value=0, max_value=4_102_444_800_000),
}, optional={
    "q": st.integers(min_value=0, max_value=2**32 - 1), "vid": any_text, "sid": any_text, "url": any_text,
    "ref": any_text, "c": st.dictionaries(any_text, any_text, max_size=4),
})


@FUZZ
@given(events=st.lists(page_views, min_size=1, max_size=5), sent=st.integers(min_value=0, max_value=4_102_444_800_000),
       user_agent=header_text)
def test_valid_events_with_any_text_and_any_clock_land_or_are_kept(client, store, events, sent, user_agent):
    # Valid by the plan whatever their strings: each reaches ClickHouse, or, when made more than
    # --max-event-age before its batch was sent, rejected_events; none refused by an insert.
    ids = [str(uuid.uuid4()) for _ in events]  # fresh: hypothesis repeats values, and equal ids are folded
    events = [{**e, "id": i} for e, i in zip(events, ids)]
    sent_by_device = sent or max(e["t"] for e in events)  # without "sent", the batch's latest event
    too_old = sum(1 for e in events if sent_by_device - e["t"] > 30 * 86_400_000)
    r = client.post("/collect", content=json.dumps({"sent": sent, "events": events}),
                    headers={"content-type": "text/plain", "user-agent": user_agent})
    assert counts(r) == {"accepted": len(events) - too_old, "rejected": too_old}, r.text
    db = store.database  # both tables in one query: hundreds of examples
    (landed, kept), = store.query(
        f"SELECT (SELECT count() FROM {db}.events WHERE toString(event_id) IN {{ids:Array(String)}}), "
        f"(SELECT count() FROM {db}.rejected_events WHERE event_id IN {{ids:Array(String)}} "
        "AND reasons = ['client_ts: the event was made more than 30 days before it was sent (--max-event-age)'])",
        parameters={"ids": ids}).rows
    assert (landed, kept) == (len(events) - too_old, too_old)


poisons = st.sampled_from([
    b'"url":"https://x.example/\xff"', b'"p":{"\xe9t\xe9":1}', b'"c":{"utm_term":"\xc3"}',
    b'"url":"\\ud800"', b'"ref":"a\\udc00b"', b'"vid":"\\ud83d"',
    b'"p":{"x":' + b"[" * 550 + b"]" * 550 + b"}", b'"p":{"deep":' + b'{"a":' * 520 + b"0" + b"}" * 520 + b"}",
    b'"e":"form_submit"', b'"c":{"utm_source":"a", "utm_source" :"b"}',  # a key given twice (repeats.py)
])


@FUZZ
@given(layout=st.lists(st.one_of(st.none(), poisons), min_size=1, max_size=8))
def test_fuzz_poisoned_events_inside_valid_batches(client, store, layout):
    """Any mix of valid events and events holding invalid UTF-8, a lone surrogate, deep nesting or a key given
    twice: a 204, the valid ones stored, the others kept as rejected."""
    made = [valid() if p is None else broken(p) for p in layout]
    r = post_raw(client, body(*(raw for _, raw in made)))
    good = {i for (i, _), p in zip(made, layout) if p is None}
    assert counts(r) == {"accepted": len(good), "rejected": len(made) - len(good)}, r.text
    ids = [i for i, _ in made]
    db = store.database  # both tables in one query: hundreds of examples
    (landed, kept), = store.query(
        f"SELECT (SELECT groupArray(toString(event_id)) FROM {db}.events WHERE toString(event_id) IN {{ids:Array(String)}}), "
        f"(SELECT count() FROM {db}.rejected_events WHERE event_id IN {{ids:Array(String)}})",
        parameters={"ids": ids}).rows
    assert set(landed) == good and len(landed) == len(good)
    assert kept == len(made) - len(good)
