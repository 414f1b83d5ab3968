"""GET /collect: one event as a 1x1 GIF pixel, for pages without JavaScript (`<img>` in a `<noscript>`)."""

from __future__ import annotations

import base64
import math
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec
from starlette.responses import Response

from collector.wire import pixel_event
from tagplan import CompiledPlan

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def batch_body(params, referer: str, received_ms: int, plan: CompiledPlan) -> bytes:
    """A one-event batch, as the tag would POST it, from a pixel request.

    Without JavaScript nothing computes an id, a time or the page URL: the id is generated (so a
    reloaded pixel is not deduplicated), the time is the collector's, the URL is the Referer, and the
    captured parameters are read from that URL as the tag reads them from the landing page.
    """
    event = pixel_event(params)
    event.setdefault("id", str(uuid.uuid4()))
    event.setdefault("t", received_ms)
    event.setdefault("url", referer[:2048])
    if not event["c"]:
        event["c"] = _captured(event["url"], plan) if isinstance(event["url"], str) else {}
    event["p"] = _typed(event["p"], _property_types(plan, event))
    return msgspec.json.encode({"events": [event]})


def gif_response() -> Response:
    return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store, max-age=0"})


def _captured(url: str, plan: CompiledPlan) -> dict[str, str]:
    wanted = {plan.tag_config["b"], *plan.tag_config["p"]} - {""}
    return {k: v for k, v in parse_qsl(urlsplit(url).query) if k in wanted}


def _property_types(plan: CompiledPlan, event: dict[str, Any]) -> dict[str, str]:
    """The plan's declared type of each property of this event, so "30" becomes 30 for an integer."""
    model, name, form = plan.plan, event.get("e"), plan.plan.forms.get(event.get("f"))
    if name in model.events:
        props = model.events[name].properties
    elif name == "form_submit" and form:
        props = form.submit.properties
    elif name == "form_step" and form:
        props = next((s.properties for s in form.steps if s.id == event.get("s")), {})
    else:
        props = {}
    return {n: p.type for n, p in props.items()}


def _typed(props: dict[str, str], types: dict[str, str]) -> dict[str, Any]:
    return {name: _coerce(value, types.get(name, "string")) for name, value in props.items()}


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
