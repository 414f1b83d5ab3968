"""`parcours import conversions|brokers|costs FILE` and `parcours import rejects`.

Each import states its work once (target.Op): through the running collector's admin API, which reads the
file with its own plan and secret, or on ClickHouse opened here with `--plan` and `--secret`. Either way the
import reports JSON lines of progress then its summary (imports.ndjson), which this module prints: the
summary on stdout, rejected lines on stderr as `FILE:LINE: reason`, progress on stderr.

Exit status: 0 when every line is in, 2 when some lines were rejected (the others are imported), 1 when the
file could not be imported at all.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from collector.errors import Problem
from collector.options import format_option, load_plan, plan_option, read_secret, secret_option, target_options
from collector.output import as_result, format_result
from collector.target import Op, Target
from journeys import brokers, conversions, costs, event_conversions, imports, persons
from journeys.imports import Context

KINDS = {
    "conversions": (conversions, "/api/conversions", "Offline sales (signed contracts)"),
    "brokers": (brokers, "/api/brokers", "The broker and adviser table"),
    "costs": (costs, "/api/costs", "Campaign costs per day"),
}


@click.group("import")
def import_group() -> None:
    """Offline data in: sales, the broker table, campaign costs; and the lines they rejected."""


def _import_command(kind: str) -> click.Command:
    module, path, what = KINDS[kind]

    @click.argument("file", type=click.File("rb"))
    @click.option("--profile", default=None,
                  help="An import profile of the plan (imports: in the plan), for a file in a partner's shape; "
                       "without it, the canonical format (docs/reconciliation.md).")
    @click.option("--source", default=None, help="The name recorded as each row's source [default: FILE's name].")
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
        for reason in reject["reasons"]:
            click.echo(f"{source}:{reject['line']}: {reason}", err=True)
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
@plan_option("The plan with the identity keys (when no collector runs; a running collector uses its own).")
@target_options
@format_option(("text", "json"), "text")
def stitch(target: Target, plan, fmt):
    """Take in now the links stored since the last run (idempotent: a second run writes nothing)."""
    doc = target.run(Op("POST", "/api/persons/stitch", lambda store: _turn(store, load_plan(plan))))
    if fmt == "json":
        click.echo(json.dumps(doc))
        return
    click.echo(f"{doc['links']} link(s) read, {doc['keys_written']} key(s) written, {doc['merges']} merge(s), "
               f"{doc['hot_keys']} key(s) left out, in {doc['seconds']} s (up to {doc['watermark']})")


def _turn(store, plan) -> dict:
    """What the collector's background turn does: the sales recorded as events (their phones are keys
    already: no secret needed), then stitching."""
    event_conversions.sync(store, Context(plan, b""))
    return persons.stitch(store, persons.config(plan)).as_dict()


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
