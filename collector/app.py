"""The collector's ASGI app: routes, lifespan, state. Wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import gc
import logging
import os
from pathlib import Path

import msgspec

from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from callcentre import api as callcentre_api
from collector import admin, auth, collect, deadletters, discovery, logs, ops, planwatch, tag, useragent
from collector.errors import Problem, error
from collector.logins import Logins
from collector.messages import answer
from collector.metrics import Metrics
from collector.settings import Settings
from collector.segment import admin as segment_admin
from collector.segment import api as segment_api
from collector.storage import Store, StoreError, is_embedded
from collector.users import Users
from collector.wal import Wal, claim_slot
from collector.writer import Writer
from journeys import api as journeys_api
from journeys import background as journeys_background
from journeys.dashboard import web as dashboard
from tagplan import compile_plan, load_plan

log = logging.getLogger("parcours")


class CollectorApp(Starlette):
    """Starlette, with POST /collect (the tag's hot path, see collect.py) answered before routing."""

    def __init__(self, collect_path: str, **kwargs):
        super().__init__(**kwargs)
        self.collect_path = collect_path
        self.collect = collect.Collect(self.state)
        # Routed too, for a request the shortcut does not see (a path under an ASGI root_path).
        self.router.routes.append(Route(collect_path, self.collect, methods=["POST"]))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.collect_path:
            await self.collect(scope, receive, send)
        elif scope["type"] == "http":
            await self._cut_off_as_503(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _cut_off_as_503(self, scope, receive, send) -> None:
        """A request the server cancels before it is answered (the collector stops, `--shutdown-timeout` over:
        an analyst's statement, a report, an import) is answered 503 with Retry-After and says why, its queries
        stopped (admin.watched); uvicorn answered it 500 "Internal Server Error" and logged a traceback."""
        started = False

        async def sending(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await super().__call__(scope, receive, sending)
        except asyncio.CancelledError:
            if started:
                raise  # the answer is under way: cut off, the client sees it incomplete
            log.warning("%s %s was still running when the collector stopped: cut off, answered 503",
                        scope["method"], scope["path"])
            retry = str(self.state.settings.retry_after)
            await error(503, answer("stopping"), {"Retry-After": retry}, code="stopping")(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    """The app for these settings; the plan is loaded now so a bad plan fails before serving."""
    plan = compile_plan(load_plan(settings.plan))
    if settings.keeps_whole_ip:
        log.warning("whole IP addresses are stored (--ip-v4-bits %s, --ip-v6-bits %s): they identify visitors",
                    settings.ip_v4_bits, settings.ip_v6_bits)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        store = Store(settings.clickhouse, settings.database, settings.cluster, timeouts=settings.timeouts)
        migrated = _migrate_at_start(settings, store)
        app.state.store = store
        wal_dir, slot_lock = claim_slot(settings.wal_root)
        wal = Wal(wal_dir, max_bytes=settings.wal_max_bytes, segment_bytes=settings.wal_segment_bytes,
                  fsync=settings.wal_fsync, on_fsync=app.state.metrics.group_committed)
        await wal.open()
        app.state.metrics.watch(wal)
        writer = Writer(wal, store.ingest, batch_rows=settings.batch_rows, batch_age=settings.batch_age,
                        backoff_max=settings.retry_max, metrics=app.state.metrics,
                        dead_letter_dir=settings.data_dir / deadletters.DIRECTORY,
                        prepare=None if migrated else functools.partial(_migrate_once_answering, settings, store))
        writer.start()
        app.state.wal, app.state.writer = wal, writer
        discovery.announce(settings.data_dir, settings.url)
        _settle_heap()
        try:
            async with (planwatch.watching(app), journeys_background.serving(app), segment_api.serving(app),
                        callcentre_api.serving(app)):
                yield
        finally:
            gc.unfreeze()
            discovery.withdraw(settings.data_dir)
            store.stop_calls()  # a background computation's, a request's cut off: nobody waits for them now
            await wal.close()  # commits what is queued; new requests get 503
            if await writer.stop(settings.shutdown_timeout):
                log.info("shutdown: write-ahead log drained into ClickHouse")
            slot_lock.close()
            store.close()

    routes = [
        Route(settings.tag_path, tag.serve_tag, methods=["GET"]),
        Route(settings.collect_path, collect.pixel, methods=["GET"]),
        Route(settings.collect_path, collect.preflight, methods=["OPTIONS"]),
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/readyz", ops.readyz, methods=["GET"]),
        Route("/metrics", ops.metrics, methods=["GET"]),
        *segment_api.ROUTES,
        admin.mount(*journeys_api.ROUTES, *segment_admin.ROUTES, *callcentre_api.ROUTES),
        *callcentre_api.public_routes(settings),
        *dashboard.ROUTES,
    ]
    if settings.site_dir:
        routes.append(Route("/demo", lambda request: RedirectResponse("/demo/" + ("?" + request.url.query if request.url.query else ""))))
        routes.append(Mount("/demo", StaticFiles(directory=settings.site_dir, html=True)))
    app = CollectorApp(settings.collect_path, routes=routes, lifespan=lifespan,
                       exception_handlers={Problem: admin.problem_response, RecursionError: admin.too_deep_response})
    app.state.settings = settings
    app.state.plan = plan
    app.state.sealer = callcentre_api.sealer(settings, plan)
    app.state.metrics = Metrics()
    app.state.sessions = auth.Sessions(settings.data_dir, Users(settings.data_dir))
    app.state.logins = Logins()
    segment_api.state(app)
    app.state.tag_source = tag.TAG_FILE.read_text() if tag.TAG_FILE.exists() else None
    return app


def _migrate(settings: Settings, store: Store) -> None:
    """Apply the schema migrations, one process of the machine at a time (`--workers N` start together,
    and each would see the same migrations missing and record them again)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / "migrate.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        applied = store.migrate()
    if applied:
        log.info("schema migrations applied: %s", applied)


def _migrate_once_answering(settings: Settings, store: Store) -> None:
    """`_migrate`, once a ClickHouse server answers within the connect timeout (StoreError if not): the
    migrations' clients wait 300 s a call (DDL on a cluster is slow), which, on a server that takes connections
    and never answers, held the collector's start, or its writer, that long each time."""
    if not is_embedded(settings.clickhouse):
        store.answers()
    _migrate(settings, store)


def _migrate_at_start(settings: Settings, store: Store) -> bool:
    """Migrate now; False when a ClickHouse server is out of reach: the collector starts anyway, accepts
    events into its log, and the writer migrates once ClickHouse answers. The embedded engine, or a server
    that answers with a refusal, is a start-up error (StoreError). A server that does not answer within the
    connect timeout (hung) is out of reach too: the start does not wait on it."""
    try:
        _migrate_once_answering(settings, store)
        return True
    except StoreError as exc:
        if is_embedded(settings.clickhouse) or exc.code is not None:
            store.close()
            raise
        log.warning("%s; starting anyway: events are accepted into the write-ahead log, /readyz says degraded, "
                    "and the migrations run and the log drains once ClickHouse answers", exc)
        return False


def migrate(settings: Settings) -> bool:
    """Apply the schema migrations once, before `--workers N` start; False when ClickHouse is out of reach
    (each worker then migrates when it answers, one at a time)."""
    store = Store(settings.clickhouse, settings.database, settings.cluster, timeouts=settings.timeouts)
    try:
        return _migrate_at_start(settings, store)
    finally:
        store.close()


def _settle_heap() -> None:
    """Leave what start-up built (the engine's bindings, parsers, the plan: most of the heap) out of
    garbage collection, and collect young objects less often. Requests make garbage that reference
    counting frees; each full collection still walked the whole start-up heap, which cost the
    collector ~15% of its single-event throughput (bench/bench_collector.py). Instagram's gc.freeze."""
    useragent.parse(_WARM_UA)  # ua-parser loads its matchers on first use: before the freeze
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


_WARM_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
_SETTINGS_ENV = "PARCOURS_WORKER_SETTINGS"


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings, for worker processes that build their own app (`--workers N`)."""
    return {_SETTINGS_ENV: msgspec.json.encode(settings, enc_hook=str).decode()}


def app_from_env() -> Starlette:
    """uvicorn's app factory in each worker process."""
    settings = msgspec.json.decode(os.environ[_SETTINGS_ENV], type=Settings,
                                   dec_hook=lambda t, v: Path(v) if t is Path else v)
    logs.configure(settings.log_level, settings.log_format)  # a spawned worker starts with no logging set up
    os.umask(0o077)  # as `parcours serve` (cli.py): what the worker creates is its user's only
    return create_app(settings)

