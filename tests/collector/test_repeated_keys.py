"""A key given twice in one JSON object (repeats.py): msgspec would keep the last value and drop the others
without a word. In an event, the event is kept as rejected with the reason, both values in its raw payload;
in a batch's envelope (`events` or `sent` twice), the request is refused with a 400 saying so."""

from __future__ import annotations

import json
import time

import pytest

from collector.repeats import repeated_key
from tests.collector.helpers import counts, event, rows
from tests.collector.test_each_event import body, post_raw, stored_ids, valid


def spliced(e: dict, extra: bytes) -> bytes:
    """An event's JSON with `extra` (members, raw) inserted right after its opening brace."""
    return b"{" + extra + b"," + json.dumps(e).encode()[1:]


def test_events_given_twice_refuses_the_batch_with_400(client, store):
    first, second = valid(), valid()
    data = b'{"sent":%d,"events":[%s],"events":[%s]}' % (int(time.time() * 1000), first[1], second[1])
    r = post_raw(client, data)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": 'expected a JSON batch {"sent": <ms>, "events": [...]}: '
                                 "events: given more than once; send each key once"}
    for twice in (b'{"sent":1,"events":[%s],"sent":2}' % first[1],
                  b'{"events":[%s],"\\u0065vents":[%s]}' % (first[1], second[1]),  # the same key, spelled otherwise
                  b'{"events":[%s, {"id":"\\ud800"}],"events":[]}' % first[1]):  # a body read event by event too
        r = post_raw(client, twice)
        assert r.status_code == 400 and "given more than once" in r.json()["error"], (twice, r.text)
    # the name "events" elsewhere (a captured parameter, a value) is no repeat
    ok = event(ref="events", c={"events": "events"})
    assert counts(post_raw(client, body(json.dumps(ok).encode(), first[1]))) == {"accepted": 2, "rejected": 0}


def test_a_key_given_twice_in_an_event_rejects_it_alone(client, store):
    good = [valid() for _ in range(2)]
    e_twice = event()
    prop_twice = event("form_submit", f="moto_quote", p={"quote_id": "Q-8F2K"})
    raw_prop = json.dumps(prop_twice).encode().replace(b'"quote_id": "Q-8F2K"',
                                                        b'"quote_id": "Q-1", "quote_id" : "Q-8F2K"')
    captured_twice = event(c={"utm_source": "google"})
    raw_captured = json.dumps(captured_twice).encode().replace(b'"utm_source": "google"',
                                                               b'"utm_source": "bing", "utm_\\u0073ource": "google"')
    r = post_raw(client, body(good[0][1], spliced(e_twice, b'"e":"form_submit"'), raw_prop, raw_captured, good[1][1]))
    assert counts(r) == {"accepted": 2, "rejected": 3}
    assert stored_ids(store) == {i for i, _ in good}
    kept = {k["event_id"]: k for k in rows(store, "SELECT event_id, event, reasons, raw FROM parcours.rejected_events")}
    assert kept[e_twice["id"]]["reasons"] == ["event: given more than once; send each key once"]
    assert kept[prop_twice["id"]]["reasons"] == ["properties.quote_id: given more than once; send each key once"]
    assert kept[captured_twice["id"]]["reasons"] == ["captured.utm_source: given more than once; send each key once"]
    # the raw payload keeps both values, as sent (a decoder keeping the last would have dropped one)
    assert '"e":"form_submit"' in kept[e_twice["id"]]["raw"] and '"e":"page_view"' in kept[e_twice["id"]]["raw"]
    assert '"quote_id":"Q-1","quote_id":"Q-8F2K"' in kept[prop_twice["id"]]["raw"]
    assert '"utm_source":"bing","utm_source":"google"' in kept[captured_twice["id"]]["raw"]


def test_both_values_of_a_repeated_personal_property_are_redacted(client, store):
    """The raw payload of a rejected event holds no personal data: the repeated phone property, both times."""
    e = event("form_step", f="moto_quote", s="rider", p={"phone": "06 12 34 56 78", "age": 30})
    raw = json.dumps(e).encode().replace(b'"phone": "06 12 34 56 78"',
                                         b'"phone": "07 98 76 54 32", "phone": "06 12 34 56 78", "note": "06 11 22 33 44"')
    assert counts(post_raw(client, body(raw))) == {"accepted": 0, "rejected": 1}
    (kept,) = rows(store, "SELECT reasons, raw FROM parcours.rejected_events")
    assert kept["reasons"] == ["properties.phone: given more than once; send each key once"]
    assert '"phone":"[redacted]","phone":"[redacted]","note":"[phone]"' in kept["raw"]
    assert "98 76" not in kept["raw"] and "34 56" not in kept["raw"] and "22 33" not in kept["raw"]


@pytest.mark.parametrize("raw, path", [
    (b'{"a":1,"b":2}', None),
    (b'{"a":1,"a":2}', ["a"]),
    (b'{"a" :1,"a":2}', ["a"]),  # a blank before the colon
    (b'{"p":{"x":1},"c":{"x":1}}', None),  # the same name in two objects
    (b'{"p":{"x":1,"\\u0078":2}}', ["p", "x"]),
    (b'{"s":"a\\":b","t":"\\":"}', None),  # quotes and colons inside strings
    (b'{"l":[{"k":1},{"k":2}]}', None),
    (b'{"l":[{"k":1,"k":2}]}', ["l", "k"]),
    (b'{"":1,"":2}', [""]),
])
def test_repeated_key(raw, path):
    assert repeated_key(raw) == path


@pytest.mark.parametrize("body, twice", [
    (rb'{"batch":[{"context":{}},{"context":{}}],"context":{}}', None),  # each call's own context
    (rb'{"batch":[{"context":{}}],"context":{},"context":{"a":1}}', "context"),
    (rb'{"batch":[{"context":{}}],"context":{},"context" :{}}', "context"),  # a blank before the colon
    (rb'{"batch":[{"context":{}}],"context":{},"\u0063ontext":{}}', "context"),  # a letter escaped
    (rb'{"batch":[{"s":"\":"}],"context":{"k":"\":"},"context":1}', "context"),  # quotes, colons in strings
    (rb'{"batch":[{"s":"\":"}],"context":{"k":"\":"}}', None),
    (rb'{"batch":[], "sentAt":"x", "batch":[{"context":{}}]}', "batch"),
])
def test_repeated_top(body, twice):
    from collector.repeats import repeated_top

    assert repeated_top(body, ("batch", "sentAt", "context", "writeKey")) == twice

