"""Hot reload of the tagging plan: a file watcher and POST /api/plan/reload.

A plan that fails `check` is refused (errors logged, and returned by the endpoint) and the
previous plan keeps serving. The swap is one assignment of `app.state.plan`: a request reads
it once, so it validates against one whole plan, never half of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from callcentre.seal import leads_off
from collector.errors import error
from collector.messages import answer
from tagplan import PlanErrors, compile_plan, load_plan
from tagplan.load import plan_files

log = logging.getLogger("parcours.plan")

POLL_SECONDS = 1.0


@dataclass
class Outcome:
    """What one reload did: `errors` empty when the new plan serves."""

    version: str
    previous: str
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        if self.errors:
            return {"reloaded": False, "version": self.version, "errors": self.errors,
                    "error": "the plan has errors; the previous plan keeps serving"}
        return {"reloaded": True, "version": self.version, "previous_version": self.previous}


class PlanWatcher:
    """Reloads `app.state.plan` from the settings' plan file when it (or its broker CSV) changes."""

    def __init__(self, app: Starlette):
        self.app = app
        self.path = Path(app.state.settings.plan)
        self.files = plan_files(self.path)
        self.stamp = self._stamp()
        self.lock = asyncio.Lock()

    def _stamp(self) -> tuple:
        """What identifies the files' contents without reading them: cheap enough to poll every second."""
        out = []
        for f in self.files:
            try:
                st = os.stat(f)
                out.append((str(f), st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append((str(f), None))
        return tuple(out)

    async def reload(self) -> Outcome:
        """Load, check and compile the plan file; swap it in only when it is clean."""
        async with self.lock:
            self.files = await run_in_threadpool(plan_files, self.path)
            self.stamp = await run_in_threadpool(self._stamp)
            previous = self.app.state.plan.version
            try:
                plan = await run_in_threadpool(lambda: compile_plan(load_plan(self.path)))
            except PlanErrors as exc:
                for e in exc.errors:
                    log.error("plan refused: %s", e)
                log.error("plan reload refused (%d error(s)); plan version %s keeps serving", len(exc.errors), previous)
                return Outcome(previous, previous, [e.to_dict() for e in exc.errors])
            old = self.app.state.plan.plan
            self.app.state.plan = plan
            log.info("plan reloaded: version %s (was %s)", plan.version, previous)
            if plan.plan.call_centre.leads and not old.call_centre.leads and getattr(self.app.state, "sealer", 1) is None:
                log.error("%s", leads_off("the plan now has call-back lead rules, and no usable PARCOURS_LEADS_KEY"))
            if plan.version == previous and plan.plan != old:
                log.warning('the plan changed but its version is still "%s": stored events cannot tell the two apart; '
                            "bump version", previous)
            return Outcome(plan.version, previous)

    async def poll_once(self) -> Outcome | None:
        """Reload when the files changed since the last look; None when they did not."""
        stamp = await run_in_threadpool(self._stamp)
        if stamp == self.stamp:
            return None
        return await self.reload()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.poll_once()
            except Exception:  # the watcher must outlive any surprise; the old plan keeps serving
                log.exception("plan watcher: unexpected error")


@contextlib.asynccontextmanager
async def watching(app: Starlette) -> AsyncIterator[PlanWatcher]:
    """Run the watcher for the app's lifetime (entered from the app's lifespan)."""
    watcher = PlanWatcher(app)
    app.state.plan_watcher = watcher
    task = asyncio.create_task(watcher.run(), name="parcours-plan-watcher")
    try:
        yield watcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def reload_endpoint(request: Request) -> Response:
    """POST /api/plan/reload: reload now; 422 with every error when the plan is refused."""
    watcher = getattr(request.app.state, "plan_watcher", None)
    if watcher is None:
        return error(503, answer("no_plan_watcher"))
    outcome = await watcher.reload()
    return JSONResponse(outcome.to_dict(), status_code=422 if outcome.errors else 200)
