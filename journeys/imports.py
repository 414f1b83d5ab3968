"""What every import shares: lines read into rows or rejected with their reasons, staged in ClickHouse,
compared with what is stored, written once, and a summary.

An import is idempotent. Each table has a key (a sale's `conversion_id`, a cost's day, lever and campaign, a
broker's id) and a fingerprint of the fields a file gives: a line whose key is stored with the same
fingerprint is unchanged and not written again; a different fingerprint is an update, written with a later
`imported_at` so `FINAL` keeps it; within one file, the last line of a key wins. The comparison and the
write run inside ClickHouse (a Memory table holds the file's rows for the time of the import), so a million
lines cost Python only their reading.

Rejected lines are stored in `import_rejects` with their reasons and fields (never the raw phone number:
its keyed hash, when it was valid), and marked resolved once the same file, or another one with the same
key, imports them.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import msgspec

from collector.errors import Problem
from collector.messages import answer
from collector import redact
from collector.redact import phone_like
from collector.storage import Store
from journeys.lines import Chunk, Context, in_chunks, source_name  # Context: every import's, named from here too
from journeys.profiles import Reader, Record, read, reader
from journeys.values import can_be_a_time, looks_like_a_time

log = logging.getLogger("parcours.import")

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Kind:
    """One kind of import: its table, key, columns and how a line becomes a row."""

    name: str
    table: str
    key: tuple[str, ...]
    key_text: str
    """SQL giving the key as one text (import_rejects.record_key)."""
    columns: tuple[tuple[str, str], ...]
    """(name, ClickHouse type) of the staged rows: the table's columns a file gives, plus source columns."""
    fingerprint: tuple[str, ...]
    row: Callable[[Record, Reader, Context], tuple[dict[str, Any], list[str]]]
    """A line -> (row, []) or (partial fields for the reject, reasons)."""
    free_text: tuple[str, ...] = ()
    """Fields a person may have typed anything into: phone numbers are removed from them before a row is
    stored, phone-like digits before a reject is kept. Not the ids (`ids`)."""
    version: str = "imported_at"
    """The table's version column: the latest row of a key is the one FINAL keeps."""

    fingerprint_sql: str = ""
    """SQL of the fingerprint, when it is not cityHash64 of the `fingerprint` columns."""
    kept: tuple[tuple[str, str], ...] = ()
    """(column, SQL of the value written): columns a line may leave unsaid, their value computed from the line
    (`l.column`) and the row stored for its key (`k.column`, `k.found = 0` when none is): a sale's status, which
    a file that does not say it does not undo."""
    changes: Kind | None = None
    """The kind whose stored rows this kind's lines change (a cancellation changes a sale): each row is written
    again with the line's columns and `sets`, its other columns as stored. A line whose key is not stored is
    rejected (`unknown_key`)."""
    sets: tuple[tuple[str, str], ...] = ()
    """(column, SQL on the line `l` and the stored row `t`): what such a line also sets, or sets instead of what it
    gives (a cancelled sale's status; its cancellation time, not before its signature)."""
    unknown_key: str = ""
    """The reason of a line whose key is not stored, with {key}."""
    refuse: tuple[tuple[str, str], ...] = ()
    """(SQL condition on the line `l` and the stored row `t`, reason with {key}): a line of a kind that `changes`
    stored rows refused when it holds (a cancellation dated before its sale's signature)."""

    @property
    def ids(self) -> tuple[str, ...]:
        """The fields that name a row or a person (its key, its CRM/quote id, a broker's id): a phone number or
        e-mail in one is replaced by its keyed hash (redact.Redactor.keyed), as the collector does in a quote id
        and an event's broker: an id is often ten digits (0145678901), and one rewritten `[phone]` would merge
        every such row into one. A broker's id keyed in the sales, the brokers file and the events alike, they
        still join."""
        return tuple(dict.fromkeys((*self.key, "crm_id", "broker_id")))


@dataclass
class Reject:
    line: int
    reasons: list[str]
    record: int = 0
    """Which record of the line, from 1, when it holds several (a JSON array on one line); 0 when one."""

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, **({"record": self.record} if self.record else {}), "reasons": self.reasons}


@dataclass
class Summary:
    """What an import did. `imported` new keys, `updated` keys stored with other values, `unchanged` keys
    stored with the same values, `rejected` lines refused (with their reasons in `rejects`)."""

    kind: str
    source: str
    profile: str
    dry_run: bool
    lines: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    superseded: list[tuple[int, int]] = field(default_factory=list)
    """(line, later line) pairs: a line replaced by a later line of the same file with the same key."""
    rejects: list[Reject] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "profile": self.profile, "dry_run": self.dry_run,
                "lines": self.lines, "imported": self.imported, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": self.rejected,
                "superseded": [{"line": a, "by": b} for a, b in self.superseded],
                "rejects": [r.as_dict() for r in self.rejects]}


Progress = Callable[[str, int], None]
"""(stage, count): "read" with the lines read so far, then "stored" with the rows written."""


def import_file(kind: Kind, store: Store, ctx: Context, stream: IO[bytes], *, source: str,
                profile: str | None = None, dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Import a file of one kind, read with a profile of the plan or in the canonical format; a large one
    is read in a process of its own (reader.py)."""
    from journeys import reader as reader_mod

    r = reader(ctx.plan.plan, kind.name, profile)
    data = stream.read()
    if len(data) < reader_mod.SUBPROCESS_FROM:
        chunks = in_chunks(kind, r, read(r, io.BytesIO(data)), ctx, source)
    else:
        header = reader_mod.Header(kind.name, msgspec.json.encode(ctx.plan.plan), profile, source, ctx.secret)
        chunks = _from_reader(reader_mod.chunks(header, data))
    return run(store, kind, r, chunks, ctx, source=source, dry_run=dry_run, progress=progress)


def run(store: Store, kind: Kind, r: Reader, chunks: Iterable[Chunk], ctx: Context, *, source: str,
        dry_run: bool = False, progress: Progress | None = None, whole: bool = True) -> Summary:
    """Stage the rows as they come, then write what is new or changed; the summary.

    `whole`: the chunks are the whole of `source` (a file imported again), so its earlier rejected lines not
    rejected again are resolved; records that are only the latest of a source (sales recorded as events,
    journeys/event_conversions.py) resolve earlier rejects by their keys only."""
    source = source_name(ctx, source)  # as the chunks' rows name it
    kind = _in_zone(kind, r)
    summary = Summary(kind.name, source, r.name, dry_run)
    kept: list[dict[str, Any]] = []
    db = store.database
    staged = f"{db}.staging_{kind.name}_{uuid.uuid4().hex[:16]}"
    # source_record: which record of its line a row is (lines.py), staged only: an unknown key is said with it.
    store.query(f"CREATE TABLE {staged} ({', '.join(f'{n} {t}' for n, t in kind.columns)}, "
                "source_record UInt32 DEFAULT 0) ENGINE = Memory", readonly=False)
    try:
        (started,) = store.query("SELECT now64(3)").rows[0]
        for rows, rejects, lines in chunks:
            if isinstance(rows, bytes):
                store.insert_lines(staged.split(".", 1)[1], rows)
            elif rows:
                store.insert_rows(staged.split(".", 1)[1], rows)
            for line, record, reasons, fields in rejects:
                summary.rejects.append(Reject(line, reasons, record))
                kept.append(_kept(kind, line, record, fields, reasons, source, r.name, redact.of(ctx.plan), ctx.secret))
            summary.lines = lines
            if progress:
                progress("read", summary.lines)
        if kind.changes:
            for line, record, fields, reasons in _unknown_keys(store, kind, staged):
                summary.rejects.append(Reject(line, reasons, record))
                kept.append(_kept(kind, line, record, fields, reasons, source, r.name, redact.of(ctx.plan), ctx.secret))
        summary.rejects.sort(key=lambda reject: (reject.line, reject.record))
        summary.rejected = len(summary.rejects)
        _compare(store, kind, staged, summary)
        if not dry_run:
            _write(store, kind, staged)
            if progress:
                progress("stored", summary.imported + summary.updated)
            if kept:
                store.insert_rows("import_rejects", kept)
            _resolve(store, kind, staged, source, started, whole)
    finally:
        store.query(f"DROP TABLE IF EXISTS {staged}", readonly=False)
    return summary


def _in_zone(kind: Kind, r: Reader) -> Kind:
    """The kind with `{time_zone}` in its refuse and sets SQL replaced by the profile's time zone (a zone name
    the plan checked), where a day is compared: a date given without its time is that day's midnight there."""
    if "{time_zone}" not in repr((kind.refuse, kind.sets)):
        return kind
    zone = r.zone.key
    return dataclasses.replace(kind, refuse=tuple((c.replace("{time_zone}", zone), why) for c, why in kind.refuse),
                               sets=tuple((n, sql.replace("{time_zone}", zone)) for n, sql in kind.sets))


def _from_reader(events) -> Iterator[Chunk]:
    """The reader process's frames as chunks: its rows and rejects, with the count of lines read."""
    rows: bytes = b""
    rejects: list = []
    for what, value in events:
        if what == "rows":
            rows = value
        elif what == "rejects":
            rejects = value
        else:
            yield rows, rejects, value
            rows, rejects = b"", []


def _unknown_keys(store: Store, kind: Kind, staged: str) -> list[tuple[int, int, dict[str, Any], list[str]]]:
    """The lines of a kind that `changes` another whose key is not stored, or that one of its `refuse`
    conditions refuses given the stored row: (line, record, fields, reasons)."""
    key = ", ".join(kind.key)
    columns = [n for n, _ in kind.columns if n not in ("source", "source_line", "profile")]
    reasons = [kind.unknown_key, *(reason for _, reason in kind.refuse)]
    why = "multiIf(t.found = 0, 0, " + "".join(f"{cond}, {i}, " for i, (cond, _) in enumerate(kind.refuse, 1)) + "-1)"
    result = store.query(
        f"SELECT * FROM (SELECT l.source_line AS line, l.source_record AS record, {why} AS why, "
        f"{', '.join(f'toString(l.{n}) AS f_{n}' for n in columns)} FROM {staged} AS l "
        f"LEFT JOIN (SELECT *, 1 AS found FROM {store.database}.{kind.changes.table} FINAL "
        f"WHERE ({key}) GLOBAL IN (SELECT {key} FROM {staged})) AS t USING ({key})) WHERE why >= 0 "
        f"ORDER BY line, record")
    out = []
    for line, record, why, *values in result.rows:
        fields = dict(zip(columns, values))
        out.append((int(line), int(record), fields, [reasons[why].format(key="/".join(fields[k] for k in kind.key))]))
    return out


def _written(kind: Kind) -> tuple[str, ...]:
    """The table's columns an import writes (besides the fingerprint)."""
    return tuple(n for n, _ in (kind.changes or kind).columns)


def _latest(store: Store, kind: Kind, staged: str) -> str:
    """The staged rows, the last line of each key only (their unsaid `kept` columns as stored), with their
    fingerprint."""
    if kind.changes:
        return _changed(store, kind, staged)
    columns = ", ".join(n for n, _ in kind.columns)
    key = ", ".join(kind.key)
    fingerprint = kind.fingerprint_sql or f"cityHash64({', '.join(kind.fingerprint)})"
    latest = f"SELECT {columns} FROM {staged} ORDER BY source_line DESC, source_record DESC LIMIT 1 BY {key}"
    if not kind.kept:
        return f"SELECT {columns}, {fingerprint} AS fingerprint FROM ({latest})"
    kept = dict(kind.kept)
    stored = ", ".join(f"argMax({c}, {kind.version}) AS {c}" for c in kept)
    picked = ", ".join(f"{kept[n] if n in kept else f'l.{n}'} AS picked_{n}"
                       for n, _ in kind.columns if n not in kind.key)
    merged = (f"SELECT {key}, {picked} FROM ({latest}) AS l "
              f"LEFT JOIN (SELECT {key}, {stored}, 1 AS found FROM {store.database}.{kind.table} "
              f"WHERE ({key}) GLOBAL IN (SELECT {key} FROM {staged}) GROUP BY {key}) AS k USING ({key})")
    named = ", ".join(n if n in kind.key else f"picked_{n} AS {n}" for n, _ in kind.columns)
    return f"SELECT {named}, {fingerprint} AS fingerprint FROM ({merged})"


def _changed(store: Store, kind: Kind, staged: str) -> str:
    """For a kind that `changes` stored rows: each stored row of a staged key (the last line of each), its
    columns the line gives and the kind `sets` replaced, its source the stored one's; with its fingerprint."""
    target = kind.changes
    key = ", ".join(kind.key)
    given = {n for n, _ in kind.columns if n not in ("source", "source_line", "profile")} - set(kind.key)
    sets = dict(kind.sets)
    picked = ", ".join(f"{sets[n]} AS picked_{n}" if n in sets else f"l.{n} AS picked_{n}" if n in given
                       else f"t.{n} AS picked_{n}" for n in _written(kind) if n not in kind.key)
    latest = f"SELECT * FROM {staged} ORDER BY source_line DESC, source_record DESC LIMIT 1 BY {key}"
    refused = " OR ".join(condition for condition, _ in kind.refuse) or "false"
    merged = (f"SELECT {key}, {picked} FROM ({latest}) AS l INNER JOIN (SELECT * FROM {store.database}.{target.table} "
              f"FINAL WHERE ({key}) GLOBAL IN (SELECT {key} FROM {staged})) AS t USING ({key}) WHERE NOT ({refused})")
    named = ", ".join(n if n in kind.key else f"picked_{n} AS {n}" for n in _written(kind))
    fingerprint = target.fingerprint_sql or f"cityHash64({', '.join(target.fingerprint)})"
    return f"SELECT {named}, {fingerprint} AS fingerprint FROM ({merged})"


def _stored(store: Store, kind: Kind, staged: str) -> str:
    """The stored fingerprint of each staged key (GLOBAL: on a cluster the table is Distributed)."""
    key = ", ".join(kind.key)
    return (f"SELECT {key}, argMax(fingerprint, {kind.version}) AS fingerprint, 1 AS found "
            f"FROM {store.database}.{kind.table} WHERE ({key}) GLOBAL IN (SELECT {key} FROM {staged}) GROUP BY {key}")


def _compare(store: Store, kind: Kind, staged: str, summary: Summary) -> None:
    key = ", ".join(kind.key)
    (imported, updated, unchanged), = store.query(
        f"SELECT countIf(s.found = 0), countIf(s.found = 1 AND s.fingerprint != l.fingerprint), "
        f"countIf(s.found = 1 AND s.fingerprint = l.fingerprint) "
        f"FROM ({_latest(store, kind, staged)}) AS l LEFT JOIN ({_stored(store, kind, staged)}) AS s USING ({key})").rows
    summary.imported, summary.updated, summary.unchanged = int(imported), int(updated), int(unchanged)
    result = store.query(f"SELECT arraySort(groupArray(source_line)) FROM {staged} GROUP BY {key} HAVING count() > 1")
    summary.superseded = sorted((line, lines[-1]) for (lines,) in result.rows for line in lines[:-1])


def _write(store: Store, kind: Kind, staged: str) -> None:
    key = ", ".join(kind.key)
    columns = ", ".join([*_written(kind), "fingerprint"])
    store.query(
        f"INSERT INTO {store.database}.{kind.table} ({columns}) "
        f"SELECT {', '.join(f'l.{c}' for c in columns.split(', '))} "
        f"FROM ({_latest(store, kind, staged)}) AS l LEFT JOIN ({_stored(store, kind, staged)}) AS s USING ({key}) "
        f"WHERE NOT (s.found = 1 AND s.fingerprint = l.fingerprint)", readonly=False)


def _resolve(store: Store, kind: Kind, staged: str, source: str, started, whole: bool = True) -> None:
    """Mark resolved the earlier rejects this import fixed: the same file's lines not rejected again (when the
    import is the `whole` file), and any line whose key this import stored."""
    db = store.database
    same_source = "source = {source:String} OR " if whole else ""
    columns = "kind, source, line, record, record_key, reasons, fields, phone_key, crm_id, profile"
    store.query(
        f"INSERT INTO {db}.import_rejects ({columns}, resolved) SELECT {columns}, true "
        f"FROM {db}.import_rejects FINAL WHERE kind = {{kind:String}} AND NOT resolved "
        f"AND rejected_at < {{started:DateTime64(3, 'UTC')}} "
        f"AND ({same_source}record_key GLOBAL IN (SELECT {kind.key_text} FROM {staged}))",
        readonly=False, parameters={"kind": kind.name, "source": source, "started": started})


def _kept(kind: Kind, line: int, record: int, fields: dict[str, Any], reasons: list[str], source: str,
          profile: str, redactor: redact.Redactor, secret: bytes) -> dict[str, Any]:
    """A rejected line as import_rejects keeps it: its fields as read, personal data removed."""
    fields = dict(fields)
    phone_key = fields.pop("phone_key", "")
    fields.pop("phone", None)
    times = {name for name, type_ in kind.columns if "Date" in type_}
    for name, value in fields.items():
        if not isinstance(value, str):
            continue
        if name in kind.ids:  # as the stored rows have them, so that a fixed line resolves its reject
            fields[name] = redactor.keyed(value, secret)
        elif name in times:  # a number typed where a time was meant; the time itself left to fix as it is
            fields[name] = phone_like(redactor.text(value)) if not looks_like_a_time(value) else value
        elif can_be_a_time(value) and redactor.text(value) == value:  # a time named otherwise (a call's end)
            fields[name] = value
        else:  # every other field: a phone typed in the wrong column (a premium, a status) as in free text
            fields[name] = phone_like(value)
    key = "/".join(str(fields.get(k) or "") for k in kind.key) if all(fields.get(k) for k in kind.key) else ""
    return {"kind": kind.name, "source": source, "line": line, "record": record, "record_key": key, "reasons": reasons,
            "fields": _encode(fields).decode(), "phone_key": phone_key, "crm_id": str(fields.get("crm_id") or ""),
            "profile": profile}


def ndjson(work: Callable[[Progress], Summary]) -> Iterator[bytes]:
    """Run an import on a thread of its own and follow it as JSON lines: `{"progress": {"stage", "count"}}`
    as it goes, then `{"summary": {...}}`, or `{"error": "..."}` when it could not run. What both the admin
    API (`?progress=true`) and the command line show progress from."""
    events: queue.Queue = queue.Queue()

    def report(stage: str, count: int) -> None:
        events.put({"progress": {"stage": stage, "count": count}})

    def target() -> None:
        try:
            events.put({"summary": work(report).as_dict()})
        except Problem as exc:
            events.put({"error": str(exc)})
        except RecursionError:  # JSON nested past what can be read: the sender's doing, as the API's 400 says
            log.warning("an import nested too deeply to be read, refused")
            events.put({"error": answer("too_deep_request")})
        except Exception as exc:  # a bug: said, and logged for the operator, never a silent stop
            log.exception("import failed")
            events.put({"error": f"the import failed unexpectedly ({type(exc).__name__}); see the collector's log"})

    threading.Thread(target=target, name="parcours-import", daemon=True).start()
    while True:
        event = events.get()
        yield _encode(event) + b"\n"
        if "progress" not in event:
            return


def rejects(store: Store, kind: str | None = None, source: str | None = None, everything: bool = False):
    """The rejected lines to fix (all of them, resolved too, with `everything`), newest import first; `record`:
    which record of the line, when it holds several (a JSON array on one line), else 0."""
    where = ["1"] if everything else ["NOT resolved"]
    if kind:
        where.append("kind = {kind:String}")
    if source:
        where.append("source = {source:String}")
    return store.query(
        "SELECT kind, source, line, record, record_key, arrayStringConcat(reasons, '; ') AS reasons, resolved, "
        f"rejected_at FROM {store.database}.import_rejects FINAL WHERE {' AND '.join(where)} "
        "ORDER BY rejected_at DESC, kind, source, line, record", parameters={"kind": kind or "", "source": source or ""})
