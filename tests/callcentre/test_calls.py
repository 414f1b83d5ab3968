"""Call logs in as the PBX writes them, and each call matched: by the lease of the dialled number, else by
the caller's phone, else unmatched with why."""

from __future__ import annotations

import datetime as dt
import io

from callcentre import calls
from collector.enrich import phone_key
from journeys.imports import Context
from tests.callcentre.conftest import ADMIN
from tests.collector.helpers import rows
from tests.conftest import ROOT, SECRET

SAMPLE = ROOT / "examples" / "samples" / "appels-crc-2026-10.csv"
UTC = dt.timezone.utc


def test_the_asterisk_sample_imports_as_it_is(store, plan):
    ctx = Context(plan, SECRET)
    summary = calls.import_file(store, ctx, io.BytesIO(SAMPLE.read_bytes()), source="appels.csv", profile="asterisk")
    assert (summary.lines, summary.imported, summary.rejected) == (5, 5, 0)
    got = rows(store, "SELECT call_id, start, answered_at, caller, caller_key, dialled, duration, billsec, "
                      "disposition, agent FROM parcours.calls FINAL ORDER BY start")
    first = got[0]
    # 2026-10-02 09:14:03 in the PBX's time (reconciliation.time_zone, Europe/Paris) is 07:14:03 UTC.
    assert first["call_id"] == "1759396443.1021" and first["start"] == dt.datetime(2026, 10, 2, 7, 14, 3)
    assert first["answered_at"] == dt.datetime(2026, 10, 2, 7, 14, 11)
    assert (first["caller"], first["caller_key"]) == ("number", phone_key("0612345678", "FR", SECRET))
    assert (first["dialled"], first["duration"], first["billsec"]) == ("+33970000112", 457, 449)
    assert (first["disposition"], first["agent"]) == ("ANSWERED", "SIP/201")
    assert [r["caller"] for r in got] == ["number", "number", "anonymous", "number", "number"]
    assert got[1]["caller_key"] == phone_key("+33645127890", "FR", SECRET)  # +33 and national: the same key
    assert (got[1]["disposition"], got[1]["answered_at"]) == ("NO ANSWER", dt.datetime(1970, 1, 1))
    assert (got[3]["disposition"], got[3]["agent"], got[3]["dialled"]) == ("BUSY", "", "+33970000000")
    # Idempotent: the same file again changes nothing.
    again = calls.import_file(store, ctx, io.BytesIO(SAMPLE.read_bytes()), source="appels.csv", profile="asterisk")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 5)
    assert rows(store, "SELECT count() AS n FROM parcours.calls FINAL") == [{"n": 5}]


def test_bad_lines_are_reported_by_line_and_kept_without_the_caller(store, plan):
    text = SAMPLE.read_text().splitlines()
    bad = text[1].replace('"2026-10-02 10:02:55"', '"2026-13-02 10:02:55"').replace('"30","0"', '"30","x"')
    missing = text[2].replace('"1759405212.1050"', '""')
    body = "\n".join([text[0], bad, missing, *text[3:]]) + "\n"
    summary = calls.import_file(store, Context(plan, SECRET), io.BytesIO(body.encode()), source="bad.csv",
                                profile="asterisk")
    assert (summary.imported, summary.rejected) == (3, 2)
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (2, ['start: "2026-13-02 10:02:55" is not a real date (month must be in 1..12)',  # a date as it is
             "billsec: expected a whole number of seconds"]),
        (3, ["call_id: required (the telephony system's id of the call)"]),
    ]
    kept = rows(store, "SELECT line, fields, phone_key FROM parcours.import_rejects WHERE kind = 'calls' ORDER BY line")
    assert kept[0]["phone_key"] == phone_key("+33645127890", "FR", SECRET)
    for r in kept:
        assert "45127890" not in r["fields"] and "caller" not in r["fields"]


def test_a_rejected_lines_times_are_kept_as_written_whatever_their_field_is_named(store, plan):
    """An outside probe's finding: a call log's answer and end times (fields the profile names `answer` and `end`,
    where the table's columns are answered_at and ended_at) were kept in the rejected line as `[redacted]:03:25`:
    the blunt phone rule read the date as a number. A time is kept as written in whichever field; a phone still
    is not."""
    import json
    text = SAMPLE.read_text().splitlines()
    bad = text[0].replace('"457","449"', '"457","x"')
    typed = text[1].replace('"30","0"', '"30","x"').replace('"2026-10-02 10:03:25"', '"06 71 82 93 04"')
    calls.import_file(store, Context(plan, SECRET), io.BytesIO(f"{bad}\n{typed}\n".encode()), source="t.csv",
                      profile="asterisk")
    kept = [json.loads(r["fields"]) for r in rows(store, "SELECT fields FROM parcours.import_rejects "
                                                         "WHERE kind = 'calls' ORDER BY line")]
    assert (kept[0]["start"], kept[0]["answer"], kept[0]["end"]) == (
        "2026-10-02 09:14:03", "2026-10-02 09:14:11", "2026-10-02 09:21:40")
    assert kept[1]["end"] == "[redacted]"


def test_a_phone_number_shaped_like_a_date_is_not_kept_as_a_time(store, plan):
    """A regression probe's finding: since a value that looks like a time is kept as written in any field of a
    rejected line, a number the phone rule masks but that the date pattern also reads (6-12-34-5678: a day, a
    month, a year and a "-5678" offset; 44-20-7946-0958: a UK number without its +) was kept as written in a
    disposition or an agent's field. Only a date that can be one (a month of 1 to 12, a year of 4 digits or 2, an
    offset of at most 14 hours) is kept."""
    text = SAMPLE.read_text().splitlines()
    line = text[0].replace('"457","449"', '"457","x"')
    bad = [line.replace('"ANSWERED"', f'"{number}"') for number in ("6-12-34-5678", "44-20-7946-0958", "612-34-5678")]
    calls.import_file(store, Context(plan, SECRET), io.BytesIO("\n".join(bad).encode()), source="t.csv",
                      profile="asterisk")
    kept = [r["fields"] for r in rows(store, "SELECT fields FROM parcours.import_rejects WHERE kind = 'calls'")]
    assert len(kept) == 3
    for fields in kept:
        assert "5678" not in fields and "7946" not in fields, fields
        assert "2026-10-02 09:14:11" in fields  # the times still as written


def test_the_canonical_format_and_the_api(client, store):
    body = ("call_id,start,caller,dialled,duration,billsec,disposition,agent\n"
            "c-1,2026-10-05T10:00:00+02:00,06 12 34 56 78,09 70 00 01 13,60,50,answered,Nadia\n")
    response = client.post("/api/calls?source=crm-export.csv", content=body.encode(), headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 1
    (row,) = rows(store, "SELECT call_id, start, dialled, disposition, agent FROM parcours.calls FINAL")
    assert row == {"call_id": "c-1", "start": dt.datetime(2026, 10, 5, 8, 0), "dialled": "+33970000113",
                   "disposition": "ANSWERED", "agent": "Nadia"}


def _import(client, lines: list[str]):
    body = "call_id,start,caller,dialled,duration,billsec,disposition,agent\n" + "\n".join(lines) + "\n"
    response = client.post("/api/calls?source=test.csv", content=body.encode(), headers=ADMIN)
    assert response.status_code == 200 and response.json()["rejected"] == 0, response.text


def _ask(client, visitor, session):
    import json

    return client.post("/collect/number", content=json.dumps({"v": visitor, "s": session, "u": "https://x/"}),
                       headers={"content-type": "text/plain"}).json()["n"]


def test_calls_are_matched_by_lease_else_by_caller_phone_else_unmatched_with_why(client, store, plan):
    from journeys import persons
    from tests.callcentre.conftest import form_event, post

    leased = _ask(client, "v-lease", "s-lease")
    post(client, form_event("form_submit", "v-known", "s-known", "", phone="06 11 22 33 44", quote_id="Q-7"))
    persons.stitch(store, persons.config(plan))
    now = dt.datetime.now(UTC)
    at = (now + dt.timedelta(minutes=2)).isoformat()
    long_after = (now + dt.timedelta(hours=3)).isoformat()  # past the hold (30 min) and the grace (30 min)
    _import(client, [
        f"by-lease,{at},anonymous,{leased},60,50,ANSWERED,SIP/201",
        f"by-phone,{at},06 11 22 33 44,+33 9 70 00 00 00,60,50,ANSWERED,SIP/202",
        f"anonymous,{at},,+33 9 70 00 00 00,10,0,NO ANSWER,",
        f"not-seen,{at},07 99 88 77 66,+33 9 70 00 00 00,10,5,ANSWERED,",
        f"too-late,{long_after},07 99 88 77 66,{leased},10,5,ANSWERED,",
    ])
    doc = client.get("/api/calls?since=1h", headers=ADMIN).json()
    bad = client.get("/api/calls?since=1h&until=x", headers=ADMIN)  # it named `since`
    assert bad.status_code == 400 and bad.json()["error"].startswith("until: ")
    got = {r["call_id"]: r for r in (dict(zip(doc["columns"], row)) for row in doc["rows"])}
    assert (got["by-lease"]["matched_by"], got["by-lease"]["visitor_id"], got["by-lease"]["session_id"]) == \
        ("lease", "v-lease", "s-lease")
    assert got["by-phone"]["matched_by"] == "caller_phone" and got["by-phone"]["person_id"]
    assert (got["anonymous"]["matched_by"], got["anonymous"]["reason"]) == ("", "anonymous_caller")
    assert (got["not-seen"]["matched_by"], got["not-seen"]["reason"]) == ("", "phone_not_seen")
    assert got["too-late"]["reason"] == "phone_not_seen"
    assert "caller_key" in doc["columns"] and all("06 11" not in json_row for json_row in map(str, doc["rows"]))


def test_two_visitors_holding_the_number_at_the_call_make_it_ambiguous(client, store):
    start = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    rows_ = [{"lease_id": f"l{i}", "number": "+33970000115", "visitor_id": f"v{i}", "session_id": f"s{i}", "url": "",
              "started_at": start.timestamp(), "expires_at": start.timestamp() + 1800,
              "grace_until": start.timestamp() + 3600, "renewed_at": start.timestamp()} for i in (1, 2)]
    store.insert_rows("number_leases", rows_)
    _import(client, [f"amb,{dt.datetime.now(UTC).isoformat()},anonymous,09 70 00 01 15,10,5,ANSWERED,"])
    result = calls.matches(store, start, dt.datetime.now(UTC) + dt.timedelta(hours=1))
    (row,) = [dict(zip(result.columns, r)) for r in result.rows]
    assert (row["matched_by"], row["reason"], row["visitor_id"]) == ("", "ambiguous_lease", "")


def test_a_large_call_log_is_read_in_a_process_of_its_own_as_well(store, plan, monkeypatch):
    from journeys import reader

    monkeypatch.setattr(reader, "SUBPROCESS_FROM", 0)  # this file counts as large
    summary = calls.import_file(store, Context(plan, SECRET), io.BytesIO(SAMPLE.read_bytes()), source="big.csv",
                                profile="asterisk")
    assert (summary.lines, summary.imported, summary.rejected) == (5, 5, 0)
    assert rows(store, "SELECT count() AS n FROM parcours.calls FINAL WHERE caller = 'anonymous'") == [{"n": 1}]


def test_the_match_report_counts_calls_by_how_they_matched(client, store, plan):
    from journeys import persons
    from tests.callcentre.conftest import form_event, post

    leased = _ask(client, "v-s", "s-s")
    post(client, form_event("form_submit", "v-k", "s-k", "", phone="06 11 22 33 45", quote_id="Q-8"))
    persons.stitch(store, persons.config(plan))
    at = (dt.datetime.now(UTC) + dt.timedelta(minutes=1)).isoformat()
    _import(client, [f"a,{at},anonymous,{leased},1,1,ANSWERED,", f"b,{at},06 11 22 33 45,0970000000,1,1,ANSWERED,",
                     f"c,{at},,0970000000,1,0,NO ANSWER,", f"d,{at},0799887766,0970000000,1,0,BUSY,",
                     f"e,{at},201,06 11 22 33 45,1,1,ANSWERED,SIP/201", f"f,{at},201,07 66 55 44 33,1,0,NO ANSWER,"])
    day = dt.datetime.now(UTC).date()
    doc = client.get(f"/api/reports/match?from={day - dt.timedelta(days=1)}&to={day + dt.timedelta(days=2)}"
                     "&format=json", headers=ADMIN).json()
    assert doc["calls"] == {"calls": 6, "by_lease": 1, "by_caller_phone": 1, "by_callee_phone": 1, "unmatched": 3,
                   "by_reason": {"ambiguous_lease": 0, "ambiguous_phone": 0, "anonymous_caller": 1,
                                 "callee_not_seen": 1, "phone_not_seen": 1}}


def test_a_call_back_keeps_the_customers_number_only_as_its_hash_and_matches_their_person(client, store, plan,
                                                                                         engine_dir, lead_settings):
    """An agent calling a customer back: the PBX logs the customer's number as the number dialled. It is a
    person's phone, not one of ours: stored as its keyed hash only, and it joins the call to that person."""
    from journeys import persons
    from tests.callcentre.conftest import form_event, post
    from tests.callcentre.test_contacts import files_holding

    post(client, form_event("form_submit", "v-cb", "s-cb", "", phone="06 52 41 30 29", quote_id="Q-9"))
    persons.stitch(store, persons.config(plan))
    at = (dt.datetime.now(UTC) + dt.timedelta(minutes=1)).isoformat()
    _import(client, [f"out-1,{at},201,06 52 41 30 29,95,80,ANSWERED,SIP/201-0000a2",
                     f"in-1,{at},anonymous,09 70 00 01 12,5,0,NO ANSWER,", f"ext,{at},201,202,5,5,ANSWERED,"])
    stored = {r["call_id"]: r for r in rows(store, "SELECT call_id, dialled, dialled_key FROM parcours.calls FINAL")}
    assert stored["out-1"] == {"call_id": "out-1", "dialled": "other",
                               "dialled_key": phone_key("0652413029", "FR", SECRET)}
    assert stored["in-1"]["dialled"] == "+33970000112" and stored["in-1"]["dialled_key"] == ""  # one of ours
    assert stored["ext"]["dialled"] == "202"  # an internal extension
    result = calls.matches(store, dt.datetime.now(UTC) - dt.timedelta(hours=1), dt.datetime.now(UTC) + dt.timedelta(hours=1))
    got = {r["call_id"]: r for r in (dict(zip(result.columns, x)) for x in result.rows)}
    (person,) = rows(store, "SELECT argMax(person_id, updated_at) AS p FROM parcours.person_keys "
                            "WHERE key_type = 'visitor' AND key = 'v-cb'")
    assert (got["out-1"]["matched_by"], got["out-1"]["person_id"]) == ("callee_phone", person["p"])
    assert files_holding([engine_dir, lead_settings.data_dir], ("0652413029", "+33652413029", "652413029")) == []


def test_answered_calls_are_touches_of_their_persons_journey_with_the_landings_lever(client, store, plan):
    from journeys import persons
    from tests.callcentre.conftest import form_event, post

    landing = form_event("touch", "v-t", "s-t") | {"c": {"utm_source": "display", "utm_medium": "cpm",
                                                         "utm_campaign": "moto-spring"}}
    post(client, landing)
    leased = _ask(client, "v-t", "s-t")
    post(client, form_event("form_submit", "v-cb2", "s-cb2", "", phone="06 52 41 30 28", quote_id="Q-10"))
    persons.stitch(store, persons.config(plan))
    at = (dt.datetime.now(UTC) + dt.timedelta(minutes=1)).isoformat()
    _import(client, [f"in,{at},07 12 34 56 78,{leased},60,50,ANSWERED,",
                     f"missed,{at},07 12 34 56 79,{leased},10,0,NO ANSWER,",
                     f"back,{at},201,06 52 41 30 28,60,55,ANSWERED,SIP/201"])
    persons.stitch(store, persons.config(plan))
    result = calls.touches(store, plan, dt.datetime.now(UTC) - dt.timedelta(hours=1),
                           dt.datetime.now(UTC) + dt.timedelta(hours=1))
    got = {r["call_id"]: r for r in (dict(zip(result.columns, x)) for x in result.rows)}
    assert set(got) == {"in", "back"}  # the missed call is no contact
    assert (got["in"]["channel"], got["in"]["lever"], got["in"]["campaign"], got["in"]["visitor_id"]) == \
        ("phone", "display", "moto-spring", "v-t")
    assert got["in"]["person_id"] and got["back"]["person_id"]
    assert (got["back"]["lever"], got["back"]["matched_by"]) == ("direct", "callee_phone")
