"""Commands on the stored data: `parcours rejected summary|replay`, `parcours export`, `parcours schema`.

Like `parcours sql`, each goes through the running collector's admin API when one owns the data
(the embedded engine allows one process), and opens the engine or the server directly otherwise.
"""

from __future__ import annotations

import contextlib
import json
import sys
import urllib.parse
from pathlib import Path

import click

from collector import export as export_mod
from collector import rejected as rejected_mod
from collector import schema as schema_mod
from collector.cli import _CLICKHOUSE, _DATA_DIR, _as_json_values, _read, _running_collector, admin_call, format_result
from collector.since import BadTime, parse_since
from collector.storage import EngineBusy, QueryResult, Store, StoreError, default_dsn

_URL = click.option("--url", envvar="PARCOURS_URL", default=None,
                    help="A running collector's URL; by default the one that owns <data-dir>, if any.")
_TOKEN = click.option("--admin-token", envvar="PARCOURS_ADMIN_TOKEN", default=None,
                      help="Admin token of the running collector (default: <data-dir>/admin-token).")
_SINCE_HELP = "A duration ago (90m, 24h, 7d, 2w), a date (2026-11-20) or a UTC datetime (2026-11-20T08:00)."


class _Remote:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def call(self, method: str, path: str, **params) -> bytes:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return admin_call(self.url, self.token, method, f"{path}?{query}")


@contextlib.contextmanager
def _target(data_dir: str, clickhouse: str | None, url: str | None, token: str | None):
    """The running collector (as a _Remote) or the store opened directly; errors become CLI errors."""
    data = Path(data_dir)
    url = url or _running_collector(data)
    try:
        if url:
            yield _Remote(url, token or _read(data / "admin-token"))
            return
        store = Store(clickhouse or default_dsn(data))
        try:
            store.migrate()  # an older data directory gets the columns replay needs
            yield store
        finally:
            store.close()
    except (StoreError, EngineBusy, BadTime, export_mod.BadExport) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def rejected() -> None:
    """What the plan refused: a summary by reason, and replay after the plan is fixed."""


@rejected.command()
@click.option("--since", default="", help=_SINCE_HELP + " Default: everything.")
@_DATA_DIR
@_CLICKHOUSE
@_URL
@_TOKEN
@click.option("--format", "fmt", type=click.Choice(["table", "json", "tsv"]), default="table", show_default=True)
def summary(since, data_dir, clickhouse, url, admin_token, fmt):
    """Rejections grouped by reason: how many, replayed since, first and last seen, an example event."""
    with _target(data_dir, clickhouse, url, admin_token) as target:
        if isinstance(target, _Remote):
            doc = json.loads(target.call("GET", "/api/rejected/summary", since=since))
            result = QueryResult(doc["columns"], doc["rows"])
        else:
            result = _as_json_values(rejected_mod.summary(target, parse_since(since)))
    if fmt == "table":  # the example is for reading one at a time: keep the table narrow
        ex = result.columns.index("example")
        result = QueryResult(result.columns, [[*r[:ex], _short(r[ex]), *r[ex + 1:]] for r in result.rows])
    click.echo(format_result(result, fmt), nl=False)


@rejected.command()
@click.option("--since", required=True, help=_SINCE_HELP)
@click.option("--dry-run", is_flag=True, help="Count what would be replayed; change nothing.")
@click.option("--plan", envvar="PARCOURS_PLAN", default="parcours.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="The fixed plan (used when no collector runs; a running collector uses its own).")
@click.option("--secret", envvar="PARCOURS_SECRET", default=None,
              help="The collector's secret (when no collector runs; default: <data-dir>/secret).")
@_DATA_DIR
@_CLICKHOUSE
@_URL
@_TOKEN
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def replay(since, dry_run, plan, secret, data_dir, clickhouse, url, admin_token, fmt):
    """Re-validate rejected events against the current plan; move those that pass into events, once."""
    with _target(data_dir, clickhouse, url, admin_token) as target:
        if isinstance(target, _Remote):
            doc = json.loads(target.call("POST", "/api/rejected/replay", since=since,
                                         dry_run="true" if dry_run else None))
        else:
            compiled = _load_plan(plan)
            key = (secret or _read_secret(Path(data_dir))).encode()
            doc = rejected_mod.replay(target, compiled, key, parse_since(since), dry_run).as_dict()
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


@click.command()
@click.option("--table", type=click.Choice(list(export_mod.TABLES)), default="events", show_default=True)
@click.option("--since", default="", help=_SINCE_HELP + " Default: everything.")
@click.option("--until", default="", help="End of the period (excluded), same forms as --since. Default: now.")
@click.option("--format", "fmt", type=click.Choice(list(export_mod.FORMATS)), default="csv", show_default=True)
@_DATA_DIR
@_CLICKHOUSE
@_URL
@_TOKEN
def export(table, since, until, fmt, data_dir, clickhouse, url, admin_token):
    """Write a table's rows received in a period to stdout, as CSV or JSON lines (events deduplicated)."""
    out = sys.stdout.buffer
    with _target(data_dir, clickhouse, url, admin_token) as target:
        if isinstance(target, _Remote):
            out.write(target.call("GET", "/api/export", table=table, since=since or None, until=until or None,
                                  format=fmt))
        else:
            for chunk in export_mod.chunks(target, table, fmt, parse_since(since),
                                           parse_since(until) if until else None):
                out.write(chunk)
    out.flush()


@click.command()
@click.option("--cluster", envvar="PARCOURS_CLUSTER", default=None, help="Print the ON CLUSTER variant for this cluster.")
@click.option("--database", envvar="PARCOURS_DATABASE", default="parcours", show_default=True)
def schema(cluster, database):
    """Print the DDL the migrations run, for a DBA to review (one server, or --cluster NAME)."""
    for statement in schema_mod.full_ddl(database, cluster):
        click.echo(statement + ";\n")


def _short(value, width: int = 80) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _load_plan(path: str):
    from tagplan import PlanErrors, compile_plan, load_plan

    try:
        return compile_plan(load_plan(Path(path)))
    except PlanErrors as exc:
        raise click.ClickException(f"the plan has errors:\n{exc}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot read the plan {path}: {exc.strerror}") from None


def _read_secret(data: Path) -> str:
    try:
        return (data / "secret").read_text().strip()
    except OSError:
        raise click.ClickException("no secret: set PARCOURS_SECRET or --secret to the collector's "
                                   f"(replayed phone keys must match; {data / 'secret'} not readable)") from None
