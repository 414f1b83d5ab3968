"""Cancelled sales (withdrawals, cancellations): the status read through a profile in the file's own words, a
cancellation that replaces the signed row and survives the sales file imported again, and every report
counting signed sales only."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from collector import enrich
from collector.ddl import migration_ddl
from collector.schema import MIGRATIONS, full_ddl
from collector.storage import Store
from journeys import adnetworks, cancellations, conversions, persons, reports
from tagplan import compile_plan, load_plan
from tests.conftest import EXAMPLE_PLAN, SECRET
from tests.journeys.builder import Journeys, broker, person
from tests.journeys.conftest import ADMIN, BROKERS_FILE, SAMPLES, data, rows
from tests.journeys.test_adnetworks import NOW, visit

MARCH = {"from": "2026-03-01", "to": "2026-04-01"}
SALES = "conversion_id,ts,channel,broker_id,premium,phone\n"
PROFILE = """  ventes:
    delimiter: ";"
    date_format: "%d/%m/%Y %H:%M"
    fields: {conversion_id: Contrat, ts: Signature, premium: Prime, phone: Téléphone, status: Statut,
             cancelled_at: Date résiliation}
    status_values: {Signé: signed, Rétractation: cancelled, Annulé: cancelled}
"""


@pytest.fixture(scope="module")
def ventes(tmp_path_factory):
    """The example plan with a profile whose file says each contract's status in its own words."""
    path = tmp_path_factory.mktemp("plan") / "plan.yaml"
    path.write_text(EXAMPLE_PLAN.read_text().replace("\nimports:\n", "\nimports:\n" + PROFILE, 1))
    return conversions.Context(compile_plan(load_plan(path)), SECRET)


def statuses(store) -> dict[str, tuple[str, str]]:
    return {r["conversion_id"]: (r["status"], r["cancelled_at"].strftime("%Y-%m-%d %H:%M"))
            for r in rows(store, "SELECT conversion_id, status, cancelled_at FROM parcours.conversions FINAL")}


def test_a_profile_reads_the_status_in_the_files_words_and_rejects_an_unknown_one_alone(store, ventes):
    text = ("Contrat;Signature;Prime;Téléphone;Statut;Date résiliation\n"
            "A-1;01/10/2026 10:00;100;06 12 34 56 01;Signé;\n"
            "A-2;01/10/2026 11:00;200;06 12 34 56 02;RETRACTATION;05/10/2026 09:00\n"
            "A-3;01/10/2026 12:00;300;06 12 34 56 03;  annule ;\n"
            "A-4;01/10/2026 13:00;400;06 12 34 56 04;Suspendu;\n"
            "A-5;01/10/2026 14:00;500;06 12 34 56 05;;07/10/2026 09:00\n"
            "A-6;01/10/2026 15:00;600;06 12 34 56 06;Signé;07/10/2026 09:00\n")
    summary = conversions.import_file(store, ventes, data(text), source="ventes.csv", profile="ventes")
    assert (summary.imported, summary.rejected) == (4, 2)
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (5, ['status: "Suspendu" is not a status: expected signed, cancelled or reinstated, or the profile\'s Signé, '
             "Rétractation, Annulé"]),
        (7, ["cancelled_at: given for a sale whose status is signed (a cancelled sale's status is cancelled)"])]
    epoch = "1970-01-01 00:00"
    assert statuses(store) == {"A-1": ("signed", epoch), "A-2": ("cancelled", "2026-10-05 07:00"),  # Paris time
                               "A-3": ("cancelled", epoch), "A-5": ("cancelled", "2026-10-07 07:00")}
    kept = rows(store, "SELECT line, record_key, reasons FROM parcours.import_rejects FINAL ORDER BY line")
    assert [(k["line"], k["record_key"]) for k in kept] == [(5, "A-4"), (7, "A-6")]


def test_a_cancellation_replaces_the_sale_and_the_sales_file_imported_again_does_not_undo_it(store, ctx):
    signed = SALES + "S-1,2026-10-03T10:00:00Z,shop,B042,702.40,06 12 34 56 78\n"
    assert conversions.import_file(store, ctx, data(signed), source="ventes.csv").imported == 1
    cancelled = SALES.replace("\n", ",status,cancelled_at\n") + (
        "S-1,2026-10-03T10:00:00Z,shop,B042,702.40,06 12 34 56 78,cancelled,2026-10-10T09:00:00Z\n")
    summary = conversions.import_file(store, ctx, data(cancelled), source="annulations.csv")
    assert (summary.imported, summary.updated, summary.unchanged) == (0, 1, 0)
    assert conversions.import_file(store, ctx, data(cancelled), source="annulations.csv").unchanged == 1
    # The monthly file says nothing of the status: the sale stays cancelled, nothing written.
    again = conversions.import_file(store, ctx, data(signed), source="ventes.csv")
    assert (again.updated, again.unchanged) == (0, 1)
    sale = rows(store, "SELECT * FROM parcours.conversions FINAL")
    assert [(s["status"], str(s["premium"]), s["broker_id"]) for s in sale] == [("cancelled", "702.40", "B042")]
    # A file that says signed of the same signature (the month's export, with a status column, imported again)
    # leaves the cancellation standing: it undid it (this stop's probe).
    resent = cancelled.replace("cancelled,2026-10-10T09:00:00Z", "signed,")
    assert conversions.import_file(store, ctx, data(resent), source="ventes.csv").unchanged == 1
    assert statuses(store) == {"S-1": ("cancelled", "2026-10-10 09:00")}
    # Reinstated (a cancellation made by mistake) signs it again; so does a signature after the cancellation.
    undone = cancelled.replace("cancelled,2026-10-10T09:00:00Z", "reinstated,")
    assert conversions.import_file(store, ctx, data(undone), source="annulations.csv").updated == 1
    assert statuses(store) == {"S-1": ("signed", "1970-01-01 00:00")}
    conversions.import_file(store, ctx, data(cancelled), source="annulations.csv")
    later = resent.replace("2026-10-03T10:00:00Z", "2026-10-20T10:00:00Z")
    assert conversions.import_file(store, ctx, data(later), source="ventes.csv").updated == 1
    assert statuses(store) == {"S-1": ("signed", "1970-01-01 00:00")}


@pytest.mark.parametrize("apart", [False, True], ids=["here", "in-a-process"])
def test_a_cancellations_file_cancels_stored_sales_and_keeps_their_fields(store, ctx, monkeypatch, apart):
    from journeys import reader

    if apart:  # as a large file is read
        monkeypatch.setattr(reader, "SUBPROCESS_FROM", 0)
    sales = (SALES + "S-1,2026-10-03T10:00:00Z,shop,B042,702.40,06 12 34 56 78\n"
             "S-2,2026-10-04T10:00:00Z,shop,B017,300.00,06 12 34 56 79\n")
    conversions.import_file(store, ctx, data(sales), source="ventes.csv")
    before = {r["conversion_id"]: r for r in rows(store, "SELECT * FROM parcours.conversions FINAL")}
    text = ("conversion_id,cancelled_at\n"
            "S-1,2026-10-10T09:00:00Z\n"
            "S-9,2026-10-10T09:00:00Z\n"      # never imported
            "S-2,\n")                         # no date
    summary = cancellations.import_file(store, ctx, data(text), source="annulations.csv")
    assert (summary.imported, summary.updated, summary.unchanged, summary.rejected) == (0, 1, 0, 2)
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (3, ['conversion_id: no sale "S-9" is stored: import the sale first, then its cancellation again']),
        (4, ["cancelled_at: required (when the sale was cancelled)"])]
    after = {r["conversion_id"]: r for r in rows(store, "SELECT * FROM parcours.conversions FINAL")}
    assert statuses(store) == {"S-1": ("cancelled", "2026-10-10 09:00"), "S-2": ("signed", "1970-01-01 00:00")}
    same = ("ts", "channel", "broker_id", "premium", "currency", "phone_key", "crm_id", "source", "source_line")
    assert {c: after["S-1"][c] for c in same} == {c: before["S-1"][c] for c in same}
    assert after["S-2"] == before["S-2"]
    again = cancellations.import_file(store, ctx, data(text), source="annulations.csv")
    assert (again.updated, again.unchanged, again.rejected) == (0, 1, 2)
    # The sales file imported again keeps the cancellation; the line of the same sale, cancelled in a sales
    # file with the same date, or without one, is the same row.
    assert conversions.import_file(store, ctx, data(sales), source="ventes.csv").unchanged == 2
    same_line = SALES.replace("\n", ",status,cancelled_at\n") + (
        "S-1,2026-10-03T10:00:00Z,shop,B042,702.40,06 12 34 56 78,cancelled,2026-10-10T09:00:00Z\n")
    assert conversions.import_file(store, ctx, data(same_line), source="ventes.csv").unchanged == 1
    no_date = same_line.replace("2026-10-10T09:00:00Z", "")
    assert conversions.import_file(store, ctx, data(no_date), source="ventes.csv").unchanged == 1
    assert statuses(store)["S-1"] == ("cancelled", "2026-10-10 09:00")
    # Read as sales, the cancellations file would be sales without premium or phone: each line is refused,
    # and says what to run.
    as_sales = conversions.import_file(store, ctx, data(text), source="annulations.csv")
    assert (as_sales.imported, as_sales.updated, as_sales.rejected) == (0, 0, 3)
    assert as_sales.rejects[0].reasons == [
        "ts: required (the signature time); a file of cancellations alone, without the sales' fields, is imported "
        "with parcours import cancellations", "phone, crm_id: one of them is required to match the sale to a journey"]
    assert rows(store, "SELECT * FROM parcours.conversions FINAL WHERE conversion_id = 'S-2'") == [before["S-2"]]
    kept = rows(store, "SELECT kind, line, record_key FROM parcours.import_rejects FINAL "
                       "WHERE NOT resolved AND kind = 'cancellations' ORDER BY line")
    assert [(k["kind"], k["line"], k["record_key"]) for k in kept] == [("cancellations", 3, "S-9"),
                                                                      ("cancellations", 4, "S-2")]


def test_the_api_reads_the_networks_cancellations_as_they_are(client, store):
    client.post("/api/conversions?profile=courtiers", content=BROKERS_FILE.read_bytes(), headers=ADMIN)
    body = (SAMPLES / "resiliations-courtiers-2026-10.csv").read_bytes()
    response = client.post("/api/cancellations?profile=resiliations&source=resiliations.csv", content=body,
                           headers=ADMIN)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert (doc["kind"], doc["updated"], doc["rejected"]) == ("cancellations", 2, 2)
    assert [(r["line"], r["reasons"]) for r in doc["rejects"]] == [
        (4, ['conversion_id: no sale "MA-2026-0199999" is stored: import the sale first, then its cancellation again']),
        (5, ['cancelled_at: "31/09/2026" is not a real date (day is out of range for month)'])]
    cancelled = rows(store, "SELECT conversion_id, cancelled_at FROM parcours.conversions FINAL "
                            "WHERE status = 'cancelled' ORDER BY conversion_id")
    assert [(r["conversion_id"], r["cancelled_at"].isoformat()) for r in cancelled] == [
        ("MA-2026-0104513", "2026-10-09T22:00:00"), ("MA-2026-0104530", "2026-10-13T22:00:00")]


def test_a_cancelled_sale_is_no_sale_in_any_report(store, ctx, plan):
    key = enrich.phone_key("06 12 34 56 78", "FR", SECRET)
    other = enrich.phone_key("06 12 34 56 79", "FR", SECRET)
    j = Journeys()
    for visitor, session, when in (("V1", "d1", "2026-03-02 10:00"), ("V2", "d2", "2026-03-03 10:00")):
        j.page(visitor, session, when, lever="display", utm_campaign="spring")
        j.add("touch", visitor, session, when, lever="display", utm_campaign="spring")
    j.store(store)
    person(store, "P1", visitors=("V1",), phones=(key,))
    person(store, "P2", visitors=("V2",), phones=(other,))
    broker(store, "B042", "Comparamoto", "broker")
    lines = (SALES + "S-1,2026-03-10T15:00:00Z,shop,B042,600.00,06 12 34 56 78\n"
             "S-2,2026-03-11T15:00:00Z,web,,100.00,06 12 34 56 79\n")
    conversions.import_file(store, ctx, data(lines), source="ventes.csv")

    def figures():
        overview = reports.run(store, plan, "overview", MARCH).records()[0]
        levers = {r["lever"]: r for r in reports.run(store, plan, "levers", MARCH).records()}
        credit = reports.run(store, plan, "attribution", {**MARCH, "model": "linear"}).records()
        signed = {r["broker_id"]: r["sales_signed"] for r in reports.run(store, plan, "brokers", MARCH).records()}
        match = reports.run(store, plan, "match", {**MARCH, "by": "sale"}).document
        return ((overview["sales"], float(overview["revenue"])),
                {lever: (r["sales"], float(r["revenue"] or 0)) for lever, r in levers.items() if r["sales"]},
                (sum(r["conversions"] for r in credit), sum(float(r["revenue"]) for r in credit)),
                signed.get("B042"),
                (match["conversions"], match["cancelled"], float(match["revenue"]), float(match["cancelled_revenue"])))

    # Last non-direct touch: the shop sale's credit goes to its point of sale (the broker's lever).
    assert figures() == ((2, 700.0), {"display": (1, 100.0), "broker": (1, 600.0)},
                         (pytest.approx(2), pytest.approx(700.0)), 1, (2, 0, 700.0, 0.0))
    withdrawn = SALES.replace("\n", ",status\n") + "S-1,2026-03-10T15:00:00Z,shop,B042,600.00,06 12 34 56 78,cancelled\n"
    assert conversions.import_file(store, ctx, data(withdrawn), source="annulations.csv").updated == 1
    assert figures() == ((1, 100.0), {"display": (1, 100.0)}, (pytest.approx(1), pytest.approx(100.0)), None,
                         (1, 1, 100.0, 600.0))
    match = reports.run(store, plan, "match", {**MARCH, "by": "sale"}).document
    per_sale = {line["value"]: line for line in match["lines"] if line["dimension"] == "sale"}
    assert (per_sale["S-1"]["conversions"], per_sale["S-1"]["cancelled"], per_sale["S-1"]["unmatched"]) == (0, 1, 0)
    journey = reports.run(store, plan, "person", {"phone_key": key}).records()
    assert [(r["kind"], r["status"]) for r in journey] == [("visit", ""), ("sale", "cancelled")]


def test_the_ad_networks_never_get_a_cancelled_sale(store, ctx, plan):
    visit(store, plan, SECRET, "anne", NOW - dt.timedelta(days=5), "gclid=G-ANNE", "06 11 11 11 11", "Q-ANNE")
    line = f"S-ANNE,{(NOW - dt.timedelta(days=2)).isoformat()},shop,412.5,EUR,06 11 11 11 11,,oui"
    header = "conversion_id,ts,channel,premium,currency,phone,crm_id,ad_consent"
    conversions.import_file(store, ctx, data(f"{header}\n{line}\n"), source="sales.csv")
    persons.stitch(store, persons.config(plan))

    def exported():
        return adnetworks.export(store, plan, "google-ads", NOW - dt.timedelta(days=30), NOW, now=NOW).content

    assert "G-ANNE" in exported()
    conversions.import_file(store, ctx, data(f"{header},status\n{line},cancelled\n"), source="annulations.csv")
    assert "G-ANNE" not in exported()


def test_a_database_migrated_before_statuses_reads_its_sales_as_signed_and_unchanged(engine_dir, database, ctx):
    s = Store(f"chdb://{engine_dir}", database=database)
    try:
        for statement in full_ddl(database)[:2]:
            s.query(statement, readonly=False)
        before = [m for m in MIGRATIONS if m.version < 59]
        for m in before:
            for statement in migration_ddl(m, database):
                s.query(statement, readonly=False)
        s.insert("schema_migrations", [[m.version, m.name] for m in before], ["version", "name"])
        # A sale as the import wrote it then, with the fingerprint of its fields (imports._latest of the time).
        s.query(f"INSERT INTO {database}.conversions (conversion_id, ts, channel, broker_id, adviser, shop, product, "
                "premium, currency, phone_key, crm_id, ad_consent, source, source_line, profile, fingerprint) "
                "SELECT *, 'ventes.csv', 2, '', cityHash64(ts, channel, broker_id, adviser, shop, product, premium, "
                "currency, phone_key, crm_id, ad_consent) FROM (SELECT 'S-1' AS conversion_id, "
                "toDateTime64('2026-10-03 10:00:00', 3, 'UTC') AS ts, 'shop' AS channel, 'B042' AS broker_id, "
                "'' AS adviser, '' AS shop, '' AS product, toDecimal64('702.40', 2) AS premium, 'EUR' AS currency, "
                "'' AS phone_key, 'Q-1' AS crm_id, '' AS ad_consent)", readonly=False)
        assert s.migrate() == [m.version for m in MIGRATIONS if m.version >= 59]
        assert statuses(s) == {"S-1": ("signed", "1970-01-01 00:00")}
        line = SALES.replace("phone", "crm_id") + "S-1,2026-10-03T10:00:00Z,shop,B042,702.40,Q-1\n"
        summary = conversions.import_file(s, ctx, data(line), source="ventes.csv")
        assert (summary.imported, summary.updated, summary.unchanged) == (0, 0, 1)
    finally:
        s.query(f"DROP DATABASE IF EXISTS {database}", readonly=False)
        s.close()


def test_a_cancellation_dated_before_its_signature_or_out_of_range_is_rejected_alone(store, ventes):
    """This stop's probe: a cancellation 23 days before its signature was taken, year 9999 shown as 2105 by the
    person report, 1900 as no date at all."""
    sales = (SALES + "CX-1,2026-11-24T10:00:00Z,shop,B042,100,06 12 34 56 11\n"
             "CX-2,2026-11-24T10:00:00Z,shop,B042,100,06 12 34 56 12\n"
             "CX-3,2026-11-24T10:00:00Z,shop,B042,100,06 12 34 56 13\n"
             "CX-4,2026-11-24T10:00:00Z,shop,B042,100,06 12 34 56 14\n")
    assert conversions.import_file(store, ventes, data(sales), source="cx.csv").imported == 4
    text = ("conversion_id,cancelled_at\nCX-1,2026-11-01T00:00:00Z\nCX-2,9999-12-31T23:59:59Z\n"
            "CX-3,1900-01-01T00:00:00Z\nCX-4,2026-11-26T00:00:00Z\n")
    summary = cancellations.import_file(store, ventes, data(text), source="cx-cancel.csv")
    assert (summary.updated, summary.rejected) == (1, 3)
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (2, ['cancelled_at: before the day of the signature of sale "CX-1" (its ts)']),
        (3, ['cancelled_at: "9999-12-31T23:59:59Z" is not between 1970 and 2099']),
        (4, ['cancelled_at: "1900-01-01T00:00:00Z" is not between 1970 and 2099'])]
    assert {k: v[0] for k, v in statuses(store).items() if k.startswith("CX-")} == \
        {"CX-1": "signed", "CX-2": "signed", "CX-3": "signed", "CX-4": "cancelled"}
    # and on a sales line that says both
    line = ("Contrat;Signature;Prime;Téléphone;Statut;Date résiliation\n"
            "CY-1;24/11/2026 10:00;100;06 12 34 56 15;Annulé;20/11/2026 09:00\n"
            "CY-2;24/11/9999 10:00;100;06 12 34 56 16;Signé;\n")
    summary = conversions.import_file(store, ventes, data(line), source="cy.csv", profile="ventes")
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (2, ["cancelled_at: before the day of the signature (ts)"]),
        (3, ['ts: "24/11/9999 10:00" is not between 1970 and 2099'])]


def test_a_withdrawal_dated_by_its_day_alone_on_the_day_of_the_signature_is_taken(store, ventes):
    """Outside probe: an insurer's file of withdrawals gives the day only (Date d'effet 27/11/2026, midnight in
    Paris), and the same-day withdrawal of a sale signed at 09:00 was refused as before its signature: the sale
    stayed signed, counted, never retracted. Taken at the signature's time; a day before is still refused."""
    sales = ("Contrat;Signature;Prime;Téléphone;Statut;Date résiliation\n"
             "CZ-1;27/11/2026 09:00;100;06 12 34 56 31;;\n"
             "CZ-2;27/11/2026 09:00;100;06 12 34 56 32;;\n"
             "CZ-3;27/11/2026 09:00;100;06 12 34 56 33;Annulé;27/11/2026 00:00\n")
    summary = conversions.import_file(store, ventes, data(sales), source="cz.csv", profile="ventes")
    assert (summary.imported, summary.rejected) == (3, 0)  # CZ-3: cancelled on its line, the same day
    text = "conversion_id,cancelled_at\nCZ-1,2026-11-27\nCZ-2,2026-11-26\n"
    summary = cancellations.import_file(store, ventes, data(text), source="cz-cancel.csv")
    assert (summary.updated, [(r.line, r.reasons) for r in summary.rejects]) == (
        1, [(3, ['cancelled_at: before the day of the signature of sale "CZ-2" (its ts)'])])
    # 09:00 in Paris is 08:00 UTC: the withdrawal is taken at the signature's time, never before it
    assert {k: v for k, v in statuses(store).items() if k.startswith("CZ-")} == {
        "CZ-1": ("cancelled", "2026-11-27 08:00"), "CZ-2": ("signed", "1970-01-01 00:00"),
        "CZ-3": ("cancelled", "2026-11-27 08:00")}


@pytest.mark.parametrize("text, name", [
    ('{"conversion_id":"S1","cancelled_at":"2026-11-25T10:00:00Z","conversion_id":"S3"}\n', "x.jsonl"),
    ('[\n{"conversion_id":"S1","cancelled_at":"2026-11-25T10:00:00Z","conversion_id":"S3"}\n]', "x.json"),
])
def test_a_record_that_gives_a_key_twice_is_rejected_alone(store, ventes, text, name):
    """Which contract was meant cannot be known (this stop's probe: the last one was cancelled, silently)."""
    sales = SALES + "S1,2026-11-24T10:00:00Z,shop,B042,100,06 12 34 56 21\nS3,2026-11-24T10:00:00Z,shop,B042,100,06 12 34 56 23\n"
    conversions.import_file(store, ventes, data(sales), source="s.csv")
    summary = cancellations.import_file(store, ventes, data(text + ("\n" if name.endswith("l") else "")), source=name)
    assert (summary.updated, summary.rejected) == (0, 1)
    assert summary.rejects[0].reasons == ["conversion_id: given more than once; give each key once"]
    assert {k: v[0] for k, v in statuses(store).items() if k in ("S1", "S3")} == {"S1": "signed", "S3": "signed"}


@pytest.mark.parametrize("apart", [False, True], ids=["here", "in-a-process"])
def test_every_rejected_cancellation_of_a_json_array_on_one_line_is_kept(store, ctx, monkeypatch, apart):
    """An outside probe's finding: the rejected records of a one-line JSON array (a contract not stored, a date
    that is none) were kept one per line. Each is kept, with its record in the line, unknown contracts too."""
    from journeys import reader

    if apart:  # as a large file is read
        monkeypatch.setattr(reader, "SUBPROCESS_FROM", 0)
    conversions.import_file(store, ctx, data(SALES + "S-1,2026-10-03T10:00:00Z,shop,B042,702.40,06 12 34 56 78\n"),
                            source="ventes.csv")
    text = ('[{"conversion_id":"S-8","cancelled_at":"2026-10-10T09:00:00Z"},'
            '{"conversion_id":"S-1","cancelled_at":"2026-10-10T09:00:00Z"},'
            '{"conversion_id":"S-9","cancelled_at":"2026-10-10T09:00:00Z"},'
            '{"conversion_id":"S-7","cancelled_at":"never"}]')
    summary = cancellations.import_file(store, ctx, data(text), source="annulations.json")
    assert (summary.updated, summary.rejected) == (1, 3)
    assert [(r.line, r.record, r.reasons[0][:30]) for r in summary.rejects] == [
        (1, 1, 'conversion_id: no sale "S-8" i'), (1, 3, 'conversion_id: no sale "S-9" i'),
        (1, 4, 'cancelled_at: "never" is not a')]
    kept = rows(store, "SELECT line, record, record_key FROM parcours.import_rejects FINAL ORDER BY record")
    assert [(k["line"], k["record"], k["record_key"]) for k in kept] == [(1, 1, "S-8"), (1, 3, "S-9"), (1, 4, "S-7")]
    assert statuses(store) == {"S-1": ("cancelled", "2026-10-10 09:00")}
