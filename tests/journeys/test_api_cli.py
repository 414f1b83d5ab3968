"""Imports as users run them: POST /api/conversions with the admin token, and `parcours import` on the
command line (in a process of its own: chDB allows one data directory per process)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import EXAMPLE_PLAN, ROOT
from tests.journeys.conftest import ADMIN, BROKERS_FILE, COSTS_FILE, CRC_FILE, rows


def test_the_api_imports_a_file_through_a_profile(client, store):
    body = BROKERS_FILE.read_bytes()
    assert client.post("/api/conversions", content=body).status_code == 401
    response = client.post("/api/conversions?profile=courtiers&source=ventes-octobre.csv", content=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert {k: doc[k] for k in ("source", "profile", "imported", "updated", "unchanged", "rejected")} == {
        "source": "ventes-octobre.csv", "profile": "courtiers", "imported": 6, "updated": 0, "unchanged": 0,
        "rejected": 2}
    assert [r["line"] for r in doc["rejects"]] == [8, 10]
    assert rows(store, "SELECT count() AS n FROM parcours.conversions FINAL") == [{"n": 6}]


def test_the_api_streams_progress_then_the_summary(client):
    response = client.post("/api/conversions?profile=crc&progress=true", content=CRC_FILE.read_bytes(), headers=ADMIN)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[0] == {"progress": {"stage": "read", "count": 2}}
    assert events[-1]["summary"]["imported"] == 2


def test_the_api_says_what_is_wrong_with_a_file(client):
    response = client.post("/api/conversions?profile=regie", content=COSTS_FILE.read_bytes(), headers=ADMIN)
    assert response.status_code == 400
    assert response.json() == {"error": 'import profile "regie" reads costs, not conversions'}
    response = client.post("/api/costs?profile=regie", content=COSTS_FILE.read_bytes(), headers=ADMIN)
    assert response.status_code == 200 and response.json()["imported"] == 5
    listed = client.get("/api/import/rejects", headers=ADMIN).json()
    assert listed["rows"] == []


def test_a_json_number_python_cannot_hold_rejects_its_record_only(client, store):
    """1e400 is JSON, but no float: its record is rejected with its line, the file's others are read (the
    whole file was refused), never a 500."""
    body = b'[{"conversion_id": "J1", "ts": "2026-11-01T10:00:00Z", "crm_id": "Q1", "premium": 10},\n' \
           b' {"conversion_id": "J2", "ts": "2026-11-01T10:00:00Z", "crm_id": "Q2", "premium": 1e400}]'
    for path in ("/api/conversions?source=bad.json", "/api/costs?source=bad.json", "/api/brokers?source=bad.json"):
        response = client.post(path, content=body, headers={**ADMIN, "Content-Type": "application/json"})
        assert response.status_code == 200, (path, response.text)
        assert {"line": 2, "reasons": ["unreadable JSON record: Number out of range"]} in response.json()["rejects"]
    assert rows(store, "SELECT conversion_id FROM parcours.conversions") == [{"conversion_id": "J1"}]


def parcours(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "collector", *args], input=stdin, capture_output=True,
                          timeout=180, cwd=ROOT)


def test_the_command_line_imports_reports_and_exits_by_outcome(tmp_path):
    where = ["--data-dir", str(tmp_path), "--plan", str(EXAMPLE_PLAN), "--secret", "cli-secret"]
    r = parcours("import", "conversions", str(BROKERS_FILE), "--profile", "courtiers", *where)
    assert r.returncode == 2, r.stderr
    assert r.stdout.decode() == ('ventes-courtiers-2026-10.csv: 9 line(s) read with profile "courtiers": '
                                 "6 imported, 0 updated, 0 unchanged, 2 rejected\n")
    assert r.stderr.decode().splitlines() == [
        "ventes-courtiers-2026-10.csv:2: replaced by line 9, which has the same key",
        "ventes-courtiers-2026-10.csv:8: phone: not a valid phone number (4 digits, read in region FR)",
        'ventes-courtiers-2026-10.csv:10: ts: "31/09/2026 12:00" is not a real date (day is out of range for month)',
        'ventes-courtiers-2026-10.csv:10: premium: "abc" is not an amount (expected a decimal comma, e.g. 1 102,75)',
    ]
    r = parcours("import", "conversions", "-", "--profile", "crc", "--format", "json", "--progress", *where,
                 stdin=CRC_FILE.read_bytes())
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["source"], doc["imported"], doc["updated"], doc["unchanged"], doc["rejected"]) == ("stdin", 2, 0, 0, 0)
    assert r.stderr.decode().splitlines() == ["read 2 lines…", "stored 2 rows…"]
    r = parcours("import", "conversions", str(BROKERS_FILE), "--profile", "crc", *where)
    assert r.returncode == 1
    assert r.stderr.decode().startswith('Error: profile "crc" reads JSON, and the file is not JSON')
    r = parcours("import", "rejects", "--format", "json", "--data-dir", str(tmp_path))
    assert [json.loads(line)["line"] for line in r.stdout.splitlines()] == [8, 10]


def test_the_api_refuses_a_file_past_its_size_limit(client, monkeypatch):
    from journeys import api

    monkeypatch.setattr(api, "MAX_IMPORT_BYTES", 100)
    chunked = client.post("/api/conversions", content=iter([b"conversion_id,ts,crm_id\n", b"x" * 200]),
                          headers=ADMIN)
    assert chunked.status_code == 413 and "larger than 100 bytes" in chunked.json()["error"]


def test_json_nested_too_deeply_is_a_clean_400_with_progress_or_without(client, store, caplog):
    """An outside tester's finding: with ?progress=true (as the command line asks) a file nested deeper than
    msgspec reads answered "the import failed unexpectedly (RecursionError)" and logged a traceback; without
    it, a 400. Both say what is wrong; a JSON line nested so deep is one rejected line."""
    deep = b"[" * 5000 + b"]" * 5000
    said = ("the canonical format reads JSON, and the file's JSON is nested too deeply to be read (more than about "
            "1,000 levels); send it flatter")
    response = client.post("/api/conversions?source=deep.json", content=deep, headers=ADMIN)
    assert (response.status_code, response.json()) == (400, {"error": said})
    response = client.post("/api/conversions?source=deep.json&progress=true", content=deep, headers=ADMIN)
    assert [json.loads(line) for line in response.text.splitlines()] == [{"error": said}]
    lines = (b'{"conversion_id": "J1", "ts": "2026-11-01T10:00:00Z", "crm_id": "Q1"}\n'
             + b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}\n")
    response = client.post("/api/conversions?source=deep.jsonl&progress=true", content=lines, headers=ADMIN)
    summary = json.loads(response.text.splitlines()[-1])["summary"]
    assert (summary["imported"], summary["rejects"]) == (1, [{"line": 2, "reasons": [
        "not a JSON object: nested too deeply to be read (more than about 1,000 levels); send it flatter"]}])
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


def test_a_phone_number_in_the_source_name_is_stored_nowhere(client, store):
    """An outside tester's finding: a phone number in the file name, --source or ?source= landed as written in
    conversions.source and import_rejects.source. It is redacted as in free text."""
    body = (b"conversion_id,ts,crm_id\nS-1,2026-11-01T10:00:00Z,Q-1\nS-2,not a date,Q-2\n")
    response = client.post("/api/conversions?source=client 06 71 82 93 04.csv", content=body, headers=ADMIN)
    assert response.status_code == 200 and response.json()["source"] == "client [phone].csv", response.text
    stored = rows(store, "SELECT source FROM parcours.conversions UNION ALL SELECT source FROM parcours.import_rejects")
    assert stored == [{"source": "client [phone].csv"}] * 2
    listed = client.get("/api/import/rejects?source=client [phone].csv", headers=ADMIN).json()
    assert [r[1] for r in listed["rows"]] == ["client [phone].csv"], listed


def test_a_flag_of_an_unknown_spelling_is_refused_not_read_as_false(client, store):
    """An outside tester's finding: ?dry_run=on (or =maybe) imported for real, read as false."""
    body = b"conversion_id,ts,crm_id\nF-1,2026-11-01T10:00:00Z,Q-1\n"
    for value in ("on", "maybe"):
        response = client.post(f"/api/conversions?dry_run={value}", content=body, headers=ADMIN)
        assert (response.status_code, response.json()) == (
            400, {"error": f'dry_run: "{value}" is not a flag; send dry_run=true or dry_run=false'})
    response = client.post("/api/conversions?progress=sure", content=body, headers=ADMIN)
    assert response.status_code == 400 and response.json()["error"].startswith('progress: "sure" is not a flag')
    assert rows(store, "SELECT count() AS n FROM parcours.conversions") == [{"n": 0}]
    for value in ("true", "TRUE", "1", "yes"):
        assert client.post(f"/api/conversions?dry_run={value}", content=body, headers=ADMIN).json()["dry_run"] is True
    assert rows(store, "SELECT count() AS n FROM parcours.conversions") == [{"n": 0}]
    for value in ("false", "0", "no", ""):
        assert client.post(f"/api/conversions?dry_run={value}", content=body, headers=ADMIN).json()["dry_run"] is False
    assert rows(store, "SELECT count() AS n FROM parcours.conversions FINAL") == [{"n": 1}]
