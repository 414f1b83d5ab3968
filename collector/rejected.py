"""Rejected events: what broke (summary by reason), and replay of those the current plan now accepts.

Replay is idempotent: each replayed event_id is recorded in `rejected_replays`, and rejected rows
already recorded there (or whose event_id is already in `events`) are never considered again.
Replayed events keep their original times (received_at from the rejected row, and the skew-corrected
`ts` from its device and send times).

Personal data was redacted from the raw payload before it was stored as rejected. A redacted
property (the phone, any `pii: true` property) is therefore not checked again on replay: it is
trusted when the original rejection did not name it, and the phone's keyed hash, kept beside the
rejected row, is restored into `phone_key`. When the original rejection did name it (say, a phone
that did not parse), the value is gone, and the event stays rejected with a reason saying so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

from collector import ingest, messages
from collector.clock import TimeBounds
from collector.redact import REDACTED
from collector.refusals import is_transient
from collector.rows import DeadLetterRow, EventRow
from collector.since import EPOCH, utc
from collector.storage import QueryResult, Store, StoreError
from collector.wire import WIRE_KEYS
from tagplan import CompiledPlan

PAGE = 5_000


def summary(store: Store, since: dt.datetime) -> QueryResult:
    """Rejections since a time, one row per reason: counts, first and last seen, an example event. Rows
    ClickHouse refused (set aside in dead_letters by the writer) are listed too, one row per error."""
    db = store.database
    # GLOBAL IN: on a cluster both tables are Distributed; on one server GLOBAL changes nothing.
    return store.query(
        f"""
        SELECT * FROM (
            SELECT reason,
                   -- A batch the tag sent twice stores its rejected rows twice: count events, not rows
                   -- (an event whose id did not even decode is told apart by its payload).
                   uniqExact(event_id, raw) AS events,
                   uniqExactIf((event_id, raw), event_id GLOBAL IN (SELECT event_id FROM {db}.rejected_replays)) AS replayed,
                   min(received_at) AS first_seen,
                   max(received_at) AS last_seen,
                   arraySort(groupUniqArray(10)(event)) AS event_names,
                   argMax(raw, received_at) AS example
            FROM {db}.rejected_events ARRAY JOIN reasons AS reason
            WHERE received_at >= {{since:DateTime64(3, 'UTC')}}
            GROUP BY reason
            UNION ALL
            SELECT concat('{DEAD_LETTER_REASON}', target, ': ', error) AS reason,
                   count() AS events,
                   countIf(replayed_at > 0) AS replayed,
                   min(set_aside_at) AS first_seen,
                   max(set_aside_at) AS last_seen,
                   arraySort(groupUniqArray(10)(event)) AS event_names,
                   argMax(line, set_aside_at) AS example
            FROM {db}.dead_letters FINAL
            WHERE set_aside_at >= {{since:DateTime64(3, 'UTC')}}
            GROUP BY target, error
        )
        ORDER BY events DESC, reason
        """,
        parameters={"since": since},
    )


DEAD_LETTER_REASON = "ClickHouse refused the row for "
"""How a dead letter's reason starts in the summary: then its table and ClickHouse's error."""


@dataclass
class ReplayResult:
    dry_run: bool
    considered: int = 0
    """Distinct rejected events since the time given, not replayed before."""
    replayed: int = 0
    """Now valid: moved into events (or, in a dry run, would be)."""
    already_in_events: int = 0
    """Their event_id was accepted since (a retry after a plan reload): recorded, not inserted twice."""
    still_rejected: dict[str, int] = field(default_factory=dict)
    """Reason -> events, for those the current plan still refuses."""
    dead_letters: int = 0
    """Rows ClickHouse refused (dead_letters) since the time given, not stored since."""
    dead_letters_stored: int = 0
    """Of those, stored in their table now (or, in a dry run, none: only ClickHouse can tell)."""
    dead_letters_refused: dict[str, int] = field(default_factory=dict)
    """ClickHouse's error -> rows, for those it still refuses."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def replay(store: Store, plan: CompiledPlan, secret: bytes, since: dt.datetime, dry_run: bool = False,
           now: dt.datetime | None = None, bounds: TimeBounds = TimeBounds()) -> ReplayResult:
    """Re-validate rejected events received since a time against `plan`; move those that pass into events, once."""
    try:
        return _replay(store, plan, secret, since, dry_run, now, bounds)
    except StoreError as exc:
        raise StoreError(f"replay stopped, storage failed: {exc}; run it again, it does not duplicate") from None


def _replay(store: Store, plan: CompiledPlan, secret: bytes, since: dt.datetime, dry_run: bool,
            now: dt.datetime | None, bounds: TimeBounds) -> ReplayResult:
    result = ReplayResult(dry_run=dry_run)
    still: Counter[str] = Counter()
    after = ""
    while True:
        rows = _candidates(store, since, after)
        if not rows:
            break
        after = rows[-1][0]
        valid, done = [], []
        for event_id, raw, reasons, received_at, sent_at, user_agent, ip, phone_key, in_events in rows:
            result.considered += 1
            if in_events:
                result.already_in_events += 1
                done.append(event_id)
                continue
            row, problems = _revalidate(raw, reasons, received_at, sent_at, user_agent, ip, phone_key, plan, secret,
                                        bounds)
            if problems:
                still.update(problems)
                continue
            valid.append(row)
            done.append(event_id)
        result.replayed += len(valid)
        if not dry_run:
            # Events first: a crash between the two inserts replays the event again, and
            # events' ReplacingMergeTree (read with FINAL) folds the copy.
            store.insert_rows("events", valid)
            replayed_at = now or dt.datetime.now(dt.timezone.utc)
            store.insert("rejected_replays", [[e, replayed_at, plan.version] for e in done],
                         ("event_id", "replayed_at", "plan_version"))
    result.still_rejected = dict(still.most_common())
    _replay_dead_letters(store, since, dry_run, now, result)
    return result


def _replay_dead_letters(store: Store, since: dt.datetime, dry_run: bool, now: dt.datetime | None,
                         result: ReplayResult) -> None:
    """Insert each dead letter again into its table, as it was written; those ClickHouse now takes are
    marked replayed (the same row again, replayed_at set: FINAL keeps that one)."""
    refused: Counter[str] = Counter()
    while True:
        rows = store.query(
            f"""
            SELECT id, set_aside_at, target, event_id, event, error, error_code, line
            FROM {store.database}.dead_letters FINAL
            WHERE replayed_at = 0 AND set_aside_at >= {{since:DateTime64(3, 'UTC')}}
            ORDER BY set_aside_at, id
            LIMIT {PAGE} OFFSET {{skip:UInt64}}
            """, parameters={"since": since, "skip": sum(refused.values()) if not dry_run else result.dead_letters},
        ).rows
        if not rows:
            break
        result.dead_letters += len(rows)
        if dry_run:
            continue
        stored = []
        for id_, set_aside_at, target, event_id, event, error, code, line in rows:
            try:
                store.insert_lines(target, line.encode() + b"\n")
            except StoreError as exc:
                if is_transient(exc):
                    raise
                refused[str(exc).removeprefix(f"insert into {target} failed: ")] += 1
                continue
            stored.append(DeadLetterRow(id=str(id_), set_aside_at=_millis(set_aside_at) / 1000, target=target,
                                        event_id=event_id, event=event, error=error, error_code=code, line=line,
                                        replayed_at=(now or dt.datetime.now(dt.timezone.utc)).timestamp()))
        store.insert_rows("dead_letters", stored)
        result.dead_letters_stored += len(stored)
    result.dead_letters_refused = dict(refused.most_common())


def _candidates(store: Store, since: dt.datetime, after: str) -> list[list[Any]]:
    """The latest rejected row of each event_id not yet replayed, a page at a time in event_id order."""
    db = store.database
    return store.query(
        f"""
        SELECT event_id, raw, reasons, received_at, sent_at, user_agent, ip, phone_key,
               event_id GLOBAL IN (
                   SELECT toString(event_id) FROM {db}.events WHERE received_at >= {{since:DateTime64(3, 'UTC')}}
               ) AS in_events
        FROM {db}.rejected_events
        WHERE received_at >= {{since:DateTime64(3, 'UTC')}} AND event_id > {{after:String}}
          AND event_id GLOBAL NOT IN (SELECT event_id FROM {db}.rejected_replays)
        ORDER BY event_id, received_at DESC
        LIMIT 1 BY event_id
        LIMIT {PAGE}
        """,
        readonly=True, parameters={"since": since, "after": after},
    ).rows


def _revalidate(raw: str, reasons: list[str], received_at: dt.datetime, sent_at: dt.datetime, user_agent: str,
                ip: str, phone_key: str, plan: CompiledPlan, secret: bytes,
                bounds: TimeBounds) -> tuple[EventRow | None, list[str]]:
    for reason in reasons:  # sent from a site the plan does not list: replayed once the plan lists it, not before
        if (site := _ORIGIN.match(reason)) and plan.origins and site.group(1) not in plan.origins:
            return None, [messages.reason("origin", origin=site.group(1), version=plan.version)]
    redacted = _redacted(raw)
    lost = [name for name in redacted if any(r.startswith(f"properties.{name}:") for r in reasons)]
    if lost:
        return None, [messages.reason("redacted", name=name) for name in sorted(lost)]
    req = ingest.Request(received_ms=_millis(received_at), user_agent=user_agent, ip=ip)
    row, problems, _ = ingest.event_row(raw.encode(), _millis(sent_at), req, plan, secret,
                                        frozenset(redacted), phone_key, bounds)
    return row, problems


_ORIGIN = re.compile(re.escape(messages.REASONS["origin"].split("{origin}")[0]) + r'(.*?)" is not')
"""The site a rejected event was sent from, when that was the reason (collect.py)."""


def _redacted(raw: str) -> list[str]:
    """Properties whose value was removed from the stored payload because they held personal data."""
    try:
        props = msgspec.json.decode(raw).get(WIRE_KEYS["properties"], {})
    except (msgspec.DecodeError, AttributeError, RecursionError):
        return []
    return [k for k, v in props.items() if v == REDACTED] if isinstance(props, dict) else []


def _millis(value: dt.datetime) -> int:
    """Unix milliseconds of a stored time; 0 for the zero time (a send time kept before migration 2)."""
    return max((utc(value) - EPOCH) // dt.timedelta(milliseconds=1), 0)
