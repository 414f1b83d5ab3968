"""GET /collect: one event as a 1x1 GIF pixel, for pages without JavaScript (`<img>` in a `<noscript>`)."""

from __future__ import annotations

import base64
import json
import math
import uuid
from typing import Any
from urllib.parse import urlsplit

import msgspec
from starlette.responses import Response

from collector.ingest import event_spec
from collector.redact import clipped, of, unquote_form
from collector.wire import MAX_URL, WIRE_KEYS, pixel_event
from tagplan import CompiledPlan

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_K = WIRE_KEYS


def batch_body(params, referer: str, received_ms: int, plan: CompiledPlan) -> bytes:
    """A one-event batch, as the tag would POST it, from a pixel request.

    Without JavaScript nothing computes an id, a time or the page URL: the id is generated (so a
    reloaded pixel is not deduplicated), the time is the collector's, the URL is the Referer, and the
    captured parameters are read from that URL as the tag reads them from the landing page.
    """
    event = pixel_event(params)
    event.setdefault(_K["event_id"], str(uuid.uuid4()))
    event.setdefault(_K["client_ts"], received_ms)
    if _K["url"] not in event:  # redacted before it is cut: cut first, a phone across the cut kept 9 digits
        event[_K["url"]] = clipped(referer, MAX_URL, of(plan).url)
    url = event[_K["url"]]
    if not event[_K["captured"]]:
        event[_K["captured"]] = _captured(url, plan) if isinstance(url, str) else {}
    spec = event_spec(event.get(_K["event"], ""), event.get(_K["form_id"], ""), event.get(_K["step"], ""), plan, [])
    types = {name: p.type for name, p in spec.properties.items()} if spec else {}
    event[_K["properties"]] = {name: _coerce(value, types.get(name, "string"))
                               for name, value in event[_K["properties"]].items()}
    try:
        return msgspec.json.encode({"events": [event]})
    except UnicodeEncodeError:
        # Bytes that are no UTF-8 (`query`): written back as they came, so that the event is rejected as a POSTed
        # one holding them is (its reason, its raw bytes kept escaped), not stored with U+FFFD in their place.
        return json.dumps({"events": [event]}, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogateescape")


def query(raw: bytes | str) -> list[tuple[str, str]]:
    """A query string as (name, value) pairs, each decoded as `redact.unquote_form` reads a URL's (a `+` a space,
    but the plus sign of an international number: p.tel=+262692123456); bytes that are no UTF-8 kept as lone
    surrogates (`batch_body` writes them back), where Starlette's reading puts U+FFFD."""
    text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
    return [(unquote_form(name, "surrogateescape"), unquote_form(value, "surrogateescape"))
            for name, _, value in (piece.partition("=") for piece in text.split("&") if piece)]


def gif_response() -> Response:
    return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store, max-age=0"})


def _captured(url: str, plan: CompiledPlan) -> dict[str, str]:
    return {k: v for k, v in query(urlsplit(url).query) if k in plan.captured_params}


def _coerce(value: str, kind: str) -> Any:
    """A query-string value as the plan's type; left a string when it does not parse, so validation says why."""
    if kind == "integer" and value.lstrip("-").isascii() and value.lstrip("-").isdigit() and len(value) < 19:
        return int(value)
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value
