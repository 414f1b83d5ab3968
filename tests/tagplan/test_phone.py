"""The fast reading of common phone shapes answers exactly what phonenumbers answers."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagplan.phone import _fast_e164, e164

FORMATS = (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
           phonenumbers.PhoneNumberFormat.E164)
DEFAULTS = ("FR", "BE", "DE", "IT", "ES", "CH", "GB", "US", "NL", "PT", "MA", "AR", "BR", None)


def slow(raw: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shapes(number: phonenumbers.PhoneNumber) -> list[str]:
    """One number written the ways people and exports write it."""
    out = [phonenumbers.format_number(number, f) for f in FORMATS]
    national = out[0]
    digits = "".join(c for c in national if c.isdigit())
    cc = str(number.country_code)
    nsn = phonenumbers.national_significant_number(number)
    out += [digits, national.replace(" ", "."), national.replace(" ", "-"), f"00{cc}{nsn}", f"+{cc} (0){nsn}",
            f"+{cc} 0{nsn}", f" {digits} ", f"011{cc}{nsn}", nsn, digits[:-1], digits + "1", f"+{cc}{nsn}9"]
    return out


def test_the_sample_files_phones():
    written = {"06 12 34 56 78": "+33612345678", "+33 6 21 43 65 87": "+33621436587",
               "0033645127890": "+33645127890", "06.78.12.90.34": "+33678129034",
               "+33 (0)7 52 18 44 09": "+33752184409", "0612": None, "": None}
    assert {raw: e164(raw, "FR") for raw in written} == written


@pytest.mark.parametrize("default", DEFAULTS)
def test_every_region_s_example_numbers_in_every_shape(default):
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                     phonenumbers.PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            for raw in shapes(number):
                fast = _fast_e164(raw, default)
                if fast is not None:
                    assert fast == slow(raw, default), (raw, default)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(DEFAULTS),
       st.text(alphabet="+0123456789 .-/()", min_size=1, max_size=22))
def test_any_string_of_phone_characters(default, raw):
    fast = _fast_e164(raw, default)
    if fast is not None:
        assert fast == slow(raw, default)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(DEFAULTS), st.sampled_from(["", "+33", "0033", "0", "+32", "+49", "+39", "+41", "+33 (0)"]),
       st.lists(st.integers(0, 9), min_size=6, max_size=12), st.sampled_from(["", " ", ".", "-"]))
def test_prefixed_digit_runs(default, prefix, digits, sep):
    raw = prefix + sep.join(str(d) for d in digits)
    fast = _fast_e164(raw, default)
    if fast is not None:
        assert fast == slow(raw, default)


def test_the_common_french_shapes_take_the_fast_path():
    for raw in ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "06.12.34.56.78", "+33 (0)6 12 34 56 78"):
        assert _fast_e164(raw, "FR") == "+33612345678", raw


def test_an_overseas_number_written_nationally_is_read_in_france():
    """An outside tester's finding: 0692 12 34 56 (Réunion), 0690… (Guadeloupe), 0696… (Martinique), 0694…
    (Guyane), 0639… (Mayotte), dialled so from all of France, were refused with the default region FR."""
    written = {"0692 12 34 56": "+262692123456", "0690 12 34 56": "+590690123456", "06 96 12 34 56": "+596696123456",
               "0694.12.34.56": "+594694123456", "0639 01 23 45": "+262639012345", "0262 12 34 56": "+262262123456",
               "+262 692 12 34 56": "+262692123456", "06 12 34 56 78": "+33612345678", "0691 12 34 56": None}
    assert {raw: e164(raw, "FR") for raw in written} == written
    assert e164("0612345678", "RE") == "+33612345678", "and a metropolitan number from an overseas default"
