"""GET /t.js: the built tag with the plan's tag config compiled in."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from collector.errors import error
from collector.messages import answer
from tagplan import CompiledPlan

TAG_FILE = Path(__file__).parent / "static" / "t.js"
PLACEHOLDER = '"__PARCOURS_CONFIG__"'


def render_tag(source: str, plan: CompiledPlan, endpoint: str = "collect") -> str:
    """Replace the config placeholder with the plan's tag config (JSON is a JS expression).

    `endpoint` is the collect path relative to the tag's own directory (`e` in the config).
    """
    config = json.dumps({**plan.tag_config, "e": endpoint}, separators=(",", ":"), ensure_ascii=True)
    return source.replace(PLACEHOLDER, config, 1)


async def serve_tag(request: Request) -> Response:
    state = request.app.state
    if state.tag_source is None:
        return error(503, answer("tag_not_built", path=TAG_FILE))
    body = render_tag(state.tag_source, state.plan, state.settings.tag_endpoint)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
