"""Commands on the stored data: `parcours sql`, `rejected summary|replay`, `export`, `schema`.

Each states its work once, as a `target.Op`, and runs it on the `target` its options give: the running
collector's admin API, or ClickHouse opened here (see target.py for how a new command plugs in).
"""

from __future__ import annotations

import json
import re
import sys

import click

from collector import admin
from collector import export as export_mod
from collector import rejected as rejected_mod
from collector import schema as schema_mod
from collector.options import (CLUSTER, DATABASE, format_option, load_plan, plan_option, read_secret,
                               secret_option, since_option, target_options)
from collector.output import as_result, format_result, short
from collector.since import parse_since
from collector.target import Op, Target


_CLIENT_PARAMETER = re.compile(r"--param_(\w+)(?:=(.*))?", re.S)


class _SqlCommand(click.Command):
    """Also takes clickhouse-client's spelling of a parameter, `--param_NAME=VALUE` (or `--param_NAME VALUE`),
    as `--param NAME=VALUE`: click knows no option whose name holds the parameter's."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out, rest = [], list(args)
        while rest:
            arg = rest.pop(0)
            if arg == "--":  # what follows is the statement, whatever it looks like
                out += [arg, *rest]
                break
            given = _CLIENT_PARAMETER.fullmatch(arg)
            if given is None:
                out.append(arg)
                continue
            value = given.group(2)
            if value is None:
                if not rest:
                    raise click.BadOptionUsage(arg, f"{arg} needs a value: {arg}=VALUE", ctx)
                value = rest.pop(0)
            out += ["--param", f"{given.group(1)}={value}"]
        return super().parse_args(ctx, out)


def _parameters(ctx: click.Context, option: click.Parameter, given: tuple[str, ...]) -> dict[str, str]:
    """--param's NAME=VALUE pairs, each name once."""
    out: dict[str, str] = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise click.BadParameter(f'"{item[:64]}" is not NAME=VALUE (e.g. --param "from=2026-10-01 00:00:00")')
        if name in out:
            raise click.BadParameter(f'"{name[:64]}" given twice; give each one once')
        out[name] = value
    return out


# ignore_unknown_options: a statement may begin with a `--` comment
@click.command(cls=_SqlCommand, context_settings={"ignore_unknown_options": True})
@click.argument("statement")
@click.option("--param", "parameters", metavar="NAME=VALUE", multiple=True, callback=_parameters,
              help="The value of the statement's parameter {NAME:Type}, written as clickhouse-client's "
                   "--param_NAME=VALUE takes it (that spelling is taken too), bound by ClickHouse, never written "
                   "into the SQL; once per parameter.")
@target_options
@format_option()
def sql(target: Target, statement, parameters, fmt):
    """Run one read-only SQL STATEMENT and print the rows; `-` reads it from standard input (a file's SQL:
    `parcours sql - < query.sql`). A report's SQL runs with its parameters given: `parcours sql
    --param "from=2026-10-01 00:00:00" … - < journeys/reports/levers.sql`, or as `parcours report NAME --sql`
    prints them, `SET param_NAME = '…';` lines before it: `parcours report levers --sql | parcours sql -`
    (docs/analysts.md)."""
    if statement == "-":
        statement = sys.stdin.read()
    doc = target.run(Op("POST", "/api/sql", lambda store: admin.query(store, statement, parameters),
                        {admin.PARAMETER + name: value for name, value in parameters.items()},
                        body=statement.encode()))
    click.echo(format_result(as_result(doc), fmt), nl=False)


@click.group()
def rejected() -> None:
    """What the plan refused: a summary by reason, and replay after the plan is fixed."""


@rejected.command()
@since_option()
@target_options
@format_option()
def summary(target: Target, since, fmt):
    """Rejections grouped by reason: how many, replayed since, first and last seen, an example event."""
    result = as_result(target.run(Op("GET", "/api/rejected/summary",
                                     lambda store: rejected_mod.summary(store, parse_since(since)),
                                     {"since": since})))
    if fmt == "table":  # the example is for reading one at a time: keep the table narrow
        ex = result.columns.index("example")
        result.rows = [[*r[:ex], short(r[ex]), *r[ex + 1:]] for r in result.rows]
    click.echo(format_result(result, fmt), nl=False)


@rejected.command()
@since_option(required=True, help="Replay the events rejected since then.")
@click.option("--dry-run", is_flag=True, help="Count what would be replayed; change nothing.")
@plan_option("The fixed plan (when no collector runs; a running collector uses its own).")
@secret_option("The collector's secret, for the phone keys (when no collector runs) "
               "[default: <data-dir>/secret].")
@target_options
@format_option(("text", "json"), "text", "How to print: a summary for people, or one JSON document.")
def replay(target: Target, since, dry_run, plan, secret, fmt):
    """Re-validate rejected events against the current plan; move those that pass into events, once."""
    doc = target.run(Op(
        "POST", "/api/rejected/replay",
        lambda store: rejected_mod.replay(store, load_plan(plan), read_secret(secret, target.data_dir),
                                          parse_since(since), dry_run),
        {"since": since, "dry_run": "true" if dry_run else None}))
    if fmt == "json":
        click.echo(json.dumps(doc))
        return
    verb = "would replay" if doc["dry_run"] else "replayed"
    still = sum(doc["still_rejected"].values())
    click.echo(f"{verb} {doc['replayed']} of {doc['considered']} rejected events; "
               f"{still} still rejected, {doc['already_in_events']} already in events")
    for reason, count in doc["still_rejected"].items():
        click.echo(f"  {count:>6}  {reason}")
    if doc.get("dead_letters"):
        refused = sum(doc["dead_letters_refused"].values())
        click.echo(f"{doc['dead_letters']} row(s) ClickHouse refused (dead_letters): "
                   + ("a dry run does not try them" if doc["dry_run"] else
                      f"{doc['dead_letters_stored']} stored now, {refused} still refused"))
        for error, count in doc["dead_letters_refused"].items():
            click.echo(f"  {count:>6}  {error}")


@click.group(invoke_without_command=True)
@click.option("--table", type=click.Choice(list(export_mod.TABLES)), default="events", show_default=True,
              help="The table to export (events deduplicated: one row per event).")
@since_option(help="Start of the period, by time received. Default: everything.")
@click.option("--until", default="", help="End of the period (excluded), same forms as --since. Default: now.")
@click.option("--format", "fmt", type=click.Choice(list(export_mod.FORMATS)), default="csv", show_default=True,
              help="CSV with a header line, or JSON lines.")
@target_options
@click.pass_context
def export(ctx: click.Context, target: Target, table, since, until, fmt):
    """Write a table's rows received in a period to stdout, oldest first; or, with a sub-command, data for
    another tool (`export conversions`: offline conversions for an ad network)."""
    if ctx.invoked_subcommand is not None:
        return
    out = sys.stdout.buffer
    for chunk in target.stream(Op(
            "GET", "/api/export",
            lambda store: export_mod.chunks(store, table, fmt, parse_since(since),
                                            parse_since(until) if until else None),
            {"table": table, "since": since or None, "until": until or None, "format": fmt})):
        out.write(chunk)
    out.flush()


@click.command()
@CLUSTER
@DATABASE
def schema(cluster, database):
    """Print the DDL the migrations run, for a DBA to review (one server, or --cluster NAME)."""
    for statement in schema_mod.full_ddl(database, cluster):
        click.echo(statement + ";\n")
