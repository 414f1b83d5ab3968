"""Ingest: decode a batch, validate each event against the compiled plan, enrich it into a row."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from collector import enrich, useragent
from collector.messages import batch as batch_error
from collector.messages import reason as say
from collector.rows import EventRow, RejectedRow, seconds
from collector.wire import WIRE_KEYS, WireEvent, batch_decoder, decode_error, event_decoder, raw_decoder
from tagplan import CompiledPlan
from tagplan.compile import EventSpec

_PHONE_LIKE = re.compile(r"\+?\d[\d .\-()]{6,}\d")
REDACTED = "[redacted]"
"""What replaces personal data in a rejected event's stored payload (replay recognises it)."""
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_IDS = (WIRE_KEYS["event_id"], WIRE_KEYS["visitor_id"], WIRE_KEYS["session_id"])  # random ids may hold digit runs that look like phones
_json = msgspec.json.Encoder().encode


class BadBatch(ValueError):
    """The body is not a batch at all: the whole request is refused with 400."""


class Request(msgspec.Struct, frozen=True):
    """What the collector knows about the request that carried a batch."""

    received_ms: int
    """Unix milliseconds, the collector's clock."""
    user_agent: str = ""
    ip: str = ""


@dataclass
class Outcome:
    events: list[EventRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)


MAX_EVENT = 32_768
"""Default size limit of one event in a batch, in bytes of JSON."""


def ingest(body: bytes, req: Request, plan: CompiledPlan, secret: bytes, max_event: int = MAX_EVENT) -> Outcome:
    """Turn one request body into rows: valid events and rejected ones, none dropped."""
    try:
        batch = batch_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise BadBatch(batch_error(decode_error(exc, "the body"))) from None
    out = Outcome()
    for item in batch.events:
        raw = bytes(item)
        if len(raw) > max_event:
            reason = say("too_large", size=len(raw), limit=max_event)
            # Cleaned whole, then cut: cut first, it would no longer decode and its pii values would stay.
            out.rejected.append(_rejected_row(raw, None, [reason], req, plan, secret, batch.sent,
                                              event_id=_field(raw, "event_id"), event=_field(raw, "event"),
                                              keep=max_event))
            continue
        row, reasons, event = event_row(raw, batch.sent, req, plan, secret)
        if reasons:
            out.rejected.append(_rejected_row(raw, event, reasons, req, plan, secret, batch.sent))
        else:
            out.events.append(row)
    return out


def event_row(raw: bytes, sent: int, req: Request, plan: CompiledPlan, secret: bytes,
              redacted: frozenset[str] = frozenset(), phone_key: str = ""):
    """Decode and validate one event: (row, [], event) when valid, (None, reasons, event or None) otherwise.

    `redacted` names properties whose value was removed before the event was kept as rejected: they
    passed their rules then, are not checked again, and `phone_key` restores the identity key they gave.
    """
    try:
        ev = event_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        return None, [decode_error(exc)], None
    if redacted:
        ev.properties = {k: v for k, v in ev.properties.items() if k not in redacted}
    event_id = _canonical_id(ev.event_id)
    reasons = _validate(ev, event_id, plan)
    if redacted:
        reasons = [r for r in reasons if r.split(":")[0].removeprefix("properties.") not in redacted]
    if reasons:
        return None, reasons, ev
    return _row(ev, event_id, sent, req, plan, secret, phone_key), [], ev


def _validate(ev: WireEvent, event_id: str | None, plan: CompiledPlan) -> list[str]:
    reasons = []
    if event_id is None:
        reasons.append(say("not_a_uuid", value=ev.event_id[:64]))
    spec = event_spec(ev.event, ev.form_id, ev.step, plan, reasons)
    if spec is not None:
        reasons += spec.problems(ev.properties)
    return reasons


def _canonical_id(text: str) -> str | None:
    """The event id as ClickHouse's UUID text (lowercase, hyphenated), None when it is not a UUID."""
    if len(text) == 36 and _UUID.match(text):
        return text.lower()  # the tag's crypto.randomUUID(): no need to parse
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def event_spec(event: str, form_id: str, step: str, plan: CompiledPlan, reasons: list[str]) -> EventSpec | None:
    """The property rules that apply to an event, or None when the event itself is wrong (said in `reasons`)."""
    if event not in plan.events:
        reasons.append(say("event_undeclared", value=event[:64], version=plan.version))
        return None
    if event not in ("form_step", "form_submit", "form_abandon"):
        return plan.events[event]
    if not form_id:
        reasons.append(say("form_required", event=event))
        return None
    if form_id not in plan.steps:
        reasons.append(say("form_undeclared", value=form_id[:64]))
        return None
    steps = plan.steps[form_id]
    if event == "form_submit":
        return plan.submits[form_id]
    if event == "form_abandon":
        if step and step not in steps:
            reasons.append(say("step_unknown", form=form_id, value=step[:64], steps=", ".join(steps)))
        return EventSpec()
    if step not in steps:
        reasons.append(say("step_unknown", form=form_id, value=step[:64], steps=", ".join(steps)))
        return None
    return steps[step][1]


def _row(ev: WireEvent, event_id: str, sent: int, req: Request, plan: CompiledPlan, secret: bytes,
         phone_key: str = "") -> EventRow:
    sent = sent or ev.client_ts
    # Snowplow's derived time: the device clock may be wrong, but the time between
    # creating and sending the event is right, so subtract it from our own clock.
    ts = max(req.received_ms - max(sent - ev.client_ts, 0), 0)
    captured = dict(ev.captured)
    broker_id = captured.pop(plan.broker_param, "") if plan.broker_param else ""
    broker = plan.brokers.get(broker_id)
    click, click_type = enrich.click_id(captured)
    props, key = _private(ev.properties, plan, secret)
    ua = useragent.parse(req.user_agent)
    get = captured.get
    # The wire event's fields are named as the columns: copied as they are, but for the time columns
    # (ms -> seconds), the event id (canonical), and what is derived.
    return EventRow(
        event_id=event_id, event=ev.event, ts=seconds(ts), client_ts=seconds(ev.client_ts), sent_at=seconds(sent),
        received_at=seconds(req.received_ms), visitor_id=ev.visitor_id, session_id=ev.session_id, seq=ev.seq,
        url=ev.url, referrer=ev.referrer, broker_id=broker_id, broker_name=broker.name if broker else "",
        lever=plan.lever(broker_id, captured, ev.referrer, ev.url),
        utm_source=get("utm_source", ""), utm_medium=get("utm_medium", ""), utm_campaign=get("utm_campaign", ""),
        utm_term=get("utm_term", ""), utm_content=get("utm_content", ""),
        click_id=click, click_id_type=click_type, captured=captured,
        form_id=ev.form_id, step=ev.step,
        step_index=plan.steps[ev.form_id][ev.step][0] if ev.event in ("form_step", "form_abandon") and ev.step else 0,
        properties=_json(props).decode() if props else "{}", phone_key=key or phone_key,
        user_agent=req.user_agent, ip=req.ip, plan_version=plan.version,
        browser=ua.browser, browser_version=ua.browser_version, os=ua.os, os_version=ua.os_version,
        device_type=ua.device_type, is_bot=ua.is_bot,
        step_elapsed_ms=ev.step_elapsed_ms if ev.event == "form_step" else 0,
    )


def _private(props: dict[str, Any], plan: CompiledPlan, secret: bytes) -> tuple[dict[str, Any], str]:
    """Drop personal data from the properties; turn the phone into its keyed hash."""
    key = ""
    kept = {}
    for name, value in props.items():
        if name in plan.identity and isinstance(value, str) and not key:
            key = enrich.phone_key(value, plan.identity[name], secret)
        if name in plan.identity or name in plan.pii:
            continue
        kept[name] = value
    return kept, key


def _rejected_row(raw: bytes, ev: WireEvent | None, reasons: list[str], req: Request, plan: CompiledPlan,
                  secret: bytes, sent: int, event_id: str | None = None, event: str | None = None,
                  keep: int | None = None) -> RejectedRow:
    """The rejected row of an event; its raw payload cleaned of personal data, then cut to `keep` characters."""
    if event_id is None:
        event_id = ev.event_id if ev else _field(raw, "event_id")
    if event is None:
        event = ev.event if ev else _field(raw, "event")
    # The phone is redacted from `raw`; its keyed hash is kept so a replay can restore it.
    key = _private(ev.properties, plan, secret)[1] if ev else ""
    return RejectedRow(
        received_at=seconds(req.received_ms), event_id=event_id[:128], event=event[:128], reasons=reasons,
        raw=_scrub(raw, plan)[:keep], user_agent=req.user_agent, ip=req.ip, plan_version=plan.version,
        sent_at=seconds(sent), phone_key=key,
    )


def _field(raw: bytes, column: str) -> str:
    """One text field of an event that did not decode as one, by its column name."""
    try:
        value = raw_decoder.decode(raw).get(WIRE_KEYS[column], "")
    except (msgspec.DecodeError, AttributeError, RecursionError):
        return ""
    return value if isinstance(value, str) else ""


def _scrub(raw: bytes, plan: CompiledPlan) -> str:
    """The raw event with personal data removed, so rejected rows never hold a phone number."""
    sensitive = set(plan.identity) | plan.pii
    try:
        doc = raw_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return _PHONE_LIKE.sub(REDACTED, raw.decode("utf-8", "replace"))
    return msgspec.json.encode(_scrub_value(doc, sensitive)).decode()


def _scrub_value(value: Any, sensitive: set[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if k in sensitive else v if k in _IDS else _scrub_value(v, sensitive)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_value(v, sensitive) for v in value]
    if isinstance(value, str):
        return _PHONE_LIKE.sub(REDACTED, value)
    return value
