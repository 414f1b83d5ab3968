"""`parcours import conversions|cancellations|brokers|costs|calls FILE`, `parcours import rejects`, `parcours persons …`,
`parcours report NAME`, `parcours erase` and `parcours export conversions` (`parcours demo seed`: demo_cli.py).

Each import states its work once (target.Op): through the running collector's admin API, which reads the
file with its own plan and secret, or on ClickHouse opened here with `--plan` and `--secret`. Either way the
import reports JSON lines of progress then its summary (imports.ndjson), which this module prints: the
summary on stdout, rejected lines on stderr as `FILE:LINE: reason` (`FILE:LINE: record N: reason` for the Nth record of a
line holding several, a JSON array on one line), progress on stderr.

Exit status: 0 when every line is in, 2 when some lines were rejected (the others are imported), 1 when the
file could not be imported at all.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from callcentre import calls
from collector import deadletters, redact
from collector.errors import Problem
from collector.options import format_option, load_plan, plan_option, read_secret, secret_option, target_options
from collector.output import as_result, format_result
from collector.target import Local, Op, Remote, Target
from collector.since import parse_since
from journeys import adnetworks, brokers, cancellations, conversions, costs, event_conversions, imports, persons, reports
from journeys import erase as erase_mod
from journeys.imports import Context
from journeys.reports.options import BREAKDOWNS, FORMATS, MODELS

KINDS = {
    "conversions": (conversions, "/api/conversions", "Offline sales (signed contracts)"),
    "cancellations": (cancellations, "/api/cancellations", "Cancellations (withdrawals) of sales already imported"),
    "brokers": (brokers, "/api/brokers", "The broker and adviser table"),
    "costs": (costs, "/api/costs", "Campaign costs per day"),
    "calls": (calls, "/api/calls", "Call logs from the telephony system (callcentre/calls.py)"),
}


@click.group("import")
def import_group() -> None:
    """Offline data in: sales, the broker table, campaign costs, call logs; and the lines they rejected."""


def _import_command(kind: str) -> click.Command:
    module, path, what = KINDS[kind]

    @click.argument("file", type=click.File("rb"))
    @click.option("--profile", default=None,
                  help="An import profile of the plan (imports: in the plan), for a file in a partner's shape; "
                       "without it, the canonical format (docs/reconciliation.md).")
    @click.option("--source", default=None, help="The name recorded as each row's source, a phone number in it "
                                                 "replaced by [phone] [default: FILE's name].")
    @click.option("--dry-run", is_flag=True, help="Read and check the file, compare it with what is stored; "
                                                  "write nothing.")
    @click.option("--progress/--no-progress", default=None,
                  help="Show progress on stderr [default: when stderr is a terminal].")
    @plan_option("The plan with the import profiles (when no collector runs; a running collector uses its own).")
    @secret_option("The collector's secret, which keys phone numbers (when no collector runs) "
                   "[default: <data-dir>/secret].")
    @target_options
    @format_option(("text", "json"), "text")
    def command(target: Target, file, profile, source, dry_run, progress, plan, secret, fmt):
        data = file.read()
        name = Path(file.name).name if file.name not in ("<stdin>", "-") else "stdin"
        source = source or name

        def local(store):
            ctx = Context(load_plan(plan), read_secret(secret, target.data_dir))
            return imports.ndjson(lambda report: module.import_file(
                store, ctx, io.BytesIO(data), source=source, profile=profile, dry_run=dry_run, progress=report))

        params = {"profile": profile, "source": source, "dry_run": "true" if dry_run else None, "progress": "true"}
        show = progress if progress is not None else sys.stderr.isatty()
        summary = _follow(target.stream(Op("POST", path, local, params, body=data,
                                           content_type="application/octet-stream")), show)
        _print(summary, fmt)
        if summary["rejected"]:
            sys.exit(2)

    command.__doc__ = (f"{what} from FILE (CSV or JSON; - for stdin), read with --profile or in the canonical "
                       "format. Prints what was imported, updated, unchanged and rejected; exit 2 when lines "
                       "were rejected.")
    return click.command(kind)(command)


def _follow(lines, show: bool) -> dict:
    """Read the import's JSON lines: print progress on stderr, return the summary, raise its error."""
    tty = sys.stderr.isatty()
    buffer = b""
    for chunk in lines:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            if not line.strip():
                continue
            event = json.loads(line)
            if "progress" in event:
                if show:
                    p = event["progress"]
                    text = f"{p['stage']} {p['count']:,} lines" if p["stage"] == "read" else f"{p['stage']} {p['count']:,} rows"
                    click.echo(f"\r{text}…" if tty else f"{text}…", err=True, nl=not tty)
                continue
            if show and tty:
                click.echo("", err=True)
            if "error" in event:
                raise Problem(event["error"])
            return event["summary"]
    raise Problem("the import stopped before its summary (see the collector's log)")


def _print(summary: dict, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    source = summary["source"]
    for item in summary["superseded"]:
        click.echo(f"{source}:{item['line']}: replaced by line {item['by']}, which has the same key", err=True)
    for reject in summary["rejects"]:
        record = f"record {reject['record']}: " if reject.get("record") else ""  # of a line holding several
        for reason in reject["reasons"]:
            click.echo(f"{source}:{reject['line']}: {record}{reason}", err=True)
    how = f'profile "{summary["profile"]}"' if summary["profile"] else "the canonical format"
    verb = "would be " if summary["dry_run"] else ""
    click.echo(f"{source}: {summary['lines']} line(s) read with {how}: {summary['imported']} {verb}imported, "
               f"{summary['updated']} {verb}updated, {summary['unchanged']} unchanged, {summary['rejected']} rejected"
               + (" (dry run: nothing written)" if summary["dry_run"] else ""))


for _kind in KINDS:
    import_group.add_command(_import_command(_kind))


@import_group.command("rejects")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None, help="Only this kind of import.")
@click.option("--source", default=None, help="Only the lines of this source (file name).")
@click.option("--all", "everything", is_flag=True, help="Resolved lines too (fixed by a later import).")
@target_options
@format_option()
def rejects(target: Target, kind, source, everything, fmt):
    """The rejected import lines still to fix: where, and why. Fix them in the file and import it again."""
    doc = target.run(Op("GET", "/api/import/rejects", lambda store: imports.rejects(store, kind, source, everything),
                        {"kind": kind, "source": source, "all": "true" if everything else None}))
    click.echo(format_result(as_result(doc), fmt), nl=False)


@click.group("persons")
def persons_group() -> None:
    """One person across visits, phones and quotes: stitching (the collector runs it every few seconds)."""


@persons_group.command("stitch")
@click.option("--full", is_flag=True, help="Read every stored row, not only those stored since the last run.")
@plan_option("The plan with the identity keys (when no collector runs; a running collector uses its own).")
@target_options
@format_option(("text", "json"), "text")
def stitch(target: Target, full, plan, fmt):
    """Take in now the links stored since the last run (idempotent: a second run writes nothing)."""
    doc = target.run(Op("POST", "/api/persons/stitch", lambda store: _turn(store, load_plan(plan), full),
                        {"full": "true" if full else None}))
    if fmt == "json":
        click.echo(json.dumps(doc))
        return
    click.echo(f"{doc['links']} link(s) read, {doc['keys_written']} key(s) written, {doc['merges']} merge(s), "
               f"{doc['hot_keys']} key(s) left out, in {doc['seconds']} s (up to {doc['watermark']})")


def _turn(store, plan, full: bool = False) -> dict:
    """What the collector's background turn does: the sales recorded as events (their phones are keys
    already: no secret needed), then stitching."""
    event_conversions.sync(store, Context(plan, b""))
    return persons.stitch(store, persons.config(plan), full=full).as_dict()


@persons_group.command("status")
@target_options
@format_option(("text", "json"), "text")
def status(target: Target, fmt):
    """How many persons and keys, how many keys left out as implausible, and the last stitching run."""
    doc = target.run(Op("GET", "/api/persons/status", lambda store: persons.status(store)))
    if fmt == "json":
        click.echo(json.dumps(doc, default=str))
        return
    click.echo(f"{doc['persons']} person(s), {doc['keys']} key(s), {doc['hot_keys']} key(s) left out as implausible")
    last = doc.get("last_run")
    click.echo(f"last run: up to {last['watermark']}, {last['keys_written']} key(s) written, on {last['host']}"
               if last else "no stitching run yet")
    if doc.get("error"):
        click.echo(f"stitching is failing: {doc['error']}", err=True)


@click.command(context_settings={"max_content_width": 100})
@click.argument("name", metavar="NAME", type=click.Choice(list(reports.REPORTS)))
@click.option("--from", "from_", metavar="WHEN", default=None, help="Start of the period (included): 30d, 2026-11-01, "
              "2026-11-01T08:00 (UTC). Default: 30 days before --to.")
@click.option("--to", metavar="WHEN", default=None, help="End of the period (excluded), same forms. Default: now.")
@click.option("--form", default=None, help="funnel: the plan's form (default: its first).")
@click.option("--model", default=None, help=f"Attribution model: {', '.join(MODELS)}, or all (attribution).")
@click.option("--by", metavar="KEY", default=None, help=f"Breakdown: {', '.join(BREAKDOWNS)}, or a property declared in the plan (match: sale).")
@click.option("--window", metavar="DURATION", default=None, help="funnel: time allowed from the first step (default 1d).")
@click.option("--lookback", metavar="DURATION", default=None, help="Touches counted before a conversion (default: the plan's reconciliation.lookback_days).")
@click.option("--half-life", "half_life", metavar="DURATION", default=None, help="time_decay's half-life (default 7d).")
@click.option("--offline-touch/--no-offline-touch", default=None,
              help="An offline sale adds its point of sale as the last touch (default: on).")
@click.option("--interval", type=click.Choice(["day", "week"]), default=None, help="A series: one row per day or week.")
@click.option("--compare", is_flag=True, default=None, help="Add each figure over the previous period of the same length.")
@click.option("--goal", type=click.Choice(["sale", "lead"]), default=None, help="What converts: a sale (default) or a lead.")
@click.option("--limit", metavar="N", default=None, help="paths: how many of the most frequent (default 20).")
@click.option("--quote-id", "quote_id", default=None, help="person: the quote id whose journey to print.")
@click.option("--phone-key", "phone_key", metavar="KEY", default=None,
              help="person: the keyed hash of a phone (as parcours stores it), whose journey to print.")
@click.option("--lever", default=None, help="Filter: the visits whose own landing has this lever, and the conversions "
              "with such a visit in their lookback (or this lever's point of sale).")
@click.option("--campaign", default=None, help="Filter: the same, for a utm_campaign.")
@click.option("--broker", default=None, help="Filter: the same, for a broker id (a visit's ?courtier=, or who signed).")
@click.option("--device", default=None, help="Filter: the same, for a device type (desktop, mobile, tablet, other).")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="table", show_default=True,
              help="A table for people; CSV or JSON (docs/analysts.md, field by field) for programs; `excel`: the "
                   "CSV as a French Excel opens it (UTF-8 with a BOM, `;`, decimal commas).")
@click.option("--sql", "show_sql", is_flag=True, help="Print the report's SQL with its parameters instead, "
              "to paste into clickhouse-client.")
@plan_option("The tagging plan (when no collector runs; a running collector uses its own).")
@secret_option("The collector's secret, to find a quote id holding a phone number as the collector keeps it (when "
               "no collector runs) [default: <data-dir>/secret].")
@target_options
def report(target: Target, name, from_, to, form, model, by, window, lookback, half_life, offline_touch, interval,
           compare, goal, limit, quote_id, phone_key, lever, campaign, broker, device, fmt, show_sql, plan, secret):
    """Print the report NAME (docs/analysts.md): the same figures as GET /api/reports/NAME."""
    if quote_id and not isinstance(target, Remote):
        quote_id = _kept_quote_id(quote_id, target, plan, secret)
    raw = {"from": from_, "to": to, "form": form, "model": model, "by": by, "window": window,
           "lookback": lookback, "half_life": half_life, "interval": interval, "goal": goal, "limit": limit,
           "quote_id": quote_id, "phone_key": phone_key,
           "offline_touch": None if offline_touch is None else str(offline_touch).lower(),
           "compare": "true" if compare else None, "format": fmt,
           "lever": lever, "campaign": campaign, "broker": broker, "device": device}
    out, given = sys.stdout.buffer, {k: v for k, v in raw.items() if v is not None}
    if show_sql:  # the running collector's plan, as its reports; else --plan's, no engine opened for a text
        if isinstance(target, Remote):
            out.write(b"".join(target.stream(Op("GET", f"/api/reports/{name}/sql", lambda store: [], given))))
        else:
            database = target.database if isinstance(target, Local) else "parcours"  # --database's tables
            out.write(reports.sql_for(database, load_plan(plan), name, raw).encode())
        out.flush()
        return
    for chunk in target.stream(Op("GET", f"/api/reports/{name}",
                                  lambda store: [reports.respond(store, load_plan(plan), name, raw)[0].encode()],
                                  given)):
        out.write(chunk)
    out.flush()


def _kept_quote_id(quote_id: str, target: Target, plan, secret) -> str:
    """A quote id as the collector keeps it, as the admin API finds it: a phone number in it is its keyed hash
    (the secret read only then: any other id is kept as it is)."""
    r = redact.of(load_plan(plan))
    if r.keyed(quote_id, b"-") == quote_id:
        return quote_id
    return r.keyed(quote_id, read_secret(secret, getattr(target, "data_dir", Path("data"))))


@click.command("erase")
@click.option("--phone", default=None, help="The person who left this phone number (read in the plan's region).")
@click.option("--visitor", default=None, help="The person of this visitor id (the _pcid cookie).")
@click.option("--crm-id", "crm_id", default=None, help="The person of this CRM or quote id.")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@plan_option("The plan (identity keys, phone region) when no collector runs; a running collector uses its own.")
@secret_option("The collector's secret, to find a phone's key (when no collector runs) [default: <data-dir>/secret].")
@target_options
@format_option(("text", "json"), "text")
def erase(target: Target, phone, visitor, crm_id, dry_run, plan, secret, fmt):
    """The right to erasure: delete a person everywhere parcours keeps them (events, rejected events,
    conversions, rejected import lines, identity links, persons; the write-ahead log too), and record an
    audit row that holds no personal data. Prints what was removed."""
    given = {k: v for k, v in (("phone", phone), ("visitor", visitor), ("crm_id", crm_id)) if v}
    if len(given) != 1:
        raise click.UsageError("give one of --phone, --visitor or --crm-id")
    (kind, value), = given.items()

    def local(store):
        from collector.wal import idle

        logs = target.data_dir / "wal"
        waiting = idle.unstored(logs)
        if waiting and not dry_run:
            raise Problem(f"the write-ahead log in {logs} holds {waiting} record(s) not yet in ClickHouse: start "
                          "the collector (it stores them first), then erase through it")
        if not dry_run:  # rows even dead_letters refused, kept in a file: moved into the table first, or refused
            left = deadletters.DeadLetters(store, target.data_dir / deadletters.DIRECTORY, "").recover()
            if left:
                raise Problem(deadletters.not_moved(left))
        result = erase_mod.erase(store, load_plan(plan), read_secret(secret, target.data_dir), kind, value,
                                 dry_run=dry_run)
        if not dry_run:
            idle.purge_stored(logs)
        return result.as_dict()

    body = json.dumps({kind: value, "dry_run": dry_run}).encode()
    doc = target.run(Op("POST", "/api/erase", local, body=body, content_type="application/json"))
    if fmt == "json":
        click.echo(json.dumps(doc))
        return
    verb = "would remove" if doc["dry_run"] else "removed"
    whose = f"the person of this {kind.replace('_', ' ')} ({doc['keys']} key(s))" if doc["person"] else \
        f"this {kind.replace('_', ' ')} (no person: unknown, or left out as shared by many visitors)"
    click.echo(f"{verb} {whose}:")
    for table, n in doc["removed"].items():
        click.echo(f"  {table:<20} {n:>8} row(s)")
    for table, n in doc["cleared"].items():
        click.echo(f"  {table:<20} {n:>8} row(s) kept, the phone key cleared")
    if not doc["dry_run"]:
        click.echo("an audit row (no personal data) is in parcours.erasures" +
                   (f"; {doc['parts_left']} old part(s) still to be removed by ClickHouse" if doc["parts_left"] else ""))


_DEFAULT_FROM = {"google-ads": "90d", "meta": "7d"}
"""The default start of the period: Google takes clicks up to 90 days old (a (click, name, time) imported twice
counts once); Meta refuses events more than 7 days old."""


@click.command("conversions")
@click.argument("network", required=False, type=click.Choice(list(adnetworks.NETWORKS)))
@click.option("--from", "from_", metavar="WHEN", default=None,
              help="Start of the period of signature (included): 30d, 2026-11-01, 2026-11-01T08:00. "
                   "Default: 90d for google-ads, 7d for meta.")
@click.option("--to", "to", metavar="WHEN", default=None,
              help="End of the period (excluded), same forms. Default: now. (`--to google-ads` without NETWORK "
                   "names the network.)")
@click.option("--name", "conversion_name", default="Offline sale", show_default=True,
              help="google-ads: the name of the conversion action (of type import from clicks) to import into.")
@click.option("--event", "event_name", default="Purchase", show_default=True, help="meta: the event name sent.")
@click.option("--model", metavar="MODEL", default=None,
              help="Weight each sale's value by the credit this attribution model gives the touch of the click: "
                   "first_touch, last_touch, last_non_direct, linear, position_based, time_decay or markov. "
                   "Default: whole sales.")
@plan_option("The plan (time zone, lookback) when no collector runs; a running collector uses its own.")
@target_options
def export_conversions(target: Target, network, from_, to, conversion_name, event_name, model, plan):
    """Offline conversions for NETWORK (google-ads or meta): the sales whose buyer came from one of its ads
    (gclid, fbclid) within the lookback, in the file the network imports, on stdout; what was left out on
    stderr. What leaves: docs/adnetworks.md."""
    if network is None and to in adnetworks.NETWORKS:
        network, to = to, None
    if network is None:
        raise Problem(f"name the network: {' or '.join(adnetworks.NETWORKS)} (parcours export conversions google-ads)")
    from_ = from_ or _DEFAULT_FROM[network]
    params = {"network": network, "from": from_, "to": to, "name": conversion_name, "event": event_name,
              "model": model}
    doc = target.run(Op("GET", "/api/export/conversions", lambda store: adnetworks.export(
        store, load_plan(plan), network, parse_since(from_), parse_since(to or "0m"),
        conversion_name=conversion_name, event_name=event_name, model=model).as_dict(), params))
    _exported(doc, f"{doc['conversions']} conversion(s) for {network}, signed from {from_} to {to or 'now'}")


def _exported(doc: dict, said: str) -> None:
    """An export's file on stdout; on stderr, what it holds (`said`) and what was left out of it, and why."""
    sys.stdout.write(doc["content"])
    sys.stdout.flush()
    left = "".join(f"; {n} left out: {why}" for why, n in doc["left_out"].items())
    click.echo(f"{said}{left}", err=True)


@click.command("retractions")
@click.argument("network", type=click.Choice(["google-ads"]))
@click.option("--from", "from_", metavar="WHEN", default="90d", show_default=True,
              help="Start of the period of cancellation (included): 30d, 2026-11-01, 2026-11-01T08:00.")
@click.option("--to", "to", metavar="WHEN", default=None, help="End of the period (excluded), same forms. Default: now.")
@click.option("--name", "conversion_name", default="Offline sale", show_default=True,
              help="The name of the conversion action the sales were imported into (as `export conversions --name`).")
@plan_option("The plan (time zone, lookback) when no collector runs; a running collector uses its own.")
@target_options
def export_retractions(target: Target, network, from_, to, conversion_name, plan):
    """Retractions for NETWORK (google-ads): the sales cancelled in the period that `export conversions` sends,
    as Google Ads' conversion adjustments file (RETRACT), on stdout; what was left out on stderr. Upload it in
    Google Ads so the network stops counting them. What leaves: docs/adnetworks.md."""
    params = {"network": network, "from": from_, "to": to, "name": conversion_name}
    doc = target.run(Op("GET", "/api/export/retractions", lambda store: adnetworks.retractions(
        store, load_plan(plan), network, parse_since(from_), parse_since(to or "0m"),
        conversion_name=conversion_name).as_dict(), params))
    _exported(doc, f"{doc['conversions']} retraction(s) for {network}, cancelled from {from_} to {to or 'now'}")
