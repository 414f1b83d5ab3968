"""The right to erasure against the real collector: a person erased is found nowhere afterwards, in any table
or anywhere in the data directory (ClickHouse's files, the write-ahead log, the collector's log), including
the events that were still in the write-ahead log when the erasure was asked for."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from e2e.conftest import ADMIN_TOKEN, ROOT, start_collector, stop_collector
from tests.collector.helpers import files_written

PHONE = "06 12 34 56 78"  # Mrs X's, as she typed it
WRITTEN = ("06 12 34 56 78", "0612345678", "+33612345678", "612345678", "06.12.34.56.78")


def post(url: str, path: str, body: bytes, content_type: str = "text/plain", token: bool = False) -> bytes:
    headers = {"content-type": content_type, **({"authorization": f"Bearer {ADMIN_TOKEN}"} if token else {})}
    with urllib.request.urlopen(urllib.request.Request(f"{url}{path}", data=body, headers=headers)) as resp:
        return resp.read()


def sql(url: str, statement: str) -> list[list]:
    return json.loads(post(url, "/api/sql", statement.encode(), token=True))["rows"]


def found(data: Path, needles: list[str]) -> dict[str, list[str]]:
    """Which of the needles appear in which files of the data directory (bytes, as written)."""
    out: dict[str, list[str]] = {}
    for path, content in files_written(data):
        for needle in needles:
            if needle.encode() in content:
                out.setdefault(needle, []).append(str(path.relative_to(data)))
    return out


def test_an_erased_person_is_nowhere_afterwards_not_even_in_the_data_directory(tmp_path):
    # Batches wait an hour: the person's events are still in the write-ahead log when the erasure comes.
    proc, url, log = start_collector(tmp_path, "--batch-age", "3600", "--batch-rows", "1000000")
    try:
        mrs_x, her_phone_device, other = (f"mrsx-{uuid.uuid4().hex[:8]}", f"mrsx2-{uuid.uuid4().hex[:8]}",
                                           f"other-{uuid.uuid4().hex[:8]}")
        quote = f"Q-{uuid.uuid4().hex[:8].upper()}"
        now = int(time.time() * 1000)

        def event(vid, e, **kw):
            return {"id": str(uuid.uuid4()), "e": e, "t": now, "vid": vid, "sid": "s", **kw}

        post(url, "/collect", json.dumps({"sent": now, "events": [
            event(mrs_x, "page_view"),
            event(mrs_x, "form_submit", f="moto_quote", p={"quote_id": quote, "phone": PHONE}),
            event(mrs_x, "quote_shared"),  # not in the plan: kept as rejected, with her visitor id
            event(her_phone_device, "identify", p={"phone": "+33 6 12 34 56 78"}),
            event(other, "page_view"),
        ]}).encode())
        sale = (f"conversion_id,ts,channel,broker_id,phone,crm_id\nMA-X1,2026-10-03T10:42:00,shop,B042,{PHONE},{quote}\n"
                f"MA-X2,31/09/2026,shop,B042,,{quote}\n")  # the second line is rejected, and kept
        doc = json.loads(post(url, "/api/conversions?source=ventes.csv", sale.encode(), token=True))
        assert (doc["imported"], doc["rejected"]) == (1, 1)
        # A keyed hash of her phone: what the tables hold (grep target).
        key = sql(url, f"SELECT phone_key FROM parcours.conversions FINAL WHERE conversion_id = 'MA-X1'")[0][0]
        needles = [mrs_x, her_phone_device, quote, key, *WRITTEN]
        before = found(tmp_path, needles)
        assert mrs_x in before and key in before, "the search sees them before (in the log, in ClickHouse)"

        erased = subprocess.run([sys.executable, "-m", "collector", "erase", "--phone", "+33 (0)6 12 34 56 78",
                                 "--data-dir", str(tmp_path), "--format", "json"],
                                capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert erased.returncode == 0, erased.stderr
        result = json.loads(erased.stdout)
        assert result["person"] and result["keys"] == 4, "two visitor ids, her phone, her quote"
        assert {t: result["removed"][t] for t in ("events", "rejected_events", "conversions", "import_rejects")} == {
            "events": 3, "rejected_events": 1, "conversions": 1, "import_rejects": 1}
        assert result["parts_left"] == 0

        for table, where in (("events", f"visitor_id IN ('{mrs_x}', '{her_phone_device}') OR phone_key = '{key}'"),
                             ("rejected_events", f"position(raw, '{mrs_x}') > 0"),
                             ("conversions", f"phone_key = '{key}' OR crm_id = '{quote}'"),
                             ("import_rejects", f"crm_id = '{quote}' OR position(fields, '{quote}') > 0"),
                             ("identity_links", f"key IN ('{mrs_x}', '{key}', '{quote}') OR other = '{mrs_x}'"),
                             ("person_keys", f"key IN ('{mrs_x}', '{her_phone_device}', '{key}', '{quote}')")):
            assert sql(url, f"SELECT count() FROM parcours.{table} WHERE {where}") == [[0]], table
        assert sql(url, f"SELECT count() FROM parcours.events WHERE visitor_id = '{other}'") == [[1]], \
            "someone else's visit stays"
        audit = sql(url, "SELECT key_kind, keys, removed FROM parcours.erasures")
        assert len(audit) == 1 and audit[0][0] == "phone" and audit[0][1] == 4
        assert not any(n in json.dumps(audit) for n in needles), "the audit row holds nothing of her"
        assert found(tmp_path, needles) == {}, "nothing of her in the data directory"
    finally:
        stop_collector(proc)
    assert found(tmp_path, needles) == {}, "nor after the collector stopped"
