"""docs/reconciliation.md stays true: its canonical examples import, its journey SQL reads Mrs X's journey."""

from __future__ import annotations

import datetime as dt
import io
import re

from journeys import conversions, persons, seed
from tests.conftest import ROOT
from tests.journeys.conftest import data, rows

DOC = (ROOT / "docs" / "reconciliation.md").read_text()


def block(after: str, lang: str) -> str:
    start = DOC.index(f"```{lang}\n", DOC.index(after)) + len(lang) + 4
    return DOC[start:DOC.index("```", start)]


def test_the_canonical_examples_import(store, ctx):
    csv = conversions.import_file(store, ctx, data(block("### The canonical format", "csv")), source="doc.csv")
    assert (csv.imported, csv.rejected) == (2, 0)
    doc = conversions.import_file(store, ctx, data(block("### The canonical format", "json")), source="doc.json")
    assert (doc.unchanged, doc.updated, doc.rejected) == (0, 1, 0), "CRC-55121 again, with its premium"


def test_the_journey_sql_reads_mrs_x_from_her_display_click_to_her_shop_sale(store, ctx, plan):
    demo = seed.generate(visitors=60, until=dt.date(2026, 11, 20))
    seed.store_events(store, plan, ctx.secret, demo.events)
    for name, kind, profile in seed.import_order(demo.files):
        if kind == "conversions":
            conversions.import_file(store, ctx, io.BytesIO(demo.files[name]), source=name, profile=profile)
    persons.stitch(store, persons.config(plan))
    sql = re.sub(r"\bparcours\.", f"{store.database}.", block("### A person's whole journey", "sql"))
    journey = rows(store, sql)
    assert [r["what"] for r in journey[:2]] == ["page_view", "touch"]
    assert (journey[0]["lever"], journey[0]["campaign"]) == ("display", "moto-spring")
    assert [r["what"] for r in journey if r["form_id"]] == ["form_step"] * 4 + ["form_submit"]
    assert journey[-1]["what"] == "sale (shop)" and journey[-1]["broker_id"] == "B042"
    assert journey[-1]["quote_id"] == "Q-MRSX42" and str(journey[-1]["premium"]) == "702.40"
    assert [r["ts"] for r in journey] == sorted(r["ts"] for r in journey)
