"""`parcours keys create|list|revoke` as an operator runs them (in a process of its own: chDB allows one
data directory per process)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def parcours(*args):
    return subprocess.run([sys.executable, "-m", "collector", *args], capture_output=True, timeout=180, cwd=ROOT)


def test_a_key_is_shown_once_listed_by_its_start_and_revoked(tmp_path):
    where = ["--data-dir", str(tmp_path)]
    r = parcours("keys", "create", "call_centre", "--description", "CRC telephony", *where)
    assert r.returncode == 0, r.stderr
    key = r.stdout.decode().strip()
    assert key.startswith("wk_") and len(key) == 35
    assert r.stderr.decode().startswith('write key for source "call_centre": shown this once, parcours keeps only')
    r = parcours("keys", "list", "--format", "json", *where)
    (listed,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert (listed["key"], listed["source"], listed["description"], listed["revoked_at"]) == (
        key[:10], "call_centre", "CRC telephony", None)
    assert key not in r.stdout.decode()
    r = parcours("keys", "revoke", key[:10], *where)
    assert r.returncode == 0 and r.stdout.decode().startswith(f'revoked {key[:10]}… (source "call_centre") at ')
    assert parcours("keys", "list", "--format", "json", *where).stdout == b""
    r = parcours("keys", "revoke", "wk_nothere", *where)
    assert r.returncode == 1
    assert r.stderr.decode() == 'Error: no write key "wk_nothere…": `parcours keys list --all` shows them\n'
    r = parcours("keys", "create", "Back-Office", *where)
    assert r.returncode == 1 and "a source is named in lower-case letters" in r.stderr.decode()
