"""The tag's wire format, and the one table that maps its short keys to column names."""

from __future__ import annotations

from typing import Any

import msgspec

# Short keys keep the tag and its requests small; the collector speaks in columns.
WIRE_TO_COLUMN = {
    "id": "event_id", "e": "event", "t": "client_ts", "q": "seq", "vid": "visitor_id", "sid": "session_id",
    "url": "url", "ref": "referrer", "f": "form_id", "s": "step", "c": "captured", "p": "properties",
}


class WireEvent(msgspec.Struct, forbid_unknown_fields=False):
    id: str
    e: str
    t: int
    q: int = 0
    vid: str = ""
    sid: str = ""
    url: str = ""
    ref: str = ""
    f: str = ""
    s: str = ""
    c: dict[str, str] = {}
    p: dict[str, Any] = {}


class WireBatch(msgspec.Struct):
    events: list[msgspec.Raw]
    sent: int = 0


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
