"""The collector's ASGI app: routes, lifespan, state. Wiring only."""

from __future__ import annotations

import contextlib
import json
import logging
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from collector import admin, collect, planwatch, tag
from collector.settings import Settings
from collector.storage import Store
from tagplan import compile_plan, load_plan

log = logging.getLogger("parcours")


def create_app(settings: Settings) -> Starlette:
    """The app for these settings; the plan is loaded now so a bad plan fails before serving."""
    plan = compile_plan(load_plan(settings.plan))
    if settings.keeps_whole_ip:
        log.warning("whole IP addresses are stored (--ip-v4-bits %s, --ip-v6-bits %s): they identify visitors",
                    settings.ip_v4_bits, settings.ip_v6_bits)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        store = Store(settings.clickhouse, settings.database, settings.cluster)
        applied = store.migrate()
        if applied:
            log.info("schema migrations applied: %s", applied)
        app.state.store = store
        _write_discovery(settings)
        try:
            async with planwatch.watching(app):
                yield
        finally:
            _remove_discovery(settings)
            store.close()

    routes = [
        Route(settings.tag_path, tag.serve_tag, methods=["GET"]),
        Route(settings.collect_path, collect.collect, methods=["POST"]),
        Route(settings.collect_path, collect.pixel, methods=["GET"]),
        Route(settings.collect_path, collect.preflight, methods=["OPTIONS"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/sql", admin.sql, methods=["POST"]),
        Route("/api/export", admin.export, methods=["GET"]),
        Route("/api/rejected/summary", admin.rejected_summary, methods=["GET"]),
        Route("/api/rejected/replay", admin.rejected_replay, methods=["POST"]),
        Route("/api/plan/reload", planwatch.reload_endpoint, methods=["POST"]),
    ]
    if settings.site_dir:
        routes.append(Route("/demo", lambda request: RedirectResponse("/demo/" + ("?" + request.url.query if request.url.query else ""))))
        routes.append(Mount("/demo", StaticFiles(directory=settings.site_dir, html=True)))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.plan = plan
    app.state.tag_source = tag.TAG_FILE.read_text() if tag.TAG_FILE.exists() else None
    return app


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "plan_version": request.app.state.plan.version})


def discovery_file(data_dir) -> os.PathLike:
    """Where a running collector says where it listens, so `parcours sql` can go through it."""
    return data_dir / "collector.json"


def _write_discovery(settings: Settings) -> None:
    discovery_file(settings.data_dir).write_text(json.dumps({"url": settings.url, "pid": os.getpid()}))


def _remove_discovery(settings: Settings) -> None:
    with contextlib.suppress(FileNotFoundError):
        discovery_file(settings.data_dir).unlink()
