"""Dashboard accounts: `<data-dir>/users.json`, readable by its owner only, passwords hashed with Argon2id.

An account has a name, a role and a password hash. The only role is `viewer`: it may log in to the
dashboard and read the reports API (`/api/reports/…`), nothing else; the admin token stays the only
way to run SQL, import or erase. `parcours users add|remove|list` edits the file; a running collector
re-reads it when it changes (its modification time), so an account removed can no longer log in and
its sessions end (auth.py checks the account on every request).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("viewer",)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
# Argon2id with argon2-cffi's defaults (RFC 9106's second recommended option: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name takes as long as a wrong password: the hash of a random
# password nobody kept, made once with the parameters above (hashing it at import cost every process, each
# `parcours` command among them, ~0.2 s of CPU). tests/collector/test_auth.py checks its parameters are still
# _hasher's; if argon2-cffi's defaults change, make a new one: python -c 'import argon2, secrets;
# print(argon2.PasswordHasher().hash(secrets.token_urlsafe(32)))'
_DECOY = "$argon2id$v=19$m=65536,t=3,p=4$+EN5UBz40dfZHku9l2HrWA$3m0EVkE1anZlIZZOAqS86OTNrjcU7rDVtdtTfFlV9Ig"


class UserError(Exception):
    """An account change that cannot be made; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    created: str


def users_file(data_dir: Path) -> Path:
    return Path(data_dir) / "users.json"


class Users:
    """The accounts file of a data directory, re-read when it changes."""

    def __init__(self, data_dir: Path):
        self.path = users_file(data_dir)
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}

    def all(self) -> dict[str, User]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._users = None, {}
            return self._users
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._users, self._stamp = _read(self.path), stamp
        return self._users

    def get(self, name: str) -> User | None:
        return self.all().get(name)

    def verify(self, name: str, password: str) -> User | None:
        """The account if the password is right; None otherwise, in about the same time either way."""
        user = self.get(name)
        try:
            _hasher.verify(user.password_hash if user else _DECOY, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user

    def add(self, name: str, password: str, role: str = "viewer", replace: bool = False) -> User:
        """Create an account (or, with replace, set a new password and role for an existing one)."""
        if not NAME.match(name):
            raise UserError(f'"{name[:64]}" is not a valid account name: use letters, digits, ".", "_", "-" or "@" '
                            "(at most 64, starting with a letter or digit)")
        if role not in ROLES:
            raise UserError(f'role "{role}" is not known; roles: {", ".join(ROLES)}')
        if len(password) < MIN_PASSWORD:
            raise UserError(f"the password is too short: at least {MIN_PASSWORD} characters")
        user = User(name, role, _hasher.hash(password), _now())
        with self._editing() as users:
            if name in users and not replace:
                raise UserError(f'an account "{name}" exists already (use --replace to set a new password)')
            users[name] = user
        return user

    def remove(self, name: str) -> None:
        with self._editing() as users:
            if name not in users:
                raise UserError(f'no account "{name[:64]}"')
            del users[name]

    @contextlib.contextmanager
    def _editing(self):
        """Read, change and write the file under a lock, atomically (a reader sees the old or the new file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            users = _read(self.path) if self.path.exists() else {}
            yield users
            _write(self.path, users)
        finally:
            os.close(lock)


def _read(path: Path) -> dict[str, User]:
    try:
        doc = json.loads(path.read_text())
        return {u["name"]: User(u["name"], u["role"], u["password_hash"], u.get("created", "")) for u in doc["users"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: cannot read the accounts file ({exc})") from None


def _write(path: Path, users: dict[str, User]) -> None:
    doc = {"users": [{"name": u.name, "role": u.role, "password_hash": u.password_hash, "created": u.created}
                     for u in sorted(users.values(), key=lambda u: u.name)]}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)  # whatever the umask
    os.replace(tmp, path)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
