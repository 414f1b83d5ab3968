"""One person across visits, phones and quotes: identity stitching into `person_keys`.

A person is a connected set of keys — visitor ids, phone keys, CRM ids — linked by any row that carries two
of them: an event with a phone or a quote id (a submit, an `identify`), a sale with a phone and a CRM id.
Each pair seen together is kept in `identity_links`; each key's person in `person_keys`.

Stitching is incremental. A run reads the rows stored since the last run (by `inserted_at`, with a margin
for inserts still in flight), adds their links, and recomputes only the persons they touch:

- a key keeps its person when new keys join it; when a link joins two persons, the merged person keeps
  one of their ids (the smaller); a new person's id is derived from its first key (`person_id(key)`).
- a key shared by implausibly many visitors (a shop's own phone typed by every customer; a shop computer
  that left many customers' phones) is left out: it links no one, has no person, and is listed in
  `identity_hot_keys`. A person that held it is split back into what the other links connect.

A run is a function of what is stored: run twice, it writes nothing the second time; two processes running
at once (`--workers N`, several machines) write the same rows, and rows are versioned by the run's
watermark (the server's time at its start), so a later run's rows win whatever order the inserts land in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from callcentre import calls
from collector.ddl import mutation
from collector.since import epoch_seconds, naive_utc
from collector.storage import Store, StoreError
from journeys import watermarks
from tagplan import CompiledPlan

log = logging.getLogger("parcours.persons")

MARGIN = dt.timedelta(seconds=60)
"""How far before the last watermark a run reads again: rows whose insert was in flight at the last run
(stored with an earlier inserted_at, visible later) are caught; reading them twice changes nothing. Rows
visible later still (a cluster's asynchronous Distributed inserts held back by a failing shard) are caught
by `parcours persons stitch --full`."""
_locks: dict[tuple[str, str], threading.RLock] = {}


@dataclass(frozen=True)
class Config:
    """What stitching reads from the plan."""

    crm_keys: tuple[str, ...] = ("quote_id",)
    """Properties of events that carry a CRM id."""
    max_visitors_per_key: int = 20
    max_phones_per_visitor: int = 10


def config(plan: CompiledPlan) -> Config:
    rec = plan.plan.reconciliation
    return Config(tuple(plan.crm_keys), rec.max_visitors_per_key, rec.max_phones_per_visitor)


@dataclass(frozen=True)
class Source:
    """Where links come from: SQL giving, per row stored between {lo} and {hi}, its keys as an array of
    (key_type, key) and the time they were seen together. Later sources (call-centre leads, calls) add one."""

    name: str
    sql: Callable[[str, Config], str]


def _events_sql(db: str, cfg: Config) -> str:
    keys = ", ".join(["('visitor', visitor_id)", "('phone', phone_key)",
                      *(f"('crm', JSONExtractString(properties, '{p}'))" for p in cfg.crm_keys)])
    return (f"SELECT arrayDistinct(arrayFilter(k -> k.2 != '', [{keys}])) AS keys, min(ts) AS seen "
            f"FROM {db}.events WHERE inserted_at > {{lo:DateTime64(3, 'UTC')}} AND inserted_at <= {{hi:DateTime64(3, 'UTC')}} "
            "AND visitor_id != '' GROUP BY keys")


def _conversions_sql(db: str, cfg: Config) -> str:
    return ("SELECT arrayFilter(k -> k.2 != '', [('phone', phone_key), ('crm', crm_id)]) AS keys, min(ts) AS seen "
            f"FROM {db}.conversions WHERE imported_at > {{lo:DateTime64(3, 'UTC')}} "
            "AND imported_at <= {hi:DateTime64(3, 'UTC')} GROUP BY keys")


SOURCES: list[Source] = [Source("events", _events_sql), Source("conversions", _conversions_sql),
                         Source("calls", calls.links_sql)]

Key = tuple[str, str]


def person_id(key: Key) -> str:
    """The id a person gets from the key it was first seen with: stable, and the same in every process."""
    return "p" + hashlib.blake2b(f"{key[0]}:{key[1]}".encode(), digest_size=8).hexdigest()


@dataclass
class Run(watermarks.Run):
    """What one stitching run did."""

    links: int = 0
    keys_written: int = 0
    merges: int = 0
    hot_keys: int = 0
    seconds: float = 0.0


class _Keys:
    """Union-find over keys (path halving; the smaller root wins, so the result does not depend on order)."""

    def __init__(self):
        self.parent: dict[Key, Key] = {}

    def add(self, key: Key) -> None:
        self.parent.setdefault(key, key)

    def find(self, key: Key) -> Key:
        parent = self.parent
        while True:
            up = parent[key]
            if up == key:
                return key
            top = parent[up]
            parent[key] = top
            key = top

    def union(self, a: Key, b: Key) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def groups(self) -> dict[Key, list[Key]]:
        out: dict[Key, list[Key]] = {}
        find = self.find
        for key in self.parent:
            out.setdefault(find(key), []).append(key)
        return out


def stitch(store: Store, cfg: Config, *, host: str = "", full: bool = False) -> Run:
    """One incremental run; see the module docstring. `full`: read everything stored, not only what came
    since the last run (after a restore, or rows that became visible long after they were stored)."""
    with lock(store):
        began = time.perf_counter()
        started = watermarks.now(store)
        lo = watermarks.EPOCH if full else watermarks.read_from(store, "stitch_runs", MARGIN)
        run = Run(started)
        rows = list(_link_rows(store, cfg, lo, started))
        with Staging(store) as tmp:
            _stitch(store, cfg, rows, started, run, tmp)
        run.seconds = time.perf_counter() - began
        store.insert_rows("stitch_runs", [{
            "run_id": str(uuid.uuid4()), "watermark": epoch_seconds(started), "started_at": epoch_seconds(started),
            "links": run.links, "keys_written": run.keys_written, "merges": run.merges, "hot_keys": run.hot_keys,
            "host": host or socket.gethostname()}])
        return run


def lock(store: Store) -> threading.RLock:
    """One run at a time per database in this process (the background loop, a command); an erasure holds
    it for its whole length, so no run re-creates what it deletes."""
    return _locks.setdefault((store.dsn, store.database), threading.RLock())


def _link_rows(store: Store, cfg: Config, lo: dt.datetime, hi: dt.datetime) -> Iterator[tuple[str, list[Key], dt.datetime]]:
    for source in SOURCES:
        result = store.query(source.sql(store.database, cfg), parameters={"lo": lo, "hi": hi})
        for keys, seen in result.rows:
            yield source.name, [tuple(k) for k in keys], naive_utc(seen)


STAGING_AGE_ON_A_SERVER = 86400
"""On a ClickHouse server, another collector's staging table may be in use however long ago this one started: only
those a day old are left over."""


def drop_left_staging(store: Store, older_than: float) -> int:
    """Drop the staging tables (`staging_…`, Memory) created more than `older_than` seconds ago (this process's
    age, on the embedded engine: those of a process that died mid-run), and a day at least on a server; how many.
    A `kill -9` during an import, a stitching or closing run or an erasure left its tables, their rows gone with
    the process: one more at each crash, listed beside the data."""
    age = int(older_than) + 1 if store.dsn.startswith("chdb:") else max(int(older_than) + 1, STAGING_AGE_ON_A_SERVER)
    names = [r[0] for r in store.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'Memory' "
        "AND startsWith(name, 'staging_') AND metadata_modification_time < now() - toIntervalSecond({age:UInt32})",
        parameters={"db": store.database, "age": age}).rows]
    for name in names:
        store.query(f"DROP TABLE IF EXISTS {store.database}.`{name}`", readonly=False)
    return len(names)


class Staging:
    """Memory tables holding this run's keys, for lookups by key inside ClickHouse (a million keys do not
    fit in a query's text). Dropped after the run."""

    def __init__(self, store: Store):
        self.store = store
        self.names: list[str] = []

    def __enter__(self):
        return self

    def table(self, columns: str, rows: list[dict]) -> str:
        name = self._create(f"({columns})")
        if rows:
            self.store.insert_rows(name.split(".", 1)[1], rows)
        return name

    def table_as(self, table: str) -> str:
        """An empty memory table with `table`'s columns."""
        return self._create(f"AS {table}")

    def _create(self, structure: str) -> str:
        name = f"{self.store.database}.staging_stitch_{uuid.uuid4().hex[:16]}"
        self.store.query(f"CREATE TABLE {name} {structure} ENGINE = Memory", readonly=False)
        self.names.append(name)
        return name

    def __exit__(self, *exc):
        for name in self.names:
            with contextlib.suppress(StoreError):
                self.store.query(f"DROP TABLE IF EXISTS {name}", readonly=False)


def _stitch(store: Store, cfg: Config, rows: list, watermark: dt.datetime, run: Run, tmp: Staging) -> None:
    db = store.database
    touched: set[Key] = set()
    linked: list[list[Key]] = []  # the rows carrying two keys or more
    links: list[dict] = []  # each pair both ways: a key's links are read by the key (the sorting key)
    for source, keys, seen in rows:
        touched.update(keys)
        if len(keys) < 2:
            continue
        linked.append(keys)
        at = epoch_seconds(seen)
        for a in keys:
            for b in keys:
                if a is not b:
                    links.append({"key_type": a[0], "key": a[1], "other_type": b[0], "other": b[1],
                                  "source": source, "first_seen": at})
    if not touched:
        return
    run.links = len(links) // 2
    if links:
        store.insert_rows("identity_links", links)
    keys_table = tmp.table("key_type String, key String", [{"key_type": t, "key": k} for t, k in touched])

    # The persons the new keys are in, and every key of those persons.
    current = _persons_of(store, keys_table)
    persons = {p for p in current.values()}
    members: dict[Key, str] = dict(current)
    if persons:
        persons_table = tmp.table("person_id String", [{"person_id": p} for p in persons])
        result = store.query(
            f"SELECT key_type, key, argMax(person_id, updated_at) AS person FROM {db}.person_keys "
            f"WHERE person_id GLOBAL IN (SELECT person_id FROM {persons_table}) GROUP BY key_type, key "
            f"HAVING person GLOBAL IN (SELECT person_id FROM {persons_table})")
        members.update({(t, k): p for t, k, p in result.rows})

    # Keys linked to implausibly many others: left out of every person.
    everyone = set(members) | touched
    hot = _hot_keys(store, cfg, touched, keys_table)
    run.hot_keys = len(hot)

    uf = _Keys()
    for key in everyone:
        if key not in hot:
            uf.add(key)
    by_person: dict[str, list[Key]] = {}
    for key, p in members.items():
        by_person.setdefault(p, []).append(key)
    broken = {p for p, keys in by_person.items() if any(k in hot for k in keys)}
    for p, keys in by_person.items():
        if p in broken:
            continue
        for key in keys[1:]:  # a person's keys were connected, and none of them went hot
            uf.union(keys[0], key)
    if broken:  # a person that held a key now hot: rebuilt from its links without it
        rebuild = [k for p in broken for k in by_person[p] if k not in hot]
        links_table = tmp.table("key_type String, key String", [{"key_type": t, "key": k} for t, k in rebuild])
        result = store.query(f"SELECT key_type, key, other_type, other FROM {db}.identity_links "
                             f"WHERE (key_type, key) GLOBAL IN (SELECT key_type, key FROM {links_table})")
        for t, k, ot, o in result.rows:
            if (ot, o) in uf.parent and (t, k) in uf.parent:
                uf.union((t, k), (ot, o))
    for keys in linked:  # the keys of one row are linked with each other: a star joins them
        kept = [k for k in keys if k not in hot] if hot else keys
        for key in kept[1:]:
            uf.union(kept[0], key)

    written = _assign(uf.groups(), members, by_person, run)
    if written:
        stamp = epoch_seconds(watermark)
        store.insert_rows("person_keys", [{"key_type": t, "key": k, "person_id": p, "updated_at": stamp}
                                          for (t, k), p in written.items()])
    run.keys_written = len(written)
    if hot:
        store.insert_rows("identity_hot_keys", [{"key_type": t, "key": k, "reason": reason, "linked": n}
                                                for (t, k), (reason, n) in hot.items()])
        gone = [key for key in hot if key in members]
        if gone:  # a key that had a person has none now
            gone_table = tmp.table("key_type String, key String", [{"key_type": t, "key": k} for t, k in gone])
            delete_keys(store, "person_keys", "(key_type, key)", f"SELECT key_type, key FROM {gone_table}")


def _persons_of(store: Store, keys_table: str) -> dict[Key, str]:
    result = store.query(
        f"SELECT key_type, key, argMax(person_id, updated_at) FROM {store.database}.person_keys "
        f"WHERE (key_type, key) GLOBAL IN (SELECT key_type, key FROM {keys_table}) GROUP BY key_type, key")
    return {(t, k): p for t, k, p in result.rows}


def _hot_keys(store: Store, cfg: Config, touched: set[Key], keys_table: str) -> dict[Key, tuple[str, int]]:
    """The touched keys linked to too many others, with why and how many."""
    result = store.query(
        f"SELECT key_type, key, uniqExactIf(other, other_type = 'visitor') AS visitors, "
        f"uniqExactIf(other, other_type = 'phone') AS phones FROM {store.database}.identity_links "
        f"WHERE (key_type, key) GLOBAL IN (SELECT key_type, key FROM {keys_table}) GROUP BY key_type, key "
        f"HAVING (key_type != 'visitor' AND visitors > {int(cfg.max_visitors_per_key)}) "
        f"OR (key_type = 'visitor' AND phones > {int(cfg.max_phones_per_visitor)})")
    out: dict[Key, tuple[str, int]] = {}
    for t, k, visitors, phones in result.rows:
        out[(t, k)] = ("too_many_phones", int(phones)) if t == "visitor" else ("too_many_visitors", int(visitors))
    return out


def _assign(groups: dict[Key, list[Key]], members: dict[Key, str], by_person: dict[str, list[Key]],
            run: Run) -> dict[Key, str]:
    """Each group's person id; the keys whose person changed (or is new)."""
    group_of = {key: root for root, keys in groups.items() for key in keys}
    owner: dict[str, Key] = {}
    for p, keys in by_person.items():
        anchor = next((k for k in keys if person_id(k) == p and k in group_of), None)
        if anchor is not None:
            owner[p] = group_of[anchor]
        else:  # its first key left (went hot): the part with most of its keys keeps the id
            counts: dict[Key, int] = {}
            for k in keys:
                if k in group_of:
                    counts[group_of[k]] = counts.get(group_of[k], 0) + 1
            if counts:
                owner[p] = min(counts, key=lambda root: (-counts[root], root))
    owned: dict[Key, list[str]] = {}
    for p, root in owner.items():
        owned.setdefault(root, []).append(p)
    written: dict[Key, str] = {}
    for root, keys in groups.items():
        ids = owned.get(root)
        chosen = min(ids) if ids else person_id(min(keys))
        run.merges += max(0, len(ids or ()) - 1)
        for key in keys:
            if members.get(key) != chosen:
                written[key] = chosen
    return written


def delete_keys(store: Store, table: str, column: str, select: str) -> None:
    """Delete the rows of `table` whose `column` (a column, or a tuple of columns) is in `select`, rewriting
    the parts that hold them (a mutation, waited for). The keys never appear in the statement, which
    ClickHouse keeps in the data directory: on one server they are read from `select` (a Memory table of this
    run); on a cluster, where each replica runs the mutation, by their hashes."""
    db = store.database
    if not store.cluster:
        store.query(mutation(db, None, table, "DELETE", f"{column} IN ({select})"), readonly=False)
        return
    hashes = [str(r[0]) for r in store.query(f"SELECT DISTINCT cityHash64(*) FROM ({select})").rows]
    if hashes:
        hashed = f"cityHash64{column}" if column.startswith("(") else f"cityHash64({column})"
        store.query(mutation(db, store.cluster, table, "DELETE", f"{hashed} IN ({', '.join(hashes)})"),
                    readonly=False)


def keys_of(store: Store, key: Key) -> tuple[str | None, list[Key]]:
    """The person of a key and all its keys; (None, [key]) for a key with no person (unknown, or left out)."""
    db = store.database
    result = store.query(f"SELECT argMax(person_id, updated_at) FROM {db}.person_keys "
                         "WHERE key_type = {t:String} AND key = {k:String}", parameters={"t": key[0], "k": key[1]})
    p = result.rows[0][0] if result.rows else ""
    if not p:
        return None, [key]
    result = store.query(
        f"SELECT key_type, key FROM {db}.person_keys WHERE person_id = {{p:String}} GROUP BY key_type, key "
        f"HAVING argMax(person_id, updated_at) = {{p:String}}", parameters={"p": p})
    return p, [tuple(r) for r in result.rows]


def status(store: Store) -> dict:
    """The last run, and how many persons, keys and keys left out there are."""
    db = store.database
    last = store.query(f"SELECT watermark, finished_at, links, keys_written, merges, hot_keys, host "
                       f"FROM {db}.stitch_runs ORDER BY watermark DESC LIMIT 1")
    (persons, keys), = store.query(f"SELECT uniqExact(person_id), count() FROM {db}.person_keys FINAL").rows
    (hot,), = store.query(f"SELECT count() FROM {db}.identity_hot_keys FINAL").rows
    doc = {"persons": int(persons), "keys": int(keys), "hot_keys": int(hot), "last_run": None}
    if last.rows:
        doc["last_run"] = dict(zip(last.columns, last.rows[0]))
    return doc
