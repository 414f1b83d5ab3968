"""The admin API of a collector whose ClickHouse server went away: 503 saying so, never a 400 blaming the request."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from e2e.conftest import ADMIN_TOKEN, start_collector, stop_collector
from e2e.test_workers import ClickHouseFront

CALLS = [("POST", "/api/sql", b"SELECT count() FROM parcours.events"), ("GET", "/api/rejected/summary", None),
         ("GET", "/api/export?table=events", None), ("POST", "/api/rejected/replay?since=1h", None)]


def _call(url: str, method: str, path: str, body: bytes | None) -> tuple[int, dict]:
    req = urllib.request.Request(f"{url}{path}", data=body, method=method,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_admin_endpoints_answer_503_while_clickhouse_is_down(tmp_path):
    front = ClickHouseFront(tmp_path)
    proc, url, log = start_collector(tmp_path, "--clickhouse", front.dsn)
    try:
        assert [_call(url, *call)[0] for call in CALLS] == [200, 200, 200, 200]  # while it answers
        front.stop()
        for method, path, body in CALLS:
            status, doc = _call(url, method, path, body)
            assert status == 503, (path, status, doc, log.read_text())
            assert f"ClickHouse cannot be reached at {front.dsn}: [Errno 111] Connection refused" in doc["error"]
    finally:
        stop_collector(proc)
        if front.proc.poll() is None:
            front.stop()
