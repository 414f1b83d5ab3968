"""POST /collect on the real app and the embedded engine: what lands in events and rejected_events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import dataclasses
import datetime as dt

import pytest

from collector import rejected
from tagplan import compile_plan, load_plan

from tests.collector.helpers import counts, event, post, rows
from tests.conftest import refusing_client
from tests.conftest import EXAMPLE_PLAN, SECRET, drained


def test_valid_events_land_enriched(client, store):
    step = event("form_step", f="moto_quote", s="rider", c={"courtier": "B042", "utm_medium": "cpm"})
    r = post(client, event(c={"courtier": "B042"}), step)
    assert counts(r) == {"accepted": 2, "rejected": 0}
    got = rows(store, "SELECT event, broker_id, broker_name, lever, form_id, step, step_index, utm_medium "
                      "FROM parcours.events ORDER BY event")
    assert got == [
        {"event": "form_step", "broker_id": "B042", "broker_name": "Comparamoto", "lever": "broker",
         "form_id": "moto_quote", "step": "rider", "step_index": 2, "utm_medium": "cpm"},
        {"event": "page_view", "broker_id": "B042", "broker_name": "Comparamoto", "lever": "broker",
         "form_id": "", "step": "", "step_index": 0, "utm_medium": ""},
    ]


def test_a_broker_id_typed_in_another_case_or_with_spaces_is_the_tables(client, store):
    """`courtier=b042` was an unknown broker (the generic lever, no name), ` B042 ` stored with its spaces."""
    post(client, event(c={"courtier": "b042"}), event(c={"courtier": " B042 "}), event(c={"courtier": "X9"}))
    got = rows(store, "SELECT broker_id, broker_name FROM parcours.events ORDER BY broker_id")
    assert got == [{"broker_id": "B042", "broker_name": "Comparamoto"}] * 2 + [{"broker_id": "X9", "broker_name": ""}]


def test_time_spent_on_a_step_is_kept_for_form_steps_only(client, store):
    post(client, event("form_step", f="moto_quote", s="vehicle", dt=41_250), event(dt=99))
    got = rows(store, "SELECT event, step_elapsed_ms FROM parcours.events ORDER BY event")
    assert got == [{"event": "form_step", "step_elapsed_ms": 41_250}, {"event": "page_view", "step_elapsed_ms": 0}]


def test_undeclared_event_is_rejected_with_its_reason_and_the_good_ones_kept(client, store):
    r = post(client, event(), event("newsletter_signup"))
    assert counts(r) == {"accepted": 1, "rejected": 1}
    (rej,) = rows(store, "SELECT event, reasons, plan_version FROM parcours.rejected_events")
    assert rej == {"event": "newsletter_signup", "plan_version": "2026.11.1",
                   "reasons": ['event: "newsletter_signup" is not declared in the plan (version 2026.11.1)']}
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]


@pytest.mark.parametrize("fields, reason", [
    ({"f": "moto_quote", "s": "paint"}, 'step: form "moto_quote" has no step "paint" (steps: vehicle, rider, coverage, contact)'),
    ({"f": "car_quote", "s": "vehicle"}, 'form_id: form "car_quote" is not declared in the plan'),
    ({"s": "vehicle"}, "form_id: required for form_step"),
    ({"f": "moto_quote", "s": "vehicle", "p": {"colour": "red"}}, "properties.colour: property is not declared in the plan"),
])
def test_form_step_rules(client, store, fields, reason):
    post(client, event("form_step", **fields))
    assert rows(store, "SELECT reasons FROM parcours.rejected_events") == [{"reasons": [reason]}]


def test_wire_type_errors_name_the_column(client, store):
    post(client, event(t="yesterday"))
    (rej,) = rows(store, "SELECT reasons FROM parcours.rejected_events")
    assert rej["reasons"] == ["client_ts: expected a time in milliseconds since 1970 (before 2100), got a string"]


def test_phone_is_stored_only_as_its_keyed_hash(client, store):
    submit = event("form_submit", f="moto_quote", p={"phone": "06 12 34 56 78", "quote_id": "Q-AB12"})
    bad = event("form_submit", f="moto_quote", p={"phone": "+33 6 12 34 56 78", "quote_id": "lowercase"})
    assert counts(post(client, submit, bad)) == {"accepted": 1, "rejected": 1}
    (row,) = rows(store, "SELECT phone_key, properties FROM parcours.events")
    assert row["phone_key"] == hmac.new(SECRET, b"+33612345678", hashlib.sha256).hexdigest()
    assert json.loads(row["properties"]) == {"quote_id": "Q-AB12"}
    everything = json.dumps(rows(store, "SELECT * FROM parcours.events") + rows(store, "SELECT * FROM parcours.rejected_events"), default=str)
    assert "12 34 56 78" not in everything and "612345678" not in everything
    assert "[redacted]" in everything


def test_the_tag_built_ins_touch_and_identify_are_accepted(client, store):
    touch = event("touch", c={"courtier": "B107", "utm_source": "comparateur"})
    identify = event("identify", p={"phone": "06 12 34 56 78"})
    assert counts(post(client, touch, identify)) == {"accepted": 2, "rejected": 0}
    got = rows(store, "SELECT event, broker_id, utm_source, phone_key, properties FROM parcours.events ORDER BY event")
    assert [(r["event"], r["broker_id"], r["utm_source"]) for r in got] == [("identify", "", ""), ("touch", "B107", "comparateur")]
    assert got[0]["phone_key"] == hmac.new(SECRET, b"+33612345678", hashlib.sha256).hexdigest()
    assert json.loads(got[0]["properties"]) == {}
    post(client, event("identify", p={"email": "a@example.fr"}))
    assert rows(store, "SELECT reasons FROM parcours.rejected_events") == [
        {"reasons": ["properties.email: property is not declared in the plan"]}]


def test_event_time_is_corrected_for_device_clock_skew(client, store):
    skewed = int(time.time() * 1000) - 3_600_000  # the device clock is one hour late
    post(client, event(t=skewed - 2_000), sent=skewed)
    (row,) = rows(store, "SELECT dateDiff('millisecond', ts, received_at) AS lag, "
                         "dateDiff('millisecond', client_ts, received_at) AS raw_lag FROM parcours.events")
    assert row["lag"] == 2_000
    assert row["raw_lag"] >= 3_600_000


def test_retried_batch_counts_once(client, store):
    batch = [event(), event("form_step", f="moto_quote", s="vehicle")]
    post(client, *batch)
    post(client, *batch)
    assert rows(store, "SELECT count() AS n FROM parcours.events FINAL") == [{"n": 2}]


@pytest.fixture(scope="module")
def refused(databases, engine_dir, tmp_path_factory):
    """One app for the cases below: each is refused before anything is read or written."""
    with refusing_client(databases, engine_dir, tmp_path_factory.mktemp("refused")) as c:
        yield c


@pytest.mark.parametrize("body, ctype, status, words", [
    (b"{not json", "text/plain", 400, "expected a JSON batch"),
    (b'{"events": 3}', "text/plain", 400, "expected a JSON batch"),
    # A page whose arrays have their own toJSON sends its events as the text of an array; any other text is none.
    (b'{"events": "[{\\"id\\": 1}, "}', "text/plain", 400, "expected a JSON batch"),
    (b'{"events": "hello"}', "text/plain", 400, "expected a JSON batch"),
    (b'{"events": "[{\\"id\\": 1}]  trailing"}', "text/plain", 400, "expected a JSON batch"),
    (b'{"events": "[]", "events": "[]"}', "text/plain", 400, "events: given more than once"),
    (b"[]", "application/json", 400, "expected a JSON batch"),
    (b"a=1", "application/x-www-form-urlencoded", 415, "send text/plain or application/json"),
    (b"x" * 1_000_001, "text/plain", 413, "body larger than"),
])
def test_bad_bodies_get_a_clear_error(refused, body, ctype, status, words):
    r = refused.post("/collect", content=body, headers={"content-type": ctype})
    assert r.status_code == status
    assert words in r.json()["error"]


def test_a_bug_on_a_batch_answers_503_for_a_retry_and_is_logged(client, store, monkeypatch, caplog):
    from collector import ingest

    real = ingest.ingest
    calls = []

    def broken_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in ingest")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "ingest", broken_once)
    failed = post(client, event())
    assert failed.status_code == 503 and failed.headers["retry-after"]
    assert failed.json() == {"error": "the collector failed on this batch; retry later"}
    assert "a bug in ingest" in caplog.text  # the traceback, for whoever fixes it
    assert counts(post(client, event())) == {"accepted": 1, "rejected": 0}  # the next batch is served
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]


def test_a_batch_of_more_events_than_the_limit_is_a_400_and_stores_nothing(client, store):
    """300,000 empty events in one 900 KB body held every other request for 8 s (outside probe)."""
    r = client.post("/collect", content=b'{"sent": 1, "events": [' + b",".join([b"{}"] * 1_001) + b"]}",
                    headers={"content-type": "text/plain"})
    assert r.status_code == 400
    assert "1001 events, more than 1000 in one batch; send smaller batches" in r.json()["error"]
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 0}]
    assert counts(post(client, *[event() for _ in range(100)])) == {"accepted": 100, "rejected": 0}


def test_cors_allows_plan_origins_and_keeps_the_events_of_others_as_rejected(client, store):
    ok = post(client, event(), headers={"origin": "http://localhost:8000"})
    assert ok.headers["access-control-allow-origin"] == "http://localhost:8000"
    # A site the plan does not list (http moved to https, a typo): its events were lost, the tag does not retry
    # a 403; they are kept as rejected now, to replay once the plan lists it, and the answer says so.
    refused = post(client, event(), event("form_step", f="moto_quote", s="rider"), headers={"origin": "https://localhost:8000"})
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "https://localhost:8000"
    assert (refused.headers["x-parcours-accepted"], refused.headers["x-parcours-rejected"]) == ("0", "2")
    assert "kept as rejected" in refused.json()["error"]
    got = rows(store, "SELECT event, reasons FROM parcours.rejected_events ORDER BY event")
    assert [r["event"] for r in got] == ["form_step", "page_view"]
    assert got[0]["reasons"] == ['origin "https://localhost:8000" is not one of the plan\'s sites (version 2026.11.1): '
                                 'add it to sites[].origins, then replay these events']
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]
    # Replayed once the plan lists the site, not before (any other replay would take in another site's traffic).
    plan = compile_plan(load_plan(EXAMPLE_PLAN))
    still = rejected.replay(store, plan, SECRET, dt.datetime(2000, 1, 1))
    assert still.replayed == 0 and list(still.still_rejected) == [got[0]["reasons"][0]]
    listed = dataclasses.replace(plan, origins=frozenset({*plan.origins, "https://localhost:8000"}))
    replayed = rejected.replay(store, listed, SECRET, dt.datetime(2000, 1, 1))
    assert replayed.replayed == 2 and rows(store, "SELECT count() AS n FROM parcours.events FINAL") == [{"n": 3}]


def test_tag_is_served_with_the_plan_compiled_in(client):
    r = client.get("/t.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert '"__PARCOURS_CONFIG__"' not in r.text
    assert '"b":"courtier"' in r.text and '"moto_quote":["vehicle","rider","coverage","contact"]' in r.text
    assert client.get("/t.js", headers={"if-none-match": r.headers["etag"]}).status_code == 304
    # Compressed for the browsers that take it (all do), as the tag's size budget counts it; plain otherwise.
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    assert int(r.headers["content-length"]) < len(r.content) / 1.5
    plain = client.get("/t.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == r.content
