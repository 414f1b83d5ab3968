"""The `parcours` command: serve the collector, query ClickHouse, check plans."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import click

from collector import settings as settings_mod
from collector.storage import EngineBusy, QueryResult, Store, StoreError, default_dsn
from tagplan import PlanErrors
from tagplan.cli import plan

_DATA_DIR = click.option("--data-dir", envvar="PARCOURS_DATA", default="data", show_default=True,
                         help="Directory for the embedded ClickHouse data, generated secrets and the discovery file.")
_DATABASE = click.option("--database", envvar="PARCOURS_DATABASE", default="parcours", show_default=True,
                         help="ClickHouse database holding the events and rejected_events tables.")
_CLICKHOUSE = click.option("--clickhouse", envvar="PARCOURS_CLICKHOUSE", default=None,
                           help="ClickHouse DSN: chdb:///path (embedded, default <data-dir>/clickhouse) "
                                "or http://user:pass@host:8123 for a server.")


@click.group()
@click.version_option(package_name="parcours")
def main() -> None:
    """parcours: track omnichannel customer journeys into ClickHouse."""


main.add_command(plan)


def _durability_options(f):
    """The write-ahead log, batch writer, process and logging settings of `serve` (docs/operations.md)."""
    options = [
        click.option("--wal-dir", envvar="PARCOURS_WAL_DIR", default=None, type=click.Path(file_okay=False),
                     help="Write-ahead log directory (one sub-directory per worker) [default: <data-dir>/wal]."),
        click.option("--wal-max-bytes", envvar="PARCOURS_WAL_MAX_BYTES", default=1 << 30, show_default=True,
                     type=click.IntRange(1 << 16), help="Log cap: past it, POST /collect answers 503 + Retry-After "
                     "until ClickHouse catches up."),
        click.option("--wal-segment-bytes", envvar="PARCOURS_WAL_SEGMENT_BYTES", default=16 << 20, show_default=True,
                     type=click.IntRange(1 << 12), help="Size of a log segment file (deleted once stored)."),
        click.option("--wal-fsync/--no-wal-fsync", envvar="PARCOURS_WAL_FSYNC", default=True, show_default=True,
                     help="fsync each group commit before answering. Turn off only if losing the last "
                          "accepted events on power loss is acceptable."),
        click.option("--batch-rows", envvar="PARCOURS_BATCH_ROWS", default=5000, show_default=True,
                     type=click.IntRange(1), help="Insert into ClickHouse once this many rows are waiting..."),
        click.option("--batch-age", envvar="PARCOURS_BATCH_AGE", default=1.0, show_default=True,
                     type=click.FloatRange(0), help="...or once the oldest waiting row is this many seconds old."),
        click.option("--retry-max", envvar="PARCOURS_RETRY_MAX", default=30.0, show_default=True,
                     type=click.FloatRange(0.1), help="Longest wait between retries of a failing insert "
                     "(exponential backoff from 0.2 s)."),
        click.option("--retry-after", envvar="PARCOURS_RETRY_AFTER", default=5, show_default=True,
                     type=click.IntRange(1), help="Seconds sent in Retry-After with a 503."),
        click.option("--shutdown-timeout", envvar="PARCOURS_SHUTDOWN_TIMEOUT", default=30.0, show_default=True,
                     type=click.FloatRange(0), help="On stop, how long to keep flushing the log into ClickHouse "
                     "(what is left is replayed at the next start)."),
        click.option("--workers", envvar="PARCOURS_WORKERS", default=1, show_default=True, type=click.IntRange(1),
                     help="Worker processes, each with its own log and writer; more than 1 needs a ClickHouse "
                          "server (the embedded engine belongs to one process)."),
        click.option("--log-format", envvar="PARCOURS_LOG_FORMAT", default="text", show_default=True,
                     type=click.Choice(["text", "json"]), help="Log lines for people, or JSON lines."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@main.command()
@click.option("--plan", envvar="PARCOURS_PLAN", default="parcours.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="The tagging plan (YAML).")
@click.option("--host", envvar="PARCOURS_HOST", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", envvar="PARCOURS_PORT", default=8000, show_default=True, type=int, help="Port to listen on.")
@_DATA_DIR
@_CLICKHOUSE
@_DATABASE
@click.option("--admin-token", envvar="PARCOURS_ADMIN_TOKEN", default=None,
              help="Bearer token for the admin API; generated into <data-dir>/admin-token when unset.")
@click.option("--secret", envvar="PARCOURS_SECRET", default=None,
              help="Server secret keying the HMAC of phone numbers (required outside --demo).")
@click.option("--demo", is_flag=True, envvar="PARCOURS_DEMO", help="Demo mode: generate a missing secret in the data directory.")
@click.option("--site-dir", envvar="PARCOURS_SITE_DIR", default=None, type=click.Path(file_okay=False, exists=True),
              help="A static site to serve under /demo/ (e.g. examples/demo-site).")
@click.option("--ip-v4-bits", envvar="PARCOURS_IP_V4_BITS", default=24, show_default=True, type=click.IntRange(0, 32),
              help="Bits of IPv4 addresses kept, the rest zeroed; 0 stores none, 32 stores whole addresses "
                   "(they identify visitors: only with a legal basis; a warning is logged).")
@click.option("--ip-v6-bits", envvar="PARCOURS_IP_V6_BITS", default=48, show_default=True, type=click.IntRange(0, 128),
              help="Bits of IPv6 addresses kept; 128 stores whole addresses.")
@click.option("--max-body", envvar="PARCOURS_MAX_BODY", default=1_000_000, show_default=True, type=click.IntRange(1024),
              help="Largest POST /collect body in bytes, also once gunzipped (413 above).")
@click.option("--max-event", envvar="PARCOURS_MAX_EVENT", default=32_768, show_default=True, type=click.IntRange(256),
              help="Largest single event in bytes; a larger one is stored as rejected, the rest of its batch kept.")
@click.option("--tag-path", envvar="PARCOURS_TAG_PATH", default="/t.js", show_default=True,
              help="Path serving the tag, e.g. /p/a.js for a first-party proxy with an unremarkable name.")
@click.option("--collect-path", envvar="PARCOURS_COLLECT_PATH", default="/collect", show_default=True,
              help="Path receiving events (POST) and the pixel (GET), e.g. /p/e; the tag is told it.")
@click.option("--cluster", envvar="PARCOURS_CLUSTER", default=None,
              help="ClickHouse cluster name: migrations run ON CLUSTER with replicated tables behind "
                   "Distributed ones (ClickHouse server only; see docs/scaling.md).")
@click.option("--log-level", envvar="PARCOURS_LOG_LEVEL", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]), help="Least severe log messages shown.")
@_durability_options
def serve(plan, host, port, data_dir, clickhouse, database, admin_token, secret, demo, site_dir, ip_v4_bits, ip_v6_bits,
          max_body, max_event, tag_path, collect_path, cluster, log_level, wal_dir, **durable):
    """Run the collector: serves /t.js, receives events at /collect, writes them to ClickHouse."""
    import uvicorn

    from collector import logs
    from collector.app import create_app, migrate, settings_env

    logs.configure(log_level, durable["log_format"])
    try:
        settings = settings_mod.build(
            plan=plan, data_dir=data_dir, clickhouse=clickhouse, admin_token=admin_token, secret=secret, demo=demo,
            database=database, host=host, port=port, site_dir=Path(site_dir) if site_dir else None,
            ip_v4_bits=ip_v4_bits, ip_v6_bits=ip_v6_bits, max_body=max_body, max_event=max_event,
            tag_path=tag_path, collect_path=collect_path, cluster=cluster, log_level=log_level,
            wal_dir=Path(wal_dir).resolve() if wal_dir else None, **durable,
        )
        app = create_app(settings)
    except settings_mod.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except PlanErrors as exc:
        raise click.ClickException(f"the plan has errors:\n{exc}") from None
    if settings.workers > 1:
        try:
            migrate(settings)  # here, once: the workers start together
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        # Each worker builds its own app (and log, and writer) from the settings passed in the environment.
        os.environ.update(settings_env(settings))
        uvicorn.run("collector.app:app_from_env", factory=True, host=host, port=port, workers=settings.workers,
                    log_level=log_level, log_config=None, access_log=False)
    else:
        uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None, access_log=False)


for _param in serve.params:
    _param.show_envvar = True  # `parcours serve --help` lists every environment variable


@main.command()
@click.argument("statement")
@_DATA_DIR
@_CLICKHOUSE
@click.option("--url", envvar="PARCOURS_URL", default=None,
              help="A running collector's URL; by default the one that owns <data-dir>, if any.")
@click.option("--admin-token", envvar="PARCOURS_ADMIN_TOKEN", default=None,
              help="Admin token of the running collector (default: <data-dir>/admin-token).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "tsv"]), default="table", show_default=True)
def sql(statement, data_dir, clickhouse, url, admin_token, fmt):
    """Run a read-only SQL query and print the rows.

    Goes through the running collector's admin API when one owns the data,
    otherwise opens the embedded engine (or the ClickHouse server) directly.
    """
    data = Path(data_dir)
    url = url or _running_collector(data)
    try:
        if url:
            token = admin_token or _read(data / "admin-token")
            result = _remote_sql(url, token, statement)
        else:
            store = Store(clickhouse or default_dsn(data))
            try:
                result = _as_json_values(store.query(statement, readonly=True))
            finally:
                store.close()
    except (StoreError, EngineBusy) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_result(result, fmt), nl=False)


def _as_json_values(result: QueryResult) -> QueryResult:
    """Values as the admin API sends them (ISO times, UUID text), so both paths print the same."""
    import msgspec

    return QueryResult(result.columns, msgspec.json.decode(msgspec.json.encode(result.rows, enc_hook=str)))


def _running_collector(data: Path) -> str | None:
    try:
        info = json.loads((data / "collector.json").read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info["url"]


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        raise click.ClickException(f"no admin token: set PARCOURS_ADMIN_TOKEN or --admin-token ({path} not readable)") from None


def _remote_sql(url: str, token: str, statement: str) -> QueryResult:
    doc = json.loads(admin_call(url, token, "POST", "/api/sql", statement.encode()))
    return QueryResult(doc["columns"], doc["rows"])


def admin_call(url: str, token: str, method: str, path: str, body: bytes | None = None) -> bytes:
    """One admin API request to a running collector; its JSON error becomes a StoreError."""
    req = urllib.request.Request(f"{url.rstrip('/')}{path}", data=body, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]
        except (ValueError, KeyError):
            message = exc.reason
        raise StoreError(f"{url}: {message}") from None
    except urllib.error.URLError as exc:
        raise StoreError(f"cannot reach the collector at {url}: {exc.reason}") from None


def format_result(result: QueryResult, fmt: str) -> str:
    """Rows as an aligned text table, JSON lines or TSV."""
    if fmt == "json":
        return "".join(json.dumps(dict(zip(result.columns, row)), default=str, ensure_ascii=False) + "\n"
                       for row in result.rows)
    cells = [[_cell(v) for v in row] for row in result.rows]
    if fmt == "tsv":
        return "".join("\t".join(r) + "\n" for r in [result.columns, *cells])
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    out = [" | ".join(c.ljust(w) for c, w in zip(result.columns, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out) + "\n"


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


@main.command()
@click.option("--collector", "collector_url", required=True, help="Base URL of the collector, or a same-origin path like /p.")
@click.option("--tag-path", envvar="PARCOURS_TAG_PATH", default="/t.js", show_default=True, help="The collector's --tag-path.")
@click.option("--collect-path", envvar="PARCOURS_COLLECT_PATH", default="/collect", show_default=True,
              help="The collector's --collect-path.")
def snippet(collector_url, tag_path, collect_path):
    """Print the install snippet to paste into every page's <head>, and the pixel for pages without JavaScript."""
    base = collector_url.rstrip("/")
    click.echo(SNIPPET.format(src=f"{base}{tag_path}", pixel=f"{base}{collect_path}?e=page_view"))


SNIPPET = """<script>window.parcours=window.parcours||function(){{(parcours.q=parcours.q||[]).push(arguments)}};</script>
<script async src="{src}"></script>
<!-- optional, first thing in <body>: counts visitors without JavaScript -->
<noscript><img src="{pixel}" alt="" width="1" height="1" style="position:absolute"></noscript>"""


from collector.admin_cli import export, rejected, schema  # noqa: E402  (they use the helpers above)

main.add_command(rejected)
main.add_command(export)
main.add_command(schema)

from journeys.cli import report  # noqa: E402  (it uses the helpers above)

main.add_command(report)
