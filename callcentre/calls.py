"""Call logs from the telephony system into `calls`, and each call matched to a journey.

`parcours import calls FILE --profile asterisk` reads a PBX's call log as it is (the sample: Asterisk's
cdr-csv `Master.csv`, no header), on the same machinery as sales (journeys/imports.py): line-numbered errors,
rejected lines kept to fix, a re-imported file changes nothing (the key is the PBX's call id, Asterisk's
uniqueid). The canonical fields: call_id, start, answer, end, caller, dialled, duration, billsec,
disposition, agent (docs/call-centre.md).

The caller's number is personal data: kept only as the keyed hash the collector gives a phone typed online
(`caller_key`), with `caller` saying whether there was one (`number`), none (`anonymous`: withheld, or the
PBX's "anonymous") or an unreadable one (`invalid`). A call is never refused for its caller. The number
called is kept in E.164 only when it is one of the plan's (a tracking number, the default one); any other
(an agent calling a customer back) is a person's phone, kept as its keyed hash (`dialled_key`, `dialled` then
`other`); a short internal extension is kept as written.

Matching (`calls.sql`): a call goes to the session that held the dialled number when it started, a lease's
grace period included; else to the person who left the caller's phone online; else, for a call made by the
call centre, to the person whose phone it called; else it is unmatched, with why.
"""

from __future__ import annotations

import re
from typing import IO, Any

from collector.enrich import phone_key
from collector.storage import QueryResult, Store
from journeys import imports
from journeys.imports import Context, Kind, Progress, Summary
from journeys.profiles import Reader, Record, ValueProblem, given_by, text, timestamp
from journeys.values import kept_text
from tagplan.phone import e164

COLUMNS = (
    ("call_id", "String"), ("start", "DateTime64(3, 'UTC')"), ("answered_at", "DateTime64(3, 'UTC')"),
    ("ended_at", "DateTime64(3, 'UTC')"), ("caller", "String"), ("caller_key", "String"), ("dialled", "String"),
    ("dialled_key", "String"),
    ("duration", "UInt32"), ("billsec", "UInt32"), ("disposition", "String"), ("agent", "String"),
    ("source", "String"), ("source_line", "UInt32"), ("profile", "String"),
)
WITHHELD = frozenset({"", "anonymous", "unknown", "private", "restricted", "unavailable", "withheld"})
"""What PBXs write for a caller who withheld their number."""
_CHANNEL = re.compile(r"^(\w+/[^-]+)-[0-9a-fA-F]{4,}(;\d+)?$")
"""An Asterisk channel (SIP/201-0000a2): the agent is the part before the channel's own suffix."""


def call_row(record: Record, r: Reader, ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """One line -> its `calls` row, or the reasons it cannot be imported (and its fields, without the caller)."""
    values = record.values
    if "" in values:
        return {}, ["expected a JSON object with the call's fields"]
    reasons: list[str] = []
    row: dict[str, Any] = {}

    given = given_by(record, r)
    def take(name: str, read_value, required: str = "") -> None:
        value = given(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                reasons.append(f"{name}: required ({required})")
                return
            value = None
        try:
            row[name] = read_value(value)
        except ValueProblem as exc:
            reasons.append(f"{name}: {exc}")

    take("call_id", lambda v: text(v, 128), "the telephony system's id of the call")
    take("start", lambda v: timestamp(r, v), "when the call started")
    take("answer", lambda v: timestamp(r, v) if v is not None else 0.0)
    take("end", lambda v: timestamp(r, v) if v is not None else 0.0)
    take("duration", _seconds)
    take("billsec", _seconds)
    take("disposition", lambda v: text(v, 64).upper())
    take("agent", lambda v: _agent(text(v, 128)))
    take("dialled", lambda v: _dialled(text(v, 64), ctx), "the number called")
    if isinstance(row.get("dialled"), tuple):
        row["dialled"], row["dialled_key"] = row["dialled"]
    caller = _caller_text(given("caller"))
    if caller.lower() in WITHHELD:
        row["caller"], row["caller_key"] = "anonymous", ""
    else:
        key = phone_key(caller, ctx.plan.default_region, ctx.secret)
        row["caller"], row["caller_key"] = ("number", key) if key else ("invalid", "")
    if reasons:
        kept = {name: kept_text(given(name)) for name in values if name not in ("caller", "dialled")}
        if "dialled" in row:  # as it would be stored: one of ours, `other` (a customer's), an extension
            kept["dialled"] = row["dialled"]
        if row.get("caller_key"):
            kept["phone_key"] = row["caller_key"]
        return kept, reasons
    row["answered_at"], row["ended_at"] = row.pop("answer"), row.pop("end")
    if not row["ended_at"] and row["duration"]:
        row["ended_at"] = row["start"] + row["duration"]
    return row, []


def _seconds(value: Any) -> int:
    if value is None:
        return 0
    try:
        n = int(text(value, 16))
    except ValueError:
        raise ValueProblem("expected a whole number of seconds") from None
    if n < 0:
        raise ValueProblem("expected a whole number of seconds")
    return n


def _agent(value: str) -> str:
    match = _CHANNEL.match(value)
    return match.group(1) if match else value


EXTENSION = re.compile(r"^[0-9*#]{1,6}$")
"""An internal extension (201, *98): no one's phone number, kept as written."""


def _dialled(value: str, ctx: Context) -> tuple[str, str]:
    """(dialled, dialled_key): one of the plan's numbers in E.164; another phone number as `other` and its keyed
    hash (a customer called back: personal data); an extension as written; anything else `invalid`."""
    region = ctx.plan.default_region
    number = e164(value, region)
    if number and number in _our_numbers(ctx.plan, region):
        return number, ""
    if number:
        return "other", phone_key(value, region, ctx.secret)
    return (value, "") if EXTENSION.match(value) else ("invalid", "")


def _our_numbers(plan, region: str) -> frozenset[str]:
    """The plan's tracking numbers and default number, in E.164."""
    numbers = plan.plan.call_centre.numbers
    if numbers is None:
        return frozenset()
    return frozenset(n for n in (e164(x, region) for x in (numbers.default, *numbers.pool)) if n)


def _caller_text(value: Any) -> str:
    if value is None:
        return ""
    try:
        return text(value, 64)
    except ValueProblem:
        return "?"  # not anonymous, not a number: counted as invalid


KIND = Kind(
    name="calls", table="calls", key=("call_id",), key_text="call_id", columns=COLUMNS,
    fingerprint=("start", "answered_at", "ended_at", "caller", "caller_key", "dialled", "dialled_key", "duration",
                 "billsec", "disposition", "agent"),
    row=call_row, free_text=("agent", "disposition"),
)


def import_file(store: Store, ctx: Context, stream: IO[bytes], *, source: str, profile: str | None = None,
                dry_run: bool = False, progress: Progress | None = None) -> Summary:
    """Import a call log read with a profile of the plan (into: calls), or in the canonical format."""
    return imports.import_file(KIND, store, ctx, stream, source=source, profile=profile, dry_run=dry_run,
                               progress=progress)


def links_sql(db: str, cfg=None) -> str:
    """Identity links from calls (journeys/persons.py's source "calls"): a call imported between {lo} and {hi}
    that one visitor's lease matched links that visitor to the caller's phone, so a sale later signed with
    that phone joins the visitor's journey. A call several visitors' leases could match links no one."""
    return f"""SELECT [('visitor', visitor_id), ('phone', caller_key)] AS keys, min(start) AS seen
FROM (
    SELECT c.call_id, any(c.start) AS start, any(c.caller_key) AS caller_key, any(l.visitor_id) AS visitor_id,
           uniqExact(l.visitor_id) AS visitors
    FROM (SELECT call_id, start, caller_key, dialled FROM {db}.calls
          WHERE imported_at > {{lo:DateTime64(3, 'UTC')}} AND imported_at <= {{hi:DateTime64(3, 'UTC')}}
            AND caller_key != '') AS c
    INNER JOIN (SELECT lease_id, any(number) AS leased_number, any(visitor_id) AS visitor_id,
                       min(started_at) AS started_at, max(grace_until) AS grace_until
                FROM {db}.number_leases GROUP BY lease_id) AS l ON l.leased_number = c.dialled
    WHERE c.start >= l.started_at AND c.start <= l.grace_until AND l.visitor_id != ''
    GROUP BY c.call_id
)
WHERE visitors = 1
GROUP BY keys"""


def matches(store: Store, since, until) -> QueryResult:
    """Each call started in [since, until) with what it matched: `matched_by` lease or caller_phone, else
    `reason` (the view parcours.call_matches: calls.sql)."""
    return store.query(f"SELECT * FROM {store.database}.call_matches(from = {{from:DateTime64(3, 'UTC')}}, "
                       "to = {to:DateTime64(3, 'UTC')}) ORDER BY start, call_id",
                       parameters={"from": since, "to": until})


def touches(store: Store, plan, since, until) -> QueryResult:
    """The answered calls of [since, until) matched to a person, as touches of their journey (the view
    parcours.call_touches: touches.sql): person_id, visitor_id, at, channel ('phone'), lever, campaign,
    broker_id, device_type, call_id, matched_by."""
    from journeys.touches import view_parameters

    return store.query(
        f"SELECT * FROM {store.database}.call_touches(from = {{from:DateTime64(3, 'UTC')}}, "
        "to = {to:DateTime64(3, 'UTC')}, call_lever = {call_lever:String}, referrer_rules = "
        "{referrer_rules:Array(Tuple(domains Array(String), referrer String, lever String))}) ORDER BY at, call_id",
        parameters={"from": since, "to": until, **view_parameters(plan)})
