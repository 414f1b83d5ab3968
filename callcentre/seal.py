"""Sealing phone numbers: the one place parcours keeps a phone is a consenting call-back lead's, encrypted.

AES-256-GCM (authenticated: a changed byte fails to open) from `cryptography`, under a key of its own, never
the HMAC secret that keys phone hashes: a leaked secret must not open the phones, nor a leaked key forge
phone keys. A sealed value is text, `v1.` then URL-safe base64 of `key id (4 bytes) | nonce (12) | ciphertext
and tag`; the key id (the first 4 bytes of the key's SHA-256) lets a rotated-out key still open what it
sealed. The event id is bound as associated data: a sealed value copied onto another lead does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from collector.errors import Problem

PREFIX = "v1."


class LeadsKeyError(Problem):
    """A leads key that cannot be used; the message says why and how to make one."""


class Unsealable(ValueError):
    """A sealed value this key ring cannot open (another key, altered, or not a sealed value)."""


def parse_keys(text: str) -> list[bytes]:
    """Keys from the setting: 32 bytes each, in hex (64 characters) or base64, comma-separated; the first
    seals, every one opens (key rotation)."""
    keys = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if len(part) == 64:
                key = bytes.fromhex(part)
            else:  # standard or URL-safe base64, padded or not
                text = part.replace("-", "+").replace("_", "/").rstrip("=")
                key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (ValueError, binascii.Error):
            key = b""
        if len(key) != 32:
            raise LeadsKeyError("PARCOURS_LEADS_KEY is not a key: a leads key is 32 random bytes, written as 64 "
                                "hex digits or in base64 (several comma-separated when rotating)")
        keys.append(key)
    return keys


def leads_off(why: str) -> str:
    """The one line saying call-back phones are not kept, and what to do."""
    return (f"call-back leads are off: {why}. Events are stored as usual, but no call-back phone is kept until "
            "the collector runs with a leads key (make one: `openssl rand -hex 32`; docs/call-centre.md)")


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


class Sealer:
    """Seals with the first key, opens with any of them."""

    def __init__(self, keys: list[bytes]):
        if not keys:
            raise LeadsKeyError("no leads key")
        self._seal_id, self._seal = _key_id(keys[0]), AESGCM(keys[0])
        self._open = {_key_id(k): AESGCM(k) for k in keys}

    def seal(self, plain: str, bound: str) -> str:
        """`plain` sealed, bound to `bound` (the event id)."""
        nonce = os.urandom(12)
        box = self._seal.encrypt(nonce, plain.encode(), bound.encode())
        return PREFIX + base64.urlsafe_b64encode(self._seal_id + nonce + box).decode()

    def open(self, sealed: str, bound: str) -> str:
        """The plain text of a sealed value bound to `bound`; Unsealable when it cannot be opened."""
        if not sealed.startswith(PREFIX):
            raise Unsealable("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(PREFIX):])
        except (ValueError, binascii.Error):
            raise Unsealable("not a sealed value") from None
        aead = self._open.get(raw[:4])
        if aead is None:
            raise Unsealable("sealed with a key this collector does not hold")
        try:
            return aead.decrypt(raw[4:16], raw[16:], bound.encode()).decode()
        except InvalidTag:
            raise Unsealable("altered, or sealed for another lead") from None
