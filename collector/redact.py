"""Personal data in free text, removed precisely before anything is written: events, rejected rows, logs.

A visitor types a phone number, an IBAN or an e-mail address wherever a site lets them (a search box that ends in
`utm_term`, a URL, a quote id): the declared properties are not the only place personal data arrives.
Every free-text field (URLs, captured parameters, ids, properties not marked `pii`, the user agent; and of
a rejected event its payload, name, id and reasons) goes through `Redactor`:

- phone numbers, as phonenumbers' `PhoneNumberMatcher` finds them (leniency VALID, the plan's region for
  numbers without a country code), become `[phone]`; a cheap pre-filter (seven digits, maybe separated)
  keeps the matcher off most strings, and its answers are cached;
- phone numbers the matcher does not see are found too: glued to words ("appelez0612345678svp", "tel0612345678":
  the letters touching a number are read as blanks when they are a word's, lowercase or capitalised, not an
  id's: a click id mixes cases, a reference is in capitals, a hash is hexadecimal), and written without
  the national prefix in the number's own grouping ("6 12 34 56 78"; a bare "612345678" is left, as an order
  number may be written so);
- whatever separates a number's groups and whatever its digits: the matcher reads the text folded (`fold`,
  as long as the text, so only the number is replaced in the text as written): any script's decimal digits
  (full-width ０６…, Arabic-Indic ٠٦…) and the digits that are no decimal digits (circled ⓪⑥…, superscript ⁰⁶…)
  as ASCII digits, middle dots and bullets as spaces, Unicode spaces (the no-break spaces French
  typography and word processors write, a tab), zero-width characters and underscores as spaces, dashes (en
  dash, non-breaking hyphen) as hyphens; commas only in a number written with commas throughout
  (06,71,82,93,04), so that a comma-separated list is still read number by number and 12,50 stays an amount;
- IBANs (any country's, with or without spaces) become `[iban]`: a country code and check digits, then as
  many characters as that country's IBAN holds, kept only when python-stdnum finds its format and its mod-97
  check right, so that ids and codes that merely look like one stay;
- e-mail addresses become `[email]`;
- in a URL (page, referrer), the query parameters the plan lists under `redact.params` are removed whole
  (GA4's data redaction of query parameters), in the query, a fragment written as one and a hash router's
  query (`#/devis?nom=…`), and the rest is read part by part, each query value decoded (`+` a space, but the
  `+` that begins a number: `unquote_form`);
- a URL's encoded text copied into any other free text (06%2071%2082%2093%2004, %2B33671829304,
  06+71+82+93+04 in a captured utm_term or a property): read decoded too, up to `LEVELS` levels of
  percent-encoding (a URL in a URL's parameter, itself in a parameter: 06%252071…), and what is found replaced
  where it is written (`_escaped`); HTML's character references read so too (06&nbsp;71…, &#48;&#54;…, text
  copied from a page's source or a rich-text editor).

A value cut to a column's size is redacted first, then cut (`clipped`): cut first, a number across the cut
kept its first nine digits, which no redaction reads as a number.

What is not personal is left exactly as it was: hosts (an IPv4 address), dates, timestamps, UUIDs, order
ids. So a rejected event replayed (`parcours rejected replay`) gets back its non-personal text unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import re
import unicodedata
from collections.abc import Callable
from html.entities import html5
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban, numdb

from tagplan.phone import SHARED_NUMBERING, e164, valid_in

PHONE = "[phone]"
EMAIL = "[email]"
IBAN = "[iban]"
REDACTED = "[redacted]"
"""What replaces a declared personal value (a `pii` property, a phone column of an import) wherever it is
quoted: a rejected event's payload (replay recognises it), an import's error message."""

_DOTS = "\u00b7\u0387\u2022\u2024\u2027\u2219\u22c5\u30fb\uff65"
"""The middle dots and bullets a number's groups are written with (06·71·82·93·04), read as spaces (`fold`)."""
_SLASHES = "\u2044\u2215"
"""The fraction and division slashes, read as slashes."""
_OTHER_DIGITS = ("\u00b2\u00b3\u00b9\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247c"
                 "\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792\U00010a40-\U00010a43"
                 "\U00010e60-\U00010e68\U00011052-\U0001105a\U0001f100-\U0001f10a")
"""The digits that are not decimal digits (`\\d`), as a character class: circled (①②③, ⓪), parenthesised
(⑴), with a full stop (⒈), superscript and subscript (⁰¹², ₀₁₂), dingbats (❶, ➀); every character Unicode
gives a digit value and no decimal one (Unicode 14; a test checks the list against `unicodedata`). A
number typed in them is read as in ASCII digits (`fold`)."""
_SEPARATORS = (" .()/\\-_,\\s\u00ad\u2010-\u2015\u2212\u200b-\u200d\u2060\ufeff\ufe58\ufe63"
               "\uff08\uff09\uff0c\uff0d\uff0e\uff0f\uff3f" + _DOTS + _SLASHES)
"""The characters a phone number's groups are separated with, as a character class: ASCII spaces, dots,
hyphens, slashes, parentheses; any Unicode space (a tab, the no-break spaces French typography and word
processors put between groups); dashes (en dash, the non-breaking hyphen, the minus sign); zero-width
characters and the soft hyphen; underscores (a name snake-cased); commas (a number written 06,71,82,93,04:
see `_fold`); middle dots and bullets (`_DOTS`), the fraction and division slashes; and their full-width forms."""
_LOST_PLUS = re.compile(r"(^|[\W_]) (?=\d)")
"""A space that begins a number (no letter or digit before it): in a value read as a form's, maybe a `+`."""
_RUN = re.compile(r"\d[\d" + _SEPARATORS + r"]{6,}")
_DIGITS = re.compile(r"\d(?:[" + _SEPARATORS + r"]{0,3}\d){6}")
"""Seven digits (any script's decimal digits: `\\d` is Unicode's), separated by at most three of the characters
phone numbers are written with (`06 - 58 - 47 - 39 - 36`, three spaces: with two, those were kept as typed): no
phone number without it. Ordinary text, words and short numbers never reach the matcher. (`_RUN` first: a
looser look, four times cheaper, that most text fails.)"""
_OTHER = re.compile("[\u00b2\u00b3\u00b9\u1369-\u1371\u19da\u2070-\u2089\u2460-\u24ff\u2776-\u2792\U00010a40-\U0001f10a]")
"""Where `_OTHER_DIGITS` may be: the same ranges, merged (a few other characters among them, which `fold` leaves
as they are), to be looked for in half the time."""


def _numbers(value: str) -> bool:
    """Whether `value` may hold a phone number or an IBAN: seven digits (`_RUN`, then `_DIGITS`); a text that
    holds circled or superscript digits is looked at folded (`\\d` knows no ①: a class of them in these
    patterns made every look at ASCII text 60% slower)."""
    if not value.isascii() and _OTHER.search(value):
        value = fold(value)
    return _RUN.search(value) is not None and _DIGITS.search(value) is not None
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,63}")
"""An e-mail address, its parts no longer than an address's may be (RFC 5321: 64 characters before the @, 63 in
a label; nine labels before the last are more than any address has): bounded, so that a look costs at most as
much from each place in the text, linear in its length. Unbounded, a run of letters then `@b.b.b…` cost the
square of its length (5.5 s for 32 KB), in one call that holds the interpreter, and every request waited."""
_LOCAL_PART = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


def _email_spans(value: str) -> list[tuple[int, int]]:
    """Where the e-mail addresses of `value` are: each match of the bounded pattern, widened back over the
    characters of an address before it (a part before the @ longer than an address allows is no address, but
    it is no less someone's), up to the address before. Linear: each character is looked at once."""
    spans: list[tuple[int, int]] = []
    last = 0
    for m in _EMAIL.finditer(value):
        start = m.start()
        while start > last and value[start - 1] in _LOCAL_PART:
            start -= 1
        spans.append((start, m.end()))
        last = m.end()
    return spans


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


_LETTERS = str.maketrans("0123456789", "ghijklmnop")
"""A keyed hash's hex digits as letters: `[phone:pdjgkbmeao]` holds no digit that a later look (an id keyed
again: a sale recorded as an event, then imported) could read as a phone number."""


LEVELS = 3
"""How many levels of percent-encoding are read (06%2071…, 06%252071…, 06%25252071…): bounded, so that what
the redaction of a field costs stays linear in its size."""


def _unquoted(value: str) -> str:
    """`value` decoded as a URL's text (`+` a space) and as HTML's (its character references), up to LEVELS
    times: the cheap look at what it may hide."""
    for _ in range(LEVELS):
        if not _encoded_text(value):
            break
        decoded = unquote_plus(value)
        if "&" in decoded and _REFERENCE.search(decoded):
            decoded = html.unescape(decoded)
        if decoded == value:
            break
        value = decoded
    return value


_REFERENCE = re.compile(r"&(?:#[0-9xX]|[A-Za-z][A-Za-z0-9]{1,31};)")
"""How an HTML character reference begins: the cheap look for one (a URL's `&utm_source=` is none)."""


def _encoded_text(value: str) -> bool:
    """Whether `value` may hold text encoded for a URL (06%2071…, 06+71…) or for HTML (06&nbsp;71…, &#48;…)."""
    return "%" in value or "+" in value or ("&" in value and _REFERENCE.search(value) is not None)


CLIP_MARGIN = 1024
"""Characters read past a cut value's limit, twice over (`clipped`): more than any phone number (fifteen digits,
their separators percent-encoded three times: about 300) or e-mail address (254) spans."""


def clipped(value: str, limit: int, redact: Callable[[str], str]) -> str:
    """`value` cut to `limit` characters for a column, redacted (`redact`) first when it must be cut: the
    cut then leaves no part of a number that the redaction, reading the cut text, would no longer see as one
    (07 36 99 35 6). A value that fits is as it came: its redaction is done where it is written.

    Only the first `limit` + 2 x CLIP_MARGIN characters are redacted, and the last CLIP_MARGIN of what that
    gives are dropped with whatever the first cut broke (all of it when the redaction left fewer): the redaction's cost grows faster than its text (a
    500 KB User-Agent of `0-0-…` took 74 s), and headers are read on the event loop, where every other request
    waited that long."""
    if len(value) <= limit:
        return value
    if len(value) <= limit + 2 * CLIP_MARGIN:
        return redact(value)[:limit]
    head = redact(value[:limit + 2 * CLIP_MARGIN])
    # Never a negative end: a redaction that shrank the head below the margin (phone numbers of 20 characters
    # each as [phone]) would keep all but its last few characters, the broken number among them, past `limit`.
    return head[:max(0, min(limit, len(head) - CLIP_MARGIN))]


class Redactor:
    """Personal data removed from text for one plan: its phone region and its URL parameters to strip."""

    def __init__(self, region: str | None, params: frozenset[str] = frozenset()):
        self.region = region or "ZZ"  # ZZ: no region, only numbers with a +country code are read
        self.params = params

    def plain(self, value: str) -> bool:
        """True when `value` (several fields joined) certainly holds nothing to redact: the fast path. A URL's
        encoded text is looked at decoded (`06%2071%2082…`, `06+71+82…`: no digits in a row until then)."""
        if _encoded_text(value):
            value = _unquoted(value)
        if "@" in value or _numbers(value):
            return False
        return not self.params or not any(name in value.lower() for name in self.params)

    def text(self, value: str) -> str:
        """Phone numbers, IBANs and e-mail addresses of `value` replaced by [phone], [iban] and [email]; also
        written percent-encoded, joined by `+`, or with HTML's character references (06&nbsp;71…, &#48;&#54;…:
        text copied from a page's source or a rich-text editor)."""
        if "@" in value:
            value = _replaced(value, _email_spans(value), EMAIL)
        if _numbers(value):  # every IBAN holds a bank or account number too
            value = _phones(_ibans(value), self.region)
        if _encoded_text(value):
            value = _escaped(value, self.region)
        return value

    def param(self, value: str) -> str:
        """A captured URL parameter as the tag sends it (`text`): read from the page's URL as a form's, by the
        browser's URLSearchParams, the `+` of an international number became a space (?utm_term=+447911123456
        arrives as " 447911123456", with its country code as a bare number, invalid in the plan's region and
        kept): read too with a `+` for a space that begins a number, where unquote_form would have kept one."""
        value = self.text(value)
        if _LOST_PLUS.search(value):
            plus = _LOST_PLUS.sub(r"\1+", value)  # as long as `value`: the spans found in it are the same here
            value = _replaced(value, _phone_spans(plus, self.region), PHONE)
        return value

    def url(self, value: str) -> str:
        """A page or referrer URL: its listed parameters removed, personal data in its path, query values and
        fragment replaced; its scheme and host as they are."""
        if not value:
            return value
        probe = _unquoted(value) if _encoded_text(value) else value  # %2B33%206%2071…, 06+71+82…
        if not (_numbers(probe) or "@" in probe or (self.params and "=" in value)):
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
        if hash_mark:
            fragment = self._fragment(fragment)
        value = base + question + query + hash_mark + fragment
        if "&" in value and _REFERENCE.search(value):
            # HTML's references in a URL (?q=06&nbsp;71&nbsp;…, ?q=06&#32;71…, a link copied from a page's source):
            # read part by part, the number was cut at each `&` (and at the `#` of &#32;, read as the fragment's).
            value = _edited(value, [(start, end, PHONE) for start, end, _ in
                                    _escaped_spans(value, lambda text: _phone_spans(text, self.region), False)])
        return value

    def _fragment(self, fragment: str) -> str:
        """A URL's fragment: a hash router's (`#/devis?nom=Dupont`) a route, then a query read as a query (the
        route read with it, its first name was `/devis?nom`: never a listed parameter); `#a=1&b=2` a query."""
        route, question, query = fragment.partition("?")
        if question:
            return self._path(route) + question + self._query(query)
        return self._query(fragment) if "=" in fragment else self._encoded(fragment)

    def _path(self, path: str) -> str:
        """A URL's path, each segment read decoded; a segment left as it came unless it held personal data."""
        if "%" not in path:
            return self.text(path)
        return "/".join(self._encoded(segment, safe="[]@:") for segment in path.split("/"))

    def keyed(self, value: str, secret: bytes) -> str:
        """An id that names a row or a person (a quote, contract or CRM id): each phone number or e-mail address
        in it replaced by its keyed hash, `[phone:jpgkicoblg]` (HMAC-SHA256 with the collector's secret, of the
        number in E.164, whatever its spelling, or the lower-cased address). No raw number is written, and ids stay apart: as `[phone]`,
        every contract 0145678901, 0145678902… would be one row and every such customer one person. The same id
        online and in an imported file gets the same token, so they still join."""
        token = lambda kind, text: f"[{kind}:{hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:10].translate(_LETTERS)}]"
        if "@" in value:
            value = _replaced(value, _email_spans(value), lambda text: token("email", text.lower()))
        number = lambda text: token(
            "phone", e164(fold(text), self.region) or "".join(c for c in fold(text) if c.isdigit()))
        if _numbers(value):
            value = _replaced(value, _phone_spans(value, self.region), number)
        if _encoded_text(value):  # 06%2071%2082%2093%2004, 06+71+82+93+04, 06&nbsp;71…: as `text` reads them
            value = _edited(value, [(start, end, number(found)) for start, end, found in
                                    _escaped_spans(value, lambda decoded: _phone_spans(decoded, self.region))])
        return value

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
        return self.number(value)

    def number(self, value: Any) -> Any:
        """A JSON integer that is a phone number written without its `+` (33612345678, what an
        `<input type="number">` makes of +33 6 12 34 56 78) as PHONE; any other value as it is (a price, a time in
        milliseconds, a bare 612345678, as in text)."""
        if type(value) is not int or not 10**8 <= abs(value) < 10**17:
            return value
        return PHONE if self.text(str(value)) == PHONE else value

    def user_agent(self, value: str) -> str:
        return _user_agent(value, self.region)

    def _query(self, query: str) -> str:
        """A query string (or a fragment's): each parameter's name and value read decoded (`+` a space, as
        a form sends them, but the `+` that begins a number: `unquote_form`), written back as they came unless
        they held personal data."""
        kept = []
        for piece in query.split("&"):
            name, equals, raw = piece.partition("=")
            if self.params and unquote_plus(name).lower() in self.params:
                continue  # the whole parameter goes
            if "@" in raw:  # a plus-addressed one (a.b+tag@x.fr) whole: read decoded, its `+` is a space
                raw = _replaced(raw, _email_spans(raw), EMAIL)
            kept.append(self._encoded(name, plus=True) + equals + (self._encoded(raw, plus=True) if equals else ""))
        return "&".join(kept)

    def _encoded(self, raw: str, plus: bool = False, safe: str = "[]@:/") -> str:
        """A piece of a URL read decoded (`plus`: `+` as a space, in a query), as it came unless it held
        personal data, else redacted and encoded again (`safe`: the characters left as they are; a path's
        segment encodes its slashes)."""
        if "%" not in raw and not (plus and "+" in raw):
            return self.text(raw)
        decoded = unquote_form(raw) if plus else unquote(raw)
        clean = self.text(decoded)
        if clean == decoded:
            return raw
        return quote_plus(clean, safe=safe) if plus else quote(clean, safe=safe)


def unquote_form(raw: str, errors: str = "replace") -> str:
    """A query's name or value decoded as a form's (`+` a space), but for a `+` that begins a number (a digit
    after it, no letter or digit before it): the plus sign of an international number, as a link written by
    hand holds it (?tel=+262692123456, ?q=+44%207911%20123456); read as a space, the number lost its country
    code and was read in the plan's region, invalid, and kept. `errors`: for bytes that are no UTF-8."""
    parts = raw.split("+")
    out = [unquote(parts[0], errors=errors)]
    for part in parts[1:]:
        text = unquote(part, errors=errors)
        out.append("+" if text[:1].isdecimal() and not out[-1][-1:].isalnum() else " ")
        out.append(text)
    return "".join(out)


@functools.lru_cache(maxsize=16384)
def _escaped(value: str, region: str) -> str:
    """`value` with the e-mail addresses, IBANs and phone numbers it holds percent-encoded or joined by `+`
    (06%2071%2082%2093%2004, %2B33671829304, 06+71+82+93+04, jane%40example.fr: a URL's text copied into a
    field) replaced, and only them: the rest as written."""
    # An address's `+` is its own (jane+moto%40example.fr): read as a space, the address would lose its start.
    for find, token, plus in ((_email_spans, EMAIL, False),
                              (_iban_spans, IBAN, True), (lambda text: _phone_spans(text, region), PHONE, True)):
        value = _edited(value, [(start, end, token) for start, end, _ in _escaped_spans(value, find, plus)])
    return value


@functools.lru_cache(maxsize=16384)
def _phones(value: str, region: str) -> str:
    """`value` with each phone number phonenumbers finds in it replaced (cached: a page's URL comes back with
    each of its events)."""
    return _replaced(value, _phone_spans(value, region), PHONE)


def _phone_spans(value: str, region: str) -> list[tuple[int, int]]:
    """Where the phone numbers of `value` are."""
    # As long as `value`, character for character: the spans found in the probe are the same in `value`.
    probe = _unglued(fold(value))
    # A run of digit groups longer than any phone number is one invalid candidate to the matcher, which
    # takes seconds to find so in 32 KB of them: it gets blanks instead, and _after_a_number reads the run.
    short = _LONG_RUN.sub(lambda m: " " * len(m.group()) if _too_long(m.group()) else m.group(), probe)
    spans = [(m.start, m.end) for m in PhoneNumberMatcher(short, region, leniency=Leniency.VALID)
             if not _amounts(m.raw_string)]
    spans += _after_a_number(probe, region, spans)
    spans += _without_prefix(probe, region, spans)
    spans += _overseas(probe, region, spans)
    spans += _national_shape(probe, region, spans)
    return spans


def _covered(value: str, found: list[tuple[int, int]]) -> bytearray:
    """The characters of `value` in a number found already, as a mask: a run or a match is looked up in its own
    length, where comparing it with every span found cost the square of their count (a field of 1,900 numbers)."""
    covered = bytearray(len(value))
    for start, end in found:
        covered[start:end] = b"\x01" * (end - start)
    return covered


_NATIONAL_SHAPE = re.compile(r"(?<![\w+])(?:0|(?:\+|00)33[ .\-]{0,3}(?:\(0\)[ .\-]{0,3})?)[1-9]([ .\-/]{0,3})\d\d"
                             r"(?:\1\d\d){3}(?!\w)")


def _national_shape(value: str, region: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Numbers in the shape of the shared numbering's national ones, valid or not: a 0 (or France's +33, 0033), a
    digit, four pairs, unseparated or each separated the same way (07 12 34 56 78, +33 7 12 34 56 78). A range
    not allocated yet (the 070 to 072 mobiles) or a number made up in a form is no valid number to the matcher,
    but it is written as one, and it may be someone's tomorrow (an outside probe's finding: kept as typed). Only
    in the regions of that numbering (SHARED_NUMBERING), where every national number has this shape."""
    if region not in SHARED_NUMBERING:
        return []
    covered = _covered(value, found)
    return [m.span() for m in _NATIONAL_SHAPE.finditer(value)
            if not any(covered[m.start():m.end()]) and not _amounts(m.group())]


def _overseas(value: str, region: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """National numbers of the overseas regions France dials with its own trunk 0 (0692 12 34 56, a Réunion
    mobile), which the matcher, reading in the plan's region, finds invalid: ten digits from a 0, invalid in the
    plan's region but valid as tagplan.phone reads them (as the collector keys them), glued to no letter or
    digit, no list of amounts; one after another in a run of digit groups too (0692 12 34 56 0690 12 34 56)."""
    if region not in SHARED_NUMBERING:
        return []
    covered = _covered(value, found)
    spans: list[tuple[int, int]] = []
    for run in _GROUPS.finditer(value):
        if (sum(c.isdigit() for c in run.group()) < 10
                or any(covered[run.start():run.end()])):
            continue
        groups = [(run.start() + g.start(), run.start() + g.end()) for g in re.finditer(r"\d+", run.group())]
        k = 0
        while k < len(groups):
            start, digits, j = groups[k][0], 0, k
            while j < len(groups) and digits < 10:
                digits += groups[j][1] - groups[j][0]
                j += 1
            end = groups[j - 1][1]
            written = value[start:end]
            if (digits == 10 and written[0] == "0" and not _glued(value, start, end) and not _amounts(written)
                    and _overseas_only(written, region)):
                spans.append((start, end))
                k = j
            else:
                k += 1
    return spans


@functools.lru_cache(maxsize=4096)
def _overseas_only(written: str, region: str) -> bool:
    """Whether a national number is invalid in the plan's region (valid: the matcher's) but valid as tagplan.phone
    reads it. Cached, as _in_own_grouping: a text of the same groups again and again reads the same windows."""
    return valid_in(written, region) is None and e164(written, region) is not None


class _Folding(dict):
    """str.translate's table of `fold`, filled as characters are met (there are hundreds of decimal digits);
    the characters left as they are, up to a bound."""

    def __missing__(self, code: int) -> int:
        c = chr(code)
        digit = unicodedata.decimal(c, None)
        if digit is None and 0 <= (digit := unicodedata.digit(c, -1)) <= 9:
            pass  # ①, ⓪, ⁶, ❻: digits that are no decimal digits (_OTHER_DIGITS)
        elif digit == -1:
            digit = None
        if digit is not None:
            out = 48 + digit  # ０, ٦, ६, ① ... -> 0, 6, 6, 1
        elif c in _DOTS:
            out = 32  # a separator between groups, as a space is: a list of amounts stays one (0.5·12.50·99.99)
        elif c in _SLASHES:
            out = 47
        elif c.isspace() or c in "_\uff3f" or unicodedata.category(c) == "Cf":
            out = 32  # a tab, a no-break space, a zero-width space, a soft hyphen, an underscore
        elif unicodedata.category(c) == "Pd" or c in "\u2212\ufe63":
            out = 45  # the dashes, the non-breaking hyphen, the minus sign
        elif code > 0x7f and len(folded := unicodedata.normalize("NFKC", c)) == 1 and folded in "+().,/":
            out = ord(folded)  # full-width forms
        else:
            out = code
        if out != code or len(self) < 65_536:  # bounded: hostile text may hold every character there is
            self[code] = out
        return out


_FOLDING = _Folding()
_COMMAS = re.compile(r"\d{1,4}(?:,\d{1,4}){3,}")


def fold(value: str) -> str:
    """`value` as the phone matcher reads it, as long as `value`, character for character: any script's
    decimal digits and the other digits (circled, superscript: `_OTHER_DIGITS`) as ASCII digits, Unicode spaces
    and middle dots (`_DOTS`), zero-width characters and underscores as spaces, dashes
    as hyphens, full-width punctuation as ASCII; and the commas of a number written with commas throughout
    (06,71,82,93,04: four groups or more of one to four digits) as dots. A comma elsewhere stays one, so that a
    list stays a list (0671829304,0612345678) and an amount an amount (12,50)."""
    if value.isascii():
        if "_" in value or "\t" in value or "\n" in value or "\r" in value or "\x0b" in value or "\x0c" in value:
            value = value.translate(_FOLDING)
    else:
        value = value.translate(_FOLDING)
    if "," in value:
        value = _COMMAS.sub(lambda m: m.group().replace(",", "."), value)
    return value


_PHONE_LIKE = re.compile(r"\+?\d[\d .\-()]{6,}\d|\+?\d{1,4}(?:/\d{1,4}){3,}")
"""A run of digits long enough to be a phone number; or groups separated by slashes, four or more
(06/71/82/93/04), where a date has three (31/09/2026, which a message about it must show)."""


def phone_like(value: str, by: str = REDACTED) -> str:
    """`value` with every run of digits long enough to be a phone number replaced by `by`, however its groups
    are separated and in whatever digits (read folded): the blunt rule of what only people read (an import's
    rejected line, an error message), where a number mistaken for a phone costs nothing."""
    return _replaced(value, [m.span() for m in _PHONE_LIKE.finditer(fold(value))], by)


_MAX_DIGITS = 17
"""The most digits a phone number is written with: E.164's 15, a national prefix and a trunk "(0)" besides."""


_LONG_RUN = re.compile(r"\+?\d[\d .()/-]{17,}\d")


def _too_long(run: str) -> bool:
    return sum(c.isdigit() for c in run) > _MAX_DIGITS


def _replaced(value: str, spans: list[tuple[int, int]], by: str | Callable[[str], str]) -> str:
    """`value` with each span replaced by `by`, or by what `by` makes of the span's text."""
    return _edited(value, [(start, end, by(value[start:end]) if callable(by) else by) for start, end in spans])


def _edited(value: str, edits: list[tuple[int, int, str]]) -> str:
    """`value` with each span (start, end) replaced by the text given with it; the spans do not overlap."""
    if not edits:
        return value
    out, last = [], 0
    for start, end, by in sorted(edits):
        out.append(value[last:start])
        out.append(by)
        last = end
    return "".join(out) + value[last:]


_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+|\+|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
"""What `_decoded` reads: percent-escapes, a `+`, and HTML's character references (`&#32;`, `&#xA0;`, `&nbsp;`,
`&ndash;`), each with its semicolon, as HTML writes them."""


def _reference(text: str) -> str:
    """The character an HTML character reference (`&#160;`, `&#xa0;`, `&nbsp;`) stands for; "" for one that
    stands for none (no such name, NUL, a surrogate, past Unicode's last code point)."""
    if text[1] != "#":
        return html5.get(text[1:], "")
    code = int(text[3:-1], 16) if text[2] in "xX" else int(text[2:-1])
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""


def _decoded(value: str, plus: bool = True) -> tuple[str, list[int]]:
    """`value` read as a URL's encoded text: its percent-escapes decoded (UTF-8; an escape that is none stays as
    written) and (`plus`) a `+` a space (06+71+82+93+04, a form's spaces) but for one that begins a number, as
    `unquote_form` reads it; its HTML character references too (06&#32;71&nbsp;82…, &#48;&#54;…); and where each character of the decoded text begins in `value` (one more: where it
    ends), so that what is found in the decoded text is replaced in `value` as written, and nothing else."""
    out: list[str] = []
    starts: list[int] = []
    last = 0
    for m in _ESCAPES.finditer(value):
        out.append(value[last:m.start()])
        starts.extend(range(last, m.start()))
        last = m.end()
        if m.group() == "+":
            before = out[-1][-1:] if out[-1] else (out[-2][-1:] if len(out) > 1 else "")
            begins = value[m.end():m.end() + 1].isdecimal() and not before.isalnum()
            out.append(" " if plus and not begins else "+")
            starts.append(m.start())
            continue
        if m.group()[0] == "&":
            char = _reference(m.group())
            if char:
                out.append(char)
                starts.extend([m.start()] * len(char))
            else:  # no character: as it is written
                out.append(m.group())
                starts.extend(range(m.start(), m.end()))
            continue
        data = bytes.fromhex(m.group().replace("%", ""))
        i = 0
        while i < len(data):
            lead = data[i]
            size = 1 if lead < 0x80 else 2 if 0xC2 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4 if 0xF0 <= lead < 0xF5 else 0
            try:
                char = data[i:i + size].decode() if size and i + size <= len(data) else ""
            except UnicodeDecodeError:
                char = ""
            at = m.start() + 3 * i
            if char:
                out.append(char)
                starts.append(at)
                i += size
            else:  # no UTF-8: the escape as it is written, character for character
                out.append(value[at:at + 3])
                starts.extend(range(at, at + 3))
                i += 1
    out.append(value[last:])
    starts.extend(range(last, len(value) + 1))
    return "".join(out), starts


def _escaped_spans(value: str, find: Callable[[str], list[tuple[int, int]]],
                   plus: bool = True) -> list[tuple[int, int, str]]:
    """What `find` finds in `value` read decoded (`_decoded`, then decoded again while escapes are left, up to
    LEVELS levels: 06%252071… is 06%2071…, then 06 71…) that it does not find in `value` as written: each as
    its span in `value` and its decoded text. Nothing when `value` decoded holds no digits to look at."""
    probe = _unquoted(value)  # the cheap look first: most text with a % or a + is no encoded number
    if probe == value or not (_numbers(probe) or "@" in probe):
        return []
    found: list[tuple[int, int, str]] = []
    taken = bytearray(len(value))  # what a level found already: a deeper level finds it again
    text, where = value, None  # where: the position in `value` of each character of `text` (one more: the end)
    for _ in range(LEVELS):
        decoded, starts = _decoded(text, plus)
        if decoded == text:
            break
        if where is not None:
            starts = [where[at] for at in starts]
        for s, e in find(decoded):
            start, end = starts[s], starts[e]
            if value[start:end] != decoded[s:e] and not any(taken[start:end]):
                found.append((start, end, decoded[s:e]))
                taken[start:end] = b"\1" * (end - start)
        if "%" not in decoded and not ("&" in decoded and _REFERENCE.search(decoded)):
            break
        text, where = decoded, starts
    return found


_WORD = re.compile(r"[^\W\d_]+")


def _unglued(value: str) -> str:
    """`value` with the letters that touch a run of eight digits or more made blanks, when they belong to words
    ("appelez0612345678svp", "Tel0612345678"): the matcher refuses a number glued to a letter. Not those of an
    id or a code, which a phone number glued to nothing is no part of: a token mixing cases (a click id such as
    EAIaIQobChMI0612345678x), in capitals (REF0612345678), or long and hexadecimal (a hash); but for a number
    written in groups (MMM07 36 99 35 63): no id is written so."""
    chars = None
    for run in _GROUPS.finditer(value):
        if sum(c.isdigit() for c in run.group()) < 8:
            continue
        for at in (run.start() - 1, run.end()):
            # A number written in groups (07 36 99 35 63) is no id's digits, whatever letters touch it.
            if 0 <= at < len(value) and value[at].isalpha() and (_wordy(value, at) or not run.group().isdigit()):
                chars = chars or list(value)
                chars[at] = " "
    return "".join(chars) if chars else value


def _wordy(value: str, at: int) -> bool:
    """Whether the letter at `at` belongs to words glued to a number, rather than to an id or a code."""
    start, end = at, at + 1
    while start > 0 and value[start - 1].isalnum():
        start -= 1
    while end < len(value) and value[end].isalnum():
        end += 1
    token = value[start:end]
    words = _WORD.findall(token)
    if not all(w.islower() or (w[0].isupper() and w[1:].islower()) for w in words):
        return False  # mixed case or capitals: an id, a reference
    return len(token) < 16 or not all(c in "abcdef" for w in words for c in w)  # a hash


def _without_prefix(value: str, region: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """National numbers written without their prefix ("6 12 34 56 78" for 06 12 34 56 78), which the matcher
    does not read as numbers: taken when the prefix makes a valid number written in exactly its own grouping
    (a SIREN such as 732 829 320 would be 07 32 82 93 20). A bare run of digits is left: an order number."""
    prefix = _national_prefix(region)
    spans: list[tuple[int, int]] = []
    if not prefix:
        return spans
    covered = _covered(value, found)
    for run in _GROUPS.finditer(value):
        text = run.group()
        if (text[0] in "+0" or text.isdigit() or not 7 <= sum(c.isdigit() for c in text) <= 12
                or any(covered[run.start():run.end()])):
            continue
        if _in_own_grouping(text, region, prefix):
            spans.append(run.span())
    return spans


@functools.lru_cache(maxsize=4096)
def _in_own_grouping(text: str, region: str, prefix: str) -> bool:
    """Whether `prefix + text` is a valid national number of the region, `text` written unseparated or in
    exactly the grouping of the number's national format (any of the separators phone numbers are written
    with)."""
    try:
        number = phonenumbers.parse(prefix + text, region)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(number):
        return False
    if text.isdigit():
        return True  # unseparated: no grouping to compare
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return re.sub(r"[ .()/-]+", " ", national) == prefix + re.sub(r"[ .()/-]+", " ", text)


@functools.lru_cache(maxsize=256)
def _national_prefix(region: str) -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (metadata.national_prefix or "") if metadata else ""


_IBAN_START = re.compile(r"[A-Za-z]{2}[0-9]{2}")
_IBAN_SEPARATORS = " -.\u00a0"


@functools.lru_cache(maxsize=16384)
def _ibans(value: str) -> str:
    """`value` with each IBAN replaced."""
    return _replaced(value, _iban_spans(value), IBAN)


def _iban_spans(value: str) -> list[tuple[int, int]]:
    """Where the IBANs of `value` are: a country code and two check digits, then as many letters and digits
    as that country's IBAN holds, single spaces (or dashes, dots) between them; kept when python-stdnum finds
    the country's format and the mod-97 check right."""
    spans: list[tuple[int, int]] = []
    for start in _IBAN_START.finditer(value):
        if spans and start.start() < spans[-1][1]:
            continue
        length = _iban_length(start.group()[:2].upper())
        end = _iban_end(value, start.start(), length) if length else None
        if end and iban.is_valid(value[start.start():end].replace("\u00a0", " "), check_country=False):
            spans.append((start.start(), end))
    return spans


def _iban_end(value: str, start: int, length: int) -> int | None:
    """Where the `length`-th letter or digit from `start` ends, with one separator at most between two."""
    count, at = 0, start
    while at < len(value):
        c = value[at]
        if c.isascii() and c.isalnum():
            count += 1
            if count == length:
                return at + 1
        elif not (c in _IBAN_SEPARATORS and count and at + 1 < len(value) and value[at + 1] not in _IBAN_SEPARATORS):
            return None
        at += 1
    return None


@functools.lru_cache(maxsize=256)
def _iban_length(country: str) -> int:
    """How many characters an IBAN of that country holds (stdnum's registry), 0 for a country without IBANs."""
    bban = next((info["bban"] for _, info in numdb.get("iban").info(country) if "bban" in info), "")
    return 4 + sum(int(n) for n in re.findall(r"(\d+)!", bban)) if bban else 0


_GROUPS = re.compile(r"\+?\d(?:[\d .()/-]*\d)?")
_GROUP_START = re.compile(r"(?<=[ .()/-])[+\d]")
_INTERNATIONAL = re.compile(r"(?:\+|00)\d{1,3}[ .-]")


def _after_a_number(value: str, region: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Phone numbers right after another number ("le 12 06 71 82 93 04", "Mozilla/5.0 06 71 82 93 04") or
    listed one after another ("06 71 82 93 04 06 12 34 56 78"): the matcher reads the whole run of digit
    groups as one candidate, finds it invalid, and tries no part of it. So each run it matched nothing in is
    read again from each of its groups: the groups that make a national number written in its own grouping
    (as `_without_prefix` checks it), else the tail from that group when it is no longer than a phone number
    can be. Linear in the run (reading every tail of a 32 KB run of numbers once took minutes)."""
    spans: list[tuple[int, int]] = []
    lengths = _national_lengths(region)
    covered = _covered(value, found)
    for run in _GROUPS.finditer(value):
        text = run.group()
        if sum(c.isdigit() for c in text) < 8 or any(covered[run.start():run.end()]):
            continue
        groups = [(run.start() + g.start(), run.start() + g.end(), g.end() - g.start())
                  for g in re.finditer(r"\d+", text)]
        left = sum(n for _, _, n in groups)  # digits from the current group to the run's end
        at = run.start() - 1
        for k, (start, _, size) in enumerate(groups):
            digits, left = left, left - size
            if start <= at:
                continue  # inside a number found before
            if digits < 7:
                break
            end = _national_window(value, region, groups, k, lengths)
            if end is None and k == 0:
                end = _international_window(value, region, run.start(), groups)
            if end is None and k and digits <= _MAX_DIGITS:
                tail = value[start:run.end()]
                match = next((m for m in PhoneNumberMatcher(tail, region, leniency=Leniency.VALID)
                              if m.start == 0 and not _amounts(m.raw_string)), None)
                end = start + match.end if match else None
            begin = run.start() if k == 0 else start
            if end is not None and not _glued(value, begin, end):
                spans.append((begin, end))
                at = end - 1
    return spans


def _glued(value: str, start: int, end: int) -> bool:
    """Whether value[start:end] touches a letter or digit: part of an id or a code (REF0612345678), which the
    matcher refuses too."""
    return (start > 0 and value[start - 1].isalnum()) or (end < len(value) and value[end].isalnum())


def _national_window(value: str, region: str, groups: list[tuple[int, int, int]], k: int,
                     lengths: frozenset[int]) -> int | None:
    """Where the national number written from group `k` ends, when some of the groups from it hold as many
    digits as a national number of the region and are that number in its own grouping; else None."""
    if not lengths or value[groups[k][0]] != _national_prefix(region)[:1]:
        return None  # a national number begins with the prefix (0 in France)
    digits, most = 0, max(lengths, default=0)
    # Read from group k on, never a copy of groups[k:]: called for each group of a run, that copy made a run of
    # 50,000 one-digit groups (a 100 KB "0 0 0 …", or "0·0·0…") take 2 s, quadratic in the run.
    for i in range(k, len(groups)):
        _, end, size = groups[i]
        digits += size
        if digits > most:
            return None
        if digits in lengths:
            written = value[groups[k][0]:end]
            if _in_own_grouping(written, region, ""):
                return end
            if written.isdigit():
                return None  # unseparated, and no valid number
    return None


def _international_window(value: str, region: str, run_start: int, groups: list[tuple[int, int, int]]) -> int | None:
    """Where the international number that begins a run (+33 6 71 82 93 04, 0033 6 71…) ends when more
    digit groups follow it: its fewest groups that make a valid number; else None."""
    text = value[run_start:groups[-1][1]]
    if not (text.startswith("+") or text.startswith("00")):
        return None
    digits = 0
    for _, end, size in groups:
        digits += size
        if digits > _MAX_DIGITS:
            return None
        if digits >= 8:
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(value[run_start:end], region)):
                    return end
            except phonenumbers.NumberParseException:
                continue
    return None


@functools.lru_cache(maxsize=256)
def _national_lengths(region: str) -> frozenset[int]:
    """How many digits a national number of the region is written with, its prefix included (10 in France)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if not metadata or not metadata.national_prefix:
        return frozenset()
    return frozenset(n + len(metadata.national_prefix) for n in metadata.general_desc.possible_length if n > 0)


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
