"""POST /v1/batch, /v1/track, /v1/identify, /v1/page: Segment's HTTP Tracking API, for servers.

Back offices, CRMs and call-centre tools already speak it (Segment's libraries exist for every language):
pointed at the collector, they send events that go through the tag's path, with the source of their write
key recorded on each. As Segment's API does:

- the write key is the user name of HTTP Basic auth (the key, a colon, an empty password), or the body's
  `writeKey`; an unknown or revoked key is answered 401 (Segment's libraries do not retry it);
- JSON bodies, gzip accepted (`Content-Encoding: gzip`); a call is at most 32 KB, a batch 500 KB and 1,000
  calls: beyond, the request is answered 400; in a batch, a call larger than 32 KB is kept as rejected, the others go on;
- 200 for an accepted batch, whose invalid calls are kept as rejected events, each with its reasons, and
  listed in the answer's `rejected_events` (`messageId`, `reasons`);
- 503 + Retry-After when the write-ahead log is full (ClickHouse slow or down), 429 + Retry-After when a
  source sends more than `--source-rate` events a second: Segment's libraries retry both, after the delay.

/v1/alias, /v1/group and /v1/screen are refused with 400 and the reason (in a batch, such a call is kept as
rejected with it). What each call becomes is said in translate.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector import ingest, messages, repeats
from collector.body import BodyError, read_body
from collector.collect import LargeBatches, heavy
from collector.enrich import truncate_ip
from collector.messages import answer
from collector.split import lone_surrogate, split_batch
from collector.segment import translate
from collector.segment.keys import REFRESH, KeyRing, KeysUnread
from collector.storage import StoreError
from collector.wal import WalError, WalFull

log = logging.getLogger("parcours.segment")

BATCH_LIMIT = 500 * 1024
"""Segment's limit of a batch request, in bytes (once gunzipped too)."""
CALL_LIMIT = 32 * 1024
"""Segment's limit of one call, alone or in a batch."""
EVENT_LIMIT = 2 * CALL_LIMIT
"""The limit of the tag's event a call within CALL_LIMIT becomes: the translation adds its own keys (a call of
32,740 bytes made an event of 32,799, refused for a size Segment allows)."""


class _Batch(msgspec.Struct, forbid_unknown_fields=False):
    batch: list[msgspec.Raw]
    sentAt: str | None = None
    context: dict[str, Any] | None = None
    writeKey: str | None = None


class _Call(msgspec.Struct, forbid_unknown_fields=False):
    """A single call's body, read for its write key only: the call itself is read as a batch's are, so a
    field of the wrong type is a reason it is kept as rejected, not a refused request."""

    writeKey: Any = None


_ENVELOPE = tuple(f.encode_name for f in msgspec.structs.fields(_Batch))
_batch_decoder = msgspec.json.Decoder(_Batch)
_call_decoder = msgspec.json.Decoder(_Call)
_encode = msgspec.json.Encoder().encode


@dataclass
class _Item:
    """One call of the request: its bytes (kept, cleaned, if it is rejected) and what it was read as."""

    raw: bytes
    message: translate.Message | None
    problem: str = ""
    read: translate.Read | None = None

    @property
    def message_id(self) -> str:
        """Its messageId, even when the call could not be read as one."""
        if self.read is not None:
            return self.read.message_id
        try:
            given = msgspec.json.decode(self.raw).get("messageId")
        except (msgspec.DecodeError, RecursionError, AttributeError, UnicodeDecodeError):
            return ""
        return given[:128] if isinstance(given, str) else ""


async def batch(request: Request) -> Response:
    """POST /v1/batch: many calls, each of its own type."""
    return await _serve(request, None)


def _single(call: str):
    async def endpoint(request: Request) -> Response:
        return await _serve(request, call)

    endpoint.__name__ = call
    endpoint.__doc__ = f"POST /v1/{call}: one {call} call."
    return endpoint


async def _serve(request: Request, call: str | None) -> Response:
    state = request.app.state
    settings = state.settings
    if call in translate.REFUSED_TYPES:
        return _error(400, answer("segment_refused", call=call, why=translate.REFUSED_TYPES[call]), "unsupported")
    if state.wal.full:  # before reading the body: the sender keeps the batch and retries
        state.metrics.refused.labels("wal_full").inc()
        return _error(503, answer("wal_full"), "busy", settings.retry_after)
    limit = BATCH_LIMIT if call is None else CALL_LIMIT
    headers = dict(request.scope["headers"])
    try:
        # Read as JSON whatever its declared type: Segment asks for application/json, but RudderStack's Node
        # library (a Segment-compatible one) posts its gzipped batches with axios' default form type.
        body = await read_body(request.receive, {**headers, b"content-type": b"application/json"}, limit)
    except BodyError as exc:
        if exc.status == 413:  # Segment's API answers its size limits 400
            what = "the batch" if call is None else "the call"
            advice = "send fewer calls per batch" if call is None else "send fewer or shorter properties"
            return _error(400, answer("segment_too_big", what=what, limit=limit, advice=advice), "too_large")
        return _error(exc.status, str(exc), "invalid")
    received_ms = time.time_ns() // 1_000_000
    try:
        if call is None:
            items, body_key, sent, context = _batch(body)
        else:
            given = _call_key(body)
            items, body_key, sent, context = [_item(body)], given if isinstance(given, str) else None, None, None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        template = "segment_batch" if call is None else "segment_call"
        return _error(400, answer(template, reason=_decode_error(exc, body, "the body")), "invalid")
    except repeats.Repeated as exc:
        return _error(400, answer("segment_batch", reason=str(exc)), "invalid")
    if len(items) > ingest.MAX_EVENTS:  # judged on the event loop: a request's cost stays bounded (collector/ingest.py)
        return _error(400, answer("segment_batch", reason=f"{len(items)} calls, more than {ingest.MAX_EVENTS} in one batch; "
                                                         "send smaller batches"), "invalid")
    key = _write_key(headers) or body_key or ""
    if not key:
        return _error(401, answer("write_key_missing"), "unauthorized")
    try:
        source = state.write_keys.source(key)
    except KeysUnread:
        state.metrics.refused.labels("write_keys_unread").inc()
        return _error(503, answer("write_keys_unread"), "busy", settings.retry_after)
    if source is None:
        return _error(401, answer("write_key_unknown"), "unauthorized")
    wait = state.source_limits.take(source, len(items), settings.source_rate)
    if wait:
        state.metrics.refused.labels("rate_limited").inc()
        return _error(429, answer("rate_limited", source=source, rate=settings.source_rate, seconds=wait),
                      "rate_limited", wait)

    def work(plan, settings) -> ingest.Outcome:
        return _rows(items, call, source, received_ms, sent, context, plan, settings)

    try:
        outcome = await request.app.collect.submit(work, heavy(body))
    except WalFull:
        state.metrics.refused.labels("wal_full").inc()
        return _error(503, answer("wal_full"), "busy", settings.retry_after)
    except LargeBatches:
        state.metrics.refused.labels("large_batches").inc()
        return _error(503, answer("large_batches"), "busy", settings.retry_after)
    except WalError as exc:
        log.error("batch refused for retry: %s", exc)
        state.metrics.refused.labels("wal_error").inc()
        return _error(503, answer("wal_error"), "busy", settings.retry_after)
    state.metrics.source_events.labels(source, "accepted").inc(len(outcome.events))
    state.metrics.source_events.labels(source, "rejected").inc(len(outcome.rejected))
    background = getattr(state, "journeys", None)
    if background is not None and any(e.event in state.plan.conversions for e in outcome.events):
        _poke_once_stored(state, background)
    return Response(_encode(_answer(items, outcome)), media_type="application/json")


_POKES: set[asyncio.Task] = set()


def _poke_once_stored(state, background) -> None:
    """A sale came in: its conversion is stored at a background turn run once the batch writer has stored the
    sale's event (within --batch-age). A turn poked at once ran before that, found nothing new, and the sale
    waited for the next turn, journeys/background.py's INTERVAL (15 s) later."""
    wal, writer = state.wal, state.writer
    lsn = wal.durable_lsn  # the sale's rows are on disk: at or before this

    async def poke() -> None:
        while wal.checkpoint.lsn < lsn and writer.running:
            await asyncio.sleep(0.05)
        background.poke()

    task = asyncio.get_running_loop().create_task(poke(), name="parcours-sale-poke")
    _POKES.add(task)  # the loop keeps only a weak reference
    task.add_done_callback(_POKES.discard)


def _batch(body: bytes) -> tuple[list[_Item], str | None, str | None, dict[str, Any] | None]:
    """A batch's calls, writeKey, sentAt and context. A body msgspec refuses whole for what one call holds (a
    lone surrogate, invalid UTF-8) is cut into its calls (split.py), each judged on its own: the others are
    not doomed with it (its context, if any, is then not read)."""
    try:
        doc = _batch_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        split = split_batch(body, "batch", ("sentAt", "writeKey"))
        if split is None:
            raise
        _envelope(body)
        raws, values = split
        return [_item(raw) for raw in raws], _string(values.get("writeKey")), _string(values.get("sentAt")), None
    _envelope(body)
    return [_item(bytes(r)) for r in doc.batch], doc.writeKey, doc.sentAt, doc.context


def _envelope(body: bytes) -> None:
    """repeats.Repeated when the batch gives one of its own keys twice: which is meant cannot be known."""
    twice = repeats.repeated_top(body, _ENVELOPE)
    if twice:
        raise repeats.Repeated(messages.reason("repeated_key", field=twice))


def _call_key(body: bytes) -> Any:
    """A single call's writeKey; None when its body cannot be read for what one of its strings holds (the
    call is then kept as rejected, saying why, as in a batch)."""
    try:
        return _call_decoder.decode(body).writeKey
    except UnicodeDecodeError:
        return None
    except msgspec.DecodeError:
        # msgspec refuses a lone surrogate ("\ud800": JSON may spell it, no text holds it); Python's json reads
        # it. A body that is a JSON object to it is a call with one bad string, kept as rejected: not a 400.
        doc = _lenient(body)
        if not isinstance(doc, dict):
            raise
        key = doc.get("writeKey")
        return key if isinstance(key, str) and _encodable(key) else None


def _lenient(body: bytes) -> Any:
    """The body as Python's json reads it (lone surrogates too, and a control character raw in a string: a tab,
    a NUL, which JSON wants escaped), None when it cannot."""
    try:
        return json.loads(body, strict=False)
    except (ValueError, RecursionError):
        return None


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _string(raw: bytes | None) -> str | None:
    try:
        return msgspec.json.decode(raw, type=str) if raw else None
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def _item(raw: bytes) -> _Item:
    if len(raw) > CALL_LIMIT:
        return _Item(raw, None, messages.reason("too_large", size=len(raw), limit=CALL_LIMIT))
    try:
        message = translate.message_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        return _Item(raw, None, _decode_error(exc, raw, "the call"))
    twice = repeats.repeated_key(raw)
    if twice:  # msgspec kept the last value of that key: which one is meant cannot be known
        return _Item(raw, None, messages.reason("repeated_key", field=".".join(twice)))
    return _Item(raw, message)


def _rows(items: list[_Item], call: str | None, source: str, received_ms: int, sent: str | None,
          context: dict[str, Any] | None, plan, settings) -> ingest.Outcome:
    """The calls as rows, through ingest: the same validation, enrichment and redaction as the tag's events.

    Calls are read with the plan in force now; those read as events are grouped by the client address,
    browser and send time their context gives (ingest takes them per batch) and ingested; the others are kept
    as rejected with the reason they could not be read."""
    out = ingest.Outcome()
    secret = settings.secret
    groups: dict[tuple[str, str, int], list[dict]] = {}
    for item in items:
        if item.message is not None:
            item.read = translate.read(item.message, call or item.message.type, source, received_ms, sent,
                                       context, plan, secret)
        r = item.read
        if r is None or r.event is None:
            req = ingest.Request(received_ms=received_ms, source=source)
            reasons = r.reasons if r is not None else [item.problem]
            out.rejected.append(ingest.refused(
                item.raw, reasons, req, plan, secret, r.sent_ms if r else 0,
                event_id=r.event_id if r else "", event=r.event_name if r else "", keep=CALL_LIMIT))
            continue
        groups.setdefault((r.ip, r.user_agent, r.sent_ms), []).append(r.event)
    for (ip, user_agent, sent_ms), events in groups.items():
        req = ingest.Request(received_ms=received_ms, user_agent=user_agent, source=source,
                             ip=truncate_ip(ip, settings.ip_v4_bits, settings.ip_v6_bits) if ip else "")
        done = ingest.ingest(_encode({"events": events, "sent": sent_ms}), req, plan, secret, EVENT_LIMIT)
        out.events += done.events
        out.rejected += done.rejected
    return out


def _answer(items: list[_Item], outcome: ingest.Outcome) -> dict:
    """Segment's `{"success": true}`, with what was kept and, for each rejected call, why."""
    doc: dict[str, Any] = {"success": True, "accepted": len(outcome.events), "rejected": len(outcome.rejected)}
    if outcome.rejected:
        ids = {item.read.event_id: item.read.message_id for item in items if item.read is not None}
        unread = iter([item.message_id for item in items if item.read is None])
        # rows of calls that could not be read come first, in order (_rows); the others by their event id
        doc["rejected_events"] = [{"messageId": ids[row.event_id] if row.event_id in ids else next(unread, ""),
                                   "reasons": row.reasons} for row in outcome.rejected]
    return doc


def _write_key(headers: dict[bytes, bytes]) -> str:
    """The user name of HTTP Basic auth: Segment's libraries send the key and a colon (older ones no colon)."""
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").strip().partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""
    return decoded.split(":", 1)[0].strip()


def _decode_error(exc: Exception, raw: bytes, whole: str) -> str:
    if isinstance(exc, UnicodeDecodeError):  # msgspec checks UTF-8 as it reads a string
        return ingest.decode_problem(exc, raw, whole)
    if isinstance(exc, RecursionError):
        return messages.reason("too_deep")
    lone = lone_surrogate(raw)
    if lone:
        return messages.reason("lone_surrogate", escape=lone[0], position=lone[1])
    return messages.decode_error(str(exc), {}, lambda field: None, whole)


def _error(status: int, message: str, code: str, retry_after: int | None = None) -> Response:
    """Our `{"error": …}`, with Segment's `code` and `message`, which its libraries log."""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return Response(_encode({"error": message, "code": code, "message": message}), status,
                    headers=headers, media_type="application/json")


class SourceLimits:
    """At most `rate` events a second per source, in bursts of up to a second's worth: a batch passes when
    its source is not in debt, and pays for all its events (a large batch is never refused for its size)."""

    def __init__(self):
        self._debt: dict[str, tuple[float, float]] = {}

    def take(self, source: str, events: int, rate: int) -> int:
        """0 when the batch may pass (its events are counted), else the seconds to wait."""
        now = time.monotonic()
        debt, then = self._debt.get(source, (-float(rate), now))
        debt = max(debt - (now - then) * rate, -float(rate))  # paid back at `rate` a second; credit up to 1 s
        if debt > 0:
            self._debt[source] = (debt, now)
            return max(1, math.ceil(debt / rate))
        self._debt[source] = (debt + events, now)
        return 0


ROUTES = [
    Route("/v1/batch", batch, methods=["POST"]),
    *(Route(f"/v1/{call}", _single(call), methods=["POST"]) for call in (*translate.CALLS, *translate.REFUSED_TYPES)),
]


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[None]:
    """The write keys for the collector's lifetime: read at start, then every REFRESH seconds. Until they
    are read once (ClickHouse out of reach at start), server calls are answered 503, and retried."""
    ring = app.state.write_keys
    failing = False

    async def load() -> None:
        nonlocal failing
        try:
            # In the loop's executor, not run_in_threadpool: a task waiting on that cannot be cancelled until its
            # thread returns, and a ClickHouse server that never answers held the shutdown that long.
            await asyncio.get_running_loop().run_in_executor(None, ring.load, app.state.store)
            if failing:
                log.info("write keys read again")
            failing = False
        except StoreError as exc:  # ClickHouse away: the keys read last stay in force
            if not failing:
                log.warning("write keys cannot be read (%s); tried again every %.0f s", exc, REFRESH)
            failing = True
        except Exception:
            log.exception("write keys: reading them failed unexpectedly")

    async def refresh() -> None:
        await first
        while True:
            await asyncio.sleep(REFRESH)
            await load()

    first = asyncio.create_task(load(), name="parcours-write-keys")
    # The start waits for the keys as long as for a connection, no longer: a ClickHouse server that takes
    # connections and never answers held it for the reading client's whole timeout (--query-timeout +
    # --clickhouse-timeout), the collector answering nothing meanwhile. Server calls get 503 until they are read.
    await asyncio.wait({first}, timeout=app.state.settings.timeouts.connect)
    task = asyncio.create_task(refresh(), name="parcours-write-keys")
    try:
        yield
    finally:
        for running in (task, first):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


def state(app) -> None:
    """What the API keeps on the app: the key ring and the sources' rate limits."""
    app.state.write_keys = KeyRing()
    app.state.source_limits = SourceLimits()
