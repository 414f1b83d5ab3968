"""The call centre end to end, in Chromium on the demo site: a tracking number per visitor session and a call
matched to the journey; call-back leads listed and pushed by the signed webhook, once, across restarts, and no
phone of a visitor who did not tick the box anywhere on disk."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from callcentre import webhook
from e2e.conftest import ADMIN_TOKEN, ROOT, Collector, start_collector, stop_collector
from e2e.demo import complete, visitor_id, watch_errors

SECRET = "e2e-webhook-secret"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
"""A visitor's browser: headless Chromium says HeadlessChrome, a bot, which gets the default number."""
DEFAULT = "09 70 00 00 00"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def parcours(data: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """A `parcours` command beside the running collector (it goes through its admin API)."""
    return subprocess.run([sys.executable, "-m", "collector", *args, "--data-dir", str(data)], input=stdin,
                          capture_output=True, timeout=180, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "PARCOURS_ADMIN_TOKEN": ADMIN_TOKEN})


class Receiver:
    """The call centre's tool: a real HTTP server that checks each delivery's signature as docs/call-centre.md
    says, and answers `status`."""

    def __init__(self):
        self.status = 200
        self.deliveries: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                payload = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append({"valid": webhook.verify(SECRET, dict(self.headers), payload, time.time()),
                                            "status": receiver.status, "lead": json.loads(payload)})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/parcours/leads"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict]:
        return [d for d in self.deliveries if d["status"] == 200]

    def wait(self, predicate, what: str, log: Path, timeout: float = 120.0) -> None:
        """Until `predicate()` holds; a bound on a failure, not a speed claim (a CI run beside make bench once
        waited more than 60 s for a first attempt). A failure shows the end of the collector's log."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log.exists() else "(no log)"
                pytest.fail(f"{what}: not within {timeout:.0f} s; deliveries: {self.deliveries}\n"
                            f"the collector's log ends with:\n{tail}")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "user_agent": UA}


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def call_centre(tmp_path_factory, receiver):
    """The demo site's collector, its plan's leads made leads at once (quiet_minutes: 0), the webhook on."""
    plan = tmp_path_factory.mktemp("plan") / "plan.yaml"
    plan.write_text((ROOT / "examples" / "moto-insurance.yaml").read_text().replace("quiet_minutes: 10",
                                                                                   "quiet_minutes: 0"))
    data = tmp_path_factory.mktemp("callcentre")
    args = ("--site-dir", str(ROOT / "examples" / "demo-site"), "--leads-webhook", receiver.url,
            "--leads-webhook-secret", SECRET)
    proc, url, log = start_collector(data, *args, plan=plan)
    running = {"proc": proc, "collector": Collector(url, data, log, plan)}

    def restart():
        stop_collector(running["proc"])
        running["proc"], url, log = start_collector(data, *args, plan=plan)
        running["collector"].url, running["collector"].log = url, log

    running["restart"] = restart
    yield running
    stop_collector(running["proc"])


def test_a_visitor_sees_a_tracking_number_and_their_call_and_sale_join_the_landings_journey(call_centre, page):
    collector: Collector = call_centre["collector"]
    errors = watch_errors(page)
    page.goto(f"{collector.url}/demo/?utm_source=display&utm_medium=cpm&utm_campaign=moto-spring")
    vid = visitor_id(page)
    header = page.locator(".phone-cta span[data-parcours-phone]")
    page.wait_for_function(f"() => document.querySelector('.phone-cta span[data-parcours-phone]').textContent != '{DEFAULT}'")
    shown = header.text_content()
    assert shown.startswith("09 70 00 01 1")
    assert page.locator(".phone-cta").get_attribute("href") == "tel:+33" + shown.replace(" ", "")[1:]
    (lease,) = collector.wait_rows(f"SELECT number, session_id, started_at FROM parcours.number_leases "
                                   f"WHERE visitor_id = '{vid}'", 1)
    assert lease["number"] == "+33" + shown.replace(" ", "")[1:]
    # The visitor calls that number a minute later: a line of the PBX's log, in its shape and local time.
    started = dt.datetime.fromisoformat(lease["started_at"]).replace(tzinfo=dt.timezone.utc) + dt.timedelta(minutes=1)
    local = started.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
    dialled = shown.replace(" ", "")
    line = (f'"","0677889900","{dialled}","from-trunk",""""" <0677889900>","SIP/trunk-0000f1","SIP/205-0000f2",'
            f'"Dial","SIP/205,30","{local}","{local}","{local}","300","290","ANSWERED","DOCUMENTATION",'
            f'"e2e.{int(started.timestamp())}",""\n')
    r = parcours(collector.data, "import", "calls", "-", "--profile", "asterisk", stdin=line.encode())
    assert r.returncode == 0, r.stderr
    r = parcours(collector.data, "calls", "--since", "1d", "--format", "json")
    (call,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert (call["matched_by"], call["visitor_id"], call["session_id"]) == ("lease", vid, lease["session_id"])
    # The call centre signs the caller ten minutes later: the sale joins the visitor's journey.
    sale = [{"contract": {"id": "CRC-E2E-1", "signed_at": (started + dt.timedelta(minutes=10)).isoformat(),
                          "product": "Moto tous risques", "premium": {"amount": 655.3, "currency": "EUR"}},
             "customer": {"mobile": "06 77 88 99 00", "quote_ref": None}, "agent": {"id": "CRC-205", "name": "Nadia"},
             "channel": "call_centre"}]
    r = parcours(collector.data, "import", "conversions", "-", "--profile", "crc", stdin=json.dumps(sale).encode())
    assert r.returncode == 0, r.stderr
    assert parcours(collector.data, "persons", "stitch").returncode == 0
    (joined,) = collector.sql(
        "SELECT (SELECT argMax(person_id, updated_at) FROM parcours.person_keys WHERE key_type = 'visitor' "
        f"AND key = '{vid}') AS visitor_person, (SELECT argMax(p.person_id, p.updated_at) FROM parcours.person_keys "
        "AS p INNER JOIN parcours.conversions AS c ON p.key = c.phone_key WHERE p.key_type = 'phone' "
        "AND c.conversion_id = 'CRC-E2E-1') AS sale_person")
    assert joined["visitor_person"] and joined["visitor_person"] == joined["sale_person"]
    # The landing's lever is the journey's: the sale's first touch.
    (landing,) = collector.sql(f"SELECT lever FROM parcours.events FINAL WHERE visitor_id = '{vid}' "
                               "AND event = 'touch'")
    assert landing["lever"] == "display"
    # The call is a touch of the path between the visit and the call centre as point of sale, with the
    # landing's lever: display, display, call_centre.
    day = dt.datetime.now(dt.timezone.utc).date()
    period = ("--from", str(day - dt.timedelta(days=1)), "--to", str(day + dt.timedelta(days=2)))
    r = parcours(collector.data, "report", "attribution", *period, "--model", "position_based", "--format", "json")
    assert r.returncode == 0, r.stderr
    credit = {x["lever"]: x["conversions"] for x in json.loads(r.stdout) if x["conversions"]}
    assert credit == {"display": 0.6, "call_centre": 0.4}
    r = parcours(collector.data, "report", "attribution", *period, "--model", "last_touch", "--no-offline-touch",
                 "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [(x["lever"], x["revenue"]) for x in json.loads(r.stdout) if x["conversions"]] == [("display", 655.3)]
    assert errors == []


def leave_at_coverage(page, collector: Collector, phone: str, consent: bool) -> str:
    """A visitor who gives a call-back phone at the rider step, ticks the box or not, and leaves at step 3."""
    page.goto(f"{collector.url}/demo/?utm_source=google&utm_medium=cpc&utm_campaign=moto-search")
    vid = visitor_id(page)
    complete(page, "vehicle")
    page.fill("#callback-phone", phone)
    if consent:
        page.check("#callback-consent")
    complete(page, "rider")
    page.goto(f"{collector.url}/healthz")  # leaving the page: pagehide, the abandon sent by beacon
    collector.wait_rows(f"SELECT 1 FROM parcours.events WHERE visitor_id = '{vid}' AND event = 'form_abandon'", 1)
    return vid


PHONE_FORMS = {"consenting": ("06 31 42 53 64", "0631425364", "+33631425364", "631425364"),
               "refusing": ("06 97 86 75 64", "0697867564", "+33697867564", "697867564")}


def files_holding(root: Path, needles) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.name.endswith(".log"):
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {n}" for n in needles if n.encode() in data]
    return found


def test_a_consenting_visitor_who_leaves_is_a_lead_delivered_once_across_restarts(call_centre, browser, receiver):
    collector: Collector = call_centre["collector"]
    receiver.status = 503  # the tool is down at first: the lead waits in the outbox
    page = browser.new_page(user_agent=UA)  # a context of its own: a visitor of its own
    lead_vid = leave_at_coverage(page, collector, PHONE_FORMS["consenting"][0], consent=True)
    page.close()
    page = browser.new_page(user_agent=UA)
    refusing_vid = leave_at_coverage(page, collector, PHONE_FORMS["refusing"][0], consent=False)
    page.close()
    assert refusing_vid != lead_vid
    receiver.wait(lambda: receiver.deliveries, "a first delivery attempt", call_centre["collector"].log)
    assert receiver.deliveries[0]["valid"] and receiver.deliveries[0]["lead"]["visitor_id"] == lead_vid

    r = parcours(collector.data, "leads", "--format", "json")
    assert r.returncode == 0, r.stderr
    (lead,) = json.loads(r.stdout)
    assert (lead["visitor_id"], lead["phone"], lead["last_step"], lead["last_step_index"]) == \
        (lead_vid, "+33631425364", "coverage", 3)
    assert (lead["lever"], lead["campaign"], lead["wording"]) == ("search_paid", "moto-search", "rappel-2026-08")
    assert lead["consent_url"].startswith(f"{collector.url}/demo/") and lead["delivery"] == "pending"

    # A restart while the lead is pending; the tool back: delivered once.
    call_centre["restart"]()
    collector = call_centre["collector"]
    receiver.status = 200
    receiver.wait(lambda: receiver.accepted(), "the delivery after the restart", call_centre["collector"].log)
    # Another restart, then a second lead as a barrier: once it is delivered, the first would have been sent
    # again if it were going to be (the dispatcher sends the oldest lead first).
    call_centre["restart"]()
    collector = call_centre["collector"]
    page = browser.new_page(user_agent=UA)
    barrier_vid = leave_at_coverage(page, collector, "06 12 00 00 01", consent=True)
    page.close()
    receiver.wait(lambda: any(d["lead"]["visitor_id"] == barrier_vid for d in receiver.accepted()), "the barrier lead",
                  call_centre["collector"].log)
    accepted = receiver.accepted()
    assert [d["lead"]["visitor_id"] for d in accepted] == [lead_vid, barrier_vid]
    assert all(d["valid"] for d in receiver.deliveries)
    first = accepted[0]["lead"]
    assert first["phone"] == "+33631425364" and first["consent"]["wording"] == "rappel-2026-08"
    assert first["journey"]["lever"] == "search_paid" and first["last_step"] == "coverage"

    # The visitor who did not tick the box: no lead, no delivery, and no phone of theirs anywhere on disk.
    assert refusing_vid not in {d["lead"]["visitor_id"] for d in receiver.deliveries}
    r = parcours(collector.data, "leads", "--format", "json")
    assert refusing_vid not in {x["visitor_id"] for x in json.loads(r.stdout)}
    (kept,) = collector.sql(f"SELECT count() AS n FROM parcours.lead_contacts WHERE visitor_id = '{refusing_vid}'")
    assert kept["n"] == 0
    # The consenting visitor's phone is on disk only sealed; the refusing one's not at all (the data directory:
    # ClickHouse's parts, the write-ahead log, everything).
    assert files_holding(collector.data, PHONE_FORMS["refusing"] + PHONE_FORMS["consenting"]) == []
