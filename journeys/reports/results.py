"""Reports' figures kept once computed, for as long as the data they were computed from has not changed.

A dashboard asks for ten reports each time it is opened, and people open the same views (this month, the
last 30 days, by lever) again and again: on 10 million events the page's reports take some ten seconds
together on two cores, while the data under them changes only when events, sales or costs come in.

- **Exact answers.** A report's figures are kept with the *state* of the data they were read from, read off
  the database's active data parts (`system.parts`, `STATE_SQL`: every insert, mutation or erasure changes it,
  a merge does not), outside a few bookkeeping tables no report reads (`BOOKKEEPING`). The same report with
  the same options (resolved: `from=30d` is a different period each day), the same plan and the same data
  state is answered from memory, byte for byte what computing it again would give. Any write changes the
  state, and the next call computes again. The person report (one person's journey, asked on demand) is never
  kept.
- **Figures a little older, when the caller says so** (`Cache-Control: max-age=N`, as the dashboard sends):
  figures computed less than N seconds ago are answered at once even if data came in since, with an `Age`
  header (seconds since they were computed); the page shows them, says "as of", and asks for current ones.
- **Views kept warm.** The views asked for in the last `VIEWS_DAYS` days by a caller that takes older figures
  (the dashboard: report and options) are listed, in memory and in the data directory (`VIEWS_FILE`, so a
  restart keeps them); a period of days that ends after today (the last 30 days) is listed as days from
  today, so that tomorrow the view is the last 30 days again, not the days it covered when asked;
  a background turn every `REFRESH` seconds computes those whose figures are missing (a new day, a restart)
  or predate the data, most recently asked first, one query thread at a time (`WARM_SETTINGS`), so that Elie's morning view is ready
  when she opens it. While none has been asked for (a new install), the dashboard's default view is computed
  (journeys/dashboard/views.py), so that even the first viewer finds it ready.
- **Computed once.** A call for figures being computed from the same data waits for them rather than
  computing them again (several viewers opening the same view, each asking for current figures). The reports
  computed from one state of the data share their queries (`Results.shared`): a query asked again, and the
  conversion paths read off a wider query's (base.WIDER: the dashboard's levers, brokers, media and paths off
  its attribution of every model).
- Bounded: `--report-memory` megabytes (64 by default; 0 keeps nothing), the least recently asked dropped
  first. Everything is dropped on an erasure (figures read with the erased person's data leave memory too)
  and when the plan changes; figures being computed then are not kept.
- On a cluster the parts of the other shards are not seen from one server: nothing is kept there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collector.storage import TICKET, Cancelled, QueryRefused, Ticket
from journeys.reports.base import SHARED, Result, Wider

if TYPE_CHECKING:
    from collector.storage import Store
    from tagplan import CompiledPlan

log = logging.getLogger("parcours.reports")

NEVER_KEPT = frozenset({"person"})
"""Reports answered on demand about one person: computed each time, never kept."""
BOOKKEEPING = ("stitch_runs", "event_conversion_runs", "touches_runs", "number_leases", "lead_deliveries",
               "lead_contacts", "write_keys")
"""Tables written by the background turns and the call centre that no report's figures depend on (the
closing runs' `touches_runs` moves the line between live and closed touches, which gives the same touches)."""
MAX_BYTES = 64 << 20
REFRESH = 300.0
"""Seconds between two background turns that compute again the views whose figures predate the data."""
FRESH_ENOUGH = 60.0
"""Seconds after which figures older than the data are computed again by the background turn."""
TURN_SECONDS = 120.0
"""A background turn starts no computation past this many seconds (many views: the rest at the next turn)."""
VIEWS_DAYS = 7
MAX_VIEWS = 60
VIEWS_FILE = "report-views.json"
WARM_SETTINGS = {"max_threads": 1, "priority": 10}
"""A background computation takes one query thread, at a lower priority than the queries people wait for."""
WARM_TIMEOUT_FACTOR = 10
"""Its queries may run this many times the requests' bound (`--query-timeout`): on one thread, they take longer."""

WIDEST_FIRST = frozenset({"attribution"})
"""Reports whose views a background turn computes first: the other views' conversion paths are read off theirs
(journeys/reports/paths.py, wider_paths), where the page asks for them first too."""

SHARED_SECONDS = 120.0
"""How long a query's result stays shared after it finished (base.SHARED): the dashboard's page asks for its
reports within seconds of each other."""
SHARED_QUERIES = 8
SHARED_ROWS = 200_000
"""The rows of the finished results kept at most, all together (the oldest dropped first; on the seed the
conversion paths' results hold 5,000 to 52,000 rows)."""

STATE_SQL = r"""
SELECT count(), sum(h)
FROM (
    SELECT cityHash64(table, partition_id, max(max_block_number)) AS h
    FROM system.parts
    WHERE database = {database:String} AND active AND table NOT IN {bookkeeping:Array(String)}
    GROUP BY table, partition_id
    UNION ALL
    SELECT cityHash64(table, max(toUInt64OrZero(extract(mutation_id, '(\d+)'))), countIf(is_done)) AS h
    FROM system.mutations
    WHERE database = {database:String} AND table NOT IN {bookkeeping:Array(String)}
    GROUP BY table
)
"""
"""The data's state: per table and partition, its last block (an insert adds one; a partition dropped
leaves); per table, its last mutation and how many are done (an erasure, a delete, an update, from when it is
asked until it is done). A merge changes none of them, not even one that collapses rows (a ReplacingMergeTree's
duplicates, an AggregatingMergeTree's partial states, which the reports read alike): figures computed before a
merge stay current after it. Not seen: a part other than a partition's last dropped by hand (ALTER TABLE …
DROP PART), which nothing in parcours does, and a TTL, which no table has."""


@dataclass
class Kept:
    body: str
    media_type: str
    state: tuple
    computed: float
    """time.time() when computed (its query began)."""
    size: int


@dataclass
class Answer:
    body: str
    media_type: str
    age: int | None = None
    """Seconds since the figures were computed, when the data changed since (else None: they are current)."""


class Results:
    """The kept figures of one process (app.state.report_results)."""

    def __init__(self, store: Store, data_dir: Path | None = None, max_bytes: int = MAX_BYTES, enabled: bool = True,
                 default_view: Callable[[CompiledPlan], list[tuple[str, dict[str, str]]]] | None = None):
        """`enabled=False`: every answer computed, nothing kept (a store on a cluster is never kept either).
        `default_view`: the views computed while none has been asked for (the dashboard's default view)."""
        self.store, self.max_bytes = store, max_bytes
        self.default_view = default_view
        self.enabled = enabled and store.cluster is None
        self._kept: OrderedDict[tuple, Kept] = OrderedDict()  # least recently asked first
        self._running: dict[tuple, tuple[tuple | None, Future]] = {}  # computed now: (data state, answer)
        self._queries: OrderedDict[tuple, tuple[float, Future, int]] = OrderedDict()  # shared: (finished at, result, rows)
        self._views: dict[str, tuple[str, dict[str, str], float]] = {}  # a view -> (report, options, last asked)
        self._bytes = 0
        self._cleared = 0.0
        self._plan: object = None
        self._lock = threading.Lock()
        self._views_file = Path(data_dir) / VIEWS_FILE if data_dir is not None else None
        self._turn: Ticket | None = None  # the queries of the background turn under way
        self._stopping = False
        self._load_views()

    def stop(self) -> None:
        """The collector stops: the background turn under way ends now, its queries stopped (its figures were
        for later), rather than holding the shutdown for as long as it has left."""
        self._stopping = True
        turn = self._turn
        if turn is not None:
            self.store.cancel(turn)

    # ---- the state of the data

    def state(self) -> tuple | None:
        """The data's state (STATE_SQL): (partitions and tables, a hash of theirs); None on a cluster."""
        if not self.enabled:
            return None
        try:
            row = self.store.query(STATE_SQL, parameters={"database": self.store.database,
                                                          "bookkeeping": list(BOOKKEEPING)}).rows[0]
        except QueryRefused as exc:  # a user that may not read system.parts: every answer computed
            log.warning("reports' answers are not kept: the data's state cannot be read (%s)", exc)
            self.enabled = False
            return None
        return (int(row[0]), int(row[1]))

    # ---- answers

    def respond(self, plan: CompiledPlan, name: str, raw: Mapping[str, str], max_age: float | None = None) -> Answer:
        """The report's answer (reports.respond): figures kept, if current or less than `max_age` seconds old,
        else computed now, then kept with the data's state read before their query began."""
        from journeys import reports

        key = self.key(plan, name, raw)
        if key is None:
            return Answer(*reports.respond(self.store, plan, name, raw))
        state = self.state()
        answer = self.answer(key, state, max_age, raw)
        if answer is not None:
            return answer
        with self._lock:  # the same figures already being computed from the same data: wait for them
            running = self._running.get(key)
            if running is None or running[0] != state or state is None:
                running = None
                mine: Future = Future()
                self._running[key] = (state, mine)
        if running is not None:
            try:
                return running[1].result()
            except Exception:  # noqa: BLE001  (its caller went away, or it failed: computed here, alone)
                mine = Future()
        started = time.time()
        try:
            with self.shared(state):
                body, media_type = reports.respond(self.store, plan, name, raw)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with self._lock:
                if self._running.get(key, (None, None))[1] is mine:
                    del self._running[key]
        self.keep(key, state, started, body, media_type)
        answer = Answer(body, media_type)
        mine.set_result(answer)
        return answer

    def key(self, plan: CompiledPlan, name: str, raw: Mapping[str, str]) -> tuple | None:
        """What identifies a report's figures: its name, format and resolved options; None when not kept."""
        from journeys import reports

        if not self.enabled or name in NEVER_KEPT or name not in reports.REPORTS:
            return None
        self._check_plan(plan)
        return (name, raw.get("format") or "table", repr(reports.options(name, raw)))

    def answer(self, key: tuple | None, state: tuple | None, max_age: float | None,
               raw: Mapping[str, str] | None = None) -> Answer | None:
        """The kept figures of `key` if they are current, or computed less than `max_age` seconds ago."""
        if key is None or state is None:
            return None
        with self._lock:
            if raw is not None and max_age is not None:  # a dashboard's view (it takes older figures)
                self._note_view(key, raw)
            kept = self._kept.get(key)
            if kept is None:
                return None
            age = time.time() - kept.computed
            if kept.state != state and (max_age is None or age > max_age):
                return None
            self._kept.move_to_end(key)
        return Answer(kept.body, kept.media_type, None if kept.state == state else max(0, int(age)))

    def keep(self, key: tuple | None, state: tuple | None, computed: float, body: str, media_type: str) -> None:
        """Keep figures computed from the data in `state` (read before their query began)."""
        if key is None or state is None:
            return
        size = len(body) + 200
        if size > self.max_bytes // 2:  # one huge result would push out everything else
            return
        with self._lock:
            if computed < self._cleared:  # begun before an erasure: it may hold the erased person's data
                return
            old = self._kept.pop(key, None)
            if old is not None:
                if old.computed > computed:  # a newer computation finished first
                    self._kept[key] = old
                    return
                self._bytes -= old.size
            self._kept[key] = Kept(body, media_type, state, computed, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= dropped.size

    @contextlib.contextmanager
    def shared(self, state: tuple | None) -> Iterator[None]:
        """While reports are computed from the data in `state`: each of their queries run once (base.SHARED)."""
        if state is None:
            yield
            return
        token = SHARED.set(lambda key, compute, wider=(): self._shared_query(
            (state, *key), compute, [((state, *k), derive, wide, instead) for k, derive, wide, instead in wider]))
        try:
            yield
        finally:
            SHARED.reset(token)

    def _shared_query(self, key: tuple, compute: Callable[[], Result], wider: Sequence[Wider] = ()) -> Result:
        """The result of the query `key` (data state, text, parameters): one finished less than SHARED_SECONDS
        ago or being computed; else read off the shared result of a wider query (base.WIDER), or of the
        first one to compute in its place; else computed now and shared."""
        with self._lock:
            self._expire(time.time())
            source = None if key in self._queries else next(
                (w for w in wider if w[0] in self._queries), next((w for w in wider if w[3]), None))
        if source is not None:
            wide_key, derive, wide, _ = source
            # Its computation failing (or its caller leaving) while waited for: this one computed alone.
            result = self._once(wide_key, wide, alone=lambda: None)
            derived = derive(result) if result is not None else None
            if derived is not None:
                return derived
        return self._once(key, compute)

    def _expire(self, now: float) -> None:
        """(The lock held.) Drop the results finished more than SHARED_SECONDS ago."""
        for old in [k for k, (done, _, _) in self._queries.items() if done and now - done > SHARED_SECONDS]:
            del self._queries[old]

    def _once(self, key: tuple, compute: Callable[[], Result],
              alone: Callable[[], Result | None] | None = None) -> Result | None:
        """The result of `key` being computed or finished, else computed now and shared; when the computation
        waited for fails or its caller leaves, `alone()` (by default, computed here)."""
        now = time.time()
        with self._lock:
            self._expire(now)
            entry = self._queries.get(key)
            if entry is None:
                mine: Future = Future()
                self._queries[key] = (0.0, mine, 0)
                while len(self._queries) > SHARED_QUERIES:
                    self._queries.popitem(last=False)
        if entry is not None:
            try:
                return entry[1].result()
            except Exception:  # noqa: BLE001  (it failed, or its caller went away: computed here, alone)
                return (alone or compute)()
        try:
            result = compute()
        except BaseException as exc:
            with self._lock:
                if self._queries.get(key, (0, None, 0))[1] is mine:
                    del self._queries[key]
            mine.set_exception(exc)
            raise
        with self._lock:
            if self._queries.get(key, (0, None, 0))[1] is mine:
                if now < self._cleared:  # begun before an erasure: it may hold the erased person's data
                    del self._queries[key]
                else:
                    self._queries[key] = (time.time(), mine, len(result.rows))
                    self._bound_queries()
        mine.set_result(result)
        return result

    def _bound_queries(self) -> None:
        """(The lock held.) Drop the oldest finished results past SHARED_ROWS rows in all."""
        finished = [(k, rows) for k, (done, _, rows) in self._queries.items() if done]
        total = sum(rows for _, rows in finished)
        for k, rows in finished:
            if total <= SHARED_ROWS:
                break
            del self._queries[k]
            total -= rows

    def fresh_enough(self, key: tuple, state: tuple) -> bool:
        """Whether the kept figures are current, or computed less than FRESH_ENOUGH seconds ago (data
        flowing in all the time must not keep the background computing the same views over and over)."""
        with self._lock:
            kept = self._kept.get(key)
            return kept is not None and (kept.state == state or time.time() - kept.computed < FRESH_ENOUGH)

    def clear(self) -> None:
        """Forget every kept figure (an erasure: none may outlive the person's data), and refuse those whose
        computation began before."""
        with self._lock:
            self._forget()

    def _check_plan(self, plan: object) -> None:
        """A new plan (a reload): the figures of the old one, kept or being computed, are forgotten."""
        with self._lock:
            if plan is not self._plan:
                if self._plan is not None:
                    self._forget()
                self._plan = plan

    def _forget(self) -> None:
        """(The lock held.) No figure kept, none kept whose computation began before now."""
        self._kept.clear()
        self._queries.clear()
        self._bytes = 0
        self._cleared = time.time()

    # ---- views kept warm

    def _note_view(self, key: tuple, raw: Mapping[str, str]) -> None:
        """Remember a view asked for, unless its period moves with the clock (`from=30d`). A period of days
        that ends after today (the last 30 days, this month) is remembered as days from today: tomorrow it is
        the same view over tomorrow's days."""
        from journeys import reports

        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        if repr(reports.options(key[0], raw)) != repr(reports.options(key[0], raw, later)):
            return
        template = dict(raw)
        days = [_day(raw.get("from")), _day(raw.get("to"))]
        today = _today()
        if None not in days and days[1] > today:
            for name, day in zip(("from", "to"), days):
                template[name] = f"{TODAY}{(day - today).days:+d}"
        self._views[_view_id(key[0], template)] = (key[0], template, time.time())
        if len(self._views) > MAX_VIEWS:
            del self._views[min(self._views, key=lambda k: self._views[k][2])]

    def views(self) -> list[tuple[str, dict[str, str]]]:
        """The views asked for in the last VIEWS_DAYS days, most recently asked first: (report, options), a
        rolling period over today's days."""
        since, today = time.time() - VIEWS_DAYS * 86400, _today()
        with self._lock:
            listed = sorted(self._views.values(), key=lambda v: -v[2])
        return [(name, _over(template, today)) for name, template, asked in listed if asked >= since]

    def refresh(self, plan: CompiledPlan) -> int:
        """Compute the views whose figures are missing or predate the data; return how many were computed. One
        at a time, each query on one thread at a low priority: what people wait for goes first."""
        from journeys import reports

        done, until = 0, time.monotonic() + TURN_SECONDS
        self.save()
        listed = self.views()
        if not listed and self.default_view is not None:  # nobody has asked yet: the page's default view
            listed = [(name, _over(template, _today())) for name, template in self.default_view(plan)]
        listed.sort(key=lambda view: view[0] not in WIDEST_FIRST)  # else the most recently asked first
        for name, raw in listed:
            if time.monotonic() > until or self._stopping:  # the rest at the next turn: the most recent first
                break
            state = self.state()
            try:
                key = self.key(plan, name, raw)
            except reports.ReportError:  # the plan changed under it (a form removed): not computed
                continue
            if key is None or self.fresh_enough(key, state):
                continue
            started = time.time()
            self._turn = Ticket(settings={**WARM_SETTINGS,
                                          "max_execution_time": WARM_TIMEOUT_FACTOR * self.store.timeouts.query})
            if self._stopping:  # stop() came after the check above: none of its queries starts
                self._turn.cancelled = True
            token = TICKET.set(self._turn)
            try:
                with self.shared(state):
                    body, media_type = reports.respond(self.store, plan, name, raw)
            except Cancelled:  # stop(): the collector stops
                break
            finally:
                TICKET.reset(token)
                self._turn = None
            self.keep(key, state, started, body, media_type)
            done += 1
        if done:
            log.info("reports: %d view(s) computed again for the dashboard", done)
        return done

    def _load_views(self) -> None:
        if self._views_file is None:
            return
        try:
            for view in json.loads(self._views_file.read_text()):
                template = {str(k): str(v) for k, v in view["raw"].items()}
                try:
                    _over(template, _today())  # a day that is not `today±N` would fail every turn
                except ValueError as exc:
                    log.warning("%s: a view left out (%s)", self._views_file, exc)
                    continue
                self._views[_view_id(str(view["name"]), template)] = (str(view["name"]), template,
                                                                     float(view["asked"]))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s: not read (%s); the views asked for before are forgotten", self._views_file, exc)

    def save(self) -> None:
        """Write the views asked for to the data directory (read back at the next start)."""
        if self._views_file is None:
            return
        with self._lock:
            listed = [{"name": name, "raw": template, "asked": asked}
                      for name, template, asked in self._views.values()]
        try:
            partial = self._views_file.with_suffix(".tmp")
            partial.write_text(json.dumps(listed))
            os.replace(partial, self._views_file)
        except OSError as exc:
            log.warning("%s: not written (%s)", self._views_file, exc)


TODAY = "today"
"""A rolling view's day in report-views.json: `today-29`, `today+1` (days from the day it is computed)."""


def _view_id(name: str, template: Mapping[str, str]) -> str:
    """One view's identity among those listed: its report and options (a rolling period as days from today)."""
    return json.dumps([name, sorted(template.items())])


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _day(text: str | None) -> dt.date | None:
    """A day given as YYYY-MM-DD (the dashboard's periods), else None."""
    try:
        return dt.date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def _over(template: dict[str, str], today: dt.date) -> dict[str, str]:
    """A view's options over today's days."""
    out = dict(template)
    for name in ("from", "to"):
        value = out.get(name, "")
        if value.startswith(TODAY):
            out[name] = (today + dt.timedelta(days=int(value[len(TODAY):]))).isoformat()
    return out


def max_age(cache_control: str | None) -> float | None:
    """`max-age=N` of a request's Cache-Control header: the caller takes figures up to N seconds old."""
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        # ASCII digits only: a header's byte 0xB2 reads as '²', a digit to isdigit that float() refuses (a 500).
        if name.lower() == "max-age" and value.strip().isascii() and value.strip().isdigit():
            return float(value.strip())
    return None

