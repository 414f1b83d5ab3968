"""Operations settings as a user meets them: workers with the embedded engine, JSON logs, health endpoints."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket

from click.testing import CliRunner
from starlette.testclient import TestClient

from collector import logs
from collector.app import create_app
from collector.cli import main
from tests.collector.helpers import Outage, counts, event, post, wait_for
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


def test_health_and_readiness_report_the_backlog_not_yet_stored(settings, store):
    app = create_app(dataclasses.replace(settings, retry_max=0.2))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok", "plan_version": "2026.11.1"}
        empty = client.get("/readyz")
        assert empty.status_code == 200
        assert empty.json()["status"] == "ready" and empty.json()["wal_records"] == 0
        assert client.get("/metrics").headers["content-type"].startswith("text/plain")

        outage = app.state.writer.sink = Outage(store)
        counts(post(client, event(), event()))
        wait_for(lambda: outage.attempts >= 1)
        behind = client.get("/readyz")
        assert behind.status_code == 503 and behind.json()["wal_records"] == 1  # one request, one record
        assert behind.json()["wal_bytes"] > empty.json()["wal_bytes"]
        assert f"parcours_wal_bytes {float(behind.json()['wal_bytes'])}" in client.get("/metrics").text

        outage.down = False
        app.state.writer.retry_now()
        wait_for(lambda: app.state.wal.depth_records == 0)
        assert client.get("/readyz").json() == {"status": "ready", "wal_records": 0, "wal_bytes": 0}


def test_a_server_out_of_reach_at_start_is_no_reason_to_refuse_events(tmp_path, caplog):
    """`--workers N` migrates once in the parent before the workers start; with the server out of reach it
    says so and starts them anyway (each worker migrates once ClickHouse answers, one at a time: a file
    lock in the data directory). e2e/test_clickhouse_away.py starts a collector that way and checks it."""
    from collector.app import migrate
    from collector.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    settings = Settings(plan=EXAMPLE_PLAN, data_dir=tmp_path, clickhouse=f"http://127.0.0.1:{port}",
                        admin_token="t", secret=b"s", clickhouse_connect_timeout=1)
    assert migrate(settings) is False
    assert f"ClickHouse cannot be reached at http://127.0.0.1:{port}: [Errno 111] Connection refused" in caplog.text
    assert "starting anyway: events are accepted into the write-ahead log" in caplog.text


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


def test_parcours_sql_takes_a_statement_that_begins_with_a_comment_or_reads_it_from_standard_input(tmp_path):
    """The reports' SQL files begin with `-- ` comments (docs/analysts.md): click read one as an option."""
    runner = CliRunner(env={"PARCOURS_SECRET": "s"})
    given = runner.invoke(main, ["sql", "-- why\nSELECT 41 + 1 AS answer", "--data-dir", str(tmp_path), "--format", "tsv"])
    assert given.exit_code == 0, given.output
    assert given.output.splitlines() == ["answer", "42"]
    piped = runner.invoke(main, ["sql", "-", "--data-dir", str(tmp_path), "--format", "tsv"],
                          input="-- a file's SQL\nSELECT 'a' AS x\n")
    assert piped.exit_code == 0, piped.output
    assert piped.output.splitlines() == ["x", "a"]
