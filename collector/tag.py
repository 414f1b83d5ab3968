"""GET /t.js: the built tag with the plan's tag config compiled in, and the add-ons the plan uses."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from collector.errors import error
from collector.messages import answer
from tagplan import CompiledPlan

TAG_FILE = Path(__file__).parent / "static" / "t.js"
ADDONS_DIR = TAG_FILE.parent / "addons"
PLACEHOLDER = '"__PARCOURS_CONFIG__"'
ENDPOINT_TOKEN = "__PARCOURS_ENDPOINT__"


class AddonMissing(LookupError):
    """The plan uses an add-on that was not built."""


def render_tag(source: str, plan: CompiledPlan, endpoint: str = "collect") -> str:
    """Replace the config placeholder with the plan's tag config (JSON is a JS expression).

    `endpoint` is the collect path relative to the tag's own directory (`e` in the config). The add-ons the
    config names (`a`) are spliced in as the functions they are, so a site downloads only what its plan uses.
    """
    config = {**plan.tag_config, "e": endpoint}
    # An add-on that calls the collector (numbers) has the collect path written in place of a token.
    addons = [addon_source(name).replace(ENDPOINT_TOKEN, json.dumps(endpoint)[1:-1])
              for name in config.pop("a", [])]
    text = json.dumps(config, separators=(",", ":"), ensure_ascii=True)
    if addons:
        text = text[:-1] + ',"a":[' + ",".join(addons) + "]}"
    return source.replace(PLACEHOLDER, text, 1)


@functools.cache  # built with the tag, read once like it
def addon_source(name: str) -> str:
    """The built add-on `name`: a JS expression whose value is its function."""
    try:
        return (ADDONS_DIR / f"{name}.js").read_text(encoding="utf-8")
    except OSError:
        raise AddonMissing(name) from None


async def serve_tag(request: Request) -> Response:
    state = request.app.state
    if state.tag_source is None:
        return error(503, answer("tag_not_built", path=TAG_FILE))
    try:
        body = render_tag(state.tag_source, state.plan, state.settings.tag_endpoint)
    except AddonMissing as exc:
        return error(503, answer("tag_addon_not_built", name=exc, path=ADDONS_DIR / f"{exc}.js"))
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*",
               "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):  # every browser: the tag as its size budget counts it
        return Response(_gzipped(body), media_type="text/javascript; charset=utf-8",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@functools.lru_cache(maxsize=8)
def _gzipped(body: str) -> bytes:
    """The tag compressed once per plan (it changes only with the plan), at gzip's best."""
    return gzip.compress(body.encode(), compresslevel=9, mtime=0)
