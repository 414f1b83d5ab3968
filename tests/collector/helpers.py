"""Helpers for collector tests: events in the tag's wire format, posting them, reading rows back."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from collector.storage import StoreError


def event(e="page_view", **fields) -> dict:
    now = int(time.time() * 1000)
    return {"id": str(uuid.uuid4()), "e": e, "t": now, "q": 1, "vid": "v1", "sid": "s1",
            "url": "https://www.motoassur.example/devis?courtier=B042", **fields}


def post(client, *events, sent=None, headers=None):
    body = {"sent": sent or int(time.time() * 1000), "events": list(events)}
    return client.post("/collect", content=json.dumps(body), headers={"content-type": "text/plain", **(headers or {})})


def counts(response) -> dict[str, int]:
    """What POST /collect answered for a batch it took: 204, the counts in two headers."""
    assert response.status_code == 204, (response.status_code, response.text)
    assert response.content == b""
    return {"accepted": int(response.headers["x-parcours-accepted"]),
            "rejected": int(response.headers["x-parcours-rejected"])}


def rows(store, sql, **parameters):
    result = store.query(sql.replace("parcours.", f"{store.database}."), parameters=parameters or None)
    return [dict(zip(result.columns, r)) for r in result.rows]


class Outage:
    """Wraps the real store at the writer's boundary (its sink): refuses inserts while `down`, then lets them
    through. A fault-injection seam, not a database mock: rows land in the real engine once it is back."""

    def __init__(self, store, down: bool = True):
        self.store, self.down, self.attempts = store, down, 0

    def insert_lines(self, table, data, token=None):
        self._check()
        self.store.insert_lines(table, data, token)

    def missing_lines(self, table, data):
        self._check()
        return self.store.missing_lines(table, data)

    def _check(self):
        self.attempts += 1
        if self.down:
            raise StoreError("insert into events failed: Connection refused (injected outage)")


class DiskFull:
    """The disk filled up while `full`: writes at a position and syncs fail with ENOSPC, and statvfs says no
    byte is free; then space comes back. A fault-injection seam at the OS calls the log makes (no tmpfs,
    no root): everything above them is real."""

    def __init__(self, monkeypatch, full: bool = False):
        self.full = full
        for name in ("pwrite", "fsync", "fdatasync"):
            monkeypatch.setattr(os, name, self._failing(getattr(os, name)))
        statvfs = os.statvfs
        monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_bavail=0, f_frsize=4096)
                            if self.full else statvfs(path))

    def _failing(self, call):
        def failing(*args):
            if self.full:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return call(*args)
        return failing


def wait_for(predicate, timeout=30.0):
    """Poll until `predicate()` holds; fail when it does not within `timeout` (a bound, not a speed claim)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def run_async(coro):
    """asyncio.run(coro) on a thread of its own. pytest-playwright's session-wide browser leaves its event loop
    registered as running on the main thread, where asyncio.run then refuses to start: a test run after a
    browser test in the same process (pytest-xdist's workers) would fail for that alone."""
    with ThreadPoolExecutor(1, thread_name_prefix="test-loop") as thread:
        return thread.submit(asyncio.run, coro).result()


def files_written(root):
    """(path, bytes) of every file under `root`, as a running engine leaves them: a temporary part that
    ClickHouse renames or removes during the walk is skipped (its rows are in the part it became)."""
    for folder, _, names in os.walk(root):  # a folder gone meanwhile is skipped, not an error
        for name in names:
            path = Path(folder) / name
            try:
                yield path, path.read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue


@contextmanager
def serving(app, **options) -> Iterator[str]:
    """The app behind a real HTTP server on a free local port, as `parcours serve` runs it (with uvicorn's
    `options`, e.g. connections.server_options(settings)): its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical", log_config=None, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
