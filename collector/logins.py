"""Dashboard logins: which attempts get a password check, so that guessing stays slow, no one can lock a
viewer out from elsewhere, and a flood of attempts never slows ingestion.

A password check is Argon2id (64 MiB and a core for tens of milliseconds, on purpose; the same for an unknown
name, users.py). So an attempt is answered at once, with no check, when:

- its client has failed MAX_FAILURES times for this account within FAILURE_WINDOW: that client waits, and the
  account's owner logging in from elsewhere does not (ten wrong passwords are no remote lock-out);
- its client has failed MAX_CLIENT_FAILURES times within the window, whatever the names (unknown ones too):
  one address trying names at random is stopped as one trying passwords;
- the account has failed MAX_ACCOUNT_FAILURES times within the window from all clients together: guessing one
  password from many addresses stays bounded (it takes MAX_ACCOUNT_FAILURES / MAX_FAILURES addresses or
  more to hold the account's logins everywhere, the price of that bound);
- MAX_CHECKS checks are running already in this process: the attempt is told to come back in a second
  rather than queued on the thread pool, so a flood takes at most that many cores from ingestion.

Whether a name is an account changes none of this, so the answers tell no more than the timing does. The
client is `enrich.client_address` of the address the collector sees (behind a proxy, the client's when uvicorn
trusts the proxy: `FORWARDED_ALLOW_IPS`). Counts are kept in memory, per worker process, for at most
MAX_KEYS keys each (the least recently failed dropped beyond).
"""

from __future__ import annotations

import collections
import contextlib
import math
import time
from collections.abc import Hashable, Iterator

MAX_FAILURES = 10
"""Failures of one client for one account within FAILURE_WINDOW, then that client's logins to it wait."""
MAX_CLIENT_FAILURES = 30
"""Failures of one client within FAILURE_WINDOW, whatever the account names, then all its logins wait."""
MAX_ACCOUNT_FAILURES = 100
"""Failures for one account from all clients within FAILURE_WINDOW, then its logins wait everywhere."""
FAILURE_WINDOW = 15 * 60
"""Seconds a failure counts for."""
MAX_CHECKS = 1
"""Password checks running at once in one process; an attempt beyond is answered at once (busy)."""
BUSY_RETRY = 1
"""Seconds a busy answer's Retry-After asks to wait."""
MAX_KEYS = 10_000
"""Keys (accounts, clients, pairs) whose failures each count keeps; the least recently failed go beyond."""


class Failures:
    """The times of recent failures by key; at most `limit` kept per key (more would not change the answer)."""

    def __init__(self) -> None:
        self._times: dict[Hashable, collections.deque[float]] = {}

    def wait(self, key: Hashable, limit: int, now: float) -> float:
        """Seconds until this key has fewer than `limit` failures in the window; 0 when it has already."""
        times = self._times.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - FAILURE_WINDOW:
            times.popleft()
        if not times:
            del self._times[key]
            return 0.0
        return times[-limit] + FAILURE_WINDOW - now if len(times) >= limit else 0.0

    def add(self, key: Hashable, limit: int, now: float) -> None:
        times = self._times.pop(key, None) or collections.deque()
        times.append(now)
        while len(times) > limit:
            times.popleft()
        self._times[key] = times  # last in the dict's order: the least recently failed come first
        while len(self._times) > MAX_KEYS:
            del self._times[next(iter(self._times))]

    def forget(self, key: Hashable) -> None:
        self._times.pop(key, None)


class Logins:
    """One process's login attempts: the failures counted three ways, and the password checks running. Used
    from the event loop only (no lock)."""

    def __init__(self) -> None:
        self._pairs, self._clients, self._accounts = Failures(), Failures(), Failures()
        self._checking = 0

    def wait(self, name: str, client: str) -> int:
        """Whole seconds before this client's logins to this account get a password check; 0: now."""
        now = time.monotonic()
        seconds = max(self._pairs.wait((name, client), MAX_FAILURES, now),
                      self._clients.wait(client, MAX_CLIENT_FAILURES, now),
                      self._accounts.wait(name, MAX_ACCOUNT_FAILURES, now))
        return math.ceil(seconds)

    def failed(self, name: str, client: str) -> None:
        now = time.monotonic()
        self._pairs.add((name, client), MAX_FAILURES, now)
        self._clients.add(client, MAX_CLIENT_FAILURES, now)
        self._accounts.add(name, MAX_ACCOUNT_FAILURES, now)

    def succeeded(self, name: str, client: str) -> None:
        """The right password: this client's failures for this account are forgotten (not the other counts,
        or an attacker with an account of their own could clear their address's between guesses)."""
        self._pairs.forget((name, client))

    @contextlib.contextmanager
    def check(self) -> Iterator[bool]:
        """Whether a password check may run now (fewer than MAX_CHECKS running); its place is held until the
        block ends. The check runs in `run_in_threadpool`, which a cancelled request still waits for (anyio's
        `abandon_on_cancel=False`): the block never ends before the check's thread does."""
        free = self._checking < MAX_CHECKS
        self._checking += free
        try:
            yield free
        finally:
            self._checking -= free
