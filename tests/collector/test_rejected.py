"""Rejected events: the summary by reason, and replay against a fixed plan (once, original times, phone key)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest

from collector import rejected
from collector.since import BadTime, epoch_seconds, naive_utc, parse_since
from tests.collector.conftest import ADMIN
from tests.collector.helpers import event, post, rows
from tests.conftest import SECRET

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
PHONE_KEY = hmac.new(SECRET, b"+33612345678", hashlib.sha256).hexdigest()


def test_summary_groups_rejections_by_reason(client, store):
    post(client, event("newsletter_signup"), event("newsletter_signup"), event("form_step", f="moto_quote", s="x"))
    got = rejected.summary(store, LONG_AGO)
    assert got.columns == ["reason", "events", "replayed", "first_seen", "last_seen", "event_names", "example"]
    by_reason = {r[0]: r for r in got.rows}
    top = got.rows[0]
    assert top[0] == 'event: "newsletter_signup" is not declared in the plan (version 2026.11.1)'
    assert top[1:3] == [2, 0] and top[5] == ["newsletter_signup"]
    assert json.loads(top[6])["e"] == "newsletter_signup"
    assert by_reason['step: form "moto_quote" has no step "x" (steps: vehicle, rider, coverage, contact)'][1] == 1
    assert rejected.summary(store, dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).rows == []


def test_summary_counts_a_resent_rejected_event_once(client, store):
    bad = event("newsletter_signup")
    post(client, bad)
    post(client, bad)  # the tag resent the batch: the rejected row is stored twice
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 2}]
    (row,) = rejected.summary(store, LONG_AGO).rows
    assert row[1] == 1


def test_replay_moves_events_the_fixed_plan_accepts_once_with_their_original_times(client, store, fixed_plan):
    skewed = int(time.time() * 1000) - 3_600_000  # the device clock is an hour late
    signup = event("newsletter_signup", t=skewed - 2_000, p={"topic": "moto"})
    still_bad = event("newsletter_signup", p={"topic": 3})
    unknown = event("quote_printed")
    post(client, signup, still_bad, unknown, event(), sent=skewed)
    (original,) = rows(store, "SELECT received_at FROM parcours.rejected_events WHERE event_id = {id:String}",
                       id=signup["id"])

    dry = rejected.replay(store, fixed_plan, SECRET, LONG_AGO, dry_run=True)
    assert (dry.considered, dry.replayed) == (3, 1)
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]

    done = rejected.replay(store, fixed_plan, SECRET, LONG_AGO)
    assert (done.considered, done.replayed, done.already_in_events) == (3, 1, 0)
    assert done.still_rejected == {
        'event: "quote_printed" is not declared in the plan (version 2026.11.2)': 1,
        "properties.topic: expected a string, got a number": 1,
    }
    (row,) = rows(store, "SELECT received_at, dateDiff('millisecond', ts, received_at) AS lag, plan_version, "
                         "properties FROM parcours.events WHERE event = 'newsletter_signup'")
    assert row == {"received_at": original["received_at"], "lag": 2_000, "plan_version": "2026.11.2",
                   "properties": '{"topic":"moto"}'}

    again = rejected.replay(store, fixed_plan, SECRET, LONG_AGO)
    assert (again.considered, again.replayed) == (2, 0)
    assert rows(store, "SELECT count() AS n FROM parcours.events WHERE event = 'newsletter_signup'") == [{"n": 1}]
    summary = {r[0]: r[2] for r in rejected.summary(store, LONG_AGO).rows}
    assert summary['event: "newsletter_signup" is not declared in the plan (version 2026.11.1)'] == 1


def test_a_replayed_event_gets_its_phone_key_back(client, store, fixed_plan):
    night = event("callback_requested", p={"phone": "06 12 34 56 78", "slot": "night"})
    post(client, night)
    (rej,) = rows(store, "SELECT raw, phone_key FROM parcours.rejected_events")
    assert "12 34 56 78" not in rej["raw"] and rej["phone_key"] == PHONE_KEY
    assert rejected.replay(store, fixed_plan, SECRET, LONG_AGO).replayed == 1
    (row,) = rows(store, "SELECT phone_key, properties FROM parcours.events")
    assert row == {"phone_key": PHONE_KEY, "properties": '{"slot":"night"}'}


def test_a_redacted_value_that_was_itself_wrong_cannot_be_replayed(client, store, fixed_plan):
    post(client, event("callback_requested", p={"phone": "06 12", "slot": "night"}))
    result = rejected.replay(store, fixed_plan, SECRET, LONG_AGO)
    assert result.replayed == 0
    assert result.still_rejected == {
        "properties.phone: its value was redacted when rejected and cannot be checked again": 1}


def test_an_event_accepted_since_is_not_inserted_twice(client, store, fixed_plan):
    signup = event("newsletter_signup")
    post(client, signup)
    client.app.state.plan = fixed_plan  # the plan was reloaded, then the tag retried the same event
    post(client, signup)
    result = rejected.replay(store, fixed_plan, SECRET, LONG_AGO)
    assert (result.replayed, result.already_in_events) == (0, 1)
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]


def test_replay_only_covers_the_period_given(client, store, fixed_plan):
    post(client, event("newsletter_signup"))
    assert rejected.replay(store, fixed_plan, SECRET, dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
                           ).considered == 0


def test_admin_endpoints_summary_and_replay(client, store, fixed_plan):
    post(client, event("newsletter_signup"))
    assert client.get("/api/rejected/summary").status_code == 401
    summary = client.get("/api/rejected/summary?since=1h", headers=ADMIN).json()
    assert summary["rows"][0][:3] == ['event: "newsletter_signup" is not declared in the plan (version 2026.11.1)', 1, 0]
    bad = client.get("/api/rejected/summary?since=yesterdy", headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["error"].startswith('since: "yesterdy" is not a time')
    assert client.post("/api/rejected/replay", headers=ADMIN).json()["error"].startswith("since: required")
    client.app.state.plan = fixed_plan
    # dry_run=on was read as false: a replay for real.
    on = client.post("/api/rejected/replay?since=1h&dry_run=on", headers=ADMIN)
    assert on.status_code == 400 and on.json()["error"] == 'dry_run: "on" is not a flag; send dry_run=true or dry_run=false'
    dry = client.post("/api/rejected/replay?since=1h&dry_run=true", headers=ADMIN).json()
    assert dry == {"dry_run": True, "considered": 1, "replayed": 1, "already_in_events": 0, "still_rejected": {},
                   "dead_letters": 0, "dead_letters_stored": 0, "dead_letters_refused": {}}
    assert client.post("/api/rejected/replay?since=1h", headers=ADMIN).json()["replayed"] == 1
    assert client.post("/api/rejected/replay?since=1h", headers=ADMIN).json()["considered"] == 0
    assert rows(store, "SELECT event FROM parcours.events") == [{"event": "newsletter_signup"}]


NOW = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("7d", NOW - dt.timedelta(days=7)),
    ("90m", NOW - dt.timedelta(minutes=90)),
    ("2w", NOW - dt.timedelta(weeks=2)),
    ("2026-11-20", dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)),
    ("2026-11-20T08:00", dt.datetime(2026, 11, 20, 8, tzinfo=dt.timezone.utc)),
    ("2026-11-20T08:00+01:00", dt.datetime(2026, 11, 20, 7, tzinfo=dt.timezone.utc)),
    ("", dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)),
    ("999999w", dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)),  # clamped to what the columns hold
    ("9999-12-31", dt.datetime(2299, 12, 31, tzinfo=dt.timezone.utc)),
])
def test_parse_since(text, expected):
    assert parse_since(text, NOW) == expected


def test_parse_since_says_what_it_accepts():
    with pytest.raises(BadTime, match=r'"last week" is not a time: use a duration ago \(90m, 24h, 7d, 2w\)'):
        parse_since("last week", NOW)


def test_a_time_from_clickhouse_either_way_is_the_same_utc_time_and_the_same_seconds():
    paris = dt.timezone(dt.timedelta(hours=1))
    naive = dt.datetime(2026, 11, 22, 14, 0, 0, 123000)
    for given in (naive, naive.replace(tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 22, 15, 0, 0, 123000, paris)):
        assert naive_utc(given) == naive and naive_utc(given).tzinfo is None
        assert epoch_seconds(given) == 1795356000.123
