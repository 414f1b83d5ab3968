"""The story parcours exists for, end to end: Mrs X clicks a display ad, asks for a quote on the demo site in
Chromium and leaves her phone; days later she signs in broker B042's shop; the broker network's monthly file
(in its own shape) is imported, and her sale is found matched to her journey."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zoneinfo

from e2e.conftest import ROOT, start_collector, stop_collector
from e2e.demo import STEPS, visitor_id, watch_errors
from tests.collector.helpers import files_written

DISPLAY = "utm_source=display&utm_medium=cpm&utm_campaign=moto-spring"
HEADER = ("N° contrat;Date signature;Code courtier;Conseiller;Agence;Produit;Prime annuelle TTC;Devise;"
          "Téléphone client;Réf. devis")


def parcours(data, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collector", *args, "--data-dir", str(data)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


WRITTEN = ("06 12 34 56 78", "0612345678", "+33612345678", "612345678", "+33 6 12 34 56 78",
           "07 81 22 33 44", "0781223344", "+33781223344")
"""Her phone and the walk-in's, as typed and as E.164: none may be written anywhere."""


def written_anywhere(data) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, content in files_written(data):
        for phone in WRITTEN:
            if phone.encode() in content:
                out.setdefault(phone, []).append(str(path.relative_to(data)))
    return out


def test_mrs_x_display_click_quote_then_shop_sale_is_matched(tmp_path, page):
    data = tmp_path / "data"
    data.mkdir()
    proc, url, log = start_collector(data, "--site-dir", str(ROOT / "examples" / "demo-site"))
    try:
        errors = watch_errors(page)
        page.goto(f"{url}/demo/?{DISPLAY}")
        mrs_x = visitor_id(page)
        for step in STEPS[:-1]:
            page.click(f"#next-{step}")
            page.wait_for_selector(f"#step-{STEPS[STEPS.index(step) + 1]}:not([hidden])")
        page.fill("#name", "Madame X")
        page.fill("#email", "madame.x@example.fr")
        page.fill("#phone", "06 12 34 56 78")
        page.fill("#postcode", "69003")
        page.check("#consent")
        page.click("#submit-quote")
        page.wait_for_selector("#confirmation:not([hidden])")
        quote = page.inner_text("#quote-ref").strip()
        assert quote.startswith("Q-") and errors == []

        # Her submit is stored (the phone as its keyed hash), and her journey starts with the display click.
        deadline = dt.datetime.now() + dt.timedelta(seconds=60)
        while True:
            out = parcours(data, "sql", "--format", "json",
                           f"SELECT event, lever, utm_campaign, phone_key FROM parcours.events FINAL "
                           f"WHERE visitor_id = '{mrs_x}' ORDER BY ts, seq")
            stored = [json.loads(line) for line in out.stdout.splitlines()]
            if any(e["event"] == "form_submit" for e in stored) or dt.datetime.now() > deadline:
                break
        assert (stored[0]["lever"], stored[0]["utm_campaign"]) == ("display", "moto-spring")
        assert next(e for e in stored if e["event"] == "form_submit")["phone_key"]

        # The broker network's export, as it comes: BOM, semicolons, CRLF, Paris time, a decimal comma, her
        # phone written another way, her quote reference.
        signed = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")) + dt.timedelta(minutes=2)
        lines = [HEADER,
                 f"MA-E2E-0042;{signed:%d/%m/%Y %H:%M};B042;Sophie Marchand;Lyon Part-Dieu;Moto tous risques;"
                 f"702,40;EUR;+33 6 12 34 56 78;{quote}",
                 f"MA-E2E-0043;{signed:%d/%m/%Y %H:%M};B042;Sophie Marchand;Lyon Part-Dieu;Moto tiers;"
                 f"312,00;EUR;07 81 22 33 44;"]  # a walk-in customer, never online
        sales = tmp_path / "ventes-courtiers-e2e.csv"
        sales.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
        imported = parcours(data, "import", "conversions", str(sales), "--profile", "courtiers", "--format", "json")
        assert imported.returncode == 0, imported.stderr
        assert json.loads(imported.stdout)["imported"] == 2
        stitched = parcours(data, "persons", "stitch")
        assert stitched.returncode == 0, stitched.stderr

        out = parcours(data, "sql", "--format", "json",
                       "SELECT key_type, key FROM parcours.person_keys FINAL WHERE person_id = "
                       f"(SELECT argMax(person_id, updated_at) FROM parcours.person_keys WHERE key = '{mrs_x}')")
        keys = {(r["key_type"], r["key"]) for r in map(json.loads, out.stdout.splitlines())}
        assert ("crm", quote) in keys and ("visitor", mrs_x) in keys and any(t == "phone" for t, _ in keys)
        said = imported.stdout + imported.stderr + stitched.stdout + stitched.stderr
        assert not any(phone in said for phone in WRITTEN), "no phone in what the commands print"
    finally:
        stop_collector(proc)
    # Tables, rejected lines, the write-ahead log, the collector's log: no raw phone anywhere in its data.
    assert written_anywhere(data) == {}
