"""Offline conversions for the ad networks, checked field by field against each network's format: on a journey
built here (every rule: the last click, the lookback, the channel, the buyer's consent, Meta's 7 days and its
1,000 events a request), and on the demo data set."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
import uuid
import zoneinfo
from decimal import Decimal

from journeys import adnetworks, conversions, persons, seed
from journeys.adnetworks import GOOGLE_COLUMNS
from tests.journeys.conftest import data, rows
from collector import ingest
from collector.clock import TimeBounds

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def visit(store, plan, secret, visitor: str, when: dt.datetime, click: str = "", phone: str = "", quote: str = ""):
    """A landing (with an ad's click id) and, with a phone, a submitted quote: the tag's events, ingested."""
    ms = int(when.timestamp() * 1000)
    captured = {click.split("=")[0]: click.split("=")[1]} if click else {}
    events = [{"id": str(uuid.uuid4()), "e": "page_view", "t": ms, "vid": visitor, "sid": visitor + "-s",
               "url": "https://www.motoassur.example/", "c": captured}]
    if phone:
        events.append({"id": str(uuid.uuid4()), "e": "form_submit", "t": ms + 60_000, "vid": visitor,
                       "sid": visitor + "-s", "f": "moto_quote", "c": captured,
                       "p": {"quote_id": quote, "phone": phone}})
    body = json.dumps({"sent": int(time.time() * 1000), "events": events}).encode()
    out = ingest.ingest(body, ingest.Request(int(time.time() * 1000), "Mozilla/5.0 Firefox/128.0"), plan, secret,
                        bounds=TimeBounds(max_age_days=365))  # a journey months old, sent now
    assert not out.rejected, out.rejected
    store.insert_rows("events", out.events)


def sale(store, ctx, line: str, consent: str = "oui"):
    header = "conversion_id,ts,channel,premium,currency,phone,crm_id,ad_consent\n"
    line = f"{line},{consent}"
    assert conversions.import_file(store, ctx, data(header + line + "\n"), source="sales.csv").rejected == 0


def meta_events(content: str) -> list[dict]:
    """The events of Meta's export: one request body per line."""
    return [event for body in content.splitlines() for event in json.loads(body)["data"]]


def journeys(store, ctx, plan):
    secret = ctx.secret
    day = dt.timedelta(days=1)
    # Anne: a search ad 10 days before her sale, another 3 days before (the last one counts), a quote
    visit(store, plan, secret, "anne", NOW - 12 * day, "gclid=G-OLD-ANNE")
    visit(store, plan, secret, "anne", NOW - 5 * day, "gclid=G-ANNE", "06 11 11 11 11", "Q-ANNE")
    sale(store, ctx, f"S-ANNE,{(NOW - 2 * day).isoformat()},shop,412.5,EUR,06 11 11 11 11,")
    # Bruno: a Meta ad, his sale by phone with the call centre (matched by his quote id only)
    visit(store, plan, secret, "bruno", NOW - 4 * day, "fbclid=F-BRUNO", "06 22 22 22 22", "Q-BRUNO")
    sale(store, ctx, f"S-BRUNO,{(NOW - 1 * day).isoformat()},call_centre,99.99,EUR,,Q-BRUNO")
    # Chloé: her click is older than the lookback (90 days)
    visit(store, plan, secret, "chloe", NOW - 100 * day, "gclid=G-CHLOE", "06 33 33 33 33", "Q-CHLOE")
    sale(store, ctx, f"S-CHLOE,{(NOW - 2 * day).isoformat()},shop,300,EUR,06 33 33 33 33,")
    # Dan: clicked a Meta ad after signing, and signed a web sale after another one; Eve: Meta, 10 days ago
    visit(store, plan, secret, "dan", NOW - 3 * day, "", "06 44 44 44 44", "Q-DAN")
    visit(store, plan, secret, "dan", NOW - 1 * day, "fbclid=F-DAN-AFTER")
    sale(store, ctx, f"S-DAN,{(NOW - 2 * day).isoformat()},shop,150,EUR,06 44 44 44 44,")
    visit(store, plan, secret, "eve", NOW - 20 * day, "fbclid=F-EVE", "06 55 55 55 55", "Q-EVE")
    sale(store, ctx, f"S-EVE-OLD,{(NOW - 10 * day).isoformat()},shop,120,EUR,06 55 55 55 55,")
    sale(store, ctx, f"S-EVE-WEB,{(NOW - 1 * day).isoformat()},web,80,EUR,,Q-EVE")
    # Fanny refused that her sale be shared; Gaston's shop said nothing of it: neither leaves
    visit(store, plan, secret, "fanny", NOW - 5 * day, "gclid=G-FANNY", "06 66 66 66 66", "Q-FANNY")
    sale(store, ctx, f"S-FANNY,{(NOW - 2 * day).isoformat()},shop,500,EUR,06 66 66 66 66,", consent="non")
    visit(store, plan, secret, "gaston", NOW - 4 * day, "fbclid=F-GASTON", "06 77 77 77 77", "Q-GASTON")
    sale(store, ctx, f"S-GASTON,{(NOW - 1 * day).isoformat()},shop,700,EUR,06 77 77 77 77,", consent="")
    # Hugo: a search ad 95 days ago, his sale 25 days later (within the lookback): Google takes no click that old
    visit(store, plan, secret, "hugo", NOW - 95 * day, "gclid=G-HUGO", "06 88 88 88 88", "Q-HUGO")
    sale(store, ctx, f"S-HUGO,{(NOW - 70 * day).isoformat()},shop,250,EUR,06 88 88 88 88,")
    persons.stitch(store, persons.config(plan))


def test_google_ads_gets_its_import_template_with_the_last_click_and_the_time_zone(store, ctx, plan):
    journeys(store, ctx, plan)
    out = adnetworks.export(store, plan, "google-ads", NOW - dt.timedelta(days=90), NOW, conversion_name="Vente agence",
                            now=NOW)
    lines = out.content.splitlines()
    assert lines[0] == "Parameters:TimeZone=Europe/Paris"
    table = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert tuple(table[0]) == GOOGLE_COLUMNS == ("Google Click ID", "Conversion Name", "Conversion Time",
                                                 "Conversion Value", "Conversion Currency", "Ad User Data",
                                                 "Ad Personalization")
    signed = (NOW - dt.timedelta(days=2)).astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
    # Chloé's click: past the lookback. Anne agreed to the sharing (Ad User Data); personalization was not asked.
    assert table[1:] == [["G-ANNE", "Vente agence", signed, "412.50", "EUR", "Granted", ""]]
    assert (out.media_type, out.conversions) == ("text/csv", 1)
    assert out.left_out == {"the buyer refused that the sale be shared with ad networks": 1,  # Fanny
                            "the click is more than 90 days old: Google no longer takes it": 1}  # Hugo


def test_a_click_id_holding_a_carriage_return_is_quoted_not_a_row_split_in_two():
    sale = adnetworks.Sale("S-1", NOW, Decimal("412.50"), "EUR", "shop", "G-\rX", NOW - dt.timedelta(days=1))
    out = adnetworks.google_ads([sale], "Europe/Paris", "Vente agence")
    table = list(csv.reader(io.StringIO(out.content.split("\n", 1)[1], newline="")))
    assert [row[0] for row in table] == ["Google Click ID", "G-\rX"]


def test_meta_gets_conversions_api_events_for_offline_sales_only(store, ctx, plan):
    journeys(store, ctx, plan)
    out = adnetworks.export(store, plan, "meta", NOW - dt.timedelta(days=30), NOW, now=NOW)
    event, eve = meta_events(out.content)
    clicked = rows(store, "SELECT toUnixTimestamp64Milli(min(ts)) AS ms FROM parcours.events WHERE click_id = 'F-BRUNO'")
    assert event == {
        "event_name": "Purchase",
        "event_time": int((NOW - dt.timedelta(days=1)).timestamp()),
        "action_source": "phone_call",
        "event_id": "S-BRUNO",
        "user_data": {"fbc": f"fb.1.{clicked[0]['ms']}.F-BRUNO"},
        "custom_data": {"value": 99.99, "currency": "EUR", "order_id": "S-BRUNO"},
    }
    # Eve's shop sale, 10 days old: Meta takes store sales up to 62 days, in a request of their own
    assert (eve["event_id"], eve["action_source"]) == ("S-EVE-OLD", "physical_store")
    assert [len(json.loads(body)["data"]) for body in out.content.splitlines()] == [1, 1]
    assert out.left_out == {"a web sale: the site's pixel reports it": 1,  # Dan's click came after his sale
                            "the buyer's consent to sharing the sale with ad networks is not recorded (ad_consent)": 1}


def test_meta_gets_at_most_1000_events_a_request():
    clicked = NOW - dt.timedelta(days=2)
    found = [adnetworks.Sale(f"S-{i}", NOW - dt.timedelta(days=1), adnetworks.Decimal("10.00"), "EUR", "shop",
                             f"F-{i}", clicked) for i in range(2001)]
    out = adnetworks.meta(found, "Purchase", NOW)
    bodies = [json.loads(line) for line in out.content.splitlines()]
    assert [len(b["data"]) for b in bodies] == [1000, 1000, 1] and out.conversions == 2001
    assert [e["event_id"] for b in bodies for e in b["data"]] == [f"S-{i}" for i in range(2001)]
    assert adnetworks.meta([], "Purchase", NOW).content == ""  # nothing to send: no request


def test_meta_takes_store_sales_up_to_62_days_and_phone_sales_up_to_7_in_requests_apart():
    """Meta's Conversions API: an event more than 7 days old fails its whole request, except a physical_store
    one, which may be uploaded within 62 days of the sale."""
    def sold(name, channel, days):
        return adnetworks.Sale(name, NOW - dt.timedelta(days=days), adnetworks.Decimal("10.00"), "EUR", channel,
                               "F-" + name, NOW - dt.timedelta(days=days + 1))

    found = [sold("shop-8", "shop", 8), sold("shop-2", "shop", 2), sold("phone-2", "call_centre", 2),
             sold("phone-8", "call_centre", 8), sold("shop-61", "shop", 61), sold("shop-63", "shop", 63)]
    out = adnetworks.meta(found, "Purchase", NOW)
    bodies = [[(e["event_id"], e["action_source"]) for e in json.loads(line)["data"]] for line in out.content.splitlines()]
    assert bodies == [[("shop-2", "physical_store"), ("phone-2", "phone_call")],
                      [("shop-8", "physical_store"), ("shop-61", "physical_store")]]
    assert out.left_out == {"signed more than 7 days ago: Meta refuses a phone_call event that old": 1,
                            "signed more than 62 days ago: Meta refuses a physical_store event that old": 1}


def test_the_consent_is_read_as_files_write_it(store, ctx):
    header = "conversion_id,ts,phone,ad_consent\n"
    lines = ["C1,2026-11-02T10:00:00,06 12 34 56 78,Oui", "C2,2026-11-02T10:00:00,06 12 34 56 78,0",
             "C3,2026-11-02T10:00:00,06 12 34 56 78,", "C4,2026-11-02T10:00:00,06 12 34 56 78,peut-être"]
    summary = conversions.import_file(store, ctx, data(header + "\n".join(lines) + "\n"), source="c.csv")
    assert [(r.line, r.reasons) for r in summary.rejects] == [(5, [
        'ad_consent: "peut-être" is not a consent answer: expected granted or denied (also yes/no, oui/non, '
        "true/false, 1/0)"])]
    assert [(r["conversion_id"], r["ad_consent"]) for r in rows(
        store, "SELECT conversion_id, ad_consent FROM parcours.conversions FINAL ORDER BY conversion_id")] == [
        ("C1", "granted"), ("C2", "denied"), ("C3", "")]


def test_nothing_personal_leaves(store, ctx, plan):
    journeys(store, ctx, plan)
    sent = "".join(adnetworks.export(store, plan, n, NOW - dt.timedelta(days=90), NOW, now=NOW).content
                   for n in adnetworks.NETWORKS)
    keys = [r["phone_key"] for r in rows(store, "SELECT phone_key FROM parcours.conversions FINAL WHERE phone_key != ''")]
    for secret in ["06 11 11 11 11", "0611111111", "+33611111111", "Q-ANNE", "Q-BRUNO", "anne", "bruno", *keys]:
        assert secret not in sent
    assert "S-ANNE" not in sent  # Google's file names no contract; Meta's event_id is the contract id only


def test_on_the_demo_data_every_row_is_a_real_click_before_its_sale(store, ctx, plan):
    demo = seed.generate(visitors=600, days=30, until=NOW.date())
    seed.store_events(store, plan, ctx.secret, demo.events)
    for name, kind, profile in seed.import_order(demo.files):
        if kind == "conversions":
            conversions.import_file(store, ctx, io.BytesIO(demo.files[name]), source=name, profile=profile)
    persons.stitch(store, persons.config(plan))
    google = adnetworks.export(store, plan, "google-ads", NOW - dt.timedelta(days=90), NOW)
    table = list(csv.reader(io.StringIO(google.content.split("\n", 1)[1])))[1:]
    meta = meta_events(adnetworks.export(store, plan, "meta", NOW - dt.timedelta(days=30), NOW, now=NOW).content)
    assert table and meta, "the demo data has consenting buyers' sales from search and social ads"
    consent = {r["conversion_id"]: r["ad_consent"] for r in rows(
        store, "SELECT conversion_id, ad_consent FROM parcours.conversions FINAL")}
    assert {consent[e["event_id"]] for e in meta} == {"granted"}
    clicks = {r["click_id"]: r for r in rows(
        store, "SELECT click_id, click_id_type, toUnixTimestamp64Milli(min(ts)) AS first FROM parcours.events "
               "WHERE click_id != '' GROUP BY click_id, click_id_type")}
    for click, name, when, value, currency, user_data, personalization in table:
        assert clicks[click]["click_id_type"] == "gclid" and name == "Offline sale" and currency == "EUR"
        assert (user_data, personalization) == ("Granted", "")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", when) and re.fullmatch(r"\d+\.\d{2}", value)
        signed = dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=PARIS)
        assert 0 < signed.timestamp() * 1000 - clicks[click]["first"] <= 90 * 86_400_000
    for event in meta:
        fbc = re.fullmatch(r"fb\.1\.(\d{13})\.(\S+)", event["user_data"]["fbc"])
        assert fbc and clicks[fbc.group(2)]["click_id_type"] == "fbclid"
        assert int(fbc.group(1)) == clicks[fbc.group(2)]["first"] < event["event_time"] * 1000
        assert event["action_source"] in ("physical_store", "phone_call") and set(event) == {
            "event_name", "event_time", "action_source", "event_id", "user_data", "custom_data"}
        days = 7 if event["action_source"] == "phone_call" else 62
        assert NOW.timestamp() - event["event_time"] <= days * 86_400


def test_the_command_writes_the_file_on_stdout_and_what_was_left_out_on_stderr(tmp_path):
    import subprocess
    import sys

    from tests.conftest import EXAMPLE_PLAN, ROOT

    where = ["--data-dir", str(tmp_path), "--plan", str(EXAMPLE_PLAN)]

    def parcours(*args):
        return subprocess.run([sys.executable, "-m", "collector", *args, *where], capture_output=True, text=True,
                              timeout=300, cwd=ROOT)

    # Data that ends yesterday: a seed ending today has sales later today, not yet signed before midnight UTC
    # (at 00:30 UTC, 400 visitors gave one Google click sale, whose buyer refused: nothing to export).
    yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).strftime("%Y-%m-%d")
    r = parcours("demo", "seed", "--visitors", "800", "--days", "20", "--until", yesterday, "--secret", "s",
                 "--files", str(tmp_path / "f"))
    assert r.returncode == 0, r.stderr
    r = parcours("export", "conversions", "--to", "google-ads", "--name", "Vente")  # as the issue writes it
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Parameters:TimeZone=Europe/Paris\nGoogle Click ID,Conversion Name,")
    rows_out = r.stdout.splitlines()[2:]
    assert rows_out and all(",Vente," in line for line in rows_out)
    said = f"{len(rows_out)} conversion(s) for google-ads, signed from 90d to now"
    assert r.stderr == said + "\n" or re.fullmatch(re.escape(said) + r"; \d+ left out: [^\n]+\n", r.stderr), r.stderr
    r = parcours("export", "conversions", "meta", "--from", "20d")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith(f"{len(meta_events(r.stdout))} conversion(s) for meta, signed from 20d to now")
    r = parcours("export", "conversions", "google-ads", "--name", "Vente", "--model", "linear")
    assert r.returncode == 0, r.stderr
    weighted = r.stdout.splitlines()[2:]  # each value a share of its premium; the sales whose click gets none left out
    assert weighted and len(weighted) <= len(rows_out) and "left out: linear gives" not in r.stderr
    r = parcours("export", "conversions", "google-ads", "--model", "lineaire")
    assert r.returncode == 1 and r.stderr.startswith('Error: model "lineaire": expected one of first_touch'), r.stderr
    r = parcours("export", "retractions", "google-ads", "--name", "Vente")  # the seed's withdrawals among them
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Parameters:TimeZone=Europe/Paris\nGoogle Click ID,Conversion Name,Conversion Time,"
                               "Adjustment Time,Adjustment Type,")
    retracted = r.stdout.splitlines()[2:]
    assert all(line.endswith(",RETRACT,,") and ",Vente," in line for line in retracted)
    assert r.stderr.startswith(f"{len(retracted)} retraction(s) for google-ads, cancelled from 90d to now"), r.stderr
    r = parcours("export", "conversions")
    assert r.returncode == 1 and r.stderr == ("Error: name the network: google-ads or meta "
                                              "(parcours export conversions google-ads)\n")


def test_the_admin_api_gives_the_same_file(client, store, ctx, plan):
    from tests.journeys.conftest import ADMIN

    journeys(store, ctx, plan)
    r = client.get("/api/export/conversions", params={"network": "google-ads", "from": "90d"}, headers=ADMIN)
    assert r.status_code == 200
    assert r.json()["content"] == adnetworks.export(store, plan, "google-ads", NOW - dt.timedelta(days=90),
                                                    dt.datetime.now(dt.timezone.utc)).content
    r = client.get("/api/export/conversions", params={"network": "bing"}, headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"] == 'network "bing": expected one of google-ads, meta'


def cancel(store, ctx, contract: str, when: dt.datetime):
    from journeys import cancellations

    text = f"conversion_id,cancelled_at\n{contract},{when.isoformat()}\n"
    assert cancellations.import_file(store, ctx, data(text), source="annulations.csv").rejected == 0


def test_a_sale_cancelled_after_it_was_sent_is_retracted_as_the_conversions_file_named_it(store, ctx, plan):
    journeys(store, ctx, plan)
    sent = adnetworks.export(store, plan, "google-ads", NOW - dt.timedelta(days=90), NOW, conversion_name="Vente agence",
                             now=NOW)
    (anne,) = list(csv.reader(io.StringIO(sent.content)))[2:]
    cancelled = NOW - dt.timedelta(hours=5)
    cancel(store, ctx, "S-ANNE", cancelled)      # sent, then withdrawn
    cancel(store, ctx, "S-FANNY", cancelled)     # never sent: she refused the sharing
    cancel(store, ctx, "S-DAN", cancelled)       # never sent: no click before his sale
    out = adnetworks.retractions(store, plan, "google-ads", NOW - dt.timedelta(days=1), NOW,
                                 conversion_name="Vente agence")
    lines = out.content.splitlines()
    assert lines[0] == "Parameters:TimeZone=Europe/Paris"
    table = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert tuple(table[0]) == adnetworks.ADJUSTMENT_COLUMNS == (
        "Google Click ID", "Conversion Name", "Conversion Time", "Adjustment Time", "Adjustment Type",
        "Adjusted Value", "Adjusted Value Currency")
    # The conversion as the upload named it (click id, name, time), retracted at the cancellation's time
    assert table[1:] == [[*anne[:3], cancelled.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S"), "RETRACT", "", ""]]
    assert (out.conversions, out.left_out) == (1, {"the buyer refused that the sale be shared with ad networks": 1})
    assert "G-ANNE" not in adnetworks.export(store, plan, "google-ads", NOW - dt.timedelta(days=90), NOW, now=NOW).content
    # The period is the cancellation's: a sale signed long before and cancelled today is in it, not one cancelled
    # before the period
    assert adnetworks.retractions(store, plan, "google-ads", NOW - dt.timedelta(hours=4), NOW).conversions == 0
    assert adnetworks.retractions(store, plan, "google-ads", NOW - dt.timedelta(hours=6), NOW).conversions == 1


def test_a_cancellation_stamped_with_the_signature_is_retracted_a_second_later(store, ctx, plan):
    visit(store, plan, ctx.secret, "iris", NOW - dt.timedelta(days=3), "gclid=G-IRIS", "06 12 12 12 12", "Q-IRIS")
    signed = NOW - dt.timedelta(days=1, microseconds=-400_000)
    sale(store, ctx, f"S-IRIS,{signed.isoformat()},shop,100,EUR,06 12 12 12 12,")
    persons.stitch(store, persons.config(plan))
    cancel(store, ctx, "S-IRIS", signed)
    (row,) = list(csv.reader(io.StringIO(
        adnetworks.retractions(store, plan, "google-ads", NOW - dt.timedelta(days=2), NOW).content)))[2:]
    at = lambda text: dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: E731
    assert at(row[3]) - at(row[2]) == dt.timedelta(seconds=1)


def test_meta_takes_no_retraction_and_the_api_gives_google_s_file(client, store, ctx, plan):
    from tests.journeys.conftest import ADMIN

    journeys(store, ctx, plan)
    cancel(store, ctx, "S-ANNE", NOW - dt.timedelta(hours=1))
    r = client.get("/api/export/retractions", params={"network": "google-ads", "name": "Vente"}, headers=ADMIN)
    assert r.status_code == 200
    assert r.json()["conversions"] == 1 and ",Vente," in r.json()["content"] and "G-ANNE" in r.json()["content"]
    r = client.get("/api/export/retractions", params={"network": "meta"}, headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"].startswith('network "meta": only Google Ads takes retractions')
    # An option given twice (the last one was read: the rows named after the wrong conversion action)
    r = client.get("/api/export/retractions?network=google-ads&name=Vente&name=Autre", headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"] == '"name" is given more than once; give each option once'
    r = client.get("/api/export/conversions?network=google-ads&from=7d&from=90d", headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"] == '"from" is given more than once; give each option once'


def test_a_cancellation_dated_in_the_future_waits_for_its_date_whatever_the_period(store, ctx, plan):
    """A termination at the contract's anniversary, imported now: Google takes no adjustment dated after the
    upload, so it is left out until its date, even with a period that ends later (outside probe)."""
    journeys(store, ctx, plan)
    cancel(store, ctx, "S-ANNE", NOW + dt.timedelta(days=18))
    later = NOW + dt.timedelta(days=60)
    assert adnetworks.retractions(store, plan, "google-ads", NOW - dt.timedelta(days=1), later, now=NOW).conversions == 0
    out = adnetworks.retractions(store, plan, "google-ads", NOW - dt.timedelta(days=1), later,
                                 now=NOW + dt.timedelta(days=19))
    assert out.conversions == 1 and "G-ANNE" in out.content
