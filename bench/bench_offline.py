"""Offline sales and persons at scale, on the embedded engine.

- Import: a million sales lines in the broker network's shape (ventes-courtiers: BOM, `;`, decimal comma,
  dd/mm/yyyy in Paris time, phones written five ways) through the `courtiers` profile, then the same file
  again (every line unchanged). Baselines in the same run: Python's csv module only reading the file, and
  ClickHouse inserting the million finished rows (what an import cannot go below).
- Stitching: a million identity links (submits carrying a visitor id, a phone and a quote id: three links
  each) taken in by one run, then a run after 1% more.
- Ingestion beside them: a writer thread with a ClickHouse client of its own (as the collector's batch writer)
  inserts batches of events all along; its rows/s alone, during the import and during the stitching.

Run: .venv/bin/python bench/bench_offline.py [--lines 1000000] [--links 1000000]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.storage import Store  # noqa: E402
from journeys import conversions, persons  # noqa: E402
from journeys.imports import Context  # noqa: E402
from tagplan import compile_plan, load_plan  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HEADER = ("N° contrat;Date signature;Code courtier;Conseiller;Agence;Produit;Prime annuelle TTC;Devise;"
          "Téléphone client;Réf. devis")
SHOPS = (("B042", "Sophie Marchand", "Lyon Part-Dieu"), ("B017", "Karim Benali", "Villeurbanne"),
         ("B103", "Hélène Robin-Dufresne", '"Grenoble; centre"'))


def phone(i: int) -> str:
    d = f"061{i:07d}"
    return (f"{d[:2]} {d[2:4]} {d[4:6]} {d[6:8]} {d[8:]}", d, f"+33 6 {d[2:4]} {d[4:6]} {d[6:8]} {d[8:]}",
            f"0033{d[1:]}", f"{d[:2]}.{d[2:4]}.{d[4:6]}.{d[6:8]}.{d[8:]}")[i % 5]


def sales_file(n: int) -> bytes:
    lines = [HEADER]
    for i in range(n):
        broker, adviser, shop = SHOPS[i % 3]
        premium = f"{(i * 37) % 1500 + 95},{i % 100:02d}".replace("1", "1 ", 1) if i % 7 == 0 else \
            f"{(i * 37) % 900 + 95},{i % 100:02d}"
        lines.append(f"MA-{i:09d};{1 + i % 28:02d}/{1 + i % 12:02d}/2026 {8 + i % 11:02d}:{i % 60:02d};{broker};"
                     f"{adviser};{shop};Moto tous risques;{premium};EUR;{phone(i)};Q-{i:08d}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


class Ingest(threading.Thread):
    """The batch writer's part: 2,000-row event batches (JSONEachRow lines, as the write-ahead log holds
    them) inserted back to back on a client of its own, as the collector's writer does."""

    def __init__(self, dsn: str, database: str):
        super().__init__(daemon=True)
        self.store = Store(dsn, database)
        self.rows = 0
        self.stop = False
        now = time.time()
        self.batch = msgspec.json.Encoder().encode_lines([
            {"event_id": str(uuid.uuid4()), "event": "page_view", "ts": now, "client_ts": now, "sent_at": now,
             "received_at": now, "visitor_id": f"w{i}", "properties": "{}"} for i in range(2000)])

    def run(self):
        while not self.stop:
            self.store.insert_lines("events", self.batch)
            self.rows += 2000

    def rate(self, seconds: float) -> float:
        start, began = self.rows, time.perf_counter()
        time.sleep(seconds)
        return (self.rows - start) / (time.perf_counter() - began)


def during(ingest: Ingest, work) -> tuple[float, float, object]:
    """(seconds the work took, ingest rows/s meanwhile as a share of its rate alone just before and just
    after — the machine's load changes, so the baseline is measured around each work — its result)."""
    before = ingest.rate(2.0)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(work()))
    start_rows, began = ingest.rows, time.perf_counter()
    thread.start()
    thread.join()
    elapsed = time.perf_counter() - began
    beside = (ingest.rows - start_rows) / elapsed
    after = ingest.rate(2.0)
    return elapsed, beside / ((before + after) / 2), result[0]


def links_events(n_events: int, offset: int = 0, stored: float | None = None) -> list[dict]:
    """Submits carrying a visitor id, a phone key and a quote id; `stored`: their inserted_at, for a load
    stitched before (the next run's window then holds only what came after)."""
    now = time.time()
    out = []
    for i in range(offset, offset + n_events):
        out.append({"event_id": str(uuid.UUID(int=i + 1)), "event": "form_submit", "ts": now, "client_ts": now,
                    "sent_at": now, "received_at": now, "visitor_id": f"v{i}", "form_id": "moto_quote",
                    "phone_key": hashlib.sha256(str(i).encode()).hexdigest(),
                    "properties": f'{{"quote_id":"Q-{i:08d}"}}',
                    **({"inserted_at": stored} if stored else {})})
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=1_000_000)
    args = parser.parse_args()
    plan = compile_plan(load_plan(ROOT / "examples" / "moto-insurance.yaml"))
    ctx = Context(plan, b"bench-secret")
    with tempfile.TemporaryDirectory() as tmp:
        dsn = f"chdb://{tmp}/clickhouse"
        store = Store(dsn, "bench")
        store.migrate()
        data = sales_file(args.lines)
        print(f"== {args.lines:,} sales lines ({len(data) / 1e6:.0f} MB, the courtiers profile's shape)")

        began = time.perf_counter()
        rows = sum(1 for _ in csv.reader(io.TextIOWrapper(io.BytesIO(data), "utf-8-sig", newline=""), delimiter=";"))
        csv_s = time.perf_counter() - began
        print(f"  baseline: Python's csv reading the file:        {csv_s:6.1f} s  {rows / csv_s:>10,.0f} lines/s")

        ingest = Ingest(dsn, "bench")
        ingest.start()
        print(f"  ingestion alone (writer thread, own client):   {ingest.rate(2.0):>10,.0f} rows/s")

        seconds, beside, summary = during(ingest, lambda: conversions.import_file(
            store, ctx, io.BytesIO(data), source="bench.csv", profile="courtiers"))
        print(f"  import:  {summary.imported:,} imported, {summary.rejected} rejected: {seconds:6.1f} s  "
              f"{args.lines / seconds:>10,.0f} lines/s ({seconds / csv_s:.1f}x the csv baseline)")
        print(f"    ingestion meanwhile: {beside:.0%} of its rate alone (measured just before and after)")
        seconds, beside, summary = during(ingest, lambda: conversions.import_file(
            store, ctx, io.BytesIO(data), source="bench.csv", profile="courtiers"))
        print(f"  re-import, every line unchanged ({summary.unchanged:,}): {seconds:6.1f} s  "
              f"{args.lines / seconds:>10,.0f} lines/s; ingestion meanwhile {beside:.0%} of alone")
        finished = store.raw(f"SELECT * EXCEPT (imported_at) FROM bench.conversions FINAL", "JSONEachRow")
        store.query("TRUNCATE TABLE bench.conversions", readonly=False)
        began = time.perf_counter()
        store.insert_lines("conversions", finished)
        raw_s = time.perf_counter() - began
        print(f"  baseline: ClickHouse inserting the {args.lines:,} finished rows: {raw_s:6.1f} s")

        n_events = args.links // 3
        store = Store(dsn, "bench_links")  # a database of its own: the sales above are not in its windows
        store.migrate()
        store.insert_rows("events", links_events(n_events, stored=time.time() - 600))
        print(f"== stitching {n_events * 3:,} identity links ({n_events:,} submits: visitor, phone, quote)")
        cfg = persons.config(plan)
        seconds, beside, run = during(ingest, lambda: persons.stitch(store, cfg))
        print(f"  first run: {run.links:,} links, {run.keys_written:,} keys written: {seconds:6.1f} s "
              f"({run.links / seconds:,.0f} links/s); ingestion meanwhile {beside:.0%} of alone")
        store.insert_rows("events", links_events(n_events // 100, offset=n_events))
        seconds, beside, run = during(ingest, lambda: persons.stitch(store, cfg))
        print(f"  next run, 1% more ({n_events // 100:,} submits): {seconds:6.1f} s, {run.keys_written:,} keys written; "
              f"ingestion meanwhile {beside:.0%} of alone")
        ingest.stop = True
        ingest.join()
        ingest.store.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
