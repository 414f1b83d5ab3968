"""Segment's own client libraries against the running collector: a back office's calls land, deduplicated,
validated and stitched to the person of the web journey, and its signed contract is a conversion.

The story: a visitor asks for a quote on the site (the tag's events: a display landing, the quote submitted
with her phone and quote id); days later the insurer's back office, which speaks Segment, identifies the
customer and tracks "Contract Signed" with the same phone and quote id. The libraries post to /v1/batch with
HTTP Basic auth, as they do to Segment.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from zoneinfo import ZoneInfo

import pytest
from segment.analytics import Client

from e2e.conftest import ADMIN_TOKEN, ROOT, Collector, start_collector, stop_collector

NODE_CLIENTS = ROOT / "e2e" / "clients"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
"""A visitor's browser: the tag's events of a script's user agent are a bot's, whose clicks are not exported."""


@pytest.fixture(scope="module")
def collector_segment(tmp_path_factory):
    data = tmp_path_factory.mktemp("segment")
    proc, url, log = start_collector(data)
    yield Collector(url, data, log)
    stop_collector(proc)


def parcours(collector: Collector, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collector", *args, "--url", collector.url,
                           "--admin-token", ADMIN_TOKEN], capture_output=True, text=True, timeout=120, cwd=ROOT)


def admin_post(collector: Collector, path: str) -> dict:
    req = urllib.request.Request(f"{collector.url}{path}", data=b"", method="POST",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def web_journey(collector: Collector, visitor: str, quote_id: str, phone: str) -> None:
    """What the tag sends for a display landing and a submitted quote (its wire format, e2e/test_tag_* drive
    the tag itself in Chromium)."""
    now = int(time.time() * 1000) - 3 * 86_400_000  # three days ago
    url = "https://www.motoassur.example/devis?utm_source=regie&utm_medium=cpm&utm_campaign=moto-spring&gclid=Gx1"
    captured = {"utm_source": "regie", "utm_medium": "cpm", "utm_campaign": "moto-spring", "gclid": "Gx1"}
    events = [{"id": str(uuid.uuid4()), "e": "page_view", "t": now, "vid": visitor, "sid": "s1", "url": url,
               "c": captured},
              {"id": str(uuid.uuid4()), "e": "form_submit", "t": now + 60_000, "vid": visitor, "sid": "s1",
               "url": url, "f": "moto_quote", "c": captured,
               "p": {"quote_id": quote_id, "phone": phone, "formula": "tous_risques"}}]
    req = urllib.request.Request(f"{collector.url}/collect", data=json.dumps({"events": events, "sent": now + 60_000}).encode(),
                                 headers={"content-type": "text/plain"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204 and resp.headers["x-parcours-accepted"] == "2"


def test_the_python_library_posts_calls_that_land_stitched_and_converted(collector_segment):
    c = collector_segment
    web_journey(c, "v-web-seg", "Q-SEGPY1", "+33 6 98 76 54 32")
    r = parcours(c, "keys", "create", "back_office", "--description", "e2e back office")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    errors = []
    analytics = Client(key, host=c.url, on_error=lambda e, batch: errors.append(e), max_retries=2)
    signed = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    analytics.identify("CUST-77", {"phone": "06 98 76 54 32", "email": "x@example.fr", "name": "Mrs X"})
    analytics.page("CUST-77", name="Espace client", properties={"url": "https://espace.motoassur.example/contrat",
                                                                "title": "Mon contrat"})
    sale = {"contract_id": "CT-SEG-1", "premium": 489.9, "phone": "06 98 76 54 32", "quote_id": "Q-SEGPY1",
            "channel": "shop", "broker_id": "B042", "product": "Moto tous risques"}
    for _ in range(2):  # a retried call: the same messageId twice
        analytics.track("CUST-77", "Contract Signed", sale, timestamp=signed, message_id="msg-ct-seg-1")
    analytics.track("CUST-77", "Contract Signed", {**sale, "contract_id": "CT-SEG-2", "coupon": "MOTO10"})
    analytics.flush()
    analytics.shutdown()
    assert errors == []

    got = c.wait_rows("SELECT event, visitor_id, user_id, message_id FROM parcours.events FINAL "
                      "WHERE source = 'back_office' ORDER BY event", 3)
    assert [(g["event"], g["visitor_id"], g["user_id"]) for g in got] == [
        ("contract_signed", "user:CUST-77", "CUST-77"), ("identify", "user:CUST-77", "CUST-77"),
        ("page_view", "user:CUST-77", "CUST-77")]
    assert got[0]["message_id"] == "msg-ct-seg-1"
    (rejected,) = c.wait_rows("SELECT event, reasons, source FROM parcours.rejected_events "
                              "WHERE source = 'back_office'", 1)
    assert rejected["event"] == "contract_signed"
    assert rejected["reasons"] == ["properties.coupon: property is not declared in the plan"]
    everything = json.dumps(c.sql("SELECT * FROM parcours.events") + c.sql("SELECT * FROM parcours.rejected_events"),
                            default=str)
    assert "98 76 54 32" not in everything and "x@example.fr" not in everything and "Mrs X" not in everything

    # the sale, through the conversions function; then one person across the web visitor and the back office
    (sale_row,) = c.wait_rows("SELECT conversion_id, toString(premium) AS premium, crm_id, source, phone_key != '' AS "
                              "phone FROM parcours.conversions FINAL", 1, timeout=60)
    assert sale_row == {"conversion_id": "CT-SEG-1", "premium": "489.9", "crm_id": "Q-SEGPY1",
                        "source": "back_office:contract_signed", "phone": True}
    admin_post(c, "/api/persons/stitch")
    persons = c.sql("SELECT key_type, key, person_id FROM parcours.person_keys FINAL "
                    "WHERE key IN ('v-web-seg', 'user:CUST-77', 'Q-SEGPY1') ORDER BY key_type, key")
    assert [(p["key_type"], p["key"]) for p in persons] == [("crm", "Q-SEGPY1"), ("visitor", "user:CUST-77"),
                                                            ("visitor", "v-web-seg")]
    assert len({p["person_id"] for p in persons}) == 1


def test_gzip_and_the_write_key_refused_once_revoked(collector_segment):
    c = collector_segment
    key = parcours(c, "keys", "create", "crm").stdout.strip()
    errors = []
    analytics = Client(key, host=c.url, gzip=True, on_error=lambda e, batch: errors.append(e), max_retries=0)
    analytics.track(anonymous_id="v-gz", event="Contract Signed",
                    properties={"contract_id": "CT-GZ", "premium": 10, "quote_id": "Q-GZ"})
    analytics.flush()
    c.wait_rows("SELECT 1 FROM parcours.events WHERE source = 'crm' AND visitor_id = 'v-gz'", 1)
    assert errors == []
    assert parcours(c, "keys", "revoke", key[:10]).returncode == 0
    analytics.track(anonymous_id="v-gz", event="Contract Signed",
                    properties={"contract_id": "CT-GZ2", "premium": 10, "quote_id": "Q-GZ"})
    analytics.flush()
    analytics.shutdown()
    assert [getattr(e, "status", None) for e in errors] == [401]


@pytest.mark.skipif(not (NODE_CLIENTS / "node_modules").is_dir() or not shutil.which("node"),
                    reason="the Node clients are not installed (make setup installs them)")
@pytest.mark.parametrize("library", ["@segment/analytics-node", "analytics-node", "@rudderstack/rudder-sdk-node"])
def test_the_node_libraries_post_calls_that_land(collector_segment, library):
    c = collector_segment
    source = {"@segment/analytics-node": "crc_segment_node", "analytics-node": "crc_analytics_node",
              "@rudderstack/rudder-sdk-node": "crc_rudderstack_node"}[library]
    key = parcours(c, "keys", "create", source).stdout.strip()
    r = subprocess.run(["node", str(NODE_CLIENTS / "send.mjs"), library, c.url, key], capture_output=True,
                       text=True, timeout=120, cwd=NODE_CLIENTS)
    assert r.returncode == 0, r.stdout + r.stderr
    got = c.wait_rows(f"SELECT event, visitor_id FROM parcours.events FINAL WHERE source = '{source}' ORDER BY event", 3)
    assert [(g["event"], g["visitor_id"]) for g in got] == [
        ("contract_signed", "user:CRC-1"), ("identify", "user:CRC-1"), ("page_view", "v-node")]


def test_a_sale_from_the_back_office_goes_back_to_the_ad_network_of_its_click(collector_segment):
    """The whole loop: a search ad's click on the site, the quote with a phone; the back office's sale through
    Segment's library, with the customer's consent, and one without; only the consenting buyer's sale leaves for
    Google Ads, with the click id of her landing and nothing personal."""
    c = collector_segment
    day = 86_400_000
    sent = int(time.time() * 1000)
    for visitor, gclid, phone, quote in (("v-loop-1", "G-LOOP-1", "06 31 41 59 26", "Q-LOOP1"),
                                          ("v-loop-2", "G-LOOP-2", "06 27 18 28 18", "Q-LOOP2")):
        url = f"https://www.motoassur.example/devis?gclid={gclid}"
        events = [{"id": str(uuid.uuid4()), "e": "page_view", "t": sent - 3 * day, "vid": visitor, "sid": "s",
                   "url": url, "c": {"gclid": gclid}},
                  {"id": str(uuid.uuid4()), "e": "form_submit", "t": sent - 3 * day + 60_000, "vid": visitor,
                   "sid": "s", "url": url, "f": "moto_quote", "c": {"gclid": gclid},
                   "p": {"quote_id": quote, "phone": phone}}]
        req = urllib.request.Request(f"{c.url}/collect", data=json.dumps({"events": events, "sent": sent}).encode(),
                                     headers={"content-type": "text/plain", "user-agent": BROWSER}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 204 and resp.headers["x-parcours-accepted"] == "2"
    key = parcours(c, "keys", "create", "loop_office").stdout.strip()
    errors = []
    analytics = Client(key, host=c.url, on_error=lambda e, batch: errors.append(e), max_retries=1)
    signed = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=1)
    analytics.track("CUST-L1", "Contract Signed", {"contract_id": "CT-LOOP-1", "premium": 512.3, "channel": "shop",
                                                   "phone": "+33 6 31 41 59 26", "ad_consent": True}, timestamp=signed)
    analytics.track("CUST-L2", "Contract Signed", {"contract_id": "CT-LOOP-2", "premium": 300, "channel": "shop",
                                                   "phone": "0627182818", "ad_consent": False}, timestamp=signed)
    analytics.flush()
    analytics.shutdown()
    assert errors == []
    c.wait_rows("SELECT 1 FROM parcours.conversions FINAL WHERE conversion_id LIKE 'CT-LOOP-%'", 2, timeout=60)
    admin_post(c, "/api/persons/stitch")

    r = parcours(c, "export", "conversions", "google-ads", "--name", "Vente agence", "--from", "7d")
    assert r.returncode == 0, r.stderr
    paris = signed.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M:%S")
    assert r.stdout == ("Parameters:TimeZone=Europe/Paris\n"
                        "Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency,"
                        "Ad User Data,Ad Personalization\n"
                        f"G-LOOP-1,Vente agence,{paris},512.30,EUR,Granted,\n")
    assert "1 left out: the buyer refused that the sale be shared with ad networks" in r.stderr

    # and the reconciliation counts the back office's sale as one matched to her web journey, by her phone
    r = parcours(c, "report", "match", "--by", "sale", "--from", "7d", "--format", "json")
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in json.loads(r.stdout)["lines"] if x["value"] == "CT-LOOP-1"]
    assert (line["dimension"], line["conversions"], line["matched"]) == ("sale", 1, 1)
