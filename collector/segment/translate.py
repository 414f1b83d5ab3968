"""Segment's messages, read as the tag's events: one message in, one wire event out (or why not).

A server's `track`, `identify` and `page` calls become the events the tag would have sent, in the tag's wire
format (collector/wire.py), so that they go through the same validation, enrichment, redaction, log and writer
as the tag's (ingest.py). Nothing here validates against the plan: it only reads Segment's format.

- `track(event, properties)`   -> the plan's custom event of that name ("Contract Signed" is read as
                                  contract_signed: plan names are lower snake case), its properties as given
- `identify(traits)`           -> `identify`, with the traits that are the plan's identity keys (the phone, a
                                  quote id); other traits (a name, an e-mail) are not kept: parcours is no profile store
- `page(name, properties)`     -> `page_view`; the URL and referrer from the properties or context.page,
                                  campaign parameters from context.campaign and the URL, as the tag captures them
- `alias`, `group`, `screen`   -> refused, each with its reason (kept as rejected events)

Identifiers: `anonymousId` is the visitor id (a back end that forwards the tag's visitor id joins the web
journey at once); without one, `user:<userId>`, so a user's server events hold together. `userId` is kept as
given in `user_id`. An id that is an e-mail address or a phone number is personal data: its keyed hash is
kept instead (a phone however its groups are separated, no-break spaces too, and in whatever digits:
redact.fold). `messageId` (kept in `message_id`) gives the event id: the same message sent twice by the
same source is the same event, stored once.

Times, as Segment's spec defines them: the call time is `originalTimestamp`, or else the `timestamp` a server
library set; `sentAt` is the sender's clock when the batch left. The event's time is then corrected for the
sender's clock: `receivedAt - (sentAt - originalTimestamp)` (ingest does it, as for the tag). Without
`sentAt` the timestamp is taken as it is; without any time, the time of receipt.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from collector import redact
from collector.messages import reason as say
from collector.wire import MAX_URL, MAX_USER_AGENT, WIRE_KEYS
from tagplan import CompiledPlan
from tagplan.model import BUILTIN_EVENTS
from tagplan.phone import e164

_K = WIRE_KEYS
_NAMESPACE = uuid.UUID("3c2f8f5e-64f1-4c0e-9a3b-5d1f0e7a9c21")
"""Of the event ids derived from (source, messageId): any fixed UUID, never to change."""
_SNAKE = re.compile(r"[^a-z0-9]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d .\-()]{8,24}$")
PAGE_PROPERTIES = ("url", "referrer", "path", "search", "title", "name", "keywords", "category")
"""The properties Segment's spec gives every page call: read for the URL and referrer, not kept as properties."""
CAMPAIGN = {"source": "utm_source", "medium": "utm_medium", "name": "utm_campaign", "term": "utm_term",
            "content": "utm_content"}
"""context.campaign's fields (Segment's spec) -> the URL parameters the tag captures."""
REFUSED_TYPES = {
    "alias": "parcours joins identities by the plan's identity keys: send an identify call with them "
             "(the phone, a quote id) and the anonymousId or userId to join",
    "group": "parcours has no groups (accounts); send the account as a property of a track call the plan declares",
    "screen": "parcours records web pages; send a page call with the page's URL",
}
"""Segment calls parcours does not take, each with what to send instead."""
CALLS = ("track", "identify", "page")


class Message(msgspec.Struct, forbid_unknown_fields=False):
    """One Segment call (the fields of Segment's spec parcours reads; others are ignored)."""

    type: str = ""
    messageId: str | int | None = None
    userId: str | int | None = None
    anonymousId: str | int | None = None
    event: str | None = None
    name: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: str | None = None
    originalTimestamp: str | None = None
    sentAt: str | None = None


@dataclass(frozen=True)
class Read:
    """A message read as a wire event, or the reasons it cannot be (`event` None): with what ingest needs
    besides (the client's address and browser, as the message's context gives them) and the time it was sent."""

    message_id: str
    event_id: str
    event_name: str
    event: dict[str, Any] | None
    reasons: list[str]
    ip: str = ""
    user_agent: str = ""
    sent_ms: int = 0


message_decoder = msgspec.json.Decoder(Message)


def read(msg: Message, call: str, source: str, received_ms: int, batch_sent: str | None,
         batch_context: dict[str, Any] | None, plan: CompiledPlan, secret: bytes) -> Read:
    """One Segment message as a wire event, or the reasons it is refused. `call` is the endpoint's type
    (/v1/track) or the message's own `type` (/v1/batch)."""
    given_id = _text(msg.messageId)
    message_id = given_id[:128] or str(uuid.uuid4())  # Segment stamps one when a sender did not
    r = redact.of(plan)
    # A value cut to its column is redacted first (redact.clipped): cut first, a phone across the cut kept 9 digits.
    clip = redact.clipped
    event_id = str(uuid.uuid5(_NAMESPACE, f"{source}/{message_id}"))
    context = {**(batch_context or {}), **(msg.context or {})}
    reasons: list[str] = []
    if call in REFUSED_TYPES:
        return Read(message_id, event_id, call, None, [say("segment_refused", call=call, why=REFUSED_TYPES[call])])
    if call not in CALLS:
        shown = clip(call, 64, r.text)
        return Read(message_id, event_id, shown, None, [say("segment_type", value=shown, calls=", ".join(CALLS))])
    user_id, anonymous_id = _text(msg.userId), _text(msg.anonymousId)
    if not user_id and not anonymous_id:
        reasons.append(say("segment_no_id"))
    name, props = _name_and_properties(msg, call, plan, reasons)
    times = {}
    for field in ("originalTimestamp", "timestamp"):
        value = getattr(msg, field)
        if value is not None:
            times[field] = _millis(value, field, reasons, r)
    sent_text = msg.sentAt if msg.sentAt is not None else batch_sent
    sent = _millis(sent_text, "sentAt", reasons, r) if sent_text is not None else None
    if reasons:
        return Read(message_id, event_id, name, None, reasons)
    client = times.get("originalTimestamp") or times.get("timestamp") or received_ms
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    url = _str(msg.properties, "url") if call == "page" else ""
    referrer = _str(msg.properties, "referrer") if call == "page" else ""
    url, referrer = url or _str(page, "url"), referrer or _str(page, "referrer")
    event = {
        _K["event_id"]: event_id, _K["event"]: name, _K["client_ts"]: client,
        _K["visitor_id"]: _private(anonymous_id, plan, secret) if anonymous_id else "user:" + _private(user_id, plan, secret),
        _K["url"]: clip(url, MAX_URL, r.url), _K["referrer"]: clip(referrer, MAX_URL, r.url),
        _K["captured"]: _captured(url, context.get("campaign"), plan),
        _K["properties"]: props,
        _K["user_id"]: clip(_private(user_id, plan, secret), 256, r.ident),
        _K["message_id"]: clip(given_id, 128, r.ident) or message_id,
    }
    return Read(message_id, event_id, name, event, [],
                ip=_str(context, "ip")[:64], user_agent=clip(_str(context, "userAgent"), MAX_USER_AGENT, r.user_agent),
                # Without sentAt, the sender's clock is taken to be ours: its timestamp stands as given.
                sent_ms=sent if sent is not None else received_ms)


def event_name(name: str) -> str:
    """A Segment event name as a plan name: "Contract Signed" -> contract_signed."""
    return _SNAKE.sub("_", name.lower()).strip("_")


def _name_and_properties(msg: Message, call: str, plan: CompiledPlan, reasons: list[str]) -> tuple[str, dict]:
    if call == "identify":
        traits = msg.traits or {}
        keys = set(plan.identity) | set(plan.crm_keys)
        return "identify", {k: v for k, v in traits.items() if k in keys}
    props = dict(msg.properties or {})
    if call == "page":
        return "page_view", {k: v for k, v in props.items() if k not in PAGE_PROPERTIES}
    given = _text(msg.event)
    if not given:
        reasons.append(say("segment_no_event"))
        return "", props
    # Personal data out before snake-casing: "Call 06 71 82 93 04" would become call_06_71_82_93_04.
    name = event_name(redact.of(plan).text(given))[:64]
    if name in BUILTIN_EVENTS:
        reasons.append(say("segment_builtin", value=redact.of(plan).text(given)[:64]))
    return name, props


def _captured(url: str, campaign: Any, plan: CompiledPlan) -> dict[str, str]:
    """The URL parameters the plan captures, from the page URL and context.campaign (which wins)."""
    wanted = plan.captured_params
    r = redact.of(plan)
    out: dict[str, str] = {}
    if url:
        try:
            query = urlsplit(url).query
        except ValueError:
            query = ""
        out.update((k, redact.clipped(v, 512, r.param)) for k, v in parse_qsl(query) if k in wanted)
    if isinstance(campaign, dict):
        for field, param in CAMPAIGN.items():
            value = campaign.get(field)
            if param in wanted and isinstance(value, str) and value:
                out[param] = redact.clipped(value, 512, r.param)
    return out


def _private(value: str, plan: CompiledPlan, secret: bytes) -> str:
    """An id as given, or its keyed hash when it is personal data: an e-mail address, or a phone number (one
    phonenumbers reads as valid in the plan's region: a customer number of digits is kept as given)."""
    if _EMAIL.match(value):
        return _keyed(value.strip().lower(), secret)
    folded = redact.fold(value)  # 06 71 82 93 04 with no-break spaces, full-width digits...: a phone too
    if _PHONE.match(folded):
        number = e164(folded, plan.default_region)
        if number:
            return _keyed(number, secret)
    return value


private_id = _private
"""An anonymousId or userId as the visitor id it makes (ingest.py keeps a refused call's ids so)."""


def _keyed(text: str, secret: bytes) -> str:
    """hash: and the HMAC-SHA256 of `text` in lower-case base32: letters and the digits 2-7 only, so no run of
    its digits looks like a phone number to the redaction of free text (redact.py)."""
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return "hash:" + base64.b32encode(digest).decode().rstrip("=").lower()


def _millis(value: Any, field: str, reasons: list[str], r: redact.Redactor) -> int:
    """An ISO 8601 time (Segment's) in Unix milliseconds; a reason when it is not one."""
    text = value if isinstance(value, str) else ""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        reasons.append(say("segment_time", field=field, value=r.text(str(value))[:64]))
        return 0
    if when.tzinfo is None:  # Segment's times carry their offset; one without is read as UTC
        when = when.replace(tzinfo=dt.timezone.utc)
    millis = int(when.timestamp() * 1000)
    if not 0 <= millis <= 4_102_444_800_000:
        reasons.append(say("segment_time", field=field, value=r.text(text)[:64]))
        return 0
    return millis


def _text(value: Any) -> str:
    """An id or name as text: Segment's libraries send numbers as they are given."""
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip()


def _str(doc: Any, key: str) -> str:
    value = doc.get(key) if isinstance(doc, dict) else None
    return value if isinstance(value, str) else ""
