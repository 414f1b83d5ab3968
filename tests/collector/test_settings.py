"""Settings: configurable tag and collect paths, limits, cluster, and refusals that say why."""

from __future__ import annotations

from dataclasses import replace

import pytest

from collector.app import create_app
from collector.pixel import GIF
from collector.settings import SettingsError, build, check
from tests.collector.helpers import counts, event, rows
from tests.conftest import Client


@pytest.mark.parametrize("tag_path, collect_path, endpoint", [
    ("/t.js", "/collect", "collect"),
    ("/p/a.js", "/p/e", "e"),
    ("/static/js/t.js", "/in", "../../in"),
    ("/a.js", "/x/y", "x/y"),
])
def test_the_tag_is_told_the_collect_path_relative_to_itself(settings, tag_path, collect_path, endpoint):
    assert replace(settings, tag_path=tag_path, collect_path=collect_path).tag_endpoint == endpoint


def test_first_party_paths(settings, store):
    proxied = replace(settings, tag_path="/p/a.js", collect_path="/p/e")
    with Client(create_app(proxied)) as c:
        tag = c.get("/p/a.js")
        assert tag.status_code == 200 and '"e":"e"' in tag.text
        body = '{"events": [%s]}' % __import__("json").dumps(event())
        assert counts(c.post("/p/e", content=body, headers={"content-type": "text/plain"}))["accepted"] == 1
        assert c.get("/p/e?e=page_view").content == GIF
        assert c.options("/p/e", headers={"origin": "http://localhost:8000"}).status_code == 204
        assert c.get("/t.js").status_code == 404 and c.post("/collect", content=body).status_code == 404
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 2}]


@pytest.mark.parametrize("changes, message", [
    ({"tag_path": "t.js"}, '--tag-path "t.js": expected an absolute path such as /p/e, without a query'),
    ({"collect_path": "/p/e?x=1"}, '--collect-path "/p/e?x=1": expected an absolute path such as /p/e, without a query'),
    ({"collect_path": "/api/collect"}, '--collect-path "/api/collect": /api/, /v1/, /healthz, /readyz, /metrics, /demo, '
                                        '/dashboard '
                                       "are the collector's own paths"),
    ({"tag_path": "/x", "collect_path": "/x"}, "--tag-path and --collect-path must differ"),
    ({"max_event": 2_000_000}, "--max-event (2000000) cannot be larger than --max-body (1000000)"),
    ({"cluster": "analytics"}, "--cluster needs a ClickHouse server (--clickhouse http://…), not the embedded engine"),
    ({"cluster": "a;b", "clickhouse": "http://h:8123"}, '--cluster "a;b": use the cluster name of the server\'s remote_servers'),
    ({"database": "x-y"}, '--database "x-y": use letters, digits and underscores'),
])
def test_settings_that_cannot_work_are_refused(settings, changes, message):
    with pytest.raises(SettingsError) as exc:
        check(replace(settings, **changes))
    assert str(exc.value) == message


@pytest.mark.parametrize("given, message, kept", [
    ({}, "PARCOURS_SECRET is not set: it keys the hash of phone numbers and must stay the same across restarts. "
         "Set it (e.g. `export PARCOURS_SECRET=$(openssl rand -hex 32)`), or run with --demo to generate one in "
         "the data directory.", "secret"),
    ({"secret": "s", "leads_webhook": "https://crm.example/leads"},
     "PARCOURS_LEADS_WEBHOOK is set but not PARCOURS_LEADS_WEBHOOK_SECRET, which signs each delivery so the call "
     "centre's tool can tell it comes from parcours: set it (e.g. `openssl rand -hex 32`) and give it to the tool, "
     "or run with --demo to generate one in the data directory.", "leads-webhook-secret"),
])
def test_a_secret_not_given_is_refused_or_generated_in_demo_mode(tmp_path, given, message, kept):
    args = {"plan": "plan.yaml", "data_dir": str(tmp_path), "clickhouse": None, "admin_token": None, "secret": None,
            **given}
    with pytest.raises(SettingsError) as refused:
        build(**args, demo=False)
    assert str(refused.value) == message
    assert not (tmp_path / kept).exists()
    first, again = build(**args, demo=True), build(**args, demo=True)
    generated = (tmp_path / kept).read_text().strip()
    assert len(generated) == 64 and (tmp_path / kept).stat().st_mode & 0o777 == 0o600
    value = {"secret": first.secret.decode(), "leads-webhook-secret": first.leads_webhook_secret}[kept]
    assert value == generated and again == first  # kept for the next start


def test_whole_ips_are_stored_only_when_asked_and_then_logged(settings, store, caplog):
    assert not settings.keeps_whole_ip
    whole = replace(settings, ip_v4_bits=32)
    with Client(create_app(whole), client=("203.0.113.77", 5000)) as c:
        c.get("/collect?e=page_view")
    assert "whole IP addresses are stored (--ip-v4-bits 32" in caplog.text
    with Client(create_app(settings), client=("203.0.113.77", 5000)) as c:
        c.get("/collect?e=page_view")
    assert rows(store, "SELECT ip FROM parcours.events ORDER BY ip") == [{"ip": "203.0.113.0"}, {"ip": "203.0.113.77"}]


def test_a_secret_that_cannot_be_made_private_stops_the_start(tmp_path, monkeypatch):
    """A secret others can read and the collector cannot chmod (another user's; here an immutable file, or
    where the file system has no immutable flag (tmpfs, overlayfs) or we are not root, a chmod that fails as
    the kernel's does for another user's file): the start is refused with what to do, rather than the secret
    used as it is. Never skipped."""
    import errno
    import os
    import pathlib
    import subprocess

    from collector import settings as settings_mod

    secret = tmp_path / "secret"
    secret.write_text("old-secret\n")
    secret.chmod(0o644)
    immutable = os.getuid() == 0 and subprocess.run(["chattr", "+i", str(secret)], capture_output=True).returncode == 0
    if not immutable:
        real = pathlib.Path.chmod

        def chmod(path, mode, **kwargs):
            if path == secret:
                raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(path))
            return real(path, mode, **kwargs)

        monkeypatch.setattr(pathlib.Path, "chmod", chmod)
    try:
        with pytest.raises(SettingsError) as refused:
            settings_mod.private(tmp_path)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(secret)], check=True)
    assert str(refused.value) == (
        f"{secret} is readable by other users (mode 0644) and cannot be made private (Operation not permitted): "
        f"run `chmod 600 {secret}` as its owner, and replace the secret if others may have read it")
