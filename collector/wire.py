"""The tag's wire format, and the one table that maps its short keys to column names."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

# Short keys keep the tag and its requests small; the collector speaks in columns.
WIRE_TO_COLUMN = {
    "id": "event_id", "e": "event", "t": "client_ts", "q": "seq", "vid": "visitor_id", "sid": "session_id",
    "url": "url", "ref": "referrer", "f": "form_id", "s": "step", "c": "captured", "p": "properties",
    "dt": "step_elapsed_ms",
}


# Bounds the columns can hold (DateTime64 from 1970 to 2100, UInt32): a value outside them is
# a validation error on the event, never a failed insert later.
Millis = Annotated[int, Meta(ge=0, le=4_102_444_800_000)]


class WireEvent(msgspec.Struct, forbid_unknown_fields=False):
    id: str
    e: str
    t: Millis
    q: Annotated[int, Meta(ge=0, le=2**32 - 1)] = 0
    vid: str = ""
    sid: str = ""
    url: str = ""
    ref: str = ""
    f: str = ""
    s: str = ""
    c: dict[str, str] = {}
    p: dict[str, Any] = {}
    dt: Annotated[int, Meta(ge=0, le=2**32 - 1)] = 0


class WireBatch(msgspec.Struct):
    events: list[msgspec.Raw]
    sent: Millis = 0


batch_decoder = msgspec.json.Decoder(WireBatch)
event_decoder = msgspec.json.Decoder(WireEvent)
raw_decoder = msgspec.json.Decoder()


def wire_error(exc: msgspec.DecodeError) -> str:
    """A decode error in column words: `$.t` becomes `client_ts`."""
    text = str(exc)
    head, _, where = text.partition(" - at `$.")
    if not where:
        return text
    key = where.rstrip("`").split(".")[0].split("[")[0]
    rest = where.rstrip("`")[len(key):]
    return f"{WIRE_TO_COLUMN.get(key, key)}{rest}: {head}"


# The pixel (GET /collect?…) carries one event in its query string, with the same short keys:
#   e, id, t, q, vid, sid, url, ref, f, s    as in a POSTed event
#   c.NAME=value                             a captured URL parameter (c.courtier=B042)
#   p.NAME=value                             a property (p.quote_id=Q-8F2K), typed by the plan
# `t` and `q` are integers; any other key is ignored. A repeated key keeps its last value.
PIXEL_SCALARS = ("id", "e", "t", "q", "vid", "sid", "url", "ref", "f", "s")
PIXEL_MAPS = {"c.": "c", "p.": "p"}


def pixel_event(params) -> dict[str, Any]:
    """The wire event a pixel's query string describes (pairs of key, value), before defaults."""
    event: dict[str, Any] = {"c": {}, "p": {}}
    for key, value in params:
        if key in PIXEL_SCALARS:
            event[key] = int(value) if key in ("t", "q") and value.isascii() and value.isdigit() else value
            continue
        for prefix, field in PIXEL_MAPS.items():
            if key.startswith(prefix) and len(key) > len(prefix):
                event[field][key[len(prefix):]] = value
    return event
