"""Phone numbers, parsed once: the plan's `phone` rule and the collector's phone key share one cached parse."""

from __future__ import annotations

import functools

import phonenumbers


# Parsing costs ~70-130 us and a submit checks, then hashes, the same number. The cache lives in memory
# only, like the request itself: nothing of it is written anywhere.
@functools.lru_cache(maxsize=4096)
def e164(raw: str, region: str | None) -> str | None:
    """The number in E.164 form (+33612345678), or None when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
