"""Offline sales in: the sample shapes read as they are, bad lines kept without the phone, re-imports idempotent."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid
from decimal import Decimal

import pytest

from collector import ingest
from collector.enrich import phone_key
from collector import redact
from journeys import conversions, imports, lines, persons, values
from journeys.profiles import FileError, Record
from tests.conftest import SECRET
from tests.journeys.conftest import BROKERS_FILE, CRC_FILE, data, rows

UTC = dt.timezone.utc


def import_file(store, ctx, path, profile=None, **kw):
    with open(path, "rb") as fh:
        return conversions.import_file(store, ctx, fh, source=path.name, profile=profile, **kw)


def sales(store) -> dict[str, dict]:
    return {r["conversion_id"]: r for r in rows(store, "SELECT * FROM parcours.conversions FINAL")}


def online_key(plan, phone: str) -> str:
    """The phone key the collector gives a quote submitted online with this phone."""
    now = int(time.time() * 1000)
    event = {"id": str(uuid.uuid4()), "e": "form_submit", "t": now, "f": "moto_quote",
             "p": {"quote_id": "Q-1", "phone": phone}}
    out = ingest.ingest(json.dumps({"sent": now, "events": [event]}).encode(), ingest.Request(now), plan, SECRET)
    return out.events[0].phone_key


def test_an_overseas_number_written_nationally_gets_the_key_it_gets_online(store, ctx, plan):
    """An outside tester's finding: 0692 12 34 56 (Réunion) and the other overseas mobiles written as dialled
    from France were refused online (form_submit) and on import with the plan's region FR."""
    typed = {"R-1": ("0692 12 34 56", "+262 692 12 34 56"), "G-1": ("0690 12 34 56", "+590 690 12 34 56"),
             "M-1": ("0696 12 34 56", "+596 696 12 34 56"), "Y-1": ("0639 01 23 45", "+262 639 01 23 45"),
             "F-1": ("06 94 12 34 56", "+594 694 12 34 56")}
    doc = [{"conversion_id": c, "ts": "2026-10-05T09:00:00Z", "phone": national} for c, (national, _) in typed.items()]
    summary = conversions.import_file(store, ctx, data(json.dumps(doc)), source="dom.json")
    assert (summary.imported, summary.rejects) == (5, [])
    got = sales(store)
    for contract, (national, international) in typed.items():
        key = online_key(plan, national)
        assert key and key == online_key(plan, international) == got[contract]["phone_key"], contract
    assert "0692" not in json.dumps(rows(store, "SELECT * FROM parcours.conversions"), default=str)


@pytest.mark.parametrize("apart", [False, True], ids=["here", "in-a-process"])
def test_a_phone_number_in_the_source_name_is_redacted(store, ctx, monkeypatch, apart):
    from journeys import reader

    if apart:
        monkeypatch.setattr(reader, "SUBPROCESS_FROM", 0)
    csv = "conversion_id,ts,crm_id\nS-1,2026-11-01T10:00:00Z,Q-1\nS-2,not a date,Q-2\n"
    summary = conversions.import_file(store, ctx, data(csv), source="ventes_0612345678.csv")
    assert summary.source == "ventes_[phone].csv"
    stored = rows(store, "SELECT source FROM parcours.conversions UNION ALL SELECT source FROM parcours.import_rejects")
    assert stored == [{"source": "ventes_[phone].csv"}] * 2
    again = conversions.import_file(store, ctx, data(csv.replace("not a date", "2026-11-01T10:00:00Z")),
                                    source="ventes_0612345678.csv")
    assert again.imported == 1
    assert rows(store, "SELECT resolved FROM parcours.import_rejects FINAL") == [{"resolved": True}], \
        "the same file again resolves its fixed line"


def test_the_broker_network_file_imports_as_it_is(store, ctx, plan):
    summary = import_file(store, ctx, BROKERS_FILE, "courtiers")
    assert (summary.lines, summary.imported, summary.updated, summary.unchanged, summary.rejected) == (9, 6, 0, 0, 2)
    assert summary.superseded == [(2, 9)], "the same contract twice: the later line (corrected premium) wins"
    got = sales(store)
    assert sorted(got) == ["MA-2026-0104512", "MA-2026-0104513", "MA-2026-0104519", "MA-2026-0104522",
                           "MA-2026-0104530", "MA-2026-0104531"]
    first = got["MA-2026-0104512"]
    # 03/10/2026 10:42 in Europe/Paris (summer time) is 08:42 UTC.
    assert first["ts"] == dt.datetime(2026, 10, 3, 8, 42)
    assert (first["channel"], first["broker_id"], first["adviser"], first["shop"], first["product"]) == (
        "shop", "B042", "Sophie Marchand", "Lyon Part-Dieu", "Moto tous risques")
    assert (first["premium"], first["currency"], first["crm_id"], first["source_line"]) == (
        Decimal("702.40"), "EUR", "Q-8F2KX1", 9)
    assert got["MA-2026-0104522"]["premium"] == Decimal("1102.75"), "decimal comma, space as thousands separator"
    assert got["MA-2026-0104530"]["shop"] == "Grenoble; centre", "a quoted field holding the delimiter"
    assert got["MA-2026-0104530"]["product"] == "Équipement motard" and got["MA-2026-0104530"]["adviser"] == \
        "Hélène Robin-Dufresne"
    # Phones written five ways give the key the collector gives the same number typed online.
    written = {"MA-2026-0104512": "06 12 34 56 78", "MA-2026-0104513": "+33 6 21 43 65 87",
               "MA-2026-0104519": "0033645127890", "MA-2026-0104522": "06.78.12.90.34",
               "MA-2026-0104530": "+33 (0)7 52 18 44 09"}
    for contract, typed_online in {"MA-2026-0104512": "0612345678", "MA-2026-0104513": "06 21 43 65 87",
                                   "MA-2026-0104519": "+33645127890", "MA-2026-0104522": "0678129034",
                                   "MA-2026-0104530": "07 52 18 44 09"}.items():
        assert got[contract]["phone_key"] == online_key(plan, typed_online), written[contract]
    assert got["MA-2026-0104531"]["phone_key"] == "" and got["MA-2026-0104531"]["crm_id"] == "Q-9PL2WE", \
        "no phone: the quote reference alone is the key"


def test_bad_lines_are_reported_with_their_line_and_reason_and_kept_without_the_phone(store, ctx):
    summary = import_file(store, ctx, BROKERS_FILE, "courtiers")
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (8, ["phone: not a valid phone number (4 digits, read in region FR)"]),
        (10, ['ts: "31/09/2026 12:00" is not a real date (day is out of range for month)',
              'premium: "abc" is not an amount (expected a decimal comma, e.g. 1 102,75)']),
    ]
    kept = {r["line"]: r for r in rows(store, "SELECT * FROM parcours.import_rejects FINAL ORDER BY line")}
    assert sorted(kept) == [8, 10] and not any(r["resolved"] for r in kept.values())
    assert kept[10]["record_key"] == "MA-2026-0104550" and kept[10]["profile"] == "courtiers"
    fields = json.loads(kept[10]["fields"])
    assert fields == {"conversion_id": "MA-2026-0104550", "ts": "31/09/2026 12:00", "broker_id": "B999",
                      "adviser": "Inconnu", "shop": "?", "product": "Moto tiers", "premium": "abc",
                      "currency": "EUR", "crm_id": ""}
    assert kept[10]["phone_key"] == phone_key("06 11 22 33 44", "FR", SECRET), "a valid phone is kept as its key"
    assert kept[8]["phone_key"] == "" and "phone" not in json.loads(kept[8]["fields"])
    dump = json.dumps(rows(store, "SELECT * FROM parcours.import_rejects"), default=str)
    assert "0612" not in dump and "11 22 33" not in dump and "0611223344" not in dump


def test_reimporting_changes_nothing_and_a_corrected_line_replaces_the_old(store, ctx, tmp_path):
    import_file(store, ctx, BROKERS_FILE, "courtiers")
    stored = rows(store, "SELECT count() AS n FROM parcours.conversions")[0]["n"]
    again = import_file(store, ctx, BROKERS_FILE, "courtiers")
    assert (again.imported, again.updated, again.unchanged, again.rejected) == (0, 0, 6, 2)
    assert rows(store, "SELECT count() AS n FROM parcours.conversions")[0]["n"] == stored, "nothing written again"

    fixed = tmp_path / BROKERS_FILE.name  # the same file, corrected: a new premium, a full phone on line 8
    fixed.write_bytes(BROKERS_FILE.read_bytes().replace(b"Moto tiers;312,00", b"Moto tiers;330,00")
                      .replace(b";0612;", b";06 12 99 88 77;"))
    summary = import_file(store, ctx, fixed, "courtiers")
    assert (summary.imported, summary.updated, summary.unchanged, summary.rejected) == (1, 1, 5, 1)
    got = sales(store)
    assert got["MA-2026-0104513"]["premium"] == Decimal("330.00")
    assert got["MA-2026-0104544"]["phone_key"] == phone_key("0612998877", "FR", SECRET)
    assert rows(store, "SELECT count() AS n FROM parcours.conversions FINAL WHERE conversion_id = 'MA-2026-0104513'"
                ) == [{"n": 1}]
    kept = {r["line"]: r["resolved"] for r in rows(store, "SELECT line, resolved FROM parcours.import_rejects FINAL")}
    assert kept == {8: True, 10: False}, "the line fixed is resolved, the other still waits"


def test_a_dry_run_checks_the_file_and_writes_nothing(store, ctx):
    summary = import_file(store, ctx, BROKERS_FILE, "courtiers", dry_run=True)
    assert (summary.imported, summary.rejected, summary.dry_run) == (6, 2, True)
    assert rows(store, "SELECT count() AS n FROM parcours.conversions") == [{"n": 0}]
    assert rows(store, "SELECT count() AS n FROM parcours.import_rejects") == [{"n": 0}]
    tables = rows(store, "SELECT name FROM system.tables WHERE database = {db:String} "
                         "AND startsWith(name, 'staging_')", db=store.database)
    assert tables == [], "the staging table is gone"


def test_the_call_centre_json_is_read_through_its_nested_paths(store, ctx):
    summary = import_file(store, ctx, CRC_FILE, "crc")
    assert (summary.imported, summary.rejected) == (2, 0)
    got = sales(store)
    first, second = got["CRC-55120"], got["CRC-55121"]
    assert first["ts"] == dt.datetime(2026, 10, 2, 7, 25, 12), "ISO time with its +02:00 offset"
    assert (first["channel"], first["broker_id"], first["adviser"], first["premium"]) == (
        "call_centre", "CRC-201", "Nadia Lefort", Decimal("655.30"))
    assert first["phone_key"] == phone_key("06 12 34 56 78", "FR", SECRET)
    assert second["phone_key"] == "" and second["crm_id"] == "Q-2MM9Z7", "a null phone: the quote reference only"
    assert (first["source_line"], second["source_line"]) == (2, 22), "the line each record starts on"


def test_the_canonical_csv_without_a_profile(store, ctx):
    csv = ("conversion_id,ts,channel,broker_id,product,premium,currency,phone,crm_id\n"
           "C-1,2026-10-03T10:42:00,shop,B042,Moto,684.20,EUR,06 12 34 56 78,\n"
           "C-2,2026-10-03T10:42:00Z,call_centre,,Moto,,,,Q-2\n"
           "C-3,2026-10-03 10:42,boutique,B042,Moto,1.5,eur,,\n"
           "C-4,03/10/2026,shop,,,,,+33 6 12 34 56 78,\n")
    summary = conversions.import_file(store, ctx, data(csv), source="canonical.csv")
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (4, ['channel: "boutique" is not declared in reconciliation.channels (declared: shop, call_centre, web)',
             "phone, crm_id: one of them is required to match the sale to a journey"]),
        (5, ['ts: "03/10/2026" is not an ISO 8601 date and time (e.g. 2026-10-03T10:42:00+02:00)']),
    ]
    got = sales(store)
    assert got["C-1"]["ts"] == dt.datetime(2026, 10, 3, 8, 42), "no offset: the plan's time zone (Europe/Paris)"
    assert got["C-2"]["ts"] == dt.datetime(2026, 10, 3, 10, 42), "Z: UTC"
    assert (got["C-2"]["premium"], got["C-2"]["currency"]) == (Decimal("0.00"), "EUR"), "defaults"
    assert got["C-1"]["profile"] == "" and got["C-1"]["source"] == "canonical.csv"


def test_the_canonical_json_and_a_semicolon_header(store, ctx):
    doc = [{"conversion_id": "J-1", "ts": "2026-10-05T09:00:00+02:00", "phone": "0612345678", "premium": 96.5},
           {"conversion_id": "J-2", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-9", "premium": "12,5"}]
    summary = conversions.import_file(store, ctx, data(json.dumps(doc, indent=1)), source="api")
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (8, ['premium: "12,5" is not an amount (expected e.g. 1102.75)'])]
    assert sales(store)["J-1"]["premium"] == Decimal("96.50")
    semi = "conversion_id;ts;crm_id;premium\nS-1;2026-10-05T09:00:00;Q-1;10.00\n"
    assert conversions.import_file(store, ctx, data(semi), source="s.csv").imported == 1


def test_any_source_goes_through_import_records(store, ctx):
    summary = conversions.import_records(store, ctx, [
        Record(1, {"conversion_id": "SEG-1", "ts": "2026-10-05T09:00:00Z", "crm_id": "Q-7", "channel": "web"})],
        source="segment")
    assert summary.imported == 1 and sales(store)["SEG-1"]["channel"] == "web"


def test_a_file_the_profile_cannot_read_is_refused_as_a_whole(store, ctx):
    with pytest.raises(FileError) as info:
        conversions.import_file(store, ctx, data("Contrat;Date\nX;03/10/2026 10:00\n"), source="x.csv",
                                profile="courtiers")
    assert str(info.value) == ('line 1: profile "courtiers": column "N° contrat" (conversion_id) is not in the header, '
                               "which has: Contrat, Date")
    with pytest.raises(FileError) as info:
        conversions.import_file(store, ctx, data("N° contrat;x\n"), source="x.csv", profile="regie")
    assert str(info.value) == 'import profile "regie" reads costs, not conversions'
    with pytest.raises(FileError) as info:
        conversions.import_file(store, ctx, data(""), source="x.csv", profile="courtier")
    assert str(info.value) == 'no import profile "courtier" in the plan (profiles for conversions: courtiers, crc)'
    latin = BROKERS_FILE.read_bytes().decode("utf-8-sig").encode("cp1252")
    with pytest.raises(FileError) as info:
        conversions.import_file(store, ctx, io.BytesIO(latin), source="x.csv", profile="courtiers")
    assert str(info.value) == ("line 1: the file is not utf-8 text (invalid start byte); set the profile's encoding "
                               "(e.g. cp1252 for a spreadsheet export)")
    assert rows(store, "SELECT count() AS n FROM parcours.conversions") == [{"n": 0}]


@pytest.mark.parametrize("bad_line", [2, 41, 500, 3000])
def test_a_byte_that_is_no_text_is_said_on_its_own_line(store, ctx, bad_line):
    """The file is decoded a chunk ahead of its lines: a byte on line 41 was said to be on line 1 (this stop's
    probe), one on line 14 on line 6."""
    lines_ = ["conversion_id,ts,crm_id"] + [f"P-{i},2026-10-05T09:00:00Z,Q-{i}" for i in range(2, 3500)]
    raw = "\n".join(lines_).encode()
    at = raw.index(f"\nP-{bad_line},".encode()) + 1
    raw = raw[:at] + b"P-\xff" + raw[at + 2:]
    with pytest.raises(FileError) as info:
        conversions.import_file(store, ctx, io.BytesIO(raw), source="x.csv")
    assert str(info.value).startswith(f"line {bad_line}: the file is not utf-8 text (invalid start byte)")


def test_progress_is_reported_while_reading_and_storing(store, ctx, monkeypatch):
    monkeypatch.setattr(lines, "CHUNK", 2)
    seen = []
    csv = "conversion_id,ts,crm_id\n" + "".join(f"P-{i},2026-10-05T09:00:00Z,Q-{i}\n" for i in range(5))
    conversions.import_file(store, ctx, data(csv), source="p.csv", progress=lambda stage, n: seen.append((stage, n)))
    assert seen == [("read", 2), ("read", 4), ("read", 5), ("stored", 5)]



@pytest.mark.parametrize("apart", [False, True], ids=["here", "in-a-process"])
def test_a_line_that_cannot_be_read_is_rejected_and_the_others_imported(store, ctx, monkeypatch, apart):
    """An outside tester's finding: one CSV field past the csv module's 128 KiB limit, one JSON line `{bad}`,
    one record with 1e400 refused the whole file. Each such line is rejected with its reason, kept in
    import_rejects like any other, and the rest of its file is imported."""
    from journeys import reader

    if apart:
        monkeypatch.setattr(reader, "SUBPROCESS_FROM", 0)
    big = "x" * (200 << 10)
    csv = ("conversion_id,ts,crm_id,product\n" + "C-1,2026-10-05T09:00:00Z,Q-1,moto\n"
           + f"C-2,2026-10-05T09:00:00Z,Q-2,{big}\n" + "C-3,2026-10-05T09:00:00Z,Q-3,moto\n")
    jsonl = ('{"conversion_id": "J-1", "ts": "2026-10-05T09:00:00Z", "crm_id": "Q-1"}\n{bad}\n'
             '{"conversion_id": "J-3", "ts": "2026-10-05T09:00:00Z", "crm_id": "Q-3"}\n')
    array = ('[{"conversion_id": "A-1", "ts": "2026-10-05T09:00:00Z", "crm_id": "Q-1"},\n'
             ' {"conversion_id": "A-2", "ts": "2026-10-05T09:00:00Z", "crm_id": "Q-2", "premium": 1e400},\n'
             ' {"conversion_id": "A-3", "ts": "2026-10-05T09:00:00Z", "crm_id": "Q-3"}]')
    got = {}
    for name, text in (("big.csv", csv), ("bad.jsonl", jsonl), ("bad.json", array)):
        summary = conversions.import_file(store, ctx, data(text), source=name)
        got[name] = (summary.lines, summary.imported, [(r.line, r.reasons) for r in summary.rejects])
    assert got == {
        "big.csv": (3, 2, [(3, ["unreadable CSV line: field larger than field limit (131072)"])]),
        "bad.jsonl": (3, 2, [(2, ["not a JSON object: JSON is malformed: object keys must be strings (byte 1)"])]),
        "bad.json": (3, 2, [(2, ["unreadable JSON record: Number out of range"])]),
    }
    assert sorted(sales(store)) == ["A-1", "A-3", "C-1", "C-3", "J-1", "J-3"]
    kept = rows(store, "SELECT source, line, reasons FROM parcours.import_rejects ORDER BY source")
    assert [(r["source"], r["line"]) for r in kept] == [("bad.json", 2), ("bad.jsonl", 2), ("big.csv", 3)]


def test_a_large_file_is_read_in_a_process_of_its_own_with_the_same_result(store, ctx, monkeypatch):
    from journeys import reader

    inline = import_file(store, ctx, BROKERS_FILE, "courtiers", dry_run=True)
    monkeypatch.setattr(reader, "SUBPROCESS_FROM", 0)  # every file is "large"
    apart = import_file(store, ctx, BROKERS_FILE, "courtiers")
    assert apart.as_dict() == {**inline.as_dict(), "dry_run": False}
    assert sales(store)["MA-2026-0104522"]["premium"] == Decimal("1102.75")
    with pytest.raises(FileError) as info:
        import_file(store, ctx, BROKERS_FILE, "crc")
    assert str(info.value).startswith('profile "crc" reads JSON, and the file is not JSON')


def test_a_phone_typed_in_a_sales_free_text_is_stored_nowhere(store, ctx):
    """An outside tester's finding: a phone typed in the shop's or the adviser's name was stored as it was in
    conversions (plain spaces too), and, written with no-break spaces, kept in import_rejects.fields."""
    nbsp = "06\u00a071\u00a082\u00a093\u00a004"
    doc = [{"conversion_id": "P-1", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-1", "shop": "shop 06 71 82 93 04",
            "adviser": f"Paul {nbsp}", "product": "Moto \uff10\uff16\uff17\uff11\uff18\uff12\uff19\uff13\uff10\uff14"},
           {"conversion_id": "P-2", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-2", "premium": "abc",
            "adviser": f"Paul {nbsp}", "shop": "06_71_82_93_04", "product": "Moto, 1\u00a0250,00 €"}]
    summary = conversions.import_file(store, ctx, data(json.dumps(doc, ensure_ascii=False)), source="api")
    assert summary.imported == 1 and summary.rejected == 1
    sale = sales(store)["P-1"]
    assert (sale["shop"], sale["adviser"], sale["product"]) == ("shop [phone]", "Paul [phone]", "Moto [phone]")
    (kept,) = rows(store, "SELECT fields FROM parcours.import_rejects")
    fields = json.loads(kept["fields"])
    assert (fields["adviser"], fields["shop"]) == ("Paul [redacted]", "[redacted]")
    assert fields["product"] == "Moto, 1\u00a0250,00 €", "no phone: kept as it was"
    dump = json.dumps(rows(store, "SELECT * FROM parcours.conversions") + rows(store, "SELECT * FROM parcours.import_rejects"),
                      default=str, ensure_ascii=False)
    for spelling in ("71 82 93 04", "71\u00a082\u00a093\u00a004", "71_82_93_04", "\uff17\uff11\uff18"):
        assert spelling not in dump, spelling


def test_an_undeclared_value_quotes_no_phone_and_a_phone_in_an_id_is_its_keyed_hash(store, ctx):
    """An outside tester's finding: a phone in a channel was kept in the reasons of import_rejects. A phone in an
    id (conversion_id, crm_id) is replaced by its keyed hash, in the row as in the reject: no raw number, and
    the id still names its row."""
    doc = [{"conversion_id": "IMPf 06 71 82 93 04", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-06 71 82 93 04"},
           {"conversion_id": "MA-2026-0104512", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-2"},
           {"conversion_id": "P-9", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-3",
            "channel": "06 71 82 93 04", "currency": "06 71 82 93 04"}]
    summary = conversions.import_file(store, ctx, data(json.dumps(doc)), source="api")
    assert summary.imported == 2 and summary.rejected == 1
    token = redact.Redactor("FR").keyed("06 71 82 93 04", ctx.secret)
    assert token.startswith("[phone:") and len(token) == len("[phone:]") + 10
    assert set(sales(store)) == {f"IMPf {token}", "MA-2026-0104512"}
    assert sales(store)[f"IMPf {token}"]["crm_id"] == f"Q-{token}"
    dump = json.dumps(rows(store, "SELECT * FROM parcours.import_rejects") + rows(store, "SELECT * FROM parcours.conversions"),
                      default=str, ensure_ascii=False) + json.dumps([r.reasons for r in summary.rejects])
    assert "71 82 93 0" not in dump, dump


def test_ids_that_look_like_phone_numbers_stay_apart(store, ctx, plan):
    """An outside tester's finding: contract ids 0145678901, 0145678902 were both stored `[phone]` (one row,
    the second "replacing" the first), CTR-0145678901 and CTR-0145678902 both `CTR-[phone]`, and three
    customers of CRM ids 0145000001/2/3 stitched into one person. Each is now its own keyed hash."""
    keyed = lambda text: redact.Redactor("FR").keyed(text, ctx.secret)
    csv = ("conversion_id,ts,broker_id,crm_id,shop\n"
           "0145678901,2026-10-05T09:00:00+02:00,0478000001,0145000001,Lyon\n"
           "0145678902,2026-10-05T09:00:00+02:00,B042,0145000002,Lyon\n"
           "0298765432,2026-10-05T09:00:00+02:00,B042,0145000003,Lyon 06 71 82 93 04\n"
           "CTR-0145678901,2026-10-05T09:00:00+02:00,B042,Q-1,Lyon\n"
           "CTR-0145678902,2026-10-05T09:00:00+02:00,B042,Q-2,Lyon\n"
           "0145678903,not a date,B042,0145000009,Lyon\n")
    summary = conversions.import_file(store, ctx, data(csv), source="ventes.csv")
    assert (summary.imported, summary.rejected, summary.superseded) == (5, 1, [])
    got = sales(store)
    assert sorted(got) == sorted(keyed(c) for c in ("0145678901", "0145678902", "0298765432", "CTR-0145678901",
                                                    "CTR-0145678902"))
    assert len(got) == 5 and keyed("CTR-0145678901") == "CTR-" + keyed("0145678901")
    assert [got[keyed(c)]["crm_id"] for c in ("0145678901", "0145678902", "0298765432")] == [
        keyed("0145000001"), keyed("0145000002"), keyed("0145000003")]
    assert got[keyed("0145678901")]["broker_id"] == keyed("0478000001")  # as the broker table has it
    assert got[keyed("0298765432")]["shop"] == "Lyon [phone]", "free text is still read for phone numbers"
    (kept,) = rows(store, "SELECT record_key, crm_id, fields FROM parcours.import_rejects")
    assert (kept["record_key"], kept["crm_id"]) == (keyed("0145678903"), keyed("0145000009"))
    persons.stitch(store, persons.config(plan))
    owners = {r["key"]: r["person_id"] for r in rows(store, "SELECT key, person_id FROM parcours.person_keys FINAL "
                                                             "WHERE key_type = 'crm'")}
    assert len({owners[keyed(k)] for k in ("0145000001", "0145000002", "0145000003")}) == 3, owners


def test_a_phone_in_a_broker_id_is_its_keyed_hash_in_the_sales_the_broker_table_and_the_events(store, ctx, client):
    """A phone typed in the signer's column (a shop's code mixed up with the customer's number, or a shop
    named by its own line) was written as typed in conversions.broker_id and brokers.broker_id: it is now
    keyed there as in an event's broker (?courtier=...), so no number is written and the three still join."""
    from journeys import brokers
    from tests.collector.test_collect import event, post

    keyed = redact.Redactor("FR").keyed("04 78 00 00 01", ctx.secret)
    csv = "conversion_id,ts,broker_id,phone\nC-1,2026-10-05T09:00:00+02:00,04 78 00 00 01,0611223344\n"
    assert conversions.import_file(store, ctx, data(csv), source="ventes.csv").imported == 1
    assert brokers.import_file(store, ctx, data("broker_id,name,lever\n04.78.00.00.01,Agence,broker\n"),
                               source="reseau.csv").imported == 1
    post(client, event("touch", c={"courtier": "0478000001"}))
    assert sales(store)["C-1"]["broker_id"] == keyed
    assert [r["broker_id"] for r in rows(store, "SELECT broker_id FROM parcours.brokers FINAL WHERE name = 'Agence'")] == [keyed]
    assert [r["broker_id"] for r in rows(store, "SELECT broker_id FROM parcours.events")] == [keyed]
    dump = json.dumps([rows(store, f"SELECT * FROM parcours.{t}") for t in ("conversions", "brokers", "events")],
                      default=str)
    assert "78 00 00 01" not in dump and "478000001" not in dump and "78.00" not in dump


def test_a_phone_written_with_slashes_is_kept_nowhere_in_a_rejected_line(store, ctx):
    doc = [{"conversion_id": "P-4", "ts": "2026-10-05T09:00:00+02:00", "shop": "Shop 06/71/82/93/04",
            "channel": "boutique 06/71/82/93/04"}]  # neither phone nor quote id, an undeclared channel
    summary = conversions.import_file(store, ctx, data(json.dumps(doc)), source="api")
    assert summary.rejected == 1
    dump = json.dumps(rows(store, "SELECT * FROM parcours.import_rejects"), default=str) + json.dumps(summary.rejects[0].reasons)
    assert "71/82/93" not in dump, dump


def test_a_source_name_keeps_no_control_character(store, ctx):
    """?source=%00%0a was stored as it came: a listing of rejects by source printed a line break in its line."""
    summary = conversions.import_file(store, ctx, data("conversion_id,ts,crm_id\nS-1,2026-10-05T09:00:00Z,Q-1\n"),
                                      source="ventes\x00\n10.csv")
    assert summary.source == "ventes??10.csv"
    assert rows(store, "SELECT DISTINCT source FROM parcours.conversions") == [{"source": "ventes??10.csv"}]


def test_a_phone_typed_in_any_field_of_a_rejected_line_is_kept_nowhere(store, ctx):
    """This stop's probe: the reasons said [redacted], but import_rejects.fields kept a phone typed in the time,
    the premium or the status as it was (only the free-text fields were redacted); a time that is one is kept
    as it is, for the line to be fixed."""
    doc = [{"conversion_id": "R-1", "ts": "06 12 34 56 78", "premium": "1.00", "phone": "0612345678"},
           {"conversion_id": "R-2", "ts": "2026-11-25T10:00:00Z", "premium": "06 12 34 56 78", "phone": "0612345678"},
           {"conversion_id": "R-3", "ts": "2026-11-25 10:00", "premium": "1,00", "status": "06-12-34-56-78",
            "phone": "0612345678"},
           {"conversion_id": "R-4", "ts": "le 0612345678", "premium": "1.00", "crm_id": "Q-4"}]
    summary = conversions.import_file(store, ctx, data(json.dumps(doc, indent=1)), source="api")
    assert summary.rejected == 4
    kept = {r["line"]: json.loads(r["fields"]) for r in rows(store, "SELECT line, fields FROM parcours.import_rejects")}
    assert [kept[line].get("ts") for line in sorted(kept)] == \
        ["[phone]", "2026-11-25T10:00:00Z", "2026-11-25 10:00", "le [phone]"]
    dump = json.dumps(rows(store, "SELECT * FROM parcours.import_rejects"), default=str)
    for spelling in ("12 34 56 78", "12345678", "12-34-56-78"):
        assert spelling not in dump, dump


def test_an_error_message_quotes_no_phone_however_it_is_written(store, ctx):
    nbsp = "06\u00a071\u00a082\u00a093\u00a004"
    doc = [{"conversion_id": "P-3", "ts": nbsp, "crm_id": "Q-3"}]
    summary = conversions.import_file(store, ctx, data(json.dumps(doc)), source="api")
    (reject,) = summary.rejects
    assert reject.reasons[0].startswith('ts: "[redacted]" is not'), reject.reasons


def test_a_date_format_of_many_spaces_refuses_a_field_of_spaces_at_once():
    """One `\\s+` a space of the date_format: with `re`, a field of 40 spaces took minutes to refuse, the
    import stuck on one line; matched by RE2 as a property's pattern is, it is refused at once."""
    pattern = values.date_pattern("%d" + " " * 12 + "%m/%Y")
    assert pattern.fullmatch("1" + " " * 40 + "x") is None
    assert pattern.fullmatch("3" + " " * 14 + "10/2026").groupdict() == {"d": "3", "m": "10", "Y": "2026"}


def test_a_negative_premium_is_a_rejected_line(store, ctx):
    """It was stored, sent to Google Ads as -50.00 and counted in the revenue (outside probe)."""
    doc = [{"conversion_id": "N-1", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-1", "premium": -50},
           {"conversion_id": "N-2", "ts": "2026-10-05T09:00:00+02:00", "crm_id": "Q-2", "premium": "0"}]
    summary = conversions.import_file(store, ctx, data(json.dumps(doc)), source="api")
    assert (summary.imported, summary.rejected) == (1, 1)
    assert summary.rejects[0].reasons == ["premium: -50.00 is negative: a sale's premium is 0 or more"]


def broken(line: int, column: str) -> bytes:
    """The broker network's sample with a quote opened and never closed at `column` of `line` (its BOM, ';'
    and CRLF kept)."""
    lines = BROKERS_FILE.read_bytes().split(b"\r\n")
    lines[line - 1] = lines[line - 1].replace(f";{column};".encode(), f';"{column};'.encode(), 1)
    return b"\r\n".join(lines)


@pytest.mark.parametrize("apart", [False, True], ids=["here", "in-a-process"])
def test_a_quote_left_open_rejects_its_line_alone_and_the_next_lines_are_imported(store, ctx, monkeypatch, apart):
    """The csv module read the lines after an unclosed quote into its field: on line 3, up to the quote of
    line 6's "Grenoble; centre" (lines 4 and 5 gone, line 6's sale read into line 3's); on line 9, to the
    file's end (line 10 gone). The line is now rejected alone, kept with its reason, and the others read."""
    from journeys import reader

    if apart:
        monkeypatch.setattr(reader, "SUBPROCESS_FROM", 0)
    reason = 'unreadable CSV line: the quote opening field 4 ("Conseiller") is not closed on its line'
    three = conversions.import_file(store, ctx, io.BytesIO(broken(3, "Sophie Marchand")), source="three.csv",
                                    profile="courtiers", dry_run=True)
    assert (three.lines, three.imported, three.rejected) == (9, 5, 3)
    assert [(r.line, r.reasons) for r in three.rejects][0] == (3, [reason])
    assert [r.line for r in three.rejects] == [3, 8, 10]
    nine = conversions.import_file(store, ctx, io.BytesIO(broken(9, "Sophie Marchand")), source="nine.csv",
                                   profile="courtiers")
    assert (nine.lines, nine.imported, nine.rejected, nine.superseded) == (9, 6, 3, [])
    assert [(r.line, r.reasons) for r in nine.rejects] == [
        (8, ["phone: not a valid phone number (4 digits, read in region FR)"]), (9, [reason]),
        (10, ['ts: "31/09/2026 12:00" is not a real date (day is out of range for month)',
              'premium: "abc" is not an amount (expected a decimal comma, e.g. 1 102,75)'])]
    got = sales(store)
    assert sorted(got) == ["MA-2026-0104512", "MA-2026-0104513", "MA-2026-0104519", "MA-2026-0104522",
                           "MA-2026-0104530", "MA-2026-0104531"]
    assert got["MA-2026-0104512"]["premium"] == Decimal("684.20"), "line 2's: line 9 (the correction) is rejected"
    kept = rows(store, "SELECT line, reasons, fields FROM parcours.import_rejects FINAL WHERE line = 9")
    assert kept == [{"line": 9, "reasons": [reason], "fields": "{}"}]


def test_a_quoted_field_may_still_hold_line_breaks(store, ctx):
    """A record over several lines whose quotes close, with the header's fields, is one record, as before."""
    lines = BROKERS_FILE.read_bytes().split(b"\r\n")
    lines[3] = lines[3].replace(b";Villeurbanne;", b';"Villeurbanne\r\n12, rue de la R\xc3\xa9publique";')
    summary = conversions.import_file(store, ctx, io.BytesIO(b"\r\n".join(lines)), source="x.csv", profile="courtiers")
    assert (summary.lines, summary.imported, summary.rejected) == (9, 6, 2)
    assert [r.line for r in summary.rejects] == [9, 11], "the lines after it keep their numbers in the file"
    assert sales(store)["MA-2026-0104519"]["shop"] == "Villeurbanne\r\n12, rue de la République"


MINIFIED = ('[{"conversion_id":"J1","ts":"bad","phone":"0612345601"},'
            '{"conversion_id":"J2","ts":"bad","phone":"0612345602"},'
            '{"conversion_id":"J3","ts":"2026-11-25T10:00:00Z","phone":"0612345603"}]')


def test_every_rejected_record_of_a_json_array_on_one_line_is_kept_and_said_with_its_record(store, ctx):
    """An outside probe's finding: a minified JSON array's rejected records all start on line 1, and
    import_rejects (keyed by line) kept the last one only. Each is kept, said as record N of its line, and
    resolved once fixed."""
    summary = conversions.import_file(store, ctx, data(MINIFIED), source="minisales.json")
    assert (summary.imported, summary.rejected) == (1, 2)
    assert [(r.line, r.record) for r in summary.rejects] == [(1, 1), (1, 2)]
    assert summary.as_dict()["rejects"][1] == {"line": 1, "record": 2, "reasons": [
        'ts: "bad" is not an ISO 8601 date and time (e.g. 2026-10-03T10:42:00+02:00)']}
    kept = rows(store, "SELECT line, record, record_key FROM parcours.import_rejects FINAL ORDER BY record")
    assert kept == [{"line": 1, "record": 1, "record_key": "J1"}, {"line": 1, "record": 2, "record_key": "J2"}]
    listed = imports.rejects(store, source="minisales.json")
    assert [dict(zip(listed.columns, r))["record"] for r in listed.rows] == [1, 2]

    fixed = MINIFIED.replace('"J2","ts":"bad"', '"J2","ts":"2026-11-25T11:00:00Z"')
    again = conversions.import_file(store, ctx, data(fixed), source="minisales.json")
    assert [(r.line, r.record) for r in again.rejects] == [(1, 1)]
    kept = rows(store, "SELECT record, record_key, resolved FROM parcours.import_rejects FINAL ORDER BY record")
    assert kept == [{"record": 1, "record_key": "J1", "resolved": False},
                    {"record": 2, "record_key": "J2", "resolved": True}]


def test_records_on_lines_of_their_own_are_numbered_0_and_records_alike_keep_their_lines(store, ctx):
    """A record alone on its line (a pretty-printed array, JSON lines, CSV) is its line: record 0, said without
    it. Two records written alike were both found at the first one's place (line 2 for both)."""
    alike = '{"conversion_id": "K1", "ts": "bad", "phone": "0612345601"}'
    text = f'[\n  {alike},\n  {alike},\n  {{"conversion_id": "K2", "ts": "bad"}}, {{"conversion_id": "K3", "ts": "bad"}}\n]'
    summary = conversions.import_file(store, ctx, data(text), source="pretty.json", dry_run=True)
    assert [(r.line, r.record) for r in summary.rejects] == [(2, 0), (3, 0), (4, 1), (4, 2)]
    assert "record" not in summary.as_dict()["rejects"][0]


@pytest.mark.parametrize("profile", [None, "courtiers"], ids=["canonical", "profile"])
def test_a_csv_line_with_more_fields_than_the_header_is_rejected_alone(store, ctx, profile):
    """An outside probe's finding: an unquoted delimiter in a field (a spreadsheet formula's `;`) shifted the
    fields after it, and the line was imported, the field cut short. It is rejected alone; empty fields past the
    header (a trailing delimiter, as spreadsheets export) are not more fields."""
    if profile:  # the formula in the last column (Réf. devis: crm_id)
        names, good = (line.split(";") for line in BROKERS_FILE.read_text(encoding="utf-8-sig").splitlines()[:2])
    else:  # the formula in product, the shop after it
        names = ["conversion_id", "ts", "premium", "phone", "product", "shop"]
        good = ["C-1", "2026-10-03T10:00:00Z", "300.00", "06 12 34 56 78", "Moto tiers", "Lyon"]
    shifted = list(good)
    shifted[0] += "-2"
    shifted[-1 if profile else -2] = '=HYPERLINK("http://x";"y")'
    trailing = list(good)
    trailing[0] += "-3"
    text = "\n".join([";".join(names), ";".join(good), ";".join(shifted), ";".join(trailing) + ";;"]) + "\n"
    summary = conversions.import_file(store, ctx, data(text), source="v.csv", profile=profile)
    n = len(names)
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (3, [f'line has {n + 1} fields, the header {n}: a ";" inside a field? quote the field'])]
    assert summary.imported == 2
    stored = rows(store, "SELECT conversion_id, product, crm_id FROM parcours.conversions FINAL")
    assert not any(r["conversion_id"].endswith("-2") for r in stored), "the shifted line is not stored cut short"
