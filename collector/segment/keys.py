"""Write keys: which server source (a back office, a CRM, a call centre) sends a batch.

A key is made of random bytes, shown once when it is created and kept nowhere: `write_keys` holds its
SHA-256 (a hash is enough for a random key; a slow password hash would only slow every request) and the
first characters, to tell keys apart in lists. Revoking a key writes a new version of its row; the row is
never deleted, so the list says when it was revoked.

The collector checks keys against `KeyRing`, a copy of the valid keys in memory, read at start, again every
`REFRESH` seconds (keys created or revoked through another worker or machine), and at once after a key is
created or revoked through its own admin API: a request never waits for ClickHouse to be asked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from collector.errors import BadParameter, Problem
from collector.storage import QueryResult, Store

REFRESH = 10.0
"""Seconds between two reads of the keys by a running collector."""
PREFIX = "wk_"
"""Every key starts with it, so a key pasted where it should not be is recognisable (and secret scanners find it)."""
SHOWN = 10
"""Characters of a key kept and listed: the prefix and 7 random ones."""
_SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
RESERVED = ("tag",)
"""Source names a key cannot have: `tag` is the web tag's."""


class UnknownKey(Problem):
    """No key (or several) starts with what was given."""

    status = 404


@dataclass(frozen=True)
class Created:
    """A new key: the only time `key` is ever shown."""

    key: str
    prefix: str
    source: str
    description: str
    created_at: dt.datetime


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(store: Store, source: str, description: str = "") -> Created:
    """A new key for `source`, stored hashed."""
    if not _SOURCE.match(source or "") or source in RESERVED:
        raise BadParameter(f'source "{source}": a source is named in lower-case letters, digits and _ (such as '
                           f"back_office, crm, call_centre), and cannot be {', '.join(RESERVED)}")
    key = PREFIX + secrets.token_urlsafe(24)  # 192 random bits
    now = _now()
    store.insert("write_keys", [[key_hash(key), key[:SHOWN], source, description[:256], now, None, now]],
                 ["key_hash", "key_prefix", "source", "description", "created_at", "revoked_at", "updated_at"])
    return Created(key, key[:SHOWN], source, description[:256], now)


def listing(store: Store, everything: bool = False) -> QueryResult:
    """The keys (valid ones, or every one): prefix, source, description, created, revoked; never the key."""
    where = "" if everything else "WHERE revoked_at IS NULL"
    return store.query(
        f"SELECT key_prefix AS key, source, description, created_at, revoked_at "
        f"FROM {store.database}.write_keys FINAL {where} ORDER BY source, created_at")


def revoke(store: Store, key: str) -> dict:
    """Revoke the key that starts with `key` (its listed prefix, or the whole key)."""
    key = key.strip()
    if len(key) < SHOWN:
        raise BadParameter(f'key "{key}": give the key as `parcours keys list` shows it ({SHOWN} characters), '
                           "or the whole key")
    rows = store.query(
        f"SELECT key_hash, key_prefix, source, description, created_at, revoked_at FROM {store.database}.write_keys "
        "FINAL WHERE key_prefix = {p:String} AND (length({k:String}) = {n:UInt32} OR key_hash = {h:String})",
        parameters={"p": key[:SHOWN], "k": key, "n": SHOWN, "h": key_hash(key)}).rows
    if not rows:
        raise UnknownKey(f'no write key "{key[:SHOWN]}…": `parcours keys list --all` shows them')
    if len(rows) > 1:  # two keys sharing their first 7 random characters: the whole key tells them apart
        raise UnknownKey(f'several write keys start with "{key[:SHOWN]}": give the whole key')
    hashed, prefix, source, description, created_at, revoked_at = rows[0]
    if revoked_at is None:
        revoked_at = _now()
        store.insert("write_keys", [[hashed, prefix, source, description, created_at, revoked_at, revoked_at]],
                     ["key_hash", "key_prefix", "source", "description", "created_at", "revoked_at", "updated_at"])
    return {"key": prefix, "source": source, "revoked_at": revoked_at}


def valid(store: Store) -> dict[str, str]:
    """key hash -> source, for every key not revoked."""
    rows = store.query(f"SELECT key_hash, source FROM {store.database}.write_keys FINAL WHERE revoked_at IS NULL").rows
    return {h: s for h, s in rows}


class KeyRing:
    """The valid keys, in memory (see the module docstring). `source(key)`: None when unknown or revoked."""

    def __init__(self):
        self._sources: dict[str, str] | None = None

    @property
    def loaded(self) -> bool:
        return self._sources is not None

    def load(self, store: Store) -> None:
        """Read the keys again (in a thread: it asks ClickHouse); raises StoreError, keeping the last copy."""
        self._sources = valid(store)

    def source(self, key: str) -> str | None:
        sources = self._sources
        if sources is None:
            raise KeysUnread()
        return sources.get(key_hash(key))


class KeysUnread(Exception):
    """The collector has not read the keys yet (ClickHouse out of reach since it started)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
