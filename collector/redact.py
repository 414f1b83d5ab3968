"""Personal data in free text, removed precisely before anything is written: events, rejected rows, logs.

A visitor types a phone number or an e-mail address wherever a site lets them (a search box that ends in
`utm_term`, a URL, a quote id): the declared properties are not the only place personal data arrives.
Every free-text field (URLs, captured parameters, ids, properties not marked `pii`, the user agent; and of
a rejected event its payload, name, id and reasons) goes through `Redactor`:

- phone numbers, as phonenumbers' `PhoneNumberMatcher` finds them (leniency VALID, the plan's region for
  numbers without a country code), become `[phone]`; a cheap pre-filter (seven digits, maybe separated)
  keeps the matcher off most strings, and its answers are cached;
- e-mail addresses become `[email]`;
- in a URL (page, referrer), the query parameters the plan lists under `redact.params` are removed whole
  (GA4's data redaction of query parameters), and the rest is read part by part, each query value decoded.

What is not personal is left exactly as it was: hosts (an IPv4 address), dates, timestamps, UUIDs, order
ids. So a rejected event replayed (`parcours rejected replay`) gets back its non-personal text unchanged.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from phonenumbers import Leniency, PhoneNumberMatcher

PHONE = "[phone]"
EMAIL = "[email]"
REDACTED = "[redacted]"
"""What replaces a declared personal value (a `pii` property, a phone column of an import) wherever it is
quoted: a rejected event's payload (replay recognises it), an import's error message."""

_RUN = re.compile(r"[0-9][0-9 .()/-]{6,}")
_DIGITS = re.compile(r"\d(?:[\s.\-()/]{0,2}\d){6}")
"""Seven digits, separated by at most two of the characters phone numbers are written with: no phone
number without it. Ordinary text, words and short numbers never reach the matcher. (`_RUN` first: a
looser look, four times cheaper, that most text fails.)"""
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


class Redactor:
    """Personal data removed from text for one plan: its phone region and its URL parameters to strip."""

    def __init__(self, region: str | None, params: frozenset[str] = frozenset()):
        self.region = region or "ZZ"  # ZZ: no region, only numbers with a +country code are read
        self.params = params

    def plain(self, value: str) -> bool:
        """True when `value` (several fields joined) certainly holds nothing to redact: the fast path."""
        if "@" in value or "%40" in value or (_RUN.search(value) and _DIGITS.search(value)):
            return False
        return not self.params or not any(name in value.lower() for name in self.params)

    def text(self, value: str) -> str:
        """Phone numbers and e-mail addresses of `value` replaced by [phone] and [email]."""
        if "@" in value:
            value = _EMAIL.sub(EMAIL, value)
        if _RUN.search(value) and _DIGITS.search(value):
            value = _phones(value, self.region)
        return value

    def url(self, value: str) -> str:
        """A page or referrer URL: its listed parameters removed, personal data in its path, query values and
        fragment replaced; its scheme and host as they are."""
        if not value:
            return value
        probe = unquote_plus(value) if "%" in value else value  # a phone written %2B33%206%2071…
        if not ((_RUN.search(probe) and _DIGITS.search(probe)) or "@" in probe or (self.params and "=" in value)):
            return value
        head, hash_mark, fragment = value.partition("#")
        base, question, query = head.partition("?")
        start = base.find("://")
        path_at = base.find("/", start + 3) if start >= 0 else 0
        if path_at < 0:
            path_at = len(base)
        host = base[:path_at]
        if start >= 0 and "@" in host:  # user information before the host (user:password@): an e-mail address there
            user, at, rest = host[start + 3:].rpartition("@")
            host = host[:start + 3] + self.text(unquote(user)) + at + rest
        base = host + self._path(base[path_at:])
        query = self._query(query) if question else query
        fragment = (self._query(fragment) if "=" in fragment else self.text(fragment)) if hash_mark else fragment
        return base + question + query + hash_mark + fragment

    def _path(self, path: str) -> str:
        """A URL's path, each segment read decoded; a segment left as it came unless it held personal data."""
        if "%" not in path:
            return self.text(path)
        out = []
        for segment in path.split("/"):
            decoded = unquote(segment)
            clean = self.text(decoded)
            out.append(segment if clean == decoded else quote(clean, safe="[]@:"))
        return "/".join(out)

    def ident(self, value: str) -> str:
        """An id: a UUID as it is (the tag's ids are; their digit runs are no phone), anything else as text."""
        return value if len(value) == 36 and _UUID.match(value) else self.text(value)

    def value(self, value: Any) -> Any:
        """A JSON value with every string in it (keys too) redacted as text. RecursionError when nested
        deeper than Python recurses: the caller redacts the value's JSON text instead."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def user_agent(self, value: str) -> str:
        return _user_agent(value, self.region)

    def _query(self, query: str) -> str:
        kept = []
        for piece in query.split("&"):
            name, equals, raw = piece.partition("=")
            if self.params and unquote_plus(name).lower() in self.params:
                continue  # the whole parameter goes
            if not equals:
                kept.append(self.text(piece))
                continue
            decoded = unquote_plus(raw)
            clean = self.text(decoded)
            kept.append(piece if clean == decoded else f"{name}={quote_plus(clean, safe='[]@:/')}")
        return "&".join(kept)


@functools.lru_cache(maxsize=16384)
def _phones(value: str, region: str) -> str:
    """`value` with each phone number phonenumbers finds in it replaced (cached: a page's URL comes back with
    each of its events)."""
    spans = [(m.start, m.end) for m in PhoneNumberMatcher(value, region, leniency=Leniency.VALID)
             if not _amounts(m.raw_string)]
    spans += _after_a_number(value, region, spans)
    if not spans:
        return value
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(value[last:start])
        out.append(PHONE)
        last = end
    return "".join(out) + value[last:]


_GROUPS = re.compile(r"\+?\d(?:[\d .()/-]*\d)?")
_GROUP_START = re.compile(r"(?<=[ .()/-])[+\d]")
_INTERNATIONAL = re.compile(r"(?:\+|00)\d{1,3}[ .-]")


def _after_a_number(value: str, region: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Phone numbers right after another number ("le 12 06 71 82 93 04", "Mozilla/5.0 06 71 82 93 04"): the
    matcher reads the whole run of digit groups as one candidate, finds it invalid, and tries no tail of
    it. So each run it matched nothing in is read again from each of its later groups."""
    spans: list[tuple[int, int]] = []
    for run in _GROUPS.finditer(value):
        if sum(c.isdigit() for c in run.group()) < 8 or any(s < run.end() and run.start() < e for s, e in found):
            continue
        at = run.start()
        while True:
            group = _GROUP_START.search(value, at + 1, run.end())
            if group is None:
                break
            tail = value[group.start():run.end()]
            if sum(c.isdigit() for c in tail) < 7:
                break
            match = next((m for m in PhoneNumberMatcher(tail, region, leniency=Leniency.VALID)
                          if m.start == 0 and not _amounts(m.raw_string)), None)
            if match is None:
                at = group.start()
                continue
            spans.append((group.start(), group.start() + match.end))
            at = group.start() + match.end
    return spans


def _amounts(raw: str) -> bool:
    """Whether a match is rather a list of decimal numbers ("0.5 12.50 99.99"): dots and spaces both between
    its digit groups (past an international prefix); a phone number is written with one kind."""
    national = raw[m.end():] if (m := _INTERNATIONAL.match(raw)) else raw
    return "." in national and any(c.isspace() for c in national)


@functools.lru_cache(maxsize=4096)
def _user_agent(value: str, region: str) -> str:
    return Redactor(region).text(value)


def of(plan) -> Redactor:
    """The redactor of a compiled plan (tagplan.CompiledPlan): its phone region, its `redact.params`; made
    once per plan and kept on it (read for every event)."""
    redactor = plan.__dict__.get("_redactor")
    if redactor is None:
        redactor = plan.__dict__["_redactor"] = Redactor(plan.default_region, plan.redacted_params)
    return redactor
