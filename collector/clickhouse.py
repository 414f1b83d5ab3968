"""ClickHouse clients: the only module that imports clickhouse_connect.

A `Client` is one clickhouse-connect client, used by one caller at a time and connected on first use (so
a store can be built while a ClickHouse server is away); a `Pool` lends clients made alike. Whatever
goes wrong comes out as a `StoreError` in words for people: `QueryRefused` when ClickHouse refused the
statement (with its error code), a plain `StoreError` when it was not reached, `EngineBusy` when another
process owns the embedded engine. `storage.py` builds the store's clients from these.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from collector.errors import Problem


class StoreError(Problem):
    """ClickHouse refused or could not be reached; the message is for people. `code` is ClickHouse's
    error code when it answered with one, None when it was not reached."""

    status = 503
    error_code = "store_unavailable"

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class QueryRefused(StoreError):
    """ClickHouse refused a statement it was sent (its syntax, a name, readonly): the statement is at fault."""

    status = 400
    error_code = "query_refused"


class Refused(QueryRefused):
    """An analyst's SQL that is not one reading statement (sqlcheck.py), refused before ClickHouse sees it."""

    error_code = None  # its message says which rule; the SQL endpoint is no page's


class EngineBusy(StoreError):
    """The embedded engine's data directory is owned by another process."""


class Written:
    r"""A query parameter's value as a person wrote it (`--param_from=…`, `?param_from=…`), sent to ClickHouse as
    it is, as clickhouse-client sends it: ClickHouse reads it as its type's text (`['a', 'b']` an Array(String),
    `\t` a tab). clickhouse-connect sends a `str` escaped as a String's (`'` as `\'`), which an Array or a Tuple
    parameter cannot read, and any other object as its str()."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Timeouts:
    """Seconds. Only a ClickHouse server has a connection to time out; `query` bounds analysts' queries
    on both (ClickHouse's `max_execution_time`, which a query may set otherwise for itself)."""

    connect: int = 5
    send_receive: int = 30
    query: int = 60


def default_dsn(data_dir: Path) -> str:
    return f"chdb://{(data_dir / 'clickhouse').resolve()}"


def is_embedded(dsn: str) -> bool:
    return dsn.startswith("chdb:")


def embedded_in_use(dsn: str) -> bool:
    """Whether another process holds the embedded engine's data directory: chDB, as a ClickHouse server does,
    keeps an exclusive flock on `<path>/status` while it runs. Ask before this process opens the engine
    (a second lock from the same process conflicts as well)."""
    try:
        fd = os.open(Path(urlsplit(dsn).path) / "status", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the lock if we took it
    return False


class Client:
    """One clickhouse-connect client, one call at a time, connected on first use."""

    def __init__(self, dsn: str, settings: dict[str, Any] | None = None, *, timeouts: Timeouts = Timeouts(),
                 send_receive: int | None = None):
        self.dsn, self.settings, self.timeouts = dsn, settings or {}, timeouts
        self.send_receive = send_receive or timeouts.send_receive
        self._lock = threading.Lock()
        self._client = None

    def _connected(self):
        if self._client is None:
            self._client = _connect(self.dsn, self.settings, self.timeouts.connect, self.send_receive)
        return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None

    def query(self, sql: str, parameters: dict[str, Any] | None = None,
              settings: dict[str, Any] | None = None) -> QueryResult:
        with self._lock:
            result = self._call(lambda: self._connected().query(sql, parameters=parameters, settings=settings or {}))
        return QueryResult(list(result.column_names), [list(r) for r in result.result_rows])

    def raw(self, sql: str, fmt: str, parameters: dict[str, Any] | None = None,
            settings: dict[str, Any] | None = None) -> bytes:
        with self._lock:
            return self._call(lambda: self._connected().raw_query(sql, parameters=parameters, settings=settings,
                                                                  fmt=fmt))

    def command(self, sql: str) -> None:
        with self._lock:
            self._call(lambda: self._connected().command(sql))

    def raw_insert(self, table: str, data: bytes, settings: dict[str, Any], fmt: str = "JSONEachRow") -> None:
        with self._lock:
            self._call(lambda: self._connected().raw_insert(table, None, data, settings=settings, fmt=fmt))

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        with self._lock:
            self._call(lambda: self._connected().insert(table, rows, column_names=list(columns)))

    def ping(self) -> None:
        """Raise StoreError unless ClickHouse answers a trivial query."""
        self.query("SELECT 1")

    def _call(self, fn):
        """Run one client call: ClickHouse's refusals become QueryRefused (with its code), the transport's
        failures StoreError (ClickHouse out of reach, said in one line)."""
        try:
            return fn()
        except StoreError:
            raise
        except OperationalError as exc:  # out of reach, not the statement's fault
            raise _unreachable(self.dsn, exc) from None
        except ClickHouseError as exc:
            raise QueryRefused(_first_line(exc), _code(exc)) from None
        except Exception as exc:  # the transport's own errors (urllib3, sockets) when a server is away
            raise _unreachable(self.dsn, exc) from None


class Pool:
    """Up to `size` clients made alike, each lent to one caller at a time. A client whose call failed is
    closed, not lent again: a refused statement may leave its session changed."""

    def __init__(self, make, size: int):
        self._make = make
        self._idle: list[Client] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def client(self) -> Iterator[Client]:
        with self._slots:
            with self._lock:
                client = self._idle.pop() if self._idle else self._make()
            try:
                yield client
            except BaseException:
                client.close()
                raise
            with self._lock:
                self._idle.append(client)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()


def _connect(dsn: str, settings: dict[str, Any], connect_timeout: int, send_receive: int):
    """A clickhouse-connect client, or EngineBusy / StoreError in words for people."""
    kwargs: dict[str, Any] = {}
    if not is_embedded(dsn):
        # No session: a session keeps what a statement SETs, and lets one call at a time in.
        kwargs = {"connect_timeout": connect_timeout, "send_receive_timeout": send_receive,
                  "autogenerate_session_id": False}
    try:
        return clickhouse_connect.get_client(dsn=dsn, settings=settings, **kwargs)
    except Exception as exc:  # clickhouse-connect raises several kinds here
        # chDB says "Error initializing EmbeddedServer" (the lock error goes to stderr only): ask the lock.
        if "Cannot lock file" in str(exc) or (is_embedded(dsn) and embedded_in_use(dsn)):
            raise EngineBusy(
                f"the embedded ClickHouse data at {urlsplit(dsn).path} is in use by another process "
                "(is the collector running? then go through its admin API)"
            ) from None
        code = _code(exc)
        if code is None:  # not reached: the root cause in one line (connection refused, a timeout)
            raise _unreachable(dsn, exc) from None
        raise StoreError(f"ClickHouse at {_redact(dsn)} refused the connection: {_first_line(exc)}", code) from None


def _unreachable(dsn: str, exc: Exception) -> StoreError:
    """ClickHouse out of reach, said in one line: the root cause (connection refused, a timeout)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return StoreError(f"ClickHouse cannot be reached at {_redact(dsn)}: {_first_line(exc)}")


def _code(exc: Exception) -> int | None:
    code = getattr(exc, "code", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _first_line(exc: Exception) -> str:
    """ClickHouse's message without the stack trace the engine appends."""
    text = str(exc).strip()
    return text.split("\nStack trace", 1)[0].strip()


def _redact(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        return dsn.replace(f":{parts.password}@", ":***@")
    return dsn
