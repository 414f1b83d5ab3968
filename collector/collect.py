"""/collect: the tag's endpoint. Every event is stored, stored as rejected, or refused with a retryable status.

POST is a plain ASGI callable, answered before Starlette routes anything: it is the hot path, and a
Starlette endpoint's Request, Response and middleware cost about 30 µs a request, as much as the
collector's own work on a one-event batch (measured with bench/bench_collector.py). GET (the pixel)
and OPTIONS (CORS pre-flight) are ordinary Starlette endpoints.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import msgspec
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response

from callcentre.contacts import ContactsRefused
from collector import ingest as ingest_mod
from collector import pixel as pixel_mod
from collector import redact, rows
from collector.body import BodyError, read_body
from collector.enrich import truncate_ip
from collector.logs import Throttle
from collector.messages import answer
from collector.messages import reason as say
from collector.settings import Settings
from collector.wal import WalError, WalFull
from collector.wire import MAX_USER_AGENT
from tagplan import CompiledPlan

log = logging.getLogger("parcours.collect")
_refusals = Throttle(log)  # a full disk refuses every request, and the tag retries each
_pixel_refusals = Throttle(log)
"""Pixel events not stored for want of consent: a page view each, at most 10 lines a minute."""

_JSON = (b"content-type", b"application/json")
HEAVY = 16 << 10
"""Bytes of a body past which it is turned into rows on a thread (Collect): the tag sends at most 20 events a
request, a few KB; a body this large may hold seconds of redaction."""
HEAVY_GROUPS = 512
"""Digit groups (a digit, a separator or two, a digit) past which a smaller body goes to that thread too: the
redaction's cost is per group (20 to 200 us each; 14 KB of `0-0-0-…` cost 0.6 s), where a tag's batch of
20 events holds a few hundred at most (its ids, times and dates)."""
_GROUPED = re.compile(rb"\d(?:[^\w\"\\]|\\[bfnrt]|\\u[0-9A-Fa-f]{4}){1,3}(?=[\d+])|\d_(?=\d)")
"""A digit, one to three separators (a JSON escape too: `\\t`, `\\u00a0`), then a digit or a `+`."""
HEAVY_WAITING = 8
"""Large bodies read or waiting their turn on that thread; one more is refused with 503 and Retry-After."""


_NOT_DIGITS = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)


def heavy(body: bytes) -> bool:
    """Whether a body is turned into rows on the heavy thread (Collect): larger than HEAVY, or with more digit
    groups than HEAVY_GROUPS. Counted in C, and only in a body of more than twice as many digits (2 us for a
    7 KB batch, where counting its groups takes 40 us, 5% of its ingestion)."""
    return len(body) > HEAVY or (len(body.translate(None, _NOT_DIGITS)) > 2 * HEAVY_GROUPS
                                 and len(_GROUPED.findall(body)) > HEAVY_GROUPS)


class LargeBatches(WalError):
    """Too many large bodies waiting: the sender retries later (answered as the log's refusals are)."""


def header_text(raw: bytes) -> str:
    """A header's value as text that is stored (the user agent, the referrer): UTF-8, as browsers and HTTP
    libraries send them (a phone in full-width digits or with no-break spaces, read as latin-1, became mojibake
    the redaction could not read, and `.encode("latin-1").decode()` gave it back), else latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Collect:
    """POST /collect: read, validate, enrich, append to the write-ahead log, then answer 204 with the
    counts in `X-Parcours-Accepted` and `X-Parcours-Rejected` (rejected events are stored too).

    The bodies read in one turn of the event loop are ingested together, back to back, by `_ingest`:
    one at a time, between other requests' HTTP work, ingest took twice as long (CPU caches; measured
    with bench/bench_collector.py and a tight loop of the same bodies).

    A body over HEAVY bytes, or with more than HEAVY_GROUPS digit groups (`heavy`), is turned into rows on a
    thread of its own instead (one at a time), then queued in the log as the others: its events' redaction may
    cost seconds (30 events of phone-like digits in 877 KB took 9.5 s), which on the event loop held every other
    request that long; on the thread, the loop still gets the interpreter every few milliseconds and answers the
    others.
    """

    def __init__(self, state: State):
        self.state = state
        self._intake: list[_Intake] = []
        self._heavy = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="parcours-heavy")
        self._waiting = 0
        self._unread = Throttle(log)
        self._origins = Throttle(log)

    async def __call__(self, scope, receive, send) -> None:
        try:
            status, body, headers = await self._handle(scope, receive)
        except Exception:  # a bug, never the client's fault: the tag keeps the batch and retries
            log.exception("POST /collect failed; answered 503 so the sender retries")
            status, body, headers = _error(503, answer("failed"),
                                           [(b"retry-after", str(self.state.settings.retry_after).encode())])
        if body:
            headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope, receive) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        state = self.state
        settings = state.settings
        headers = dict(scope["headers"])
        cors, refused = [], ""
        origin = headers.get(b"origin")
        if origin:
            allowed = _cors(origin.decode("latin-1"), state.plan, lambda: _own_origin(scope, headers))
            if allowed is None:
                # A site the plan does not list (a typo, http moved to https): its events are kept as rejected,
                # to replay once the plan lists it, and the answer says so in the developer's console.
                refused = say("origin", origin=redact.clipped(header_text(origin), 200, redact.of(state.plan).text),
                              version=state.plan.version)
                cors = [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
            else:
                cors = [(k.lower().encode(), v.encode("latin-1")) for k, v in allowed.items()]
        if state.wal.full:  # before reading the body: the tag will send it again
            return _refused(state, "wal_full", cors)
        try:
            body = await read_body(receive, headers, settings.max_body)
        except BodyError as exc:
            return _error(exc.status, str(exc), cors)
        client = scope.get("client")
        req = ingest_mod.Request(
            received_ms=time.time_ns() // 1_000_000,
            user_agent=redact.clipped(header_text(headers.get(b"user-agent", b"")), MAX_USER_AGENT,
                                      redact.of(state.plan).user_agent),
            ip=truncate_ip(client[0] if client else "", settings.ip_v4_bits, settings.ip_v6_bits),
        )
        try:
            accepted, rejected = await self.take(body, req, refused)
        except ingest_mod.BadBatch as exc:
            return _error(400, str(exc), cors)
        except WalError as exc:
            return _refused(state, _refusal(exc), cors)
        except ContactsRefused as exc:
            log.warning("batch refused for retry: %s", exc)
            return _refused(state, "contacts_unavailable", cors)
        counted = [(b"x-parcours-accepted", b"%d" % accepted), (b"x-parcours-rejected", b"%d" % rejected), *cors]
        if refused:
            self._origins.log(logging.WARNING, "%d event(s) from a site the plan does not list kept as rejected: %s",
                              rejected, refused)
            return _error(403, answer("origin", origin=origin.decode("latin-1")[:200]), counted)
        return 204, b"", counted

    async def take(self, body: bytes, req: ingest_mod.Request, refused: str = "") -> tuple[int, int]:
        """Ingest one batch body and wait until its rows are in the log, fsync'd, and its call-back consents
        in ClickHouse (callcentre/contacts.py): (accepted, rejected). Raises BadBatch, WalError (WalFull)
        when the log refuses them, or ContactsRefused."""
        sealer = getattr(self.state, "sealer", None)
        outcome = await self.submit(lambda plan, settings: ingest_mod.ingest(
            body, req, plan, settings.secret, settings.max_event, settings.time_bounds, sealer, refused), heavy(body))
        if outcome.contacts:
            await self.state.contacts.write(outcome.contacts)
        return len(outcome.events), len(outcome.rejected)

    async def submit(self, work: Callable[[CompiledPlan, Settings], ingest_mod.Outcome],
                     on_thread: bool = False) -> ingest_mod.Outcome:
        """Run `work` (a batch turned into rows by ingest: the tag's body, a server's messages; `on_thread`, on
        the heavy thread: `heavy(body)`) with the plan and settings in force, queue its rows in the log, and wait
        until they are fsync'd: its Outcome. Raises what `work` raises (BadBatch), or WalError (WalFull) when the log refuses
        the rows."""
        loop = asyncio.get_running_loop()
        if on_thread:
            if self._waiting >= HEAVY_WAITING:
                raise LargeBatches("large batches waiting")  # a flood of them: refused for retry, not queued
            self._waiting += 1
            try:
                outcome = await loop.run_in_executor(self._heavy, work, self.state.plan, self.state.settings)
            finally:
                self._waiting -= 1
            work = lambda plan, settings: outcome  # noqa: E731  (its rows made: queued in the log as any)
        intake = _Intake(work, loop.create_future())
        self._intake.append(intake)
        if len(self._intake) == 1:
            loop.call_soon(self._ingest)
        await intake.durable
        outcome = intake.outcome
        self.state.metrics.ingested(len(outcome.events), len(outcome.rejected))
        return outcome

    def _ingest(self) -> None:
        """Ingest the batches read since the last call and queue their rows in the log; each request's
        `durable` future is resolved by the log once its rows are on disk, or fails with the reason."""
        intake, self._intake = self._intake, []
        try:
            state = self.state
            plan, settings, wal = state.plan, state.settings, state.wal
        except Exception as exc:  # a callback's exception would only be logged: the requests must hear of it
            for item in intake:
                if not item.durable.done():
                    item.durable.set_exception(exc)
            return
        for item in intake:
            if item.durable.done():  # the request was cancelled meanwhile: nothing acknowledged, nothing kept
                continue
            try:
                item.outcome = outcome = item.work(plan, settings)
                accepted, rejected = len(outcome.events), len(outcome.rejected)
                for problem in outcome.problems:
                    self._report(problem)
                if accepted or rejected:
                    wal.submit(rows.lines(outcome.events), rows.lines(outcome.rejected), item.durable,
                               accepted + rejected)
                else:
                    item.durable.set_result(None)
            except Exception as exc:  # BadBatch, WalFull, WalError; or a bug, answered 503 and logged
                item.durable.set_exception(exc)


    def _report(self, problem: ingest_mod.EventProblem) -> None:
        """One line per event that could not be read (or that ingest failed on), throttled; personal data
        removed from what it quotes."""
        r = redact.of(self.state.plan)
        event_id, reason = r.ident(problem.event_id)[:64], r.text(problem.reason)
        if problem.error is not None:
            self._unread.log(logging.ERROR, "ingest failed on one event (event_id %r), kept in rejected_events: %s",
                             event_id, reason, exc_info=problem.error)
        else:
            self._unread.log(logging.WARNING, "event rejected, it could not be read (event_id %r): %s",
                             event_id, reason)


@dataclass
class _Intake:
    """A batch read and waiting for `Collect._ingest`."""

    work: Callable[[CompiledPlan, Settings], ingest_mod.Outcome]
    durable: asyncio.Future
    outcome: ingest_mod.Outcome = field(default_factory=ingest_mod.Outcome)


def _refusal(exc: WalError) -> str:
    """Why the log refused a batch: wal_full or wal_error (a message, and the metric's label)."""
    if isinstance(exc, WalFull):
        return "wal_full"
    if isinstance(exc, LargeBatches):
        return "large_batches"
    _refusals.log(logging.ERROR, "batch refused for retry: %s", exc)
    return "wal_error"


def _refused(state: State, reason: str, cors: list[tuple[bytes, bytes]]):
    """503 with Retry-After: the tag keeps the batch and sends it again."""
    state.metrics.refused.labels(reason).inc()
    return _error(503, answer(reason), [*cors, (b"retry-after", str(state.settings.retry_after).encode())])


def _error(status: int, message: str, headers: list[tuple[bytes, bytes]]):
    return status, msgspec.json.encode({"error": message}), [_JSON, *headers]


def _own_origin(scope, headers: Mapping[bytes, bytes]) -> str:
    host = headers.get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        host = "%s:%d" % tuple(scope["server"])
    return f"{scope.get('scheme', 'http')}://{host}"


def _cors(origin: str, plan, own) -> dict[str, str] | None:
    """CORS headers for an allowed origin, None for a site the plan does not list.

    Allowed: the plan's site origins (all, when it lists none) and the collector's own origin
    (first-party installs; `own()` gives it). The tag reads the answer, so even a refusal carries the
    header: a 4xx it can read is not retried.
    """
    allowed = plan.origins
    if not allowed or origin in allowed or origin == own():
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return None


def _cors_headers(request: Request) -> dict[str, str] | None:
    """`_cors` for a Starlette request: {} without an Origin header."""
    origin = request.headers.get("origin", "")
    if not origin:
        return {}
    return _cors(origin, request.app.state.plan, lambda: f"{request.url.scheme}://{request.url.netloc}")


async def pixel(request: Request) -> Response:
    """GET /collect?e=…: one event from a page without JavaScript; the GIF is returned even when it is rejected."""
    if request.method == "HEAD":  # link checkers and prefetchers: not a page view
        return pixel_mod.gif_response()
    state = request.app.state
    settings = state.settings
    plan = state.plan
    if plan.plan.consent_mode == "required":
        # A pixel carries no consent (no JavaScript asks for it): only the events the plan exempts are stored.
        names = request.query_params.getlist("e")
        exempt = plan.plan.consent_exempt_events
        if not names or any(name not in exempt for name in names):
            state.metrics.pixel_without_consent.inc()
            _pixel_refusals.log(logging.INFO, "pixel event %r not stored: the plan requires consent, which a pixel "
                                "cannot carry (stored from the pixel: the plan's exempt events, %s)",
                                redact.clipped(",".join(names), 64, redact.of(plan).text), ", ".join(exempt) or "none")
            return pixel_mod.gif_response()  # the image never fails: the page shows no broken image
    req = ingest_mod.Request(
        received_ms=time.time_ns() // 1_000_000,
        user_agent=redact.clipped(header_text(request.headers.get("user-agent", "").encode("latin-1")),
                                  MAX_USER_AGENT, redact.of(plan).user_agent),
        ip=truncate_ip(request.client.host if request.client else "", settings.ip_v4_bits, settings.ip_v6_bits),
    )
    body = pixel_mod.batch_body(pixel_mod.query(request.scope["query_string"]),
                                header_text(request.headers.get("referer", "").encode("latin-1")),
                                req.received_ms, state.plan)
    try:
        await request.app.collect.take(body, req)
    except (WalError, ContactsRefused) as exc:
        reason = _refusal(exc) if isinstance(exc, WalError) else "contacts_unavailable"
        status, body, headers = _refused(state, reason, [])
        return Response(body, status, {k.decode(): v.decode() for k, v in headers})
    return pixel_mod.gif_response()


async def preflight(request: Request) -> Response:
    headers = _cors_headers(request)
    if headers is None:
        return Response(status_code=403)
    if headers:
        headers.update({"Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                        "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400"})
    return Response(status_code=204, headers=headers)
