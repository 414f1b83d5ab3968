"""The `parcours` command: serve the collector, print the tag snippet; the other commands are registered here.

A command from another module is added to `main` below (its module must not import this one). Commands on
the stored data take a `target` (options.target_options, target.py): one `Op`, whichever way it runs.
A `Problem` raised by a command is printed as `Error: <message>` with exit status 1, never a traceback.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import click

from collector import discovery
from collector import settings as settings_mod
from collector.admin_cli import export, rejected, schema, sql
from collector.errors import Problem
from collector.options import ADMIN_TOKEN, CLICKHOUSE, CLUSTER, DATA_DIR, DATABASE, plan_option, secret_option
from collector.segment.admin import keys_group
from collector.storage import EngineBusy, Store, embedded_in_use, is_embedded
from callcentre.cli import COMMANDS as CALLCENTRE_COMMANDS
from collector.users_cli import users
from journeys.cli import erase, export_conversions, export_retractions, import_group, persons_group, report
from journeys.demo_cli import demo_group
from tagplan import PlanErrors
from tagplan.cli import plan


class _Main(click.Group):
    """The `parcours` group: a Problem raised by any command is printed as one sentence (exit 1)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Problem as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Main)
@click.version_option(package_name="parcours")
def main() -> None:
    """parcours: track omnichannel customer journeys into ClickHouse."""


for _command in (plan, sql, rejected, export, schema, import_group, persons_group, erase, demo_group, users,
                 keys_group, report, *CALLCENTRE_COMMANDS):
    main.add_command(_command)
export.add_command(export_conversions)
export.add_command(export_retractions)


def _setting(flag: str, default: object, **kw):
    """An option of `serve` (and `snippet`) that is a collector setting: read from the environment variable
    PARCOURS_ and its name (`--wal-dir`: PARCOURS_WAL_DIR), its default shown in the help."""
    name = flag.split("/")[0].removeprefix("--").replace("-", "_").upper()
    return click.option(flag, envvar=f"PARCOURS_{name}", default=default,
                        show_default=True if default is not None else None, **kw)


def _durability_options(f):
    """The write-ahead log, batch writer, process and logging settings of `serve` (docs/operations.md)."""
    options = [
        _setting("--wal-dir", None, type=click.Path(file_okay=False),
                 help="Write-ahead log directory (one sub-directory per worker) [default: <data-dir>/wal]."),
        _setting("--wal-max-bytes", 1 << 30, type=click.IntRange(1 << 16),
                 help="Log cap: past it, POST /collect answers 503 + Retry-After until ClickHouse catches up."),
        _setting("--wal-segment-bytes", 16 << 20, type=click.IntRange(1 << 12),
                 help="Size of a log segment file (deleted once stored)."),
        _setting("--wal-fsync/--no-wal-fsync", True,
                 help="fsync each group commit before answering. Turn off only if losing the last "
                      "accepted events on power loss is acceptable."),
        _setting("--batch-rows", 5000, type=click.IntRange(1),
                 help="Insert into ClickHouse once this many rows are waiting..."),
        _setting("--batch-age", 1.0, type=click.FloatRange(0),
                 help="...or once the oldest waiting row is this many seconds old."),
        _setting("--retry-max", 30.0, type=click.FloatRange(0.1),
                 help="Longest wait between retries of a failing insert (exponential backoff from 0.2 s)."),
        _setting("--retry-after", 5, type=click.IntRange(1), help="Seconds sent in Retry-After with a 503."),
        _setting("--shutdown-timeout", 30.0, type=click.FloatRange(0),
                 help="On stop, how long to wait for the requests being answered (then they are cut off and "
                      "their queries stopped), then how long to keep flushing the log into ClickHouse "
                      "(what is left is replayed at the next start)."),
        _setting("--workers", 1, type=click.IntRange(1),
                 help="Worker processes, each with its own log and writer; more than 1 needs a ClickHouse "
                      "server (the embedded engine belongs to one process)."),
        _setting("--background/--no-background", True,
                 help="Do the background work here (in the first worker): identity stitching, the closing runs "
                      "of sessions, the leads webhook's deliveries, the call-back phones' purge. Several "
                      "collectors on one ClickHouse server or cluster: leave it on in one of them only."),
        _setting("--report-memory", 64, type=click.IntRange(0),
                 help="Megabytes of reports' answers kept in memory while the data they were read from is "
                      "unchanged (journeys/reports/results.py): a view opened again comes at once. 0: every call "
                      "computed."),
        _setting("--log-format", "text", type=click.Choice(["text", "json"]),
                 help="Log lines for people, or JSON lines."),
        _setting("--header-timeout", 10.0, type=click.FloatRange(0.1),
                 help="Seconds a client has, from opening a connection (or from the first byte of its next "
                      "request), to send a request's headers; then 408 and close."),
        _setting("--body-timeout", 30.0, type=click.FloatRange(0.1),
                 help="Seconds a client has to send a request's body once its headers are in; then 408 and close."),
        _setting("--keep-alive", 5.0, type=click.FloatRange(0.1),
                 help="Seconds an idle keep-alive connection stays open."),
        _setting("--max-connections", 4096, type=click.IntRange(1),
                 help="Open connections per process (lowered to what the open-file limit allows); over it, the "
                      "connection idle longest is closed, or, all busy, the new one gets 503."),
        _setting("--clickhouse-connect-timeout", 5, type=click.IntRange(1),
                 help="Seconds to connect to a ClickHouse server."),
        _setting("--clickhouse-timeout", 30, type=click.IntRange(1),
                 help="Seconds a ClickHouse server has to take an insert and answer it (then the insert is retried)."),
        _setting("--query-timeout", 60, type=click.IntRange(1),
                 help="Default max_execution_time of analysts' SQL (POST /api/sql), exports and summaries (a "
                      "statement may set its own), and the bound of each query of a report asked for over the API."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@main.command()
@plan_option("The tagging plan (YAML).")
@_setting("--host", "127.0.0.1", help="Address to listen on.")
@_setting("--port", 8000, type=int, help="Port to listen on.")
@DATA_DIR
@CLICKHOUSE
@DATABASE
@ADMIN_TOKEN
@secret_option("Server secret keying the HMAC of phone numbers (required outside --demo).")
@click.option("--demo", is_flag=True, envvar="PARCOURS_DEMO", help="Demo mode: generate a missing secret in the data directory.")
@_setting("--leads-key", None,
          help="Key sealing the phones of call-back leads (AES-256-GCM; 64 hex digits, e.g. `openssl rand -hex "
               "32`; several, comma-separated: the first seals, all open). Never the secret. Without a usable one, a "
               "plan's call_centre.leads are off (one line says so; events are stored as usual). Generated in --demo "
               "mode.")
@_setting("--leads-webhook", None,
          help="URL receiving each call-back lead as it qualifies (a signed POST, docs/call-centre.md); none: "
               "leads are listed by `parcours leads` only.")
@_setting("--leads-webhook-secret", None,
          help="Secret signing the webhook's deliveries (HMAC-SHA256), shared with the receiving tool; "
               "required with --leads-webhook (generated in --demo mode).")
@_setting("--site-dir", None, type=click.Path(file_okay=False, exists=True),
          help="A static site to serve under /demo/ (e.g. examples/demo-site).")
@_setting("--ip-v4-bits", 24, type=click.IntRange(0, 32),
          help="Bits of IPv4 addresses kept, the rest zeroed; 0 stores none, 32 stores whole addresses "
               "(they identify visitors: only with a legal basis; a warning is logged).")
@_setting("--ip-v6-bits", 48, type=click.IntRange(0, 128),
          help="Bits of IPv6 addresses kept; 128 stores whole addresses.")
@_setting("--max-body", 1_000_000, type=click.IntRange(1024),
          help="Largest POST /collect body in bytes, also once gunzipped (413 above).")
@_setting("--max-event", 32_768, type=click.IntRange(256),
          help="Largest single event in bytes; a larger one is stored as rejected, the rest of its batch kept.")
@_setting("--source-rate", 1000, type=click.IntRange(1),
          help="Events a second one server source may send through the Segment-compatible API (/v1/…); "
               "beyond, 429 + Retry-After.")
@_setting("--max-event-age", 30, type=click.IntRange(1),
          help="Days an event may wait on the device before it is sent; an older one is kept in rejected_events, "
               "and a device time further in the past is replaced by the corrected time.")
@_setting("--max-clock-ahead", 24, type=click.IntRange(0),
          help="Hours a device clock may be ahead of the collector's; an event time further ahead is replaced by "
               "the corrected time (the device's kept in client_ts_original).")
@_setting("--tag-path", "/t.js",
          help="Path serving the tag, e.g. /p/a.js for a first-party proxy with an unremarkable name.")
@_setting("--collect-path", "/collect",
          help="Path receiving events (POST) and the pixel (GET), e.g. /p/e; the tag is told it.")
@CLUSTER
@_setting("--log-level", "info", type=click.Choice(["debug", "info", "warning", "error"]),
          help="Least severe log messages shown.")
@_durability_options
def serve(plan, host, port, data_dir, clickhouse, database, admin_token, secret, demo, leads_key, leads_webhook,
          leads_webhook_secret, site_dir, ip_v4_bits, ip_v6_bits, max_body, max_event, source_rate, max_event_age,
          max_clock_ahead, tag_path, collect_path, cluster, log_level, wal_dir, **durable):
    """Run the collector: serves /t.js, receives events at /collect, writes them to ClickHouse."""
    import uvicorn

    from collector import logs
    from collector.app import create_app, migrate, settings_env
    from collector.connections import server_options

    logs.configure(log_level, durable["log_format"])
    # Whatever the collector creates (the write-ahead log, the embedded engine's files, dead letters, the
    # discovery file) is readable by its user only: files 0600, directories 0700.
    os.umask(0o077)
    try:
        settings = settings_mod.build(
            plan=plan, data_dir=data_dir, clickhouse=clickhouse, admin_token=admin_token, secret=secret, demo=demo,
            database=database, host=host, port=port, site_dir=Path(site_dir) if site_dir else None,
            leads_key=leads_key, leads_webhook=leads_webhook, leads_webhook_secret=leads_webhook_secret,
            ip_v4_bits=ip_v4_bits, ip_v6_bits=ip_v6_bits, max_body=max_body, max_event=max_event,
            source_rate=source_rate, max_event_age=max_event_age, max_clock_ahead=max_clock_ahead,
            tag_path=tag_path, collect_path=collect_path, cluster=cluster, log_level=log_level,
            wal_dir=Path(wal_dir).resolve() if wal_dir else None, **durable,
        )
        app = create_app(settings)  # a missing or unusable leads key: one line, and the leads off (callcentre/api.py)
    except PlanErrors as exc:
        raise click.ClickException(f"the plan has errors:\n{exc}") from None
    # What the machine holds, once the settings are known good: a collector already serving the data
    # directory, a busy port, the embedded engine held by another process. Each is one sentence.
    _refuse_a_second_collector(Path(data_dir))
    _refuse_a_busy_port(host, port)
    if settings.workers == 1 and is_embedded(settings.clickhouse):
        _engine_free(settings.clickhouse, Path(data_dir))
    connections = server_options(settings)
    if settings.workers > 1:
        migrate(settings)  # here, once: the workers start together
        # Each worker builds its own app (and log, and writer) from the settings passed in the environment.
        os.environ.update(settings_env(settings))
        uvicorn.run("collector.app:app_from_env", factory=True, host=host, port=port, workers=settings.workers,
                    log_level=log_level, log_config=None, access_log=False, **connections)
    else:
        uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None, access_log=False, **connections)


for _param in serve.params:
    _param.show_envvar = True  # `parcours serve --help` lists every environment variable


def _refuse_a_second_collector(data_dir: Path) -> None:
    """One collector per data directory (the embedded engine allows one process): say where the first one is."""
    running = discovery.running(data_dir.resolve())
    if running:
        raise Problem(f"a collector (pid {running.pid}) already serves {data_dir}/ at {running.url}: use it "
                      f"(demo: {running.url}/demo/), stop it first, or give this one another --data-dir")


def _refuse_a_busy_port(host: str, port: int) -> None:
    """Bind the address as uvicorn will, so a busy port is one sentence, not uvicorn's errno line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise Problem(f"cannot listen on {host}: {exc.strerror}; give an address with --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Problem(f"port {port} on {host} is already in use by another program: choose another "
                              f"with --port (make demo PORT={port + 1})") from None
            raise Problem(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _engine_free(dsn: str, data_dir: Path) -> None:
    """Open the embedded engine once before serving: a data directory held by another process is one
    sentence here, not a start-up traceback (the app opens it again, at no cost, in its lifespan)."""
    if embedded_in_use(dsn):  # asked first: chDB would print its own lock error on stderr
        raise Problem(f"the ClickHouse data in {data_dir}/ is in use by another process (a `parcours` command "
                      "still running?): stop it, or give the collector another --data-dir")
    try:
        Store(dsn).close()
    except EngineBusy:
        raise Problem(f"the ClickHouse data in {data_dir}/ is in use by another process (a `parcours` command "
                      "still running?): stop it, or give the collector another --data-dir") from None


@main.command()
@click.option("--collector", "collector_url", required=True, help="Base URL of the collector, or a same-origin path like /p.")
@_setting("--tag-path", "/t.js", help="The collector's --tag-path.")
@_setting("--collect-path", "/collect", help="The collector's --collect-path.")
def snippet(collector_url, tag_path, collect_path):
    """Print the install snippet to paste into every page's <head>, and the pixel for pages without JavaScript."""
    base = collector_url.rstrip("/")
    click.echo(SNIPPET.format(src=f"{base}{tag_path}", pixel=f"{base}{collect_path}?e=page_view"))


SNIPPET = """<script>window.parcours=window.parcours||function(){{arguments.t=Date.now();(parcours.q=parcours.q||[]).push(arguments)}};</script>
<script async src="{src}"></script>
<!-- optional, first thing in <body>: counts visitors without JavaScript. A pixel carries no consent: with the
     plan's consent: required, the collector stores only the events the plan exempts (page_view, if listed) -->
<noscript><img src="{pixel}" alt="" width="1" height="1" style="position:absolute"></noscript>"""
