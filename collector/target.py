"""Where a command's work runs: the running collector's admin API, or ClickHouse opened here.

chDB lets one process own a data directory. When a collector serves `<data-dir>` (discovery.py), it owns
the data and a command goes through its admin API; otherwise the command opens the engine (or the
ClickHouse server of `--clickhouse`) itself. A command never branches on which: it states its work once,
as an `Op`, both ways, and hands it to the `Target` that `options.target_options` gives it.

How a new command plugs in (say `parcours import conversions FILE`):

1. The work is a function of a `Store` in the module of its concept (`journeys/conversions.py`), returning
   a QueryResult, a dataclass, or JSON-able values; or an iterator of bytes for a download.
2. The admin API serves the same function: a plain route under the authenticated `/api` mount
   (admin.py's `ROUTES`, or the routes a package adds), whose handler reads its parameters and returns
   `await admin.run(request, fn, *args)` (or `admin.stream(…)`).
3. The command takes `target` (decorate it with `@target_options`) and makes one call::

       doc = target.run(Op("POST", "/api/import/conversions", lambda store: conversions.load(store, data),
                           body=data, content_type="text/csv"))

   `run` returns the result as a JSON document either way (output.as_document); `stream` yields bytes.
   Errors are `Problem`s, which the command line prints as one sentence.
"""

from __future__ import annotations

import abc
import contextlib
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector import discovery, output, settings
from collector.errors import Problem
from collector.storage import Store, default_dsn

_CHUNK = 1 << 16


class CollectorError(Problem):
    """The running collector refused the request, or could not be reached."""

    status = 503


@dataclass(frozen=True)
class Op:
    """One operation on the stored data, said both ways: the admin API request a running collector answers,
    and the function run on a Store opened here when none runs."""

    method: str
    path: str
    """Under /api, e.g. /api/rejected/summary."""
    local: Callable[[Store], Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    """The query string; None values are left out."""
    body: bytes | None = None
    content_type: str = "text/plain"


class Target(abc.ABC):
    """What commands run their operations on; see the module docstring."""

    data_dir: Path
    """The data directory the command was given (where generated secrets are read from)."""

    @abc.abstractmethod
    def run(self, op: Op) -> Any:
        """The operation's result, as a JSON document."""

    @abc.abstractmethod
    def stream(self, op: Op) -> Iterator[bytes]:
        """The operation's result as bytes, as they come (a download)."""

    def close(self) -> None:
        """Release what the target holds (the engine opened here)."""


class Remote(Target):
    """The admin API of the collector that owns the data."""

    def __init__(self, url: str, token: str, data_dir: Path):
        self.url, self.token, self.data_dir = url.rstrip("/"), token, data_dir

    def run(self, op: Op) -> Any:
        with self._open(op) as resp:
            body = self._read(resp.read)
        return json.loads(body) if body else None

    def stream(self, op: Op) -> Iterator[bytes]:
        with self._open(op) as resp:
            while chunk := self._read(resp.read1, _CHUNK):
                yield chunk

    def _open(self, op: Op):
        query = urllib.parse.urlencode({k: v for k, v in op.params.items() if v is not None})
        req = urllib.request.Request(f"{self.url}{op.path}{'?' + query if query else ''}", data=op.body,
                                     method=op.method, headers={"Authorization": f"Bearer {self.token}",
                                                                "Content-Type": op.content_type})
        try:
            return urllib.request.urlopen(req, timeout=600)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                message = f"{exc.code} {exc.reason}"
            error = CollectorError(f"{self.url}: {message}")
            error.status = exc.code
            raise error from None
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise CollectorError(f"cannot reach the collector at {self.url}: {reason}") from None

    def _read(self, read, *args) -> bytes:
        try:
            return read(*args)
        except (http.client.IncompleteRead, OSError) as exc:
            # The collector cuts an answer off when it fails after sending its status (errors.Cutoff).
            raise CollectorError(f"{self.url}: the answer stopped before its end ({type(exc).__name__}); "
                                 "what was received is incomplete, the collector's log says why") from None


class Local(Target):
    """ClickHouse opened by this process: the embedded engine in `<data-dir>`, or a server. Opened at the
    first operation, with the schema migrations applied (an older data directory gets what commands read)."""

    def __init__(self, dsn: str, database: str, data_dir: Path):
        self.dsn, self.database, self.data_dir = dsn, database, data_dir
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            store = Store(self.dsn, self.database)
            try:
                store.migrate()
            except Exception:
                store.close()
                raise
            self._store = store
        return self._store

    def run(self, op: Op) -> Any:
        return output.as_document(op.local(self.store))

    def stream(self, op: Op) -> Iterator[bytes]:
        chunks: Iterable[bytes] = op.local(self.store)
        yield from chunks

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def open_target(data_dir: str | Path, *, clickhouse: str | None = None, database: str = "parcours",
                url: str | None = None, admin_token: str | None = None) -> Target:
    """The collector at `url`, or the one serving `data_dir`, or else ClickHouse opened here."""
    data = Path(data_dir)
    running = discovery.running(data)
    url = url or (running.url if running else None)
    if url:
        return Remote(url, admin_token or _token(data), data)
    return Local(clickhouse or default_dsn(data), database, data)


@contextlib.contextmanager
def opened(data_dir: str | Path, **where) -> Iterator[Target]:
    """`open_target`, closed after the block."""
    target = open_target(data_dir, **where)
    try:
        yield target
    finally:
        target.close()


def _token(data: Path) -> str:
    path = data / settings.ADMIN_TOKEN_FILE
    try:
        return path.read_text().strip()
    except OSError:
        raise Problem(f"no admin token: set PARCOURS_ADMIN_TOKEN or --admin-token ({path} not readable)") from None
