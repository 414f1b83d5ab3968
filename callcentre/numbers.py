"""One tracking phone number per visitor session ("cookie vocal", dynamic number insertion).

The plan's call_centre.numbers declares a pool of tracking numbers and a default one. The tag's `numbers`
add-on (tag_js/src/numbers.js) asks `POST <collect path>/number` for a number when a page of a session
loads, and again every RENEW seconds while the page is visible; the answer is the session's number, or the
default one when the pool is exhausted (or the request is a bot's).

A lease holds its number from its first request until `hold_minutes` after its last renewal (its end), then
for `grace_minutes` more: calls to the number until then still count for its session (calls.sql), and the
number is not leased to another session before. A session that comes back in that time gets its number
again. Free numbers go least recently used first, so a number rests as long as the pool allows.

The pool lives in the collector's memory (`Pool`), rebuilt from `number_leases` at start; each lease and
renewal is written there (`LeaseBook`): a new lease before its number is answered, so no number is shown
that the store does not know, renewals within a second. With `--workers N` each worker leases its own share
of the pool (numbers i with i mod N = its slot): a renewal reaching another worker gets that worker's
number, and a call to either matches the same session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import phonenumbers

from collector.storage import Store
from tagplan.model import Numbers
from tagplan.phone import e164

log = logging.getLogger("parcours.numbers")

RENEW = 60
"""Seconds between two renewals by a visible page (sent in each answer)."""
FLUSH = 1.0
"""Seconds renewals wait to be written, together."""
PER_ADDRESS = 0.1
"""The share of the pool (at least MIN_PER_ADDRESS numbers) the sessions of one client address may hold at
once: a script asking numbers for made-up sessions would otherwise empty the pool for every visitor. The
address is the one the collector sees (behind a proxy, set uvicorn's --forwarded-allow-ips) and is kept in
memory only, never stored."""
MIN_PER_ADDRESS = 3
RELOAD = 5.0
"""Seconds between two tries to read the leases at start while ClickHouse is away."""
MAX_PENDING = 100_000
"""Renewals kept while ClickHouse is away; the oldest are dropped beyond (a lease then ends a little early in
the store: its grace period covers it)."""


class LeaseRow(msgspec.Struct, kw_only=True):
    """A lease as `number_leases` keeps it: a row per renewal, the latest current."""

    lease_id: str
    number: str
    visitor_id: str
    session_id: str
    url: str
    started_at: float
    expires_at: float
    grace_until: float
    renewed_at: float


@dataclass
class Config:
    """The pool as the plan declares it, numbers in E.164."""

    numbers: list[str]
    default: str
    hold: float
    grace: float

    @staticmethod
    def of(numbers: Numbers | None, region: str, share: tuple[int, int] = (0, 1)) -> Config | None:
        """The pool of the plan's call_centre.numbers (None without one); `share` (slot, workers): this
        worker's part of it."""
        if numbers is None:
            return None
        pool = [n for n in (e164(x, region) for x in numbers.pool) if n]
        slot, workers = share
        return Config([n for i, n in enumerate(pool) if i % workers == slot], e164(numbers.default, region) or "",
                      numbers.hold_minutes * 60.0, numbers.grace_minutes * 60.0)


@dataclass
class Pool:
    """Who holds which number; one process's share of the pool."""

    config: Config
    by_number: dict[str, LeaseRow] = field(default_factory=dict)
    by_session: dict[tuple[str, str], LeaseRow] = field(default_factory=dict)
    """(visitor id, session id) -> its lease: a session id sent with another visitor id is another session."""
    address_of: dict[str, str] = field(default_factory=dict)
    """number -> the client address of the session holding it (memory only)."""
    released: dict[str, float] = field(default_factory=dict)
    """number -> when its last lease's grace ended (least recently used first)."""

    def load(self, rows: Sequence[LeaseRow]) -> None:
        """The leases still holding their number (from the store, at start)."""
        for row in sorted(rows, key=lambda r: r.renewed_at):
            self._hold(row)

    def lease(self, visitor_id: str, session_id: str, url: str, now: float,
              address: str = "") -> tuple[LeaseRow | None, bool]:
        """The session's lease renewed, or a new one: (its row, whether it is new); (None, False) when no
        number is free, or when `address` holds its share of the pool already."""
        cfg = self.config
        held = self.by_session.get((visitor_id, session_id))
        if held and held.grace_until >= now and held.number in cfg.numbers and \
                self.by_number.get(held.number) is held:
            renewed = msgspec.structs.replace(held, expires_at=now + cfg.hold, grace_until=now + cfg.hold + cfg.grace,
                                              renewed_at=max(now, held.renewed_at + 0.001))
            self._hold(renewed)
            return renewed, False
        if address and self.held_by(address, now) >= self.per_address:
            return None, False
        number = self._free(now)
        if number is None:
            return None, False
        row = LeaseRow(lease_id=str(uuid.uuid4()), number=number, visitor_id=visitor_id, session_id=session_id,
                       url=url, started_at=now, expires_at=now + cfg.hold, grace_until=now + cfg.hold + cfg.grace,
                       renewed_at=now)
        self._hold(row)
        if address:
            self.address_of[number] = address
        return row, True

    @property
    def per_address(self) -> int:
        return max(MIN_PER_ADDRESS, int(len(self.config.numbers) * PER_ADDRESS))

    def held_by(self, address: str, now: float) -> int:
        """How many numbers the sessions from `address` hold now."""
        mine = [number for number, a in self.address_of.items() if a == address]
        return sum(1 for number in mine if not self._is_free(number, now))  # _is_free releases ended leases

    def forget(self, row: LeaseRow) -> None:
        """Undo a new lease the store did not take: its number is free again."""
        if self.by_number.get(row.number) is row:
            del self.by_number[row.number]
        if self.by_session.get((row.visitor_id, row.session_id)) is row:
            del self.by_session[(row.visitor_id, row.session_id)]
        self.address_of.pop(row.number, None)

    def free(self, now: float) -> int:
        """How many numbers no session holds now (nor in its grace period)."""
        return sum(1 for n in self.config.numbers if self._is_free(n, now))

    def _free(self, now: float) -> str | None:
        free = [n for n in self.config.numbers if self._is_free(n, now)]
        if not free:
            return None
        # Never leased first (-1), then the one whose last grace ended longest ago.
        return min(free, key=lambda n: self.released.get(n, -1.0))

    def _is_free(self, number: str, now: float) -> bool:
        row = self.by_number.get(number)
        if row is None:
            return True
        if row.grace_until < now:
            self.released[number] = row.grace_until
            del self.by_number[number]
            self.address_of.pop(number, None)
            if self.by_session.get((row.visitor_id, row.session_id)) is row:
                del self.by_session[(row.visitor_id, row.session_id)]
            return True
        return False

    def _hold(self, row: LeaseRow) -> None:
        self.by_number[row.number] = row
        self.by_session[(row.visitor_id, row.session_id)] = row


def display(number: str) -> str:
    """A number as the pages show it: its country's national format (09 70 00 01 12)."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return number


class LeaseBook:
    """Writes lease rows to `number_leases`: new leases awaited, renewals within FLUSH seconds."""

    def __init__(self, store: Store):
        self.store = store
        self._new: list[tuple[LeaseRow, asyncio.Future]] = []
        self._renewals: list[LeaseRow] = []
        self._kick = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="parcours-number-leases")

    async def write(self, row: LeaseRow) -> None:
        """Store a new lease, with what else waits; raises StoreError when ClickHouse does not take it."""
        future = asyncio.get_running_loop().create_future()
        self._new.append((row, future))
        self._kick.set()
        await future

    def later(self, row: LeaseRow) -> None:
        """Store a renewal with the next batch."""
        self._renewals.append(row)
        if len(self._renewals) > MAX_PENDING:
            del self._renewals[: len(self._renewals) - MAX_PENDING]

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._kick.wait(), FLUSH)
            except asyncio.TimeoutError:
                pass
            self._kick.clear()
            await self._flush()
            if self._stopping and not self._renewals:
                return

    async def _flush(self) -> None:
        new, renewals = self._new, self._renewals
        if not new and not renewals:
            return
        self._new, self._renewals = [], []
        rows = [r for r, _ in new] + renewals
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.store.insert_rows, "number_leases", rows)
        except Exception as exc:  # StoreError: the new leases' pages get the default number, renewals wait
            for _, future in new:
                if not future.done():
                    future.set_exception(exc)
            self._renewals = renewals + self._renewals
            log.warning("number leases: %d row(s) not stored (renewals kept for the next try): %s", len(rows), exc)
            return
        for _, future in new:
            if not future.done():
                future.set_result(None)

    async def stop(self) -> None:
        """Write the renewals pending, then stop (10 s at most)."""
        self._stopping = True
        self._kick.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except asyncio.TimeoutError:
                log.warning("number leases: %d renewal(s) not stored at shutdown", len(self._renewals))


def load(store: Store, numbers: Sequence[str]) -> list[LeaseRow]:
    """The leases of these numbers still holding them (in their grace period included), latest renewal each."""
    if not numbers:
        return []
    result = store.query(
        "SELECT lease_id, argMax(number, renewed_at), argMax(visitor_id, renewed_at), argMax(session_id, renewed_at), "
        "argMax(url, renewed_at), toUnixTimestamp64Milli(min(started_at)), toUnixTimestamp64Milli(max(expires_at)), "
        "toUnixTimestamp64Milli(max(grace_until)), toUnixTimestamp64Milli(max(renewed_at)) "
        f"FROM {store.database}.number_leases WHERE number IN {{numbers:Array(String)}} GROUP BY lease_id "
        "HAVING max(grace_until) >= now64(3)", parameters={"numbers": list(numbers)})
    return [LeaseRow(lease_id=r[0], number=r[1], visitor_id=r[2], session_id=r[3], url=r[4], started_at=r[5] / 1000,
                     expires_at=r[6] / 1000, grace_until=r[7] / 1000, renewed_at=r[8] / 1000) for r in result.rows]


def now() -> float:
    return round(time.time(), 3)


class Service:
    """The pool of the plan in force, its lease book and metrics: what the number endpoint calls."""

    def __init__(self, state, store: Store, share: tuple[int, int], registry=None):
        from prometheus_client import Counter, Gauge

        self.state, self.share = state, share
        self.book = LeaseBook(store)
        self._plan = None
        self.pool: Pool | None = None
        self.loaded = False
        """The leases held before this start are known: until then every page gets the default number (a
        number leased now could be one a session still holds)."""
        self._loading: asyncio.Task | None = None
        self._refresh()
        self.outcomes = Counter("parcours_number_leases", "Tracking number requests, by outcome: new, renewed, "
                                "exhausted (the default number shown), limited (one address holding its share of the pool), bot, unstored.", ["outcome"],
                                registry=registry)
        free = Gauge("parcours_number_pool_free", "Tracking numbers no session holds (nor in its grace period).",
                     registry=registry)
        free.set_function(lambda: self.pool.free(now()) if self.pool else 0)

    async def start(self, wait: float) -> None:
        """Take back the leases still holding their numbers (in the background while ClickHouse is away: the
        collector starts all the same), then write new ones as they come. The start waits `wait` seconds at
        most for them: a ClickHouse server that takes connections and never answers held it for the reading
        client's whole timeout, the collector answering nothing meanwhile."""
        self.book.start()
        if not self.pool:
            self.loaded = True
            return
        first = asyncio.create_task(self._load(), name="parcours-number-leases")
        await asyncio.wait({first}, timeout=wait)
        if first.done() and not first.cancelled() and first.exception() is None:
            return
        why = first.exception() if first.done() and not first.cancelled() else f"no answer in {wait:g} s"
        log.warning("tracking numbers: the leases cannot be read yet (%s); the default number is shown "
                    "until they are, tried again every %.0f s", why, RELOAD)
        self._loading = asyncio.create_task(self._load_later(first), name="parcours-number-leases")

    async def _load(self) -> None:
        rows = await asyncio.get_running_loop().run_in_executor(None, load, self.book.store,
                                                                self.pool.config.numbers)
        self.pool.load(rows)
        self.loaded = True

    async def _load_later(self, first: asyncio.Task) -> None:
        with contextlib.suppress(Exception):
            await first  # still waiting on ClickHouse, maybe
        if self.loaded:
            log.info("tracking numbers: leases read, numbers leased again")
        while not self.loaded:
            await asyncio.sleep(RELOAD)
            try:
                await self._load()
                log.info("tracking numbers: leases read, numbers leased again")
            except Exception:
                pass

    async def stop(self) -> None:
        if self._loading is not None:
            self._loading.cancel()
        await self.book.stop()

    def _refresh(self) -> Pool | None:
        """The pool of the plan now in force (a reload may change the numbers; leases are kept)."""
        plan = self.state.plan
        if plan is not self._plan:
            self._plan = plan
            config = Config.of(plan.plan.call_centre.numbers, plan.default_region, self.share)
            if config is None:
                self.pool = None
            elif self.pool is None:
                self.pool = Pool(config)
            else:
                self.pool.config = config
        return self.pool

    @property
    def default(self) -> str:
        pool = self._refresh()
        return pool.config.default if pool else ""

    async def take(self, visitor_id: str, session_id: str, url: str, bot: bool, address: str = "") -> str:
        """The number to show this session: its lease's, or the default one."""
        pool = self._refresh()
        if pool is None:
            return ""
        if bot:
            self.outcomes.labels("bot").inc()
            return pool.config.default
        if not self.loaded:
            self.outcomes.labels("unstored").inc()
            return pool.config.default
        at = now()
        row, new = pool.lease(visitor_id, session_id, url, at, address)
        if row is None:
            limited = bool(address) and pool.held_by(address, at) >= pool.per_address
            self.outcomes.labels("limited" if limited else "exhausted").inc()
            return pool.config.default
        if not new:
            self.book.later(row)
            self.outcomes.labels("renewed").inc()
            return row.number
        try:
            await self.book.write(row)
        except Exception as exc:  # StoreError: no number shown that the store does not know
            pool.forget(row)
            self.outcomes.labels("unstored").inc()
            log.warning("number lease not stored, the default number shown: %s", exc)
            return pool.config.default
        self.outcomes.labels("new").inc()
        return row.number
