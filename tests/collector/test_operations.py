"""Operations settings as a user meets them: workers with the embedded engine, JSON logs, health endpoints."""

from __future__ import annotations

import json
import logging
import socket

from click.testing import CliRunner
from starlette.testclient import TestClient

from collector import logs
from collector.app import create_app
from collector.cli import main
from tests.conftest import EXAMPLE_PLAN


def test_several_workers_on_the_embedded_engine_are_refused_clearly(tmp_path):
    r = CliRunner(env={"PARCOURS_SECRET": "s"}).invoke(
        main, ["serve", "--plan", str(EXAMPLE_PLAN), "--data-dir", str(tmp_path), "--workers", "2"])
    assert r.exit_code == 1
    assert "--workers 2 needs a ClickHouse server" in r.output
    assert "Traceback" not in r.output


def test_every_durability_setting_has_a_flag_and_an_environment_variable():
    text = CliRunner().invoke(main, ["serve", "--help"]).output
    for flag in ("--wal-dir", "--wal-max-bytes", "--wal-segment-bytes", "--wal-fsync", "--batch-rows",
                 "--batch-age", "--retry-max", "--retry-after", "--shutdown-timeout", "--workers", "--log-format"):
        assert flag in text
    serve = main.commands["serve"]
    assert all(p.envvar and p.envvar.startswith("PARCOURS_") for p in serve.params if p.name != "help")


def test_json_log_lines(capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("info", "json")
    try:
        logging.getLogger("parcours.writer").warning("insert failed: %s", "boom", extra={"batch": "1-4"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["level"] == "warning" and line["logger"] == "parcours.writer"
    assert line["message"] == "insert failed: boom" and line["batch"] == "1-4"
    assert line["ts"].endswith("+00:00")


def test_health_and_readiness(settings, store):
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "wal_records": 0, "wal_bytes": ready.json()["wal_bytes"]}
        assert client.get("/metrics").headers["content-type"].startswith("text/plain")


def test_several_workers_with_a_server_out_of_reach_stop_before_starting_them(tmp_path):
    """`--workers N` migrates once in the parent process, before the workers (which would race each other):
    a server out of reach is a clear error there, not N workers failing their start-up."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    r = CliRunner(env={"PARCOURS_SECRET": "s"}).invoke(main, [
        "serve", "--plan", str(EXAMPLE_PLAN), "--data-dir", str(tmp_path), "--workers", "2",
        "--clickhouse", f"http://127.0.0.1:{port}"])
    assert r.exit_code == 1
    assert f"cannot connect to ClickHouse at http://127.0.0.1:{port}" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "wal").exists()  # no worker started


def test_an_answer_cut_off_on_purpose_is_one_log_line_not_a_traceback(capsys):
    from collector.errors import Cutoff

    server = logging.getLogger("parcours.test.server")  # as uvicorn logs an app's exception (its level may be set)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("info", "text")
    try:
        logging.getLogger("parcours.admin").error("/api/export stopped after its 200 was sent")
        try:
            raise Cutoff("/api/export: ClickHouse cannot be reached")
        except Cutoff as exc:
            server.error("Exception in ASGI application\n", exc_info=exc)
        try:
            raise RuntimeError("a bug")
        except RuntimeError as exc:
            server.error("Exception in ASGI application\n", exc_info=exc)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "/api/export stopped after its 200 was sent" in err
    assert "Cutoff" not in err
    assert err.count("Traceback") == 1 and "RuntimeError: a bug" in err  # a real bug keeps its traceback
