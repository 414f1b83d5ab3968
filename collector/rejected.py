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
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

from collector import ingest, messages
from collector.rows import EventRow
from collector.since import EPOCH, utc
from collector.storage import QueryResult, Store, StoreError
from collector.wire import WIRE_KEYS
from tagplan import CompiledPlan

PAGE = 5_000


def summary(store: Store, since: dt.datetime) -> QueryResult:
    """Rejections since a time, one row per reason: counts, first and last seen, an example event."""
    db = store.database
    # GLOBAL IN: on a cluster both tables are Distributed; on one server GLOBAL changes nothing.
    return store.query(
        f"""
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
        ORDER BY events DESC, reason
        """,
        parameters={"since": since},
    )


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

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def replay(store: Store, plan: CompiledPlan, secret: bytes, since: dt.datetime, dry_run: bool = False,
           now: dt.datetime | None = None) -> ReplayResult:
    """Re-validate rejected events received since a time against `plan`; move those that pass into events, once."""
    try:
        return _replay(store, plan, secret, since, dry_run, now)
    except StoreError as exc:
        raise StoreError(f"replay stopped, storage failed: {exc}; run it again, it does not duplicate") from None


def _replay(store: Store, plan: CompiledPlan, secret: bytes, since: dt.datetime, dry_run: bool,
            now: dt.datetime | None) -> ReplayResult:
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
            row, problems = _revalidate(raw, reasons, received_at, sent_at, user_agent, ip, phone_key, plan, secret)
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
    return result


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
                ip: str, phone_key: str, plan: CompiledPlan, secret: bytes) -> tuple[EventRow | None, list[str]]:
    redacted = _redacted(raw)
    lost = [name for name in redacted if any(r.startswith(f"properties.{name}:") for r in reasons)]
    if lost:
        return None, [messages.reason("redacted", name=name) for name in sorted(lost)]
    req = ingest.Request(received_ms=_millis(received_at), user_agent=user_agent, ip=ip)
    row, problems, _ = ingest.event_row(raw.encode(), _millis(sent_at), req, plan, secret,
                                        frozenset(redacted), phone_key)
    return row, problems


def _redacted(raw: str) -> list[str]:
    """Properties whose value was removed from the stored payload because they held personal data."""
    try:
        props = msgspec.json.decode(raw).get(WIRE_KEYS["properties"], {})
    except (msgspec.DecodeError, AttributeError, RecursionError):
        return []
    return [k for k, v in props.items() if v == ingest.REDACTED] if isinstance(props, dict) else []


def _millis(value: dt.datetime) -> int:
    """Unix milliseconds of a stored time; 0 for the zero time (a send time kept before migration 2)."""
    return max((utc(value) - EPOCH) // dt.timedelta(milliseconds=1), 0)
