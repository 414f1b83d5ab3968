"""`parcours demo seed`: the demo data set written as partners' files and stored, through the running collector
(its /collect and admin API, as the tag and the import commands reach it) or on ClickHouse opened here."""

from __future__ import annotations

import io
import time
from pathlib import Path

import click

from collector.errors import Problem
from collector.options import load_plan, plan_option, read_secret, secret_option, target_options
from collector.target import Op, Target
from journeys import persons
from journeys.cli import KINDS
from journeys.imports import Context


@click.group("demo")
def demo_group() -> None:
    """The demo data set (for the plan examples/moto-insurance.yaml)."""


@demo_group.command("seed")
@click.option("--visitors", default=20_000, show_default=True, type=click.IntRange(1), help="How many visitors.")
@click.option("--days", default=28, show_default=True, type=click.IntRange(1, 365),
              help="Over how many days (a collector refuses events older than its --max-event-age, 30 days).")
@click.option("--seed", "seed_", default=42, show_default=True, help="The random seed: the same seed, the same data.")
@click.option("--until", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="The last day of the data [default: today].")
@click.option("--files", "files_dir", default="demo-files", show_default=True, type=click.Path(file_okay=False),
              help="Where to write the partners' files the seed imports (fictional people and numbers).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the data set is already there (make demo).")
@click.option("--wait", default=0.0, type=click.FloatRange(0),
              help="Seconds to wait for a collector to serve <data-dir> first (make demo starts both).")
@plan_option("The demo plan (when no collector runs; a running collector uses its own).")
@secret_option("The collector's secret, which keys phone numbers (when no collector runs) [default: <data-dir>/secret].")
@target_options
def seed(target: Target, visitors, days, seed_, until, files_dir, if_empty, wait, plan, secret):
    """Fill parcours with a realistic, reproducible data set: weeks of visitors from every lever, quotes and
    abandons, the brokers' and the call centre's sales files (some matching a journey, some not), campaign
    costs; Mrs X among them (docs/reconciliation.md). Through the running collector when there is one."""
    from collector import admin, discovery
    from collector.target import Remote, open_target
    from journeys import seed as seed_mod

    if wait:
        deadline = time.monotonic() + wait
        while not isinstance(target, Remote) and time.monotonic() < deadline:
            time.sleep(0.25)
            if discovery.running(target.data_dir) is not None:
                target.close()
                target = open_target(target.data_dir)
        while isinstance(target, Remote) and not _up(target.url) and time.monotonic() < deadline:
            time.sleep(0.25)  # announced in its start-up, listening a moment later
    if if_empty:
        statement = "SELECT count() FROM parcours.events WHERE visitor_id = 'mrs-x'"
        doc = target.run(Op("POST", "/api/sql", lambda store: admin.query(store, statement), body=statement.encode()))
        if doc["rows"] and doc["rows"][0][0]:
            click.echo("the demo data set is already there", err=True)
            return
    data = seed_mod.generate(seed=seed_, visitors=visitors, days=days, until=until.date() if until else None)
    files = Path(files_dir)
    files.mkdir(parents=True, exist_ok=True)
    for name, body in data.files.items():
        (files / name).write_bytes(body)
    click.echo(f"{len(data.events):,} events of {visitors:,} visitors over {days} days; "
               f"{data.sales:,} sales in {sum(k == 'conversions' for _, k, _ in seed_mod.import_order(data.files))} "
               f"partner files, their cancellations and a call log written to {files}/", err=True)
    if isinstance(target, Remote):
        _send(target, seed_mod.batches(data.events))
        _stored(target, len(data.events))
    else:
        seed_mod.store_events(target.store, load_plan(plan), read_secret(secret, target.data_dir), data.events)
    for name, kind, profile in seed_mod.import_order(data.files):
        module, path, _ = KINDS[kind]
        body = data.files[name]

        def local(store, module=module, body=body, name=name, profile=profile):
            ctx = Context(load_plan(plan), read_secret(secret, target.data_dir))
            return module.import_file(store, ctx, io.BytesIO(body), source=name, profile=profile).as_dict()

        doc = target.run(Op("POST", path, local, {"profile": profile, "source": name}, body=body,
                            content_type="application/octet-stream"))
        click.echo(f"  {name}: {doc['imported']} imported, {doc['updated']} updated, {doc['unchanged']} unchanged, "
                   f"{doc['rejected']} rejected", err=True)
    doc = target.run(Op("POST", "/api/persons/stitch",
                        lambda store: persons.stitch(store, persons.config(load_plan(plan))).as_dict()))
    click.echo(f"persons stitched ({doc['keys_written']:,} keys). Mrs X: "
               "SELECT * FROM parcours.person_keys FINAL WHERE key = 'mrs-x' (docs/reconciliation.md)", err=True)


def _up(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2):
            return True
    except OSError:
        return False


def _send(target, batches) -> None:
    """POST the batches to the collector's /collect, as the tag does (a 503 is retried, as the tag does)."""
    import urllib.error
    import urllib.request

    for agent, body in batches:
        for attempt in range(60):
            request = urllib.request.Request(f"{target.url}/collect", data=body,
                                             headers={"content-type": "text/plain", "user-agent": agent})
            try:
                with urllib.request.urlopen(request, timeout=60):
                    break
            except urllib.error.HTTPError as exc:
                if exc.code != 503:
                    raise Problem(f"{target.url}/collect refused the demo events: {exc.code} {exc.read()[:200]!r}") from None
                time.sleep(min(5.0, 0.2 * (attempt + 1)))
            except OSError as exc:
                raise Problem(f"cannot reach the collector at {target.url}: {exc}") from None


def _stored(target, sent: int, timeout: float = 300.0) -> None:
    """Wait until the collector's batch writer has stored what was sent (stitching reads stored events)."""
    from collector import admin

    statement = "SELECT count() FROM parcours.events WHERE visitor_id != ''"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = target.run(Op("POST", "/api/sql", lambda store: admin.query(store, statement), body=statement.encode()))
        if doc["rows"][0][0] >= sent:
            return
        time.sleep(0.5)
    raise Problem(f"the collector has not stored the {sent} demo events after {timeout:.0f} s: see its log")
