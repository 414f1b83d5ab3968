"""Mrs X end to end: a display ad, a quote in Chromium, a sale in broker B042's shop imported from a file, and
the reports, through a collector of her own (the running collector owns the engine: every command goes
through its admin API)."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
import urllib.request

import pytest

from e2e.conftest import ADMIN_TOKEN, ROOT, Collector, start_collector, stop_collector
from e2e.demo import complete, visitor_id, watch_errors


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A desktop Chrome's user agent: headless Chromium's own is a bot's, whose sessions reports leave out."""
    return {**browser_context_args, "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                                  "(KHTML, like Gecko) Chrome/126.0 Safari/537.36"}


@pytest.fixture(scope="module")
def shop_collector(tmp_path_factory):
    data = tmp_path_factory.mktemp("reports")
    proc, url, log = start_collector(data, "--site-dir", str(ROOT / "examples" / "demo-site"))
    yield Collector(url, data, log)
    stop_collector(proc)


def parcours(collector: Collector, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "collector", *args, "--data-dir", str(collector.data)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_mrs_x_display_and_broker_b042_both_earned_the_sale(shop_collector, page, tmp_path):
    errors = watch_errors(page)
    # A number of a range in use (06 12): 8 of the 100 ranges 06 00-99 are not French mobiles (06 39, 06 90-97),
    # and the collector rightly kept such a quote as rejected: the test failed once in twelve.
    phone = "06 12 " + " ".join(f"{random.randrange(100):02d}" for _ in range(3))
    page.goto(f"{shop_collector.url}/demo/?courtier=D001&utm_source=regie&utm_medium=cpm&utm_campaign=moto-automne")
    vid = visitor_id(page)
    complete(page, "vehicle", "rider", "coverage")
    page.fill("#name", "Mme X")
    page.fill("#email", "x@example.fr")
    page.fill("#phone", phone)
    page.fill("#postcode", "69003")
    page.check("#consent")
    page.click("#submit-quote")
    page.wait_for_selector("#confirmation:not([hidden])")
    shop_collector.wait_rows(f"SELECT 1 FROM parcours.events WHERE visitor_id = '{vid}' AND event = 'form_submit'", 1)

    signed = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sales = tmp_path / "ventes.csv"
    sales.write_text(f"conversion_id,ts,channel,broker_id,premium,phone\nC-X-1,{signed},shop,B042,850.00,{phone}\n")
    parcours(shop_collector, "import", "conversions", str(sales))
    parcours(shop_collector, "persons", "stitch")

    # `--to` a date is that day's midnight (exclusive): two days ahead, so the sale signed in two hours is in the
    # period whatever the hour the test runs at (after 22:00 UTC, tomorrow's midnight came before it).
    period = ["--from", "1d", "--to", (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).strftime("%Y-%m-%d")]
    doc = json.loads(parcours(shop_collector, "report", "attribution", "--model", "all", "--format", "json", *period))
    assert all(list(d) == ["model", "lever", "conversions", "revenue"] for d in doc)
    credit = {(d["model"], d["lever"]): (d["conversions"], d["revenue"]) for d in doc if d["conversions"]}
    assert credit[("first_touch", "display")] == (1, 850)
    assert credit[("last_touch", "broker")] == (1, 850)
    assert credit[("position_based", "display")] == (0.5, 425) and credit[("position_based", "broker")] == (0.5, 425)
    by_broker = json.loads(parcours(shop_collector, "report", "attribution", "--model", "last_touch", "--by", "broker",
                                    "--format", "json", *period))
    assert [d for d in by_broker if d["conversions"]] == [
        {"model": "last_touch", "lever": "broker", "broker": "B042", "conversions": 1, "revenue": 850}]

    # The same figures from the admin API the dashboard reads.
    req = urllib.request.Request(f"{shop_collector.url}/api/reports/attribution?model=all&from=1d&to={period[3]}",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(req) as resp:
        assert json.loads(resp.read()) == doc
    funnel = json.loads(parcours(shop_collector, "report", "funnel", "--format", "json", *period))
    assert [r["visitors"] for r in funnel] == [1, 1, 1, 1, 1]
    media = parcours(shop_collector, "report", "media_pos", "--format", "csv", *period)
    assert media.splitlines() == ["broker_id,lever,conversions,revenue,share", "B042,display,1.0,850.00,1.0"]
    assert errors == []
