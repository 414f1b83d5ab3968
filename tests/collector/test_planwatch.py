"""Hot reload: a changed plan file is served without restart; a broken one is refused and the old plan kept."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid

import pytest

from collector import planwatch
from collector.app import create_app
from tests.collector.helpers import counts
from tests.conftest import Client, EXAMPLE_PLAN

TOKEN = {"Authorization": "Bearer admin-test-token"}
NEW_EVENT = "  quote_shared:\n    properties:\n      channel: {type: enum, values: [email, whatsapp]}\n"


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(EXAMPLE_PLAN.read_text())
    return path


@pytest.fixture
def client(settings, store, plan_file, monkeypatch):
    monkeypatch.setattr(planwatch, "POLL_SECONDS", 0.05)
    with Client(create_app(dataclasses.replace(settings, plan=plan_file))) as c:
        yield c


def edited(version: str, extra_event: str = "") -> str:
    text = EXAMPLE_PLAN.read_text().replace('"2026.11.1"', f'"{version}"')
    return text.replace("events:\n", "events:\n" + extra_event, 1)


def wait_for(predicate, what: str, seconds: float = 30.0):  # a bound for a failure, not a speed claim
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def tag_config(client) -> dict:
    body = client.get("/t.js").text
    text = body[body.index('{"v":'):]
    addons = text.find(',"a":[')  # the add-ons spliced in are functions, not JSON (collector/tag.py)
    return json.JSONDecoder().raw_decode(text[:addons] + "}" if addons != -1 else text)[0]


def collect(client, e, **fields):
    ev = {"id": str(uuid.uuid4()), "e": e, "t": int(time.time() * 1000), "vid": "v", "sid": "s", **fields}
    return counts(client.post("/collect", content=json.dumps({"events": [ev]}), headers={"content-type": "text/plain"}))


def test_a_changed_file_is_served_without_restart(client, store, plan_file):
    assert collect(client, "quote_shared", p={"channel": "email"}) == {"accepted": 0, "rejected": 1}
    before = client.get("/t.js").headers["etag"]
    plan_file.write_text(edited("2026.12.0", NEW_EVENT).replace(
        "      - {id: contact, label: Vos coordonnées}\n", "      - {id: contact, label: Vos coordonnées}\n      - {id: done}\n"))
    wait_for(lambda: client.get("/healthz").json()["plan_version"] == "2026.12.0", "the new plan")
    assert tag_config(client)["f"]["moto_quote"][-1] == "done"
    assert tag_config(client)["v"] == "2026.12.0"
    assert client.get("/t.js").headers["etag"] != before
    assert collect(client, "quote_shared", p={"channel": "email"}) == {"accepted": 1, "rejected": 0}
    got = store.query(f"SELECT event, plan_version FROM {store.database}.events").rows
    assert got == [["quote_shared", "2026.12.0"]]
    got = store.query(f"SELECT event, plan_version FROM {store.database}.rejected_events").rows
    assert got == [["quote_shared", "2026.11.1"]]


def test_a_broken_file_is_refused_and_the_old_plan_keeps_serving(client, plan_file, caplog):
    watcher = client.app.state.plan_watcher
    caplog.set_level(logging.ERROR, logger="parcours.plan")
    plan_file.write_text(edited("2026.12.0").replace("consent: exempt", "consent: exemt"))
    wait_for(lambda: any("plan reload refused" in r.message for r in caplog.records), "the refusal in the log")
    assert any(':10: "exemt" is not allowed' in r.getMessage() for r in caplog.records)
    assert client.get("/healthz").json()["plan_version"] == "2026.11.1"
    assert tag_config(client)["v"] == "2026.11.1"
    assert collect(client, "page_view") == {"accepted": 1, "rejected": 0}
    # Fixed: the next change is picked up.
    plan_file.write_text(edited("2026.12.1"))
    wait_for(lambda: client.get("/healthz").json()["plan_version"] == "2026.12.1", "the fixed plan")
    assert watcher.stamp[0][0] == str(plan_file)


@pytest.fixture
def endpoint_client(settings, store, plan_file, monkeypatch):
    """A client whose watcher does not poll within the test: only the endpoint reloads (with the 50 ms poll of
    `client`, the watcher could reload first under load, and the endpoint then saw no previous version)."""
    monkeypatch.setattr(planwatch, "POLL_SECONDS", 3600)
    with Client(create_app(dataclasses.replace(settings, plan=plan_file))) as c:
        yield c


def test_reload_endpoint(endpoint_client, plan_file):
    client = endpoint_client
    plan_file.write_text(edited("2026.12.0"))
    r = client.post("/api/plan/reload", headers=TOKEN)
    assert r.status_code == 200
    assert r.json() == {"reloaded": True, "version": "2026.12.0", "previous_version": "2026.11.1"}
    plan_file.write_text(edited("2026.12.1").replace("      slot: {type: enum, values: [morning, afternoon, evening]}\n",
                                                    "      slot: {type: enum}\n"))
    r = client.post("/api/plan/reload", headers=TOKEN)
    assert r.status_code == 422
    body = r.json()
    assert body["reloaded"] is False and body["version"] == "2026.12.0"
    assert body["error"] == "the plan has errors; the previous plan keeps serving"
    assert [(e["line"], e["message"]) for e in body["errors"]] == [(40, 'property "slot": type enum needs a list of values')]
    assert client.get("/healthz").json()["plan_version"] == "2026.12.0"


def test_a_change_without_a_version_bump_is_served_with_a_warning(client, plan_file, caplog):
    caplog.set_level(logging.WARNING, logger="parcours.plan")
    plan_file.write_text(edited("2026.11.1", NEW_EVENT))
    assert client.post("/api/plan/reload", headers=TOKEN).json()["reloaded"] is True
    assert "quote_shared" in client.app.state.plan.events
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        'the plan changed but its version is still "2026.11.1": stored events cannot tell the two apart; bump version'
    ]


def test_reload_endpoint_needs_the_admin_token(client):
    assert client.post("/api/plan/reload").status_code == 401
    r = client.post("/api/plan/reload", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and "admin token" in r.json()["error"]


def test_a_changed_broker_csv_is_reloaded(settings, store, tmp_path, monkeypatch):
    monkeypatch.setattr(planwatch, "POLL_SECONDS", 0.05)
    (tmp_path / "brokers.csv").write_text("id,name,lever\nB1,Un,broker\n")
    plan = tmp_path / "csvplan.yaml"
    plan.write_text('version: "1"\ncapture: {broker: {param: courtier}}\nbrokers: brokers.csv\nlevers: {names: [broker]}\n')
    with Client(create_app(dataclasses.replace(settings, plan=plan))) as c:
        assert set(c.app.state.plan.brokers) == {"B1"}
        (tmp_path / "brokers.csv").write_text("id,name,lever\nB1,Un,broker\nB2,Deux,broker\n")
        wait_for(lambda: set(c.app.state.plan.brokers) == {"B1", "B2"}, "the new broker table")
