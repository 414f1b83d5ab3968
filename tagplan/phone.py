"""Phone numbers, parsed once: the plan's `phone` rule, the collector's phone key and offline imports share
one function, so a number gives the same E.164 form (and the same keyed hash) wherever it was typed.

`phonenumbers.parse` costs ~60-130 us: fine for a form submit, minutes for a million-line sales file. The
common shapes (`06 12 34 56 78`, `+33 6 12 34 56 78`, `0033612345678`, `+33 (0)6…`, dots or dashes) are
read here in a few microseconds, checked against phonenumbers' own metadata exactly as its validity check
does; anything else (and any number this fast reading finds invalid) goes to phonenumbers itself. The fast
reading only ever answers what phonenumbers answers (tests/tagplan/test_phone.py compares them).
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult
from phonenumbers.phonemetadata import PhoneMetadata

_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
          "fixed_line", "mobile")
_SHAPE = re.compile(r"\s*(?:\+\d{1,3} ?\(0\))?[+\d][\d .\-/]*\s*", re.ASCII)
_SEPARATORS = str.maketrans("", "", " .-/()")
_LITERAL = re.compile(r"\d+", re.ASCII)


# Parsing costs ~70-130 us and a submit checks, then hashes, the same number. The cache lives in memory
# only, like the request itself: nothing of it is written anywhere.
@functools.lru_cache(maxsize=4096)
def e164(raw: str, region: str | None) -> str | None:
    """The number in E.164 form (+33612345678), or None when it is not a valid phone number."""
    fast = _fast_e164(raw, region)
    if fast:
        return fast
    number = valid_in(raw, region)
    if number is None and region in SHARED_NUMBERING and not raw.lstrip().startswith("+"):
        # 0692 12 34 56 is a Réunion mobile, dialled so from all of France: the same person gets the same
        # number (and key) whether they typed it so or +262 692 12 34 56.
        number = next((n for other in SHARED_NUMBERING if other != region
                       if (n := valid_in(raw, other)) is not None), None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if number else None


SHARED_NUMBERING = ("FR", "RE", "YT", "GP", "MQ", "GF", "BL", "MF", "PM")
"""Metropolitan France and the overseas regions that share its national numbering (ten digits, the trunk 0):
a number written nationally that is not valid in the default region is read in the others of these."""


def valid_in(raw: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """`raw` parsed in `region`, when it is a valid number there; else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
_LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "country_code",
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_LENGTH: "invalid_length",
}


def invalid_reason(raw: str, region: str | None) -> tuple[str, str]:
    """Why `raw` is not a valid number, as phonenumbers tells: a reason of tagplan.messages.PHONE_REASONS,
    and the region it was read in ("" when none). Only asked of numbers `e164` refused."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and region is None and "+" not in raw:
            return "no_country_code", ""
        return _PARSE_REASONS.get(exc.error_type, "not_a_number"), region or ""
    country = phonenumbers.region_code_for_country_code(number.country_code)
    country = "" if country == phonenumbers.UNKNOWN_REGION else country
    reason = _LENGTH_REASONS.get(phonenumbers.is_possible_number_with_reason(number))
    return reason or "invalid_range", country


def _fast_e164(raw: str, region: str | None) -> str | None:
    """E.164 for the common shapes of a valid number, None for anything else (phonenumbers decides)."""
    if len(raw) > 40 or not _SHAPE.fullmatch(raw):
        return None
    digits = raw.translate(_SEPARATORS).strip()
    if digits.startswith("+"):
        return _international(digits[1:])
    home = _home(region)
    if home is None or not digits.isdigit():
        return None
    cc, idd = home
    if idd and digits.startswith(idd):
        return _international(digits[len(idd):])
    return _valid(cc, digits)


def _international(digits: str) -> str | None:
    if not digits.isdigit() or digits.startswith("0"):
        return None
    for n in (1, 2, 3):  # country calling codes are prefix-free
        cc = int(digits[:n])
        if cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return _valid(cc, digits[n:])
    return None


def _valid(cc: int, nsn: str) -> str | None:
    """+cc nsn when phonenumbers reads the national number `nsn` of `cc` as a valid number, else None."""
    rules = _rules(cc)
    if rules is None:
        return None
    strip = rules[0]
    if strip and nsn.startswith(strip):
        # phonenumbers strips a national prefix when what is left still fits the region's numbers;
        # a valid rest does.
        nsn = nsn[len(strip):]
    if nsn.startswith("0"):
        return None
    pattern = _pattern(cc, len(nsn))
    return f"+{cc}{nsn}" if pattern is not None and pattern.fullmatch(nsn) else None


@functools.lru_cache(maxsize=None)
def _pattern(cc: int, length: int) -> re.Pattern | None:
    """One pattern for the valid numbers of `cc` of this length: the general description and any type
    (mobile, fixed line…) whose lengths allow it, as phonenumbers checks them one after the other."""
    _, general, types = _rules(cc)
    if general.lengths and length not in general.lengths:
        return None
    allowed = [t.pattern for t in types if not t.lengths or length in t.lengths]
    if not allowed:
        return None
    return re.compile(f"(?=(?:{general.pattern})\\Z)(?:{'|'.join(f'(?:{p})' for p in allowed)})")


@functools.lru_cache(maxsize=None)
def _home(region: str | None) -> tuple[int, str] | None:
    """(calling code, international prefix) of the default region when its prefix is plain digits."""
    metadata = PhoneMetadata.metadata_for_region(region) if region else None
    if metadata is None or metadata.country_code is None:
        return None
    idd = metadata.international_prefix or ""
    if idd and not _LITERAL.fullmatch(idd):
        return None
    return metadata.country_code, idd


@functools.lru_cache(maxsize=None)
def _rules(cc: int):
    """(national prefix phonenumbers strips, general pattern, type patterns) of the one region using this
    calling code; None for codes shared by several regions (+1, +7, +44…) and for regions whose national
    prefix is a pattern (carrier codes, rewriting), which phonenumbers reads itself."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
    if len(regions) != 1:
        return None
    metadata = PhoneMetadata.metadata_for_region(regions[0])
    if metadata is None or metadata.general_desc is None or metadata.national_prefix_transform_rule:
        return None
    strip = metadata.national_prefix_for_parsing or ""
    if strip and not _LITERAL.fullmatch(strip):
        return None
    types = tuple(_desc(d) for d in (getattr(metadata, name) for name in _TYPES)
                  if d is not None and d.national_number_pattern)
    return strip, _desc(metadata.general_desc), types


class _Desc(NamedTuple):
    lengths: frozenset[int]
    pattern: str


def _desc(desc) -> _Desc:
    return _Desc(frozenset(desc.possible_length or ()), desc.national_number_pattern or "(?!)")
