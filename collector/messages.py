"""Every message the collector stores or answers, in one place, each tested word for word.

`ANSWERS` are the `{"error": …}` of HTTP answers, saying what to fix. `REASONS` end up in `rejected_events.reasons`, read by analysts and marketers: they name columns (not the
tag's wire keys) and use the plan's words for types (tagplan/messages.py), never Python's. A decode error
from msgspec ("Expected `int`, got `str` - at `$.t`") is parsed and said again here (`decode_error`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

REASONS = {
    # the event itself
    "not_a_uuid": 'event_id: "{value}" is not a UUID',
    "event_undeclared": 'event: "{value}" is not declared in the plan (version {version})',
    "form_required": "form_id: required for {event}",
    "form_undeclared": 'form_id: form "{value}" is not declared in the plan',
    "step_unknown": 'step: form "{form}" has no step "{value}" (steps: {steps})',
    "too_large": "event: {size} bytes, larger than the limit of {limit}; send fewer or shorter properties",
    "redacted": "properties.{name}: its value was redacted when rejected and cannot be checked again",
    # decoding, with the column (or wire path) first
    "wrong_type": "{field}: expected {expected}, got {got}",
    "out_of_range": "{field}: expected {expected}",
    "missing": "{field}: required",
    "not_json": "not valid JSON: {detail}",
    "truncated_json": "not valid JSON: it ends too early",
    "too_deep": "nested too deeply",
    "lone_surrogate": 'not valid JSON: "{escape}" is half of a UTF-16 surrogate pair, which no text holds (byte {position})',
    "repeated_key": "{field}: given more than once; send each key once",
    "not_utf8": "not valid UTF-8 text (byte {position}); the raw bytes are kept escaped",
    "origin": 'origin "{origin}" is not one of the plan\'s sites (version {version}): add it to sites[].origins, '
              'then replay these events',
    "failed_event": "the collector failed on this event ({detail}); it is kept here to replay once fixed",
    # times (clock.py)
    "too_old": "client_ts: the event was made more than {days} days before it was sent (--max-event-age)",
    "undecodable": "cannot be read: {detail}",
    # a server's Segment call (collector/segment/), read before it is an event
    "segment_refused": 'type: {call} calls are not taken: {why}',
    "segment_type": 'type: "{value}" is not a call parcours takes, expected one of: {calls}',
    "segment_no_id": "userId, anonymousId: one of them is required",
    "segment_no_event": "event: required for a track call",
    "segment_builtin": 'event: "{value}" is one of the tag\'s own events; send a page call for a page view, an '
                       "identify call for identity keys, or a track call with an event the plan declares",
    "segment_time": '{field}: "{value}" is not an ISO 8601 time such as 2026-11-20T14:03:00.000Z',
}

ANSWERS = {
    # POST /collect (body.py, collect.py)
    "content_type": 'content type "{value}" is not accepted; send text/plain or application/json',
    "content_encoding": 'content encoding "{value}" is not accepted; send gzip or no encoding',
    "too_big": "body larger than {limit} bytes; send smaller batches",
    "too_big_gunzipped": "body larger than {limit} bytes once decompressed; send smaller batches",
    "client_gone": "the client went away before the body was complete",
    "stopping": "the collector stopped before this request was answered, its work stopped with it; send it again",
    "bad_gzip": "the body is not valid gzip ({detail}); compress it with gzip or send it plain",
    "gzip_truncated": "the gzip body is truncated; send the whole compressed body",
    "bad_encoding": "the body begins with {encoding}'s byte order mark but is not valid {encoding} ({detail}); "
                    "send UTF-8",
    "too_big_utf8": "body larger than {limit} bytes once read as UTF-8; send smaller batches",
    "gzip_members": "the gzip body holds more than {limit} members; compress the body as one",
    "origin": 'origin "{origin}" is not one of the plan\'s sites; its events are kept as rejected: add it to '
              'sites[].origins, then replay them (`parcours rejected replay`)',
    "wal_full": "the collector is behind: its write-ahead log is full (ClickHouse slow or down); retry later",
    "wal_error": "the collector cannot write its log right now; retry later",
    "large_batches": "the collector is reading other large batches; retry later",
    "failed": "the collector failed on this batch; retry later",
    "too_deep_request": "the request's JSON is nested too deeply to be read; send it flatter",
    "contacts_unavailable": "the collector cannot store a call-back consent right now (ClickHouse slow or down); retry later",
    "tag_not_built": "the tag is not built: run `make tag` (expected {path})",
    "tag_addon_not_built": "the tag's add-on {name} is not built: run `make tag` (expected {path})",
    # the Segment-compatible API (collector/segment/)
    "write_key_missing": "no write key: send it as the user name of HTTP Basic auth (the key, a colon, no "
                         "password) or as writeKey in the body",
    "write_key_unknown": "unknown or revoked write key; an operator creates one with `parcours keys create SOURCE`",
    "write_keys_unread": "the collector has not read its write keys yet (ClickHouse out of reach); retry later",
    "segment_batch": 'expected a JSON object {{"batch": [...]}}: {reason}',
    "segment_call": "expected a JSON object, one Segment call: {reason}",
    "segment_too_big": "{what} is larger than {limit} bytes, Segment's limit; {advice}",
    "segment_refused": "{call} calls are not taken: {why}",
    "rate_limited": 'source "{source}" sends more than {rate} events a second; retry after {seconds} s',
    # connections (connections.py)
    "too_many_connections": "the collector has too many connections open, all busy; retry later",
    "headers_late": "the request's headers did not arrive within {seconds:g} s (--header-timeout)",
    "body_late": "the request's body did not arrive within {seconds:g} s (--body-timeout)",
    # the admin API (admin.py, planwatch.py)
    "unauthorized": "missing or wrong admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)",
    "session_ended": "the dashboard session has ended (logged out, expired or replaced): log in again at /dashboard/login",
    "viewer_reports_only": "a dashboard session reads the reports only (/api/reports/…); the rest of the API takes the "
                           "admin token (Authorization: Bearer <PARCOURS_ADMIN_TOKEN>)",
    "viewer_cross_site": "refused: the request comes from another site than the dashboard's",
    "viewer_csrf": "missing or wrong X-CSRF-Token header for this dashboard session (the page sends it; reload it)",
    "bad_parameter": "{name}: {problem}",
    "sql_empty": "send one SQL statement as the request body",
    "sql_body_too_big": "the body is larger than {limit} bytes: send one statement, its long lists as parameters",
    "sql_too_long": "the statement is {size} bytes, ClickHouse reads at most {limit} (max_query_size): give a long "
                    "list as a parameter ({{ids:Array(String)}} and ?param_ids=[…]), whose value is not part of the text",
    "sql_several": "send one statement at a time: this text holds {count}, separated by ';'",
    "sql_not_reading": 'only reading statements are run here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); '
                       '"{word}" is not one of them',
    "sql_outfile": "INTO OUTFILE would write a file on the collector's machine; read the rows from the answer "
                   "(or use `parcours export`)",
    "sql_function": "{name}() reads files or other servers; only the database's tables are read here",
    "sql_quoted_function": "{name}(…): write a function's name without quotes (a quoted name is not read "
                           "here, and a function could read files: `file`(…) is file())",
    "sql_format": "leave out the FORMAT clause: the answer comes as JSON",
    "sql_settings": "the SETTINGS clause could not be read: write it as SETTINGS name = value, name = value",
    "sql_setting": 'setting "{name}" cannot be changed here; these can: {allowed}',
    "sql_parameter_missing": "no value given for {parameters}: give each one as --param NAME=VALUE "
                             "(parcours sql) or ?param_NAME=VALUE (POST /api/sql)",
    "sql_parameter_unknown": "the statement has no parameter {names}; its parameters: {known}",
    "sql_parameter_twice": 'parameter "{name}" given twice; give each one once',
    "since_required": "since: required (e.g. since=7d or since=2026-11-20), so a replay covers a known period",
    "no_plan_watcher": "the plan watcher is not running",
}

BATCH = 'expected a JSON batch {{"sent": <ms>, "events": [...]}}: {reason}'
"""The 400 answer to a body that is not a batch at all."""

# msgspec's type names, in the plan's words (tagplan.validators says values the same way).
_EXPECTED = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
             "object": "an object", "array": "a list", "null": "null"}
_GOT = {"str": "a string", "int": "a number", "float": "a number", "bool": "a boolean", "object": "an object",
        "array": "a list", "null": "null"}

_WRONG_TYPE = re.compile(r"^Expected `(\w+(?: \| \w+)*)`(?: \| `?\w+`?)*, got `(\w+)`$")  # `str | null` too
_BOUND = re.compile(r"^(?:Expected `\w+` [<>]=? -?[\d.e+]+|Number out of range)$")
_MISSING = re.compile(r"^Object missing required field `([^`]+)`$")
_PATH = re.compile(r"^(.*) - at `\$(.*)`$")


def answer(code: str, **fields: object) -> str:
    """The `error` of an HTTP answer."""
    return ANSWERS[code].format(**fields)


def reason(code: str, **fields: object) -> str:
    """A reason a rejected event is stored with."""
    return REASONS[code].format(**fields)


def batch(reason_text: str) -> str:
    return BATCH.format(reason=reason_text)


def decode_error(message: str, names: Mapping[str, str], described: Callable[[str], str | None],
                 whole: str = "the event") -> str:
    """msgspec's decode error in the plan's words, its path in column names.

    `names` maps a wire key to its column (wire.WIRE_TO_COLUMN); `described(column)` says what a bounded
    field holds ("a time in milliseconds…"), from its declaration; `whole` names the document itself.
    """
    text, path = message, ""
    located = _PATH.match(message)
    if located:
        text, path = located.group(1), located.group(2)
    missing = _MISSING.match(text)
    if missing:
        return reason("missing", field=_field(f"{path}.{missing.group(1)}", names))
    field = _field(path, names)
    wrong = _WRONG_TYPE.match(text)
    if wrong:
        expected = described(field) or _expected(wrong.group(1))
        if path.endswith("[...]"):  # a value of a map, such as captured
            expected += " for every value"
        return reason("wrong_type", field=field or whole, expected=expected,
                      got=_GOT.get(wrong.group(2), wrong.group(2)))
    if _BOUND.match(text):
        return reason("out_of_range", field=field, expected=described(field) or "a smaller number")
    if text == "Input data was truncated":
        return reason("truncated_json")
    if text.startswith("JSON is malformed: "):
        return reason("not_json", detail=text.removeprefix("JSON is malformed: "))
    return reason("undecodable", detail=text)


def _expected(types: str) -> str:
    """msgspec's `int | str | null` in words: "an integer or a string" (null goes without saying: a field that
    may be left out; it read "an integer" alone, for a Segment userId, which may be a string as well)."""
    kinds = [t for t in types.split(" | ") if t != "null"] or ["null"]
    if "float" in kinds:  # a number: an integer is one
        kinds = [t for t in kinds if t != "int"]
    return " or ".join(_EXPECTED.get(t, t) for t in kinds)


def _field(path: str, names: Mapping[str, str]) -> str:
    """`.t` -> client_ts; `.c[...]` -> captured; `.p.age` -> properties.age."""
    parts = [p for p in re.split(r"\.|\[", path.replace("[...]", "")) if p]
    if not parts:
        return ""
    head = names.get(parts[0], parts[0])
    rest = "".join(f"[{p}" if p.endswith("]") else f".{p}" for p in parts[1:])
    return head + rest
