"""Enrichment functions: IP truncation, phone keys, click IDs."""

from __future__ import annotations

import pytest

from collector.enrich import click_id, phone_key, truncate_ip


@pytest.mark.parametrize("ip, expected", [
    ("203.0.113.77", "203.0.113.0"),
    ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
    # an IPv4 address inside an IPv6 one, which a /48 kept whole: truncated as the IPv4 address it is
    ("2002:102:304::1", "1.2.3.0"),  # 6to4 of 1.2.3.4 (it was kept as 2002:102:304::)
    ("2002:cb00:714d:1::5", "203.0.113.0"),
    ("::ffff:203.0.113.77", "203.0.113.0"),  # IPv4-mapped (it was ::)
    ("64:ff9b::203.0.113.77", "203.0.113.0"),  # NAT64
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136::"),  # Teredo: the client's address is in the last 64 bits
    ("not an ip", ""),
    ("testclient", ""),
])
def test_truncate_ip(ip, expected):
    assert truncate_ip(ip) == expected


def test_truncate_ip_bits_are_configurable():
    assert truncate_ip("203.0.113.77", v4_bits=16) == "203.0.0.0"


def test_phone_key_is_the_same_for_every_spelling_of_one_number():
    spellings = ["06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "+33612345678", "06.12.34.56.78"]
    keys = {phone_key(p, "FR", b"k") for p in spellings}
    assert len(keys) == 1
    assert phone_key("0612345678", "FR", b"other secret") not in keys


def test_click_id_names_its_network():
    assert click_id({"utm_source": "x", "msclkid": "abc"}) == ("abc", "msclkid")
    assert click_id({}) == ("", "")
    assert click_id({"gclid": "EAIaIQobChMI-x_y.z~1"}) == ("EAIaIQobChMI-x_y.z~1", "gclid")
    # No network makes it: not sent to one (a formula when the network's file is opened in a spreadsheet).
    assert click_id({"gclid": '=1+1,"x\nnext'}) == ("", "")
    assert click_id({"gclid": "=1+1", "fbclid": "IwAR3x"}) == ("IwAR3x", "fbclid")


def test_phone_key_is_empty_for_a_value_that_is_not_a_phone():
    assert phone_key("not a phone", "FR", b"k") == ""
    assert phone_key("01 23", "FR", b"k") == ""
