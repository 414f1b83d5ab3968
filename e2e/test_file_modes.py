"""The data directory and everything the collector writes in it are its user's only (0700/0600)."""

from __future__ import annotations

import json
import stat
import time
import urllib.request

from e2e.conftest import start_collector, stop_collector
from tests.collector.helpers import event


def test_data_directory_and_files_are_private(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an operator might have made it
    proc, url, log = start_collector(data)
    try:
        body = json.dumps({"sent": int(time.time() * 1000), "events": [event(), event("nope")]}).encode()
        req = urllib.request.Request(f"{url}/collect", data=body, headers={"content-type": "text/plain"})
        assert urllib.request.urlopen(req, timeout=30).status == 204
    finally:
        stop_collector(proc)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    made = [p for p in data.rglob("*") if p.name not in ("admin-token", "collector.log")]  # those the test wrote
    assert any(p.suffix == ".wal" for p in made) and any("clickhouse" in p.parts for p in made)
    loose = [(str(p.relative_to(data)), oct(stat.S_IMODE(p.lstat().st_mode))) for p in made
             if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert loose == []


def test_secrets_an_older_version_left_readable_are_made_private(tmp_path):
    """An older version wrote the generated secrets with the umask (0644): they are made 0600 at start, each
    said in one warning line; a secret the collector cannot make private stops it, saying how to fix it."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    loose = {"secret": 0o644, "leads-key": 0o640, "leads-webhook-secret": 0o604, "users.json": 0o644}
    for name, mode in loose.items():
        (data / name).write_text('{"users": []}\n' if name == "users.json" else "old-secret\n")
        (data / name).chmod(mode)
    proc, url, log = start_collector(data, "--demo")
    stop_collector(proc)
    for name in (*loose, "admin-token"):  # admin-token: written by start_collector with the test's umask
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    assert (data / "secret").read_text() == "old-secret\n"  # the same secret, only its mode changed
    said = log.read_text()
    for name, mode in loose.items():
        assert f"{data / name} was readable by other users (mode {mode:04o}): made 0600" in said
