"""Every collector message, word for word; decode errors in column names and the plan's words, whatever arrives."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import messages, wire

WORDS = {
    "not_a_uuid": ({"value": "abc"}, 'event_id: "abc" is not a UUID'),
    "event_undeclared": ({"value": "quote_shared", "version": "2026.11.1"},
                         'event: "quote_shared" is not declared in the plan (version 2026.11.1)'),
    "form_required": ({"event": "form_step"}, "form_id: required for form_step"),
    "form_undeclared": ({"value": "loan"}, 'form_id: form "loan" is not declared in the plan'),
    "step_unknown": ({"form": "moto_quote", "value": "pet", "steps": "vehicle, rider"},
                     'step: form "moto_quote" has no step "pet" (steps: vehicle, rider)'),
    "too_large": ({"size": 40000, "limit": 32768},
                  "event: 40000 bytes, larger than the limit of 32768; send fewer or shorter properties"),
    "redacted": ({"name": "phone"}, "properties.phone: its value was redacted when rejected and cannot be checked again"),
    "wrong_type": ({"field": "seq", "expected": "an integer", "got": "a string"}, "seq: expected an integer, got a string"),
    "out_of_range": ({"field": "seq", "expected": "a whole number from 0 to 9"}, "seq: expected a whole number from 0 to 9"),
    "missing": ({"field": "event"}, "event: required"),
    "not_json": ({"detail": "invalid character (byte 0)"}, "not valid JSON: invalid character (byte 0)"),
    "truncated_json": ({}, "not valid JSON: it ends too early"),
    "too_deep": ({}, "nested too deeply"),
    "lone_surrogate": ({"escape": "\\ud800", "position": 12},
                       'not valid JSON: "\\ud800" is half of a UTF-16 surrogate pair, which no text holds (byte 12)'),
    "repeated_key": ({"field": "properties.premium"}, "properties.premium: given more than once; send each key once"),
    "not_utf8": ({"position": 9}, "not valid UTF-8 text (byte 9); the raw bytes are kept escaped"),
    "origin": ({"origin": "https://evil.example", "version": "3"},
               'origin "https://evil.example" is not one of the plan\'s sites (version 3): add it to sites[].origins, '
               'then replay these events'),
    "failed_event": ({"detail": "KeyError"},
                     "the collector failed on this event (KeyError); it is kept here to replay once fixed"),
    "too_old": ({"days": 30}, "client_ts: the event was made more than 30 days before it was sent (--max-event-age)"),
    "undecodable": ({"detail": "odd"}, "cannot be read: odd"),
    "segment_refused": ({"call": "group", "why": "no groups"}, "type: group calls are not taken: no groups"),
    "segment_type": ({"value": "boom", "calls": "track, identify, page"},
                     'type: "boom" is not a call parcours takes, expected one of: track, identify, page'),
    "segment_no_id": ({}, "userId, anonymousId: one of them is required"),
    "segment_no_event": ({}, "event: required for a track call"),
    "segment_builtin": ({"value": "Page View"},
                        'event: "Page View" is one of the tag\'s own events; send a page call for a page view, an '
                        "identify call for identity keys, or a track call with an event the plan declares"),
    "segment_time": ({"field": "timestamp", "value": "yesterday"},
                     'timestamp: "yesterday" is not an ISO 8601 time such as 2026-11-20T14:03:00.000Z'),
}


ANSWERS = {
    "content_type": ({"value": "text/csv"}, 'content type "text/csv" is not accepted; send text/plain or application/json'),
    "content_encoding": ({"value": "br"}, 'content encoding "br" is not accepted; send gzip or no encoding'),
    "too_big": ({"limit": 2000}, "body larger than 2000 bytes; send smaller batches"),
    "too_big_gunzipped": ({"limit": 2000}, "body larger than 2000 bytes once decompressed; send smaller batches"),
    "client_gone": ({}, "the client went away before the body was complete"),
    "bad_gzip": ({"detail": "bad header"}, "the body is not valid gzip (bad header); compress it with gzip or send it plain"),
    "gzip_truncated": ({}, "the gzip body is truncated; send the whole compressed body"),
    "bad_encoding": ({"encoding": "UTF-16", "detail": "truncated data"},
                     "the body begins with UTF-16's byte order mark but is not valid UTF-16 (truncated data); send UTF-8"),
    "too_big_utf8": ({"limit": 1000}, "body larger than 1000 bytes once read as UTF-8; send smaller batches"),
    "gzip_members": ({"limit": 64}, "the gzip body holds more than 64 members; compress the body as one"),
    "origin": ({"origin": "https://evil.example"},
               'origin "https://evil.example" is not one of the plan\'s sites; its events are kept as rejected: add it to '
               'sites[].origins, then replay them (`parcours rejected replay`)'),
    "wal_full": ({}, "the collector is behind: its write-ahead log is full (ClickHouse slow or down); retry later"),
    "wal_error": ({}, "the collector cannot write its log right now; retry later"),
    "large_batches": ({}, "the collector is reading other large batches; retry later"),
    "contacts_unavailable": ({}, "the collector cannot store a call-back consent right now (ClickHouse slow or down); "
                                 "retry later"),
    "failed": ({}, "the collector failed on this batch; retry later"),
    "too_deep_request": ({}, "the request's JSON is nested too deeply to be read; send it flatter"),
    "tag_not_built": ({"path": "collector/static/t.js"}, "the tag is not built: run `make tag` (expected collector/static/t.js)"),
    "tag_addon_not_built": ({"name": "markup", "path": "collector/static/addons/markup.js"},
                            "the tag's add-on markup is not built: run `make tag` (expected collector/static/addons/markup.js)"),
    "too_many_connections": ({}, "the collector has too many connections open, all busy; retry later"),
    "headers_late": ({"seconds": 10.0}, "the request's headers did not arrive within 10 s (--header-timeout)"),
    "body_late": ({"seconds": 2.5}, "the request's body did not arrive within 2.5 s (--body-timeout)"),
    "unauthorized": ({}, "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)"),
    "session_ended": ({}, "the dashboard session has ended (logged out, expired or replaced): log in again at "
                          "/dashboard/login"),
    "viewer_reports_only": ({}, "a dashboard session reads the reports only (/api/reports/…); the rest of the API "
                                "takes the admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)"),
    "viewer_cross_site": ({}, "refused: the request comes from another site than the dashboard's"),
    "viewer_csrf": ({}, "missing or wrong X-CSRF-Token header for this dashboard session (the page sends it; "
                        "reload it)"),
    "bad_parameter": ({"name": "since", "problem": "it is odd"}, "since: it is odd"),
    "sql_empty": ({}, "send one SQL statement as the request body"),
    "stopping": ({}, "the collector stopped before this request was answered, its work stopped with it; send it again"),
    "sql_body_too_big": ({"limit": 16777216},
                         "the body is larger than 16777216 bytes: send one statement, its long lists as parameters"),
    "sql_too_long": ({"size": 300000, "limit": 262144},
                     "the statement is 300000 bytes, ClickHouse reads at most 262144 (max_query_size): give a long "
                     "list as a parameter ({ids:Array(String)} and ?param_ids=[…]), whose value is not part of the text"),
    "sql_several": ({"count": 2}, "send one statement at a time: this text holds 2, separated by ';'"),
    "sql_not_reading": ({"word": "INSERT"}, 'only reading statements are run here (SELECT, WITH, SHOW, DESCRIBE, '
                                            'EXPLAIN); "INSERT" is not one of them'),
    "sql_outfile": ({}, "INTO OUTFILE would write a file on the collector's machine; read the rows from the answer "
                        "(or use `parcours export`)"),
    "sql_function": ({"name": "file"}, "file() reads files or other servers; only the database's tables are read here"),
    "sql_quoted_function": ({"name": "`file`"}, "`file`(…): write a function's name without quotes (a quoted name is "
                                                "not read here, and a function could read files: `file`(…) is file())"),
    "sql_format": ({}, "leave out the FORMAT clause: the answer comes as JSON"),
    "sql_settings": ({}, "the SETTINGS clause could not be read: write it as SETTINGS name = value, name = value"),
    "sql_setting": ({"name": "readonly", "allowed": "final, max_threads"},
                    'setting "readonly" cannot be changed here; these can: final, max_threads'),
    "sql_parameter_missing": ({"parameters": "{from:DateTime64(3, 'UTC')}"},
                              "no value given for {from:DateTime64(3, 'UTC')}: give each one as --param NAME=VALUE "
                              "(parcours sql) or ?param_NAME=VALUE (POST /api/sql)"),
    "sql_parameter_unknown": ({"names": '"form"', "known": "from, to"},
                              'the statement has no parameter "form"; its parameters: from, to'),
    "sql_parameter_twice": ({"name": "from"}, 'parameter "from" given twice; give each one once'),
    "since_required": ({}, "since: required (e.g. since=7d or since=2026-11-20), so a replay covers a known period"),
    "no_plan_watcher": ({}, "the plan watcher is not running"),
    "write_key_missing": ({}, "no write key: send it as the user name of HTTP Basic auth (the key, a colon, no "
                              "password) or as writeKey in the body"),
    "write_key_unknown": ({}, "unknown or revoked write key; an operator creates one with `parcours keys create SOURCE`"),
    "write_keys_unread": ({}, "the collector has not read its write keys yet (ClickHouse out of reach); retry later"),
    "segment_batch": ({"reason": "not valid JSON: it ends too early"},
                      'expected a JSON object {"batch": [...]}: not valid JSON: it ends too early'),
    "segment_call": ({"reason": "nested too deeply"}, "expected a JSON object, one Segment call: nested too deeply"),
    "segment_too_big": ({"what": "the batch", "limit": 512000, "advice": "send fewer calls per batch"},
                        "the batch is larger than 512000 bytes, Segment's limit; send fewer calls per batch"),
    "segment_refused": ({"call": "alias", "why": "send identify"}, "alias calls are not taken: send identify"),
    "rate_limited": ({"source": "crm", "rate": 1000, "seconds": 2},
                     'source "crm" sends more than 1000 events a second; retry after 2 s'),
}


def test_every_message_is_tested():
    assert set(WORDS) == set(messages.REASONS)
    assert set(ANSWERS) == set(messages.ANSWERS)


@pytest.mark.parametrize("code", sorted(ANSWERS))
def test_answer_words(code):
    fields, text = ANSWERS[code]
    assert messages.answer(code, **fields) == text


@pytest.mark.parametrize("code", sorted(WORDS))
def test_reason_words(code):
    fields, text = WORDS[code]
    assert messages.reason(code, **fields) == text


TIME = "a time in milliseconds since 1970 (before 2100)"


@pytest.mark.parametrize("raw, reason", [
    (b'{"id": "x", "e": "page_view", "t": "soon"}', f"client_ts: expected {TIME}, got a string"),
    (b'{"id": "x", "e": "page_view", "t": true}', f"client_ts: expected {TIME}, got a boolean"),
    (b'{"id": "x", "e": "page_view", "t": 1.5}', f"client_ts: expected {TIME}, got a number"),
    (b'{"id": "x", "e": "page_view", "t": -1}', f"client_ts: expected {TIME}"),
    (b'{"id": "x", "e": "page_view", "t": 1e400}', f"client_ts: expected {TIME}"),
    (b'{"id": "x", "e": "page_view", "t": 1, "dt": -3}', "step_elapsed_ms: expected a whole number from 0 to 4294967295"),
    (b'{"id": "x", "t": 1}', "event: required"),
    (b'{"e": "page_view", "t": 1}', "event_id: required"),
    (b'{"id": "x", "e": null, "t": 1}', "event: expected a string, got null"),
    (b'{"id": "x", "e": "page_view", "t": 1, "vid": ["v"]}', "visitor_id: expected a string, got a list"),
    (b'{"id": "x", "e": "page_view", "t": 1, "ref": {}}', "referrer: expected a string, got an object"),
    (b'{"id": "x", "e": "page_view", "t": 1, "c": {"utm_source": 3}}',
     "captured: expected a string for every value, got a number"),
    (b'{"id": "x", "e": "page_view", "t": 1, "p": "phone"}', "properties: expected an object, got a string"),
    (b'"page_view"', "the event: expected an object, got a string"),
    (b'{"id": "x", "e": "page_view", "t": 1', "not valid JSON: it ends too early"),
    (b'{"id": "x" "e": 1}', "not valid JSON: expected ',' or '}' (byte 11)"),
])
def test_decode_errors_name_the_column_in_the_plans_words(raw, reason):
    with pytest.raises(msgspec.DecodeError) as caught:
        wire.event_decoder.decode(raw)
    assert wire.decode_error(caught.value) == reason


def test_a_batch_error_says_what_a_batch_is():
    with pytest.raises(msgspec.DecodeError) as caught:
        wire.batch_decoder.decode(b'{"sent": "now", "events": []}')
    assert messages.batch(wire.decode_error(caught.value, "the body")) == (
        f'expected a JSON batch {{"sent": <ms>, "events": [...]}}: sent: expected {TIME}, got a string')


def test_the_wire_keys_are_declared_once_and_map_to_columns():
    assert wire.WIRE_TO_COLUMN == {
        "id": "event_id", "e": "event", "t": "client_ts", "q": "seq", "vid": "visitor_id", "sid": "session_id",
        "url": "url", "ref": "referrer", "f": "form_id", "s": "step", "c": "captured", "p": "properties",
        "dt": "step_elapsed_ms", "uid": "user_id", "mid": "message_id"}
    from collector.rows import EventRow

    assert set(wire.WIRE_TO_COLUMN.values()) <= set(EventRow.__struct_fields__)  # the same words as the table


values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                                st.text(max_size=10)),
                      lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner,
                                                                                            max_size=3)), max_leaves=8)
events = st.dictionaries(st.sampled_from(list(wire.WIRE_TO_COLUMN)), values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(doc=st.one_of(events, values))
def test_no_decode_error_speaks_python_or_wire_keys(doc):
    try:
        wire.event_decoder.decode(json.dumps(doc).encode())
    except msgspec.DecodeError as exc:
        text = wire.decode_error(exc)
        assert "`" not in text and "Expected" not in text and "$" not in text, text
        head = text.split(":")[0]
        assert head in set(wire.WIRE_TO_COLUMN.values()) | {"the event", "not valid JSON"} or \
            head.startswith("captured"), text
