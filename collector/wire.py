"""The tag's wire format: each field named as its column, its short wire key declared once beside it.

Short keys keep the tag and its requests small; the collector speaks in columns. `WireEvent` declares both
(`msgspec.field(name=…)`): Python code reads `ev.client_ts`, the JSON says `"t"`. `WIRE_KEYS` and
`WIRE_TO_COLUMN` are derived from it, for the few places that read a raw payload (a rejected event, the
pixel's query string) and for error paths.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any

import msgspec
from msgspec import Meta, field

from collector import messages

# Bounds the columns can hold (DateTime64 from 1970 to 2100, UInt32): a value outside them is
# a validation error on the event, never a failed insert later. The description is what a reason says.
Millis = Annotated[int, Meta(ge=0, le=4_102_444_800_000,
                             description="a time in milliseconds since 1970 (before 2100)")]
UInt32 = Annotated[int, Meta(ge=0, le=2**32 - 1, description="a whole number from 0 to 4294967295")]
MAX_URL = 2048
"""The most characters of a page's URL or referrer kept where it is cut (the pixel, a Segment call, a
tracking-number lease), redacted first (`redact.clipped`)."""
MAX_USER_AGENT = 512
"""The most characters of a User-Agent kept (redacted first)."""


class WireEvent(msgspec.Struct, forbid_unknown_fields=False):
    event_id: str = field(name="id")
    event: str = field(name="e")
    client_ts: Millis = field(name="t")
    seq: UInt32 = field(name="q", default=0)
    """Order of the event in its page."""
    visitor_id: str = field(name="vid", default="")
    session_id: str = field(name="sid", default="")
    url: str = field(name="url", default="")
    referrer: str = field(name="ref", default="")
    form_id: str = field(name="f", default="")
    step: str = field(name="s", default="")
    captured: dict[str, str] = field(name="c", default_factory=dict)
    """URL parameters captured on landing (broker, utm_*, click ids)."""
    properties: dict[str, Any] = field(name="p", default_factory=dict)
    step_elapsed_ms: UInt32 = field(name="dt", default=0)
    """form_step: milliseconds since the previous step of the page, or since it loaded."""
    user_id: str = field(name="uid", default="")
    """Server events (collector/segment/): the sender's userId; the tag sends none."""
    message_id: str = field(name="mid", default="")
    """Server events: the messageId as sent, from which event_id is derived."""


class WireBatch(msgspec.Struct):
    events: list[msgspec.Raw]
    sent: Millis = 0


WIRE_KEYS: dict[str, str] = {f.name: f.encode_name for f in msgspec.structs.fields(WireEvent)}
"""Column name -> wire key, e.g. client_ts -> t."""
WIRE_TO_COLUMN: dict[str, str] = {key: column for column, key in WIRE_KEYS.items()}
"""Wire key -> column name, e.g. t -> client_ts."""

_DESCRIBED = {f.name: next((m.description for m in typing.get_args(f.type)[1:] if isinstance(m, Meta)), None)
              for struct in (WireEvent, WireBatch) for f in msgspec.structs.fields(struct)}


def decode_error(exc: Exception, whole: str = "the event") -> str:
    """Why an event (or, with whole="the body", a batch) did not decode, in column names and the plan's words."""
    if isinstance(exc, RecursionError):
        return messages.reason("too_deep")
    return messages.decode_error(str(exc), WIRE_TO_COLUMN, _DESCRIBED.get, whole)


batch_decoder = msgspec.json.Decoder(WireBatch)
event_decoder = msgspec.json.Decoder(WireEvent)
raw_decoder = msgspec.json.Decoder()


# The pixel (GET /collect?…) carries one event in its query string, with the same short keys:
#   e, id, t, q, vid, sid, url, ref, f, s    as in a POSTed event
#   c.NAME=value                             a captured URL parameter (c.courtier=B042)
#   p.NAME=value                             a property (p.quote_id=Q-8F2K), typed by the plan
# `t` and `q` are integers; any other key is ignored. A repeated key keeps its last value.
_SCALAR_TYPES = {f.encode_name: f.type for f in msgspec.structs.fields(WireEvent)
                 if f.name != "step_elapsed_ms" and not isinstance(f.default_factory, type)}
PIXEL_SCALARS = tuple(_SCALAR_TYPES)
"""The wire keys a pixel's query string may carry as they are (e, id, t, …)."""
_MAPS = {WIRE_KEYS["captured"] + ".": WIRE_KEYS["captured"], WIRE_KEYS["properties"] + ".": WIRE_KEYS["properties"]}


def pixel_event(params) -> dict[str, Any]:
    """The wire event a pixel's query string describes (pairs of key, value), before defaults."""
    event: dict[str, Any] = {key: {} for key in _MAPS.values()}
    for key, value in params:
        if key in _SCALAR_TYPES:
            integer = _SCALAR_TYPES[key] is not str and value.isascii() and value.isdigit()
            event[key] = int(value) if integer else value
            continue
        for prefix, name in _MAPS.items():
            if key.startswith(prefix) and len(key) > len(prefix):
                event[name][key[len(prefix):]] = value
    return event
