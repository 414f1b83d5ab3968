"""The right to erasure: a person deleted everywhere parcours keeps them, and an audit row that does not.

`erase(store, …, phone=…)` (or visitor=, crm_id=) finds the person the key belongs to (stitching first, so
what was just stored counts) and deletes every row holding any of the person's keys — visitor ids, phone
keys, CRM ids — from every table in `TABLES`: events, the reports' sessions, rejected events (and their replay records),
conversions, rejected import lines, identity links, persons, keys left out; the call centre's sealed call-back
phones, webhook deliveries, tracking-number leases and calls. A new feature storing personal data adds its
table to `TABLES`.

Deleting rewrites the parts that hold the rows (a ClickHouse mutation, waited for); the keys never appear in
the statements, which ClickHouse keeps in the data directory. On the embedded engine the old parts are
removed at once (collector/old_parts.py), and `erase` waits for that, so when it returns nothing of the person is
left on disk. The collector's write-ahead log is sealed and stored before (journeys/api.py).

A key left out as implausible (a shop's phone typed by many customers) belongs to no person: erasing it
removes the key from the rows that hold it (the phone key cleared, the links deleted) without deleting those
rows, which are other people's visits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from collector.ddl import mutation
from collector import old_parts, redact
from collector.enrich import phone_key
from collector.errors import BadParameter
from collector.storage import Store
from journeys import persons
from journeys.persons import Key, Staging
from tagplan import CompiledPlan

KINDS = {"phone": "phone", "visitor": "visitor", "crm_id": "crm"}
"""What a request names -> the key type in person_keys."""


class _Keys:
    """How conditions name the person's keys: a Memory table of them on one server; their hashes on a
    cluster, where every replica runs the mutation and the Memory table exists on one node only."""

    def __init__(self, store: Store, table: str):
        self.store, self.table = store, table
        self._hashes: dict[str, str] = {}

    def isin(self, column: str, key_type: str) -> str:
        if not self.store.cluster:
            return f"{column} IN (SELECT key FROM {self.table} WHERE key_type = '{key_type}')"
        return f"cityHash64({column}) IN ({self._hashed(key_type)})"

    def _hashed(self, key_type: str) -> str:
        if key_type not in self._hashes:
            rows = self.store.query(f"SELECT cityHash64(key) FROM {self.table} WHERE key_type = '{key_type}'").rows
            self._hashes[key_type] = ", ".join(str(r[0]) for r in rows) or "0"
        return self._hashes[key_type]

    def any_in(self, array: str, key_type: str) -> str:
        """Any element of an array of text is one of the person's keys of that type."""
        if not self.store.cluster:
            return f"hasAny({array}, (SELECT groupArray(key) FROM {self.table} WHERE key_type = '{key_type}'))"
        return f"arrayExists(x -> cityHash64(x) IN ({self._hashed(key_type)}), {array})"

    def pair(self, type_column: str, key_column: str) -> str:
        if not self.store.cluster:
            return f"({type_column}, {key_column}) IN (SELECT key_type, key FROM {self.table})"
        rows = self.store.query(f"SELECT cityHash64(key_type, key) FROM {self.table}").rows
        return f"cityHash64({type_column}, {key_column}) IN ({', '.join(str(r[0]) for r in rows) or '0'})"


@dataclass(frozen=True)
class Table:
    """A table holding personal data, and the rows of it a person's keys select."""

    name: str
    where: Callable[[_Keys, tuple[str, ...]], str]
    """(keys, the plan's CRM-id properties) -> an SQL condition."""


def _crm(keys: _Keys, column: Callable[[str], str], crm_keys: tuple[str, ...]) -> list[str]:
    return [keys.isin(column(p), "crm") for p in crm_keys]


def _raw_visitor(raw: str) -> str:
    """The visitor id a raw event names, whether or not it parses as JSON: the tag's `vid`, a Segment call's
    `anonymousId`."""
    return f"""extract({raw}, '"(?:vid|anonymousId)"\\\\s*:\\\\s*"([^"\\\\\\\\]*)"')"""


def _raw_user(raw: str) -> str:
    """A Segment call's visitor without anonymousId: `user:<userId>` (collector/segment/translate.py)."""
    return f"""concat('user:', extract({raw}, '"userId"\\\\s*:\\\\s*"?([^",}}\\\\s\\\\\\\\]*)'))"""


def _raw_ids(raw: str, name: str) -> str:
    """Every text value a raw event gives a key `name` anywhere in it, whether or not it parses as JSON: the
    tag's `p`, a Segment call's properties, traits or context.traits (its raw keeps Segment's shape)."""
    return f"""extractAll({raw}, '"{name}"\\\\s*:\\\\s*"([^"\\\\\\\\]*)"')"""


TABLES: list[Table] = [
    Table("events", lambda k, crm: " OR ".join([
        k.isin("visitor_id", "visitor"), k.isin("phone_key", "phone"),
        *_crm(k, lambda p: f"JSONExtractString(properties, '{p}')", crm)])),
    # The reports' sessions (migration 20): a session's row holds its visitor id.
    Table("sessions", lambda k, crm: k.isin("visitor_id", "visitor")),
    # The touches of closed sessions (migration 23, journeys/closing.py).
    Table("closed_touches", lambda k, crm: k.isin("visitor_id", "visitor")),
    # The form events of closed sessions (migration 57, journeys/closing.py).
    Table("closed_form_sessions", lambda k, crm: k.isin("visitor_id", "visitor")),
    # An event kept as received may not parse (cut at the size limit, not UTF-8, a lone surrogate), and a
    # Segment call that could not be read keeps Segment's shape: its visitor and CRM ids are read off the text
    # itself (_raw_visitor, _raw_user, _raw_ids), the tag's `vid` and `p` or a Segment call's ids and properties.
    Table("rejected_events", lambda k, crm: " OR ".join([
        k.isin(_raw_visitor("raw"), "visitor"), k.isin(_raw_user("raw"), "visitor"), k.isin("phone_key", "phone"),
        *(k.any_in(_raw_ids("raw", p), "crm") for p in crm)])),
    # Rows ClickHouse refused, set aside whole (collector/deadletters.py): an event's or a rejected event's line.
    Table("dead_letters", lambda k, crm: " OR ".join([
        k.isin("JSONExtractString(line, 'visitor_id')", "visitor"), k.isin("JSONExtractString(line, 'phone_key')", "phone"),
        k.isin(_raw_visitor("JSONExtractString(line, 'raw')"), "visitor"),
        k.isin(_raw_user("JSONExtractString(line, 'raw')"), "visitor"),
        *(k.any_in(_raw_ids("JSONExtractString(line, 'raw')", p), "crm") for p in crm),
        *_crm(k, lambda p: f"JSONExtractString(JSONExtractString(line, 'properties'), '{p}')", crm)])),
    _SALES := Table("conversions", lambda k, crm: f"{k.isin('phone_key', 'phone')} OR {k.isin('crm_id', 'crm')}"),
    # A rejected line by its phone or quote id, or by the contract it names (a cancellation carries no other).
    Table("import_rejects", lambda k, crm: f"{k.isin('phone_key', 'phone')} OR {k.isin('crm_id', 'crm')} OR "
                                           f"(kind IN ('conversions', 'cancellations') AND {k.isin('record_key', 'contract')})"),
    Table("identity_links", lambda k, crm: f"{k.pair('key_type', 'key')} OR {k.pair('other_type', 'other')}"),
    Table("person_keys", lambda k, crm: k.pair("key_type", "key")),
    Table("identity_hot_keys", lambda k, crm: k.pair("key_type", "key")),
    # The call centre (callcentre/): the sealed call-back phones, the webhook's outbox, tracking-number leases,
    # calls by their caller.
    Table("lead_contacts", lambda k, crm: f"{k.isin('visitor_id', 'visitor')} OR {k.isin('phone_key', 'phone')}"),
    Table("lead_deliveries", lambda k, crm: f"{k.isin('visitor_id', 'visitor')} OR {k.isin('phone_key', 'phone')}"),
    Table("number_leases", lambda k, crm: k.isin("visitor_id", "visitor")),
    Table("calls", lambda k, crm: f"{k.isin('caller_key', 'phone')} OR {k.isin('dialled_key', 'phone')}"),
]
"""Every table holding a person's data. A new feature that stores personal data adds its table here."""

_CLEARED = {"events": "phone_key", "rejected_events": "phone_key", "conversions": "phone_key"}
"""For a phone left out (no person): the column cleared rather than the row deleted."""


@dataclass
class Erased:
    """What an erasure removed: per table, rows deleted (or, for a key left out, rows whose key was cleared)."""

    key_kind: str
    person: bool
    """The key belonged to a person (False: unknown, or left out as implausible)."""
    keys: int
    removed: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    parts_left: int = 0
    """Old parts still on disk when erase returned (0 on the embedded engine: it waits for them)."""

    def as_dict(self) -> dict:
        return {"key_kind": self.key_kind, "person": self.person, "keys": self.keys, "removed": self.removed,
                "cleared": self.cleared, "dry_run": self.dry_run, "parts_left": self.parts_left}


def key_of(plan: CompiledPlan, secret: bytes, kind: str, value: str) -> Key:
    """The stored key a request names: a phone as its keyed hash (never kept, never echoed)."""
    if kind not in KINDS:
        raise BadParameter(f"erase by one of {', '.join(KINDS)}")
    value = (value or "").strip()
    if not value:
        raise BadParameter(f"{kind}: give the {kind} to erase")
    if kind == "phone":
        hashed = phone_key(value, plan.default_region, secret)
        if not hashed:
            raise BadParameter(f"phone: not a valid phone number (read in region {plan.default_region})")
        return ("phone", hashed)
    if kind == "crm_id":  # as stored: a phone number in it is its keyed hash
        value = redact.of(plan).keyed(value, secret)
    return (KINDS[kind], value)


def erase(store: Store, plan: CompiledPlan, secret: bytes, kind: str, value: str, *, dry_run: bool = False,
          paused=old_parts.no_pause) -> Erased:
    """Erase the person a phone, visitor id or CRM id belongs to; see the module docstring. `paused` keeps
    the batch writer from inserting while the changed tables are reattached (the collector's Writer.paused)."""
    key = key_of(plan, secret, kind, value)
    cfg = persons.config(plan)
    with persons.lock(store):  # no stitching run re-creates what is being deleted
        persons.stitch(store, cfg)  # what was just stored counts
        person, keys = persons.keys_of(store, key)
        hot = bool(store.query(f"SELECT count() FROM {store.database}.identity_hot_keys FINAL "
                               "WHERE key_type = {t:String} AND key = {k:String}",
                               parameters={"t": key[0], "k": key[1]}).rows[0][0])
        result = Erased(kind, person is not None, len(keys), dry_run=dry_run)
        with Staging(store) as tmp:
            table = tmp.table("key_type String, key String", [{"key_type": t, "key": k} for t, k in keys])
            names = _Keys(store, table)
            # The person's contracts, as keys too: a rejected line of one (a cancellation) names it alone. Those
            # of their sale lines rejected too (their record key), which no conversion holds.
            contracts = store.query(
                f"SELECT conversion_id FROM {store.database}.conversions WHERE {_SALES.where(names, cfg.crm_keys)} "
                f"UNION DISTINCT SELECT record_key FROM {store.database}.import_rejects WHERE kind = 'conversions' "
                f"AND record_key != '' AND ({_SALES.where(names, cfg.crm_keys)})").rows
            if contracts:
                table = tmp.table("key_type String, key String", [{"key_type": t, "key": k} for t, k in keys]
                                  + [{"key_type": "contract", "key": c} for (c,) in contracts])
                names = _Keys(store, table)
            for target in TABLES:
                condition = target.where(names, cfg.crm_keys)
                if hot and key[0] == "phone" and target.name in _CLEARED:
                    column = _CLEARED[target.name]
                    condition = names.isin(column, "phone")
                    result.cleared[target.name] = _count(store, target.name, condition)
                    if result.cleared[target.name] and not dry_run:
                        _mutate(store, target.name, f"UPDATE {column} = ''", condition)
                    continue
                if target.name == "rejected_events":
                    _replays(store, tmp, condition, result, dry_run)
                result.removed[target.name] = _count(store, target.name, condition)
                if result.removed[target.name] and not dry_run:
                    _mutate(store, target.name, "DELETE", condition)
        if not dry_run:
            store.insert_rows("erasures", [{"erasure_id": str(uuid.uuid4()), "key_kind": kind, "keys": len(keys),
                                            "removed": {**result.removed, **result.cleared}}])
            changed = [t for t, n in {**result.removed, **result.cleared}.items() if n]
            result.parts_left = old_parts.drop(store, changed, paused)
    return result


def _replays(store: Store, tmp, condition: str, result: Erased, dry_run: bool) -> None:
    """The replay records of the rejected events about to go (they hold their event ids only)."""
    db = store.database
    ids = [{"event_id": r[0]} for r in store.query(
        f"SELECT DISTINCT event_id FROM {db}.rejected_events WHERE {condition}").rows]
    if not ids:
        result.removed["rejected_replays"] = 0
        return
    table = tmp.table("event_id String", ids)
    where = f"event_id IN (SELECT event_id FROM {table})"
    if store.cluster:
        hashes = ", ".join(str(r[0]) for r in store.query(f"SELECT cityHash64(event_id) FROM {table}").rows)
        where = f"cityHash64(event_id) IN ({hashes})"
    result.removed["rejected_replays"] = _count(store, "rejected_replays", where)
    if result.removed["rejected_replays"] and not dry_run:
        _mutate(store, "rejected_replays", "DELETE", where)


def _count(store: Store, table: str, condition: str) -> int:
    return int(store.query(f"SELECT count() FROM {store.database}.{table} WHERE {condition}").rows[0][0])


def _mutate(store: Store, table: str, action: str, condition: str) -> None:
    store.query(mutation(store.database, store.cluster, table, action, condition), readonly=False)
