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
from urllib.parse import quote_plus, unquote_plus

from phonenumbers import Leniency, PhoneNumberMatcher

PHONE = "[phone]"
EMAIL = "[email]"

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
        if not value or not ((_RUN.search(value) and _DIGITS.search(value)) or "@" in value or "%40" in value
                             or (self.params and "=" in value)):
            return value
        head, hash_mark, fragment = value.partition("#")
        base, question, query = head.partition("?")
        start = base.find("://")
        path_at = base.find("/", start + 3) if start >= 0 else 0
        if path_at < 0:
            path_at = len(base)
        base = base[:path_at] + self.text(base[path_at:])
        query = self._query(query) if question else query
        fragment = (self._query(fragment) if "=" in fragment else self.text(fragment)) if hash_mark else fragment
        return base + question + query + hash_mark + fragment

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
    out, last = [], 0
    for match in PhoneNumberMatcher(value, region, leniency=Leniency.VALID):
        out.append(value[last:match.start])
        out.append(PHONE)
        last = match.end
    return "".join(out) + value[last:] if out else value


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
