"""Enrichment: pure functions that add what the collector knows to a valid event."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re

from tagplan.phone import e164

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
"""The well-known prefix of NAT64 (RFC 6052): an IPv4 address in the last 32 bits."""
CLICK_ID_PARAMS = ("gclid", "fbclid", "msclkid", "dclid", "ttclid", "li_fat_id")


@functools.lru_cache(maxsize=65536)  # visitors send many requests; parsing an address is ~20 µs
def truncate_ip(ip: str, v4_bits: int = 24, v6_bits: int = 48) -> str:
    """Keep only the network part of an address (default /24 and /48), so no visitor is identified by it.

    An IPv6 address that carries a client's IPv4 address where a /48 would keep it is truncated as that
    IPv4 address: IPv4-mapped (::ffff:a.b.c.d, a dual-stack socket's view of an IPv4 client), 6to4
    (2002:aabb:ccdd::/48 is the whole IPv4 address) and NAT64 (64:ff9b::a.b.c.d). Teredo (2001:0::/32) keeps
    its client's address in the last 64 bits, which a /48 drops: truncated as any IPv6 address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if addr.version == 6:
        embedded = addr.ipv4_mapped or addr.sixtofour or (
            ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF) if addr in _NAT64 else None)
        if embedded is not None:
            addr = embedded
    bits = v4_bits if addr.version == 4 else v6_bits
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False).network_address)


def client_address(host: str) -> str:
    """Who a request comes from, for the limits kept per client (the call-centre pool's share, the dashboard's
    login throttle): its IPv4 address, or its IPv6 address's /64, which one client holds whole (a script there
    has 2^64 addresses to ask from). `host` is the address the collector sees: behind a reverse proxy, uvicorn
    puts the client's there only from a proxy it trusts (`FORWARDED_ALLOW_IPS`, 127.0.0.1 and ::1 by default)."""
    return truncate_ip(host, 32, 64) or host


def phone_key(raw: str, region: str, secret: bytes) -> str:
    """E.164 normalisation then HMAC-SHA256: the same phone gives the same key, and no one can read it back.

    "" for a value that is not a valid phone number (the plan's `phone` rule rejects those first).
    """
    number = e164(raw, region)
    return hmac.digest(secret, number.encode(), "sha256").hex() if number else ""


_CLICK_ID = re.compile(r"[A-Za-z0-9_\-.~]{1,512}\Z")
"""What the networks' click IDs are made of (gclid, gbraid, wbraid, fbclid, msclkid: letters, digits, `-`, `_`;
`.` and `~` to be safe): nothing a spreadsheet would read as a formula when the ad network's file is opened."""


def click_id(captured: dict[str, str]) -> tuple[str, str]:
    """The click ID captured on landing, and which network it came from; a value no network makes is none."""
    for name in CLICK_ID_PARAMS:
        if captured.get(name) and _CLICK_ID.match(captured[name]):
            return captured[name], name
    return "", ""
