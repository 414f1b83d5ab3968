"""A batch that does not decode whole, cut into its events, so that each is judged on its own.

msgspec refuses a whole body for one bad string inside one event (a lone surrogate `"\\ud800"`, which
JSON text may spell but no text holds), or for invalid UTF-8 in one of them. Then this reads the body's
structure only (strings skipped whole, brackets counted, nothing decoded) and hands back the elements of
its array of events (`events` for the tag, `batch` for the Segment API) as raw bytes, and the raw values
of the top-level keys asked for (`sent`). Only bodies msgspec refused come here: the fast path decodes in C.
"""

from __future__ import annotations

import re

# A string (escapes skipped; unterminated: to the end), a bracket or separator, or a run of anything else.
# Whitespace outside strings matches nothing and is skipped.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[{}\[\],:]|[^\s{}\[\],:"]+', re.DOTALL)


def split_batch(body: bytes, array: str = "events",
                scalars: tuple[str, ...] = ("sent",)) -> tuple[list[bytes], dict[str, bytes]] | None:
    """(the raw elements of the top-level `array`, the raw values of the top-level `scalars` found), or None
    when the body is not a JSON object holding that array."""
    array_key = b'"%s"' % array.encode()
    wanted = {b'"%s"' % name.encode(): name for name in scalars}
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(body)]
    if not tokens or tokens[0][2] != b"{":
        return None
    depth = 0
    key = b""
    events: list[bytes] | None = None
    values: dict[str, bytes] = {}
    inside = False  # in the events array
    start = 0  # where the current element starts
    previous = b""
    for n, (lo, hi, token) in enumerate(tokens):
        if token in (b"{", b"["):
            if depth == 1 and previous == b":" and key == array_key and token == b"[" and events is None:
                events, inside, start = [], True, hi
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
            if depth < 0:
                return None
            if inside and depth == 1:
                _element(events, body[start:lo])
                inside = False
            if depth == 0 and n != len(tokens) - 1:
                return None  # something after the object
        elif token == b",":
            if inside and depth == 2:
                _element(events, body[start:lo])
                start = hi
        elif depth == 1 and token.startswith(b'"') and n + 1 < len(tokens) and tokens[n + 1][2] == b":":
            key = token
        elif depth == 1 and previous == b":" and key in wanted:
            values[wanted[key]] = token
        previous = token
    if depth != 0 or events is None:
        return None
    return events, values


def _element(events: list[bytes], piece: bytes) -> None:
    piece = piece.strip()
    if piece:
        events.append(piece)


_SURROGATE = re.compile(rb"(?<!\\)((?:\\\\)*)(\\u[dD][89a-fA-F][0-9a-fA-F]{2})")
"""A surrogate escape ("\\ud83d"), after an even number of backslashes (so not a backslash written out)."""


def lone_surrogate(raw: bytes) -> tuple[str, int] | None:
    """The first surrogate escape of `raw` that is no half of a pair, and where it starts; None when none is."""
    pending = None  # a high surrogate waiting for its low half, and where it ends
    for match in _SURROGATE.finditer(raw):
        escape, at = match.group(2), match.start(2)
        low = escape[3:4].lower() in b"cdef"
        if pending is not None:
            if low and at == pending[1]:
                pending = None
                continue
            return pending[0].decode(), pending[1] - 6
        if low:
            return escape.decode(), at
        pending = (escape, match.end(2))
    return (pending[0].decode(), pending[1] - 6) if pending else None
