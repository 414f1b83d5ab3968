"""Phone numbers, parsed once: the plan's `phone` rule and the collector's phone key share one cached parse."""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult


# Parsing costs ~70-130 us and a submit checks, then hashes, the same number. The cache lives in memory
# only, like the request itself: nothing of it is written anywhere.
@functools.lru_cache(maxsize=4096)
def e164(raw: str, region: str | None) -> str | None:
    """The number in E.164 form (+33612345678), or None when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
