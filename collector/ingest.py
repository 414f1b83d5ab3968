"""Ingest: decode a batch, validate each event against the compiled plan, enrich it into a row."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from callcentre.contacts import ContactRow, contact_row
from callcentre.seal import Sealer
from collector import enrich, redact, repeats, useragent
from collector.clock import EventTimes, TimeBounds, batch_sent, event_times
from collector.messages import batch as batch_error
from collector.messages import reason as say
from collector.redact import REDACTED
from collector.rows import EventRow, RejectedRow, seconds
from collector.split import lone_surrogate, split_batch
from collector.wire import (WIRE_KEYS, WIRE_TO_COLUMN, Millis, WireEvent, batch_decoder, decode_error, event_decoder,
                            raw_decoder)
from tagplan import CompiledPlan
from tagplan.compile import EventSpec

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_IDS = (WIRE_KEYS["event_id"], WIRE_KEYS["visitor_id"], WIRE_KEYS["session_id"])
_URLS = (WIRE_KEYS["url"], WIRE_KEYS["referrer"])
_PROPERTIES = WIRE_KEYS["properties"]
_SEGMENT_IDS = ("anonymousId", "userId")
"""A Segment call's visitor ids, in the raw of a call that could not be read (collector/segment/api.py)."""
_FIRST = (*_IDS, "messageId", *_SEGMENT_IDS)
_HOLDERS = (_PROPERTIES, "properties", "traits", "context")
"""Where an event's identity keys (the phone, a quote id) are: the tag's `p`, a Segment call's properties,
traits and context.traits."""
_json = msgspec.json.Encoder().encode


class BadBatch(ValueError):
    """The body is not a batch at all: the whole request is refused with 400."""


class Request(msgspec.Struct, frozen=True):
    """What the collector knows about the request that carried a batch."""

    received_ms: int
    """Unix milliseconds, the collector's clock."""
    user_agent: str = ""
    ip: str = ""
    source: str = ""
    """The server source whose write key sent the batch (collector/segment/); "" for the tag."""


@dataclass
class Outcome:
    events: list[EventRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    contacts: list[ContactRow] = field(default_factory=list)
    """Ticked call-back boxes with their phone, sealed (callcentre/contacts.py): stored apart from the log."""
    problems: list[EventProblem] = field(default_factory=list)
    """Events that could not even be read (or that ingest failed on): rejected, and worth a log line."""


@dataclass
class EventProblem:
    event_id: str
    reason: str
    error: BaseException | None = None  # an unexpected exception: a bug, logged with its traceback


MAX_EVENT = 32_768
"""Default size limit of one event in a batch, in bytes of JSON."""
MAX_EVENTS = 1_000
"""The most events one request may carry (the tag sends at most 100; Segment's libraries, a few hundred): 300,000
empty events in one 900 KB body held every other request for 8 s."""


def ingest(body: bytes, req: Request, plan: CompiledPlan, secret: bytes, max_event: int = MAX_EVENT,
           bounds: TimeBounds = TimeBounds(), sealer: Sealer | None = None, refused: str = "") -> Outcome:
    """Turn one request body into rows: valid events and rejected ones, none dropped. Each event is judged
    on its own: one that cannot be read, or that ingest fails on, is rejected; the others go on. With a
    `sealer`, the call-back consents of the plan's lead steps too (callcentre/contacts.py). `refused`: a reason
    the whole request is not taken for (a site the plan does not list), every event then kept as rejected."""
    raws, batch_sent_ms, distinct = _events(body)
    if len(raws) > MAX_EVENTS:  # judged on the event loop: a request's cost stays bounded, whatever it holds
        raise BadBatch(batch_error(f"{len(raws)} events, more than {MAX_EVENTS} in one batch; send smaller batches"))
    out = Outcome()
    read = []
    for raw in raws:
        if len(raw) > max_event:
            reason = say("too_large", size=len(raw), limit=max_event)
            # Cleaned whole, then cut: cut first, it would no longer decode and its pii values would stay.
            out.rejected.append(_rejected_row(raw, None, [reason], req, plan, secret, batch_sent_ms,
                                              event_id=_field(raw, "event_id"), event=_field(raw, "event"),
                                              keep=max_event))
            continue
        read.append((raw, *_decode(raw, distinct)))
    # One clock correction for the whole batch: events sent together keep their order.
    sent = batch_sent(batch_sent_ms, [ev.client_ts for _, ev, _ in read if ev is not None])
    for raw, ev, problem in read:
        try:
            row, reasons = _judge(ev, problem, sent, req, plan, secret, bounds)
            if refused:
                reasons = [*reasons, refused]
            if reasons:
                out.rejected.append(_rejected_row(raw, ev, reasons, req, plan, secret, sent))
            else:
                contact = _contact(ev, row, plan, sealer, secret)
                out.events.append(row)
                if contact:
                    out.contacts.append(contact)
            if ev is None:
                out.problems.append(EventProblem(_field(raw, "event_id"), problem))
        except Exception as exc:  # a bug on this event: the others are not doomed with it
            reason = say("failed_event", detail=type(exc).__name__)
            out.rejected.append(_rejected_row(raw, None, [reason], req, plan, secret, sent))
            out.problems.append(EventProblem(_field(raw, "event_id"), reason, exc))
    return out


def _contact(ev: WireEvent, row: EventRow, plan: CompiledPlan, sealer: Sealer | None,
             secret: bytes) -> ContactRow | None:
    """The call-back consent a valid form step carries, its phone sealed; None for any other event."""
    lead = plan.lead_steps.get((row.form_id, row.step)) if sealer and row.event == "form_step" else None
    return contact_row(ev.properties, row, lead, sealer, secret) if lead else None


def _events(body: bytes) -> tuple[list[bytes], int, bool]:
    """The raw events of a batch, its send time, and whether no key is given twice in it (repeats.distinct:
    then its events need no look of their own); BadBatch when the body is not a batch at all."""
    try:
        batch = batch_decoder.decode(body)
        distinct = repeats.distinct(body)
        if not distinct:
            _envelope(body)
        return [bytes(item) for item in batch.events], batch.sent, distinct
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        whole = exc
    unwrapped = _events_as_text(body)
    if unwrapped is not None:
        _envelope(body)  # `events` or `sent` given twice: which was meant cannot be known (BadBatch)
        try:
            return _events(unwrapped)
        except BadBatch:
            pass  # its events are no array either: judged as sent
    # Something inside refused the whole body (a lone surrogate in one event's string): cut it into its
    # events without decoding them, and judge each.
    split = split_batch(body)
    if split is None:
        raise BadBatch(batch_error(decode_problem(whole, body, "the body"))) from None
    _envelope(body)
    raws, values = split
    sent = values.get("sent", b"")
    try:
        return raws, msgspec.json.decode(sent, type=Millis) if sent else 0, False
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise BadBatch(batch_error(decode_problem(whole, body, "the body"))) from None


def _events_as_text(body: bytes) -> bytes | None:
    """The body of a page whose arrays have a toJSON of their own (Prototype.js 1.6's Array.prototype.toJSON,
    still on old sites): the browser's JSON.stringify wrote the array of events as a string holding its JSON
    text, `{"sent": …, "events": "[{…}]"}`. The body as the tag meant it, or None when it is not one of those."""
    if b'"events"' not in body:
        return None
    try:
        batch = raw_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(batch, dict) or not isinstance(events := batch.get("events"), str) \
            or not events.lstrip().startswith("["):
        return None
    try:
        if not isinstance(raw_decoder.decode(events), list):  # `[…] trailing` is no array either
            return None
    except (msgspec.DecodeError, RecursionError):
        return None
    return b'{"sent":%s,"events":%s}' % (_json(batch.get("sent", 0)), events.encode())


def _envelope(body: bytes) -> None:
    """BadBatch when the body gives `events` or `sent` twice: which array is the batch cannot be known, and
    msgspec would keep the last one only (repeats.py)."""
    twice = repeats.repeated_top(body, ("events", "sent"))
    if twice:
        raise BadBatch(batch_error(say("repeated_key", field=twice)))


def event_row(raw: bytes, sent: int, req: Request, plan: CompiledPlan, secret: bytes,
              redacted: frozenset[str] = frozenset(), phone_key: str = "", bounds: TimeBounds = TimeBounds()):
    """Decode and validate one event: (row, [], event) when valid, (None, reasons, event or None) otherwise.

    `redacted` names properties whose value was removed before the event was kept as rejected: they
    passed their rules then, are not checked again, and `phone_key` restores the identity key they gave.
    """
    ev, problem = _decode(raw)
    if ev is not None and redacted:
        ev.properties = {k: v for k, v in ev.properties.items() if k not in redacted}
    row, reasons = _judge(ev, problem, sent or (ev.client_ts if ev else 0), req, plan, secret, bounds, redacted,
                          phone_key)
    return row, reasons, ev


def _decode(raw: bytes, distinct: bool = False) -> tuple[WireEvent | None, str]:
    """The wire event, or None and why it could not be read (`distinct`: its batch gives no key twice)."""
    try:
        ev = event_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        return None, decode_problem(exc, raw)
    twice = None if distinct else repeats.repeated_key(raw)
    if twice:  # msgspec kept the last value of that key: which one is meant cannot be known
        return None, say("repeated_key", field=".".join([WIRE_TO_COLUMN.get(twice[0], twice[0]), *twice[1:]]))
    return ev, ""


def decode_problem(exc: Exception, raw: bytes, whole: str = "the event") -> str:
    """Why msgspec could not read `raw` (an event, or `whole`), in the plan's words."""
    if isinstance(exc, UnicodeDecodeError):  # msgspec checks UTF-8 as it reads a string
        try:
            raw.decode()
        except UnicodeDecodeError as bad:  # where in the event, not in the string msgspec was reading
            return say("not_utf8", position=bad.start)
        return say("not_utf8", position=exc.start)
    lone = lone_surrogate(raw) if isinstance(exc, msgspec.DecodeError) else None
    if lone:  # msgspec says "it ends too early" or "invalid utf-16 surrogate pair": say what is wrong
        return say("lone_surrogate", escape=lone[0], position=lone[1])
    return decode_error(exc, whole)


def _judge(ev: WireEvent | None, problem: str, sent: int, req: Request, plan: CompiledPlan, secret: bytes,
           bounds: TimeBounds, redacted: frozenset[str] = frozenset(),
           phone_key: str = "") -> tuple[EventRow | None, list[str]]:
    """The row of a decoded event, or the reasons it is rejected."""
    if ev is None:
        return None, [problem]
    event_id = _canonical_id(ev.event_id)
    reasons = _validate(ev, event_id, plan)
    if redacted:
        reasons = [r for r in reasons if r.split(":")[0].removeprefix("properties.") not in redacted]
    times = event_times(ev.client_ts, sent, req.received_ms, bounds)
    if times.too_old:
        reasons.append(bounds.too_old)
    if reasons:
        return None, reasons
    return _row(ev, event_id, sent, times, req, plan, secret, phone_key), []


def _validate(ev: WireEvent, event_id: str | None, plan: CompiledPlan) -> list[str]:
    reasons = []
    if event_id is None:
        reasons.append(say("not_a_uuid", value=redact.of(plan).ident(ev.event_id)[:64]))
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
        reasons.append(say("event_undeclared", value=redact.of(plan).text(event)[:64], version=plan.version))
        return None
    if event not in ("form_step", "form_submit", "form_abandon"):
        return plan.events[event]
    if not form_id:
        reasons.append(say("form_required", event=event))
        return None
    if form_id not in plan.steps:
        reasons.append(say("form_undeclared", value=redact.of(plan).text(form_id)[:64]))
        return None
    steps = plan.steps[form_id]
    if event == "form_submit":
        return plan.submits[form_id]
    if event == "form_abandon":
        if step and step not in steps:
            reasons.append(say("step_unknown", form=form_id, value=redact.of(plan).text(step)[:64],
                               steps=", ".join(steps)))
        return EventSpec()
    if step not in steps:
        reasons.append(say("step_unknown", form=form_id, value=redact.of(plan).text(step)[:64],
                           steps=", ".join(steps)))
        return None
    return steps[step][1]


def _row(ev: WireEvent, event_id: str, sent: int, times: EventTimes, req: Request, plan: CompiledPlan,
         secret: bytes, phone_key: str = "") -> EventRow:
    # Only the parameters the plan captures (the broker's and capture.params: all the tag sends): any other name
    # is no parameter of the plan, and may be anything typed (a phone number as a name, which the redaction of
    # the values would not see).
    wanted = plan.captured_params
    captured = {name: value for name, value in ev.captured.items() if name in wanted}
    broker_id = plan.broker_id(captured.pop(plan.broker_param, "")) if plan.broker_param else ""
    broker = plan.brokers.get(broker_id)
    lever = plan.lever(broker_id, captured, ev.referrer, ev.url)
    # Personal data typed anywhere, out of every free-text field (redact.py); the lever is read before.
    # Most events hold none: one look at their text together, then nothing more.
    r = redact.of(plan)
    url, referrer, vid, sid = ev.url, ev.referrer, ev.visitor_id, ev.session_id
    # (A UUID's digit runs would send every event down the slow path: ids of 36 characters are looked at alone.)
    if not r.plain("\0".join((url, referrer, broker_id, "" if len(vid) == 36 else vid, "" if len(sid) == 36 else sid,
                               *captured.values()))):
        url, referrer, broker_id = r.url(url), r.url(referrer), r.keyed(broker_id, secret)
        captured = {name: r.param(value) for name, value in captured.items()}
        vid, sid = r.ident(vid), r.ident(sid)
    elif len(vid) == 36 or len(sid) == 36:
        vid, sid = r.ident(vid), r.ident(sid)
    click, click_type = enrich.click_id(captured)
    props, key = _private(ev.properties, plan, secret, ev.event)
    ua = useragent.parse(req.user_agent)
    get = captured.get
    # The wire event's fields are named as the columns: copied as they are, but for the time columns
    # (ms -> seconds, client_ts bounded: clock.py), the event id (canonical), what is derived, and the
    # free text (redacted).
    return EventRow(
        event_id=event_id, event=ev.event, ts=seconds(times.ts), client_ts=seconds(times.client_ts),
        client_ts_original=None if times.client_ts_original is None else seconds(times.client_ts_original),
        sent_at=seconds(sent), received_at=seconds(req.received_ms),
        visitor_id=vid, session_id=sid, seq=ev.seq,
        url=url, referrer=referrer, broker_id=broker_id,
        broker_name=broker.name if broker else "", lever=lever,
        utm_source=get("utm_source", ""), utm_medium=get("utm_medium", ""), utm_campaign=get("utm_campaign", ""),
        utm_term=get("utm_term", ""), utm_content=get("utm_content", ""),
        click_id=click, click_id_type=click_type, captured=captured,
        form_id=ev.form_id, step=ev.step,
        step_index=plan.steps[ev.form_id][ev.step][0] if ev.event in ("form_step", "form_abandon") and ev.step else 0,
        properties=_json(props).decode() if props else "{}", phone_key=key or phone_key,
        user_agent=r.user_agent(req.user_agent), ip=req.ip, plan_version=plan.version,
        browser=ua.browser, browser_version=ua.browser_version, os=ua.os, os_version=ua.os_version,
        device_type=ua.device_type, is_bot=ua.is_bot,
        step_elapsed_ms=ev.step_elapsed_ms if ev.event == "form_step" else 0,
        # Only a server source names its users: from a browser they would be whatever a page made up.
        source=req.source, user_id=r.ident(ev.user_id) if req.source else "",
        message_id=r.ident(ev.message_id) if req.source else "",
    )


def _private(props: dict[str, Any], plan: CompiledPlan, secret: bytes, event: str = "") -> tuple[dict[str, Any], str]:
    """Drop personal data from the properties: pii ones whole, the phone turned into its keyed hash, phone
    numbers and e-mail addresses typed in the others (redact.py); in an id (`event`'s: plan.id_properties), by
    their keyed hash."""
    key = ""
    kept = {}
    r = redact.of(plan)
    ids = plan.id_properties(event)
    for name, value in props.items():
        if name in plan.identity and isinstance(value, str) and not key:
            key = enrich.phone_key(value, plan.identity[name], secret)
        if name in plan.identity or name in plan.pii:
            continue
        # A CRM, quote or contract id: a phone in it replaced by its keyed hash (as in imported files, so they
        # join), not by [phone] (0145678901: every such id one, its visitors one person, its sales one sale);
        # so is an id sent as a JSON number whose digits read as one (an integer conversion_id 33145678901);
        # valid properties are scalars.
        if isinstance(value, str):
            kept[name] = r.keyed(value, secret) if name in ids else r.text(value)
        else:
            kept[name] = r.number(value)
            if name in ids and kept[name] == redact.PHONE:
                kept[name] = r.keyed(str(value), secret)
    return kept, key


def refused(raw: bytes, reasons: list[str], req: Request, plan: CompiledPlan, secret: bytes, sent: int,
            event_id: str, event: str, keep: int | None = None) -> RejectedRow:
    """The rejected row of an event a sender's own format refused before it could be read as an event (a
    server message of an unsupported type): kept, cleaned of personal data, like any rejected event."""
    return _rejected_row(raw, None, reasons, req, plan, secret, sent, event_id=event_id, event=event, keep=keep)


def _rejected_row(raw: bytes, ev: WireEvent | None, reasons: list[str], req: Request, plan: CompiledPlan,
                  secret: bytes, sent: int, event_id: str | None = None, event: str | None = None,
                  keep: int | None = None) -> RejectedRow:
    """The rejected row of an event; its raw payload cleaned of personal data, then cut to `keep` characters."""
    if event_id is None:
        event_id = ev.event_id if ev else _field(raw, "event_id")
    if event is None:
        event = ev.event if ev else _field(raw, "event")
    # The phone is redacted from `raw`; its keyed hash is kept so a replay can restore it.
    key = _private(ev.properties, plan, secret)[1] if ev else _raw_phone_key(raw, plan, secret)
    r = redact.of(plan)
    return RejectedRow(
        received_at=seconds(req.received_ms), event_id=r.ident(event_id)[:128], event=r.text(event)[:128],
        reasons=[r.text(reason) for reason in reasons], raw=_scrub(raw, plan, secret, keep),
        user_agent=r.user_agent(req.user_agent), ip=req.ip, plan_version=plan.version, sent_at=seconds(sent),
        phone_key=key, source=req.source,
    )


def _field(raw: bytes, column: str) -> str:
    """One text field of an event that did not decode as one, by its column name; from an event that is not
    even JSON (invalid UTF-8, a lone surrogate), the first string given for that key, as it is written."""
    key = WIRE_KEYS[column]
    try:
        value = raw_decoder.decode(raw).get(key, "")
    except (ValueError, AttributeError, RecursionError):  # msgspec's DecodeError, invalid UTF-8
        found = re.search(rb'"%s"\s*:\s*"((?:[^"\\]|\\.){0,128})"' % re.escape(key.encode()), raw)
        return found.group(1).decode("utf-8", "backslashreplace") if found else ""
    return value if isinstance(value, str) else ""


def _raw_phone_key(raw: bytes, plan: CompiledPlan, secret: bytes) -> str:
    """The phone's keyed hash of an event that was not read as one (too large, a Segment call refused): its
    raw keeps the phone redacted, and erasure by the phone finds the row by this key."""
    try:
        doc = raw_decoder.decode(raw)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(doc, dict):
        return ""
    context = doc.get("context")
    for holder in (*(doc.get(h) for h in _HOLDERS), context.get("traits") if isinstance(context, dict) else None):
        if isinstance(holder, dict):
            key = _private({k: v for k, v in holder.items() if k in plan.identity}, plan, secret)[1]
            if key:
                return key
    return ""


def _scrub(raw: bytes, plan: CompiledPlan, secret: bytes = b"", keep: int | None = None) -> str:
    """The raw event with personal data removed (pii properties whole, the rest by redact.py), so rejected
    rows hold none, and the rest exactly as sent, for a replay (a key given twice too, with both values). A
    Segment call's anonymousId and userId are kept as the visitor ids translate.py makes of them (an e-mail
    address, a phone: its keyed hash). Cut to `keep` characters: an event longer is written with the keys that
    identify it first (_identifying_first), so that erasure still finds them in the text kept."""
    from collector.segment.translate import private_id

    r = redact.of(plan)
    try:
        doc = raw_decoder.decode(raw)
        if not isinstance(doc, dict):
            return msgspec.json.encode(r.value(doc)).decode()
        pairs = repeats.repeated_key(raw) is not None
        sensitive = set(plan.identity) | plan.pii
        clean = []
        for key, value in repeats.read_pairs(raw) if pairs else doc.items():
            if key in _URLS and isinstance(value, str):
                clean.append((key, r.url(value)))
            elif key in _IDS and isinstance(value, str):
                clean.append((key, r.ident(value)))
            elif key in _SEGMENT_IDS and isinstance(value, str | int) and not isinstance(value, bool):
                given = str(value).strip()
                hashed = private_id(given, plan, secret)
                clean.append((key, hashed if hashed != given else r.text(given)))
            elif key == _PROPERTIES and isinstance(value, dict | repeats.Pairs):
                items = value if pairs else value.items()
                clean.append((key, _object([(r.text(k), REDACTED if k in sensitive else _value(r, v, pairs))
                                            for k, v in items], pairs)))
            else:
                clean.append((r.text(key), _value(r, value, pairs)))
        text = _encode_pairs(clean, pairs)
        if keep is not None and len(text) > keep:
            text = _encode_pairs(_identifying_first(clean, plan, pairs), pairs)
        return text[:keep]
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deep: the text, bytes escaped
        return r.text(raw.decode("utf-8", "backslashreplace"))[:keep]


def _encode_pairs(items: list[tuple[str, Any]], pairs: bool) -> str:
    return repeats.encode_pairs(repeats.Pairs(items)) if pairs else msgspec.json.encode(dict(items)).decode()


_SHORT = 2048
"""An oversized event's fields this long at most, once encoded, are kept ahead of the objects: the name, the time,
the URL (at most 2,048 characters) say what it was."""


def _identifying_first(clean: list[tuple[str, Any]], plan: CompiledPlan, pairs: bool) -> list[tuple[str, Any]]:
    """An event too large to keep whole, its keys reordered so that what identifies it comes before the cut:
    its ids (the tag's id, vid, sid; a Segment call's messageId, anonymousId, userId), then its short fields
    (its name, time, URL: what says what it was), then the objects that hold its identity keys (_HOLDERS), the
    smallest first, each with those keys first (context with its traits first), then the rest. Cut, it is no
    JSON anyway: erasure reads its ids off the text (journeys/erase.py)."""
    names = set(plan.identity) | set(plan.crm_keys)

    def items(value: Any) -> list[tuple[str, Any]] | None:
        return list(value) if isinstance(value, repeats.Pairs) else list(value.items()) if isinstance(value, dict) else None

    def first(value: Any, wanted: set[str]) -> Any:
        inner = items(value)
        if inner is None:
            return value
        inner = sorted(inner, key=lambda kv: kv[0] not in wanted)
        inner = [(k, first(v, names) if k == "traits" else v) for k, v in inner]
        return repeats.Pairs(inner) if pairs else dict(inner)

    ids = [(k, v) for k, v in clean if k in _FIRST]
    holders = [(k, first(v, names | {"traits"})) for k, v in clean
               if k in _HOLDERS and k not in _FIRST]
    holders.sort(key=lambda kv: len(_encode_pairs([kv], pairs)))
    short: list[tuple[str, Any]] = []
    long: list[tuple[str, Any]] = []
    for k, v in clean:
        if k not in _FIRST and k not in _HOLDERS:
            (short if len(_encode_pairs([(k, v)], pairs)) <= _SHORT else long).append((k, v))
    return ids + short + holders + long


def _value(r: redact.Redactor, value: Any, pairs: bool) -> Any:
    """A JSON value's strings redacted; objects read as repeats.Pairs kept as pairs."""
    if not pairs:
        return r.value(value)
    if isinstance(value, repeats.Pairs):
        return repeats.Pairs((r.text(k), _value(r, v, True)) for k, v in value)
    if isinstance(value, list):
        return [_value(r, v, True) for v in value]
    return r.text(value) if isinstance(value, str) else r.number(value)


def _object(items: list[tuple[str, Any]], pairs: bool) -> Any:
    return repeats.Pairs(items) if pairs else dict(items)
