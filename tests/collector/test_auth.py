"""Dashboard access: accounts, login, the session cookie, logout, and refusals of cross-site requests."""

from __future__ import annotations

import http.client
import json
import logging
import shutil
import stat
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from collector import auth, logins
from collector.app import create_app
from collector.cli import main
from collector.logs import Throttle
from collector.users import UserError, Users, users_file
from tests.collector.helpers import serving
from tests.conftest import Client

PASSWORD = "correct horse battery"
ORIGIN = {"origin": "http://testserver"}


@pytest.fixture(scope="session")
def accounts(tmp_path_factory):
    """A users.json with the viewer "elie" (Argon2 is slow on purpose: hashed once for the session)."""
    path = tmp_path_factory.mktemp("accounts")
    Users(path).add("elie", PASSWORD)
    return users_file(path)


@pytest.fixture
def client(settings, store, accounts):
    shutil.copy(accounts, users_file(settings.data_dir))
    with Client(create_app(settings)) as c:
        yield c


def login(client, name="elie", password=PASSWORD, headers=ORIGIN, target="/dashboard"):
    return client.post("/dashboard/login", data={"name": name, "password": password, "next": target},
                       headers=headers, follow_redirects=False)


def csrf_of(client) -> str:
    page = client.get("/dashboard").text
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def test_the_accounts_file_is_private_and_holds_no_password(tmp_path):
    users = Users(tmp_path)
    users.add("ops", "a long enough password")
    path = users_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "a long enough password" not in text
    assert json.loads(text)["users"][0]["password_hash"].startswith("$argon2id$")
    assert users.verify("ops", "a long enough password").role == "viewer"
    assert users.verify("ops", "a wrong password!!") is None
    assert users.verify("nobody", "a long enough password") is None


def test_an_unknown_name_is_checked_against_a_decoy_hash_as_costly_as_an_accounts():
    """The decoy (a constant, not hashed at import) has the hasher's parameters, so a wrong name takes as long
    as a wrong password; it verifies as a hash (a malformed one would fail at once, without the work)."""
    from argon2.exceptions import VerifyMismatchError

    from collector import users as users_mod

    assert not users_mod._hasher.check_needs_rehash(users_mod._DECOY)
    with pytest.raises(VerifyMismatchError):
        users_mod._hasher.verify(users_mod._DECOY, "a long enough password")


@pytest.mark.parametrize("name, password, message", [
    ("bad name", "long enough pw", 'not a valid account name'),
    ("ok", "short", "too short: at least 10 characters"),
])
def test_account_mistakes_are_explained(tmp_path, name, password, message):
    with pytest.raises(UserError, match=message):
        Users(tmp_path).add(name, password)


def test_the_dashboard_asks_for_a_login_first(client):
    r = client.get("/dashboard?period=7d", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/login?next=/dashboard%3Fperiod%3D7d"
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'name="password"' in page.text


def test_login_sets_an_httponly_samesite_cookie_and_no_token_in_the_url(client):
    r = login(client, target="/dashboard?period=7d")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?period=7d"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = cookie.split("=", 1)[1].split(";", 1)[0]
    assert token not in r.headers["location"]
    page = client.get("/dashboard")
    assert page.status_code == 200 and 'name="csrf-token"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_wrong_password_goes_back_to_the_login_page_saying_so(client):
    r = login(client, password="not the password")
    assert r.status_code == 303 and r.headers["location"].startswith("/dashboard/login?error=failed")
    assert auth.COOKIE not in r.headers.get("set-cookie", "")
    assert "Wrong account name or password" in client.get(r.headers["location"], headers={"accept-language": "en"}).text
    assert "Identifiant ou mot de passe incorrect" in client.get(r.headers["location"]).text


def test_logins_wait_after_many_failures(client, monkeypatch):
    monkeypatch.setattr(logins, "MAX_FAILURES", 2)
    assert "error=failed" in login(client, password="wrong one 1").headers["location"]
    assert "error=failed" in login(client, password="wrong one 2").headers["location"]
    # The right password too, from this client: its logins to the account wait for the window to pass.
    r = login(client)
    assert "error=throttled" in r.headers["location"] and 0 < int(r.headers["retry-after"]) <= logins.FAILURE_WINDOW
    assert "Too many failed attempts" in client.get(r.headers["location"], headers={"accept-language": "en"}).text


@pytest.fixture
def server(settings, store, accounts):
    """The app behind a real HTTP server, for logins from several clients: a request sent with
    `X-Forwarded-For` comes from that address, as from a reverse proxy uvicorn trusts (127.0.0.1)."""
    shutil.copy(accounts, users_file(settings.data_dir))
    app = create_app(settings)
    with serving(app) as url:
        yield app, url


def login_from(url: str, address: str, name: str = "elie", password: str = PASSWORD) -> tuple[int, dict[str, str]]:
    """POST /dashboard/login from a client address: the status and the headers (lower-case names)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.request("POST", "/dashboard/login", urllib.parse.urlencode({"name": name, "password": password}),
                     {"content-type": "application/x-www-form-urlencoded", "x-forwarded-for": address})
        r = conn.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


def test_failures_from_one_client_hold_that_client_not_the_owner_elsewhere(server):
    """Ten wrong passwords for an account are no remote lock-out: the client that sent them waits, the account's
    owner logs in from their own address."""
    _, url = server
    attacker, owner = "203.0.113.5", "198.51.100.7"
    for i in range(logins.MAX_FAILURES):
        assert "error=failed" in login_from(url, attacker, password=f"wrong one {i}")[1]["location"]
    status, headers = login_from(url, owner)
    assert status == 303 and headers["location"] == "/dashboard" and auth.COOKIE in headers["set-cookie"]
    for name in ("elie", "elie "):  # the name as the form gives it, spaces around taken off
        status, headers = login_from(url, attacker, name)
        assert status == 303 and "error=throttled" in headers["location"] and int(headers["retry-after"]) > 0


def test_unknown_accounts_count_toward_their_client_s_failures(server, monkeypatch):
    """Names tried at random, each once, hold their client's logins like wrong passwords do."""
    _, url = server
    monkeypatch.setattr(logins, "MAX_CLIENT_FAILURES", 3)
    for i in range(3):
        assert "error=failed" in login_from(url, "203.0.113.9", f"nobody-{i}", "a guess at random")[1]["location"]
    status, headers = login_from(url, "203.0.113.9")
    assert status == 303 and "error=throttled" in headers["location"] and int(headers["retry-after"]) > 0
    assert login_from(url, "203.0.113.10")[1]["location"] == "/dashboard"  # another client logs in


def test_a_burst_of_logins_beyond_the_cap_is_told_to_come_back_without_a_password_check(server, monkeypatch):
    """While MAX_CHECKS password checks run, further attempts (here from many addresses, random names: a flood
    no count per client or account holds) are answered busy at once, not queued on the thread pool."""
    app, url = server
    users = app.state.sessions.users
    verify, lock = users.verify, threading.Lock()
    entered, release = threading.Event(), threading.Event()
    calls, running, most = [], [0], [0]

    def counted(name, password):
        with lock:
            calls.append(name)
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            if name == "elie":  # the first check is held until the burst has been answered
                entered.set()
                release.wait(120)
            return verify(name, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(users, "verify", counted)
    first = ThreadPoolExecutor(1).submit(login_from, url, "192.0.2.1")
    assert entered.wait(120), "the first login's password check did not start"
    with ThreadPoolExecutor(8) as pool:
        burst = list(pool.map(lambda i: login_from(url, f"198.51.100.{i}", f"random-{i}", "a guess"), range(16)))
    held = calls.copy()  # the first check is still running: nothing else may have started
    release.set()
    status, headers = first.result(120)
    assert held == ["elie"] and most[0] == logins.MAX_CHECKS == 1
    assert all(s == 303 and "error=busy" in h["location"] and h["retry-after"] == str(logins.BUSY_RETRY)
               for s, h in burst), burst
    assert headers["location"] == "/dashboard"  # the first login went through
    assert "error=failed" in login_from(url, "198.51.100.1", "random-1", "a guess")[1]["location"]  # its place is free
    busy = urllib.request.Request(url + burst[0][1]["location"], headers={"accept-language": "en"})
    page = urllib.request.urlopen(busy, timeout=120)
    assert "Too many logins at this moment: try again in a few seconds." in page.read().decode()


def test_a_cross_site_login_is_refused(client):
    r = login(client, headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    assert auth.COOKIE not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/dashboard", "/api/sql",
                                    "/dashboard/login", "/\\evil.example"])
def test_after_login_only_the_dashboard_is_a_destination(client, target):
    assert login(client, target=target).headers["location"] == "/dashboard"


def test_logout_needs_the_csrf_token_then_ends_the_session(client):
    login(client)
    token = csrf_of(client)
    refused = client.post("/dashboard/logout", data={"csrf": "forged"}, headers=ORIGIN, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/dashboard", follow_redirects=False).status_code == 200
    r = client.post("/dashboard/logout", data={"csrf": token}, headers=ORIGIN, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login?bye=1"
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_stolen_cookie_is_useless_after_logout(client):
    login(client)
    stolen = client.cookies[auth.COOKIE]
    client.post("/dashboard/logout", data={"csrf": csrf_of(client)}, headers=ORIGIN)
    client.cookies.set(auth.COOKIE, stolen)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    ended = client.get("/api/reports/overview", headers=ORIGIN)
    assert (ended.status_code, ended.json()["error"]) == (
        401, "the dashboard session has ended (logged out, expired or replaced): log in again at /dashboard/login")


def test_removing_an_account_ends_its_sessions(client, settings):
    login(client)
    assert client.get("/dashboard", follow_redirects=False).status_code == 200
    r = CliRunner().invoke(main, ["users", "remove", "elie", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0, r.output
    assert "1 session ended" in r.output
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(client, settings):
    """A password reset after a leak: whoever logged in with the old password is logged out."""
    login(client)
    assert client.get("/dashboard", follow_redirects=False).status_code == 200
    r = CliRunner().invoke(main, ["users", "add", "elie", "--replace", "--password-stdin", "--data-dir",
                                  str(settings.data_dir)], input="another fine password\n")
    assert r.exit_code == 0, r.output
    assert 'account "elie" (viewer) updated; 1 session ended' in r.output
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_session_files_hold_no_usable_token(client, settings):
    login(client)
    token = client.cookies[auth.COOKIE]
    files = list((settings.data_dir / "sessions").iterdir())
    assert len(files) == 1 and token not in files[0].name and token not in files[0].read_text()
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_an_account_holds_at_most_max_sessions_the_oldest_ended_first(tmp_path, accounts):
    """A script logging in again and again made a file per login, which only its expiry removed."""
    shutil.copy(accounts, users_file(tmp_path))
    sessions = auth.Sessions(tmp_path, Users(tmp_path))
    tokens = [sessions.create("elie", "viewer")[0] for _ in range(auth.MAX_SESSIONS + 5)]
    assert len(list((tmp_path / "sessions").iterdir())) == auth.MAX_SESSIONS
    assert [sessions.get(t) is not None for t in tokens] == [False] * 5 + [True] * auth.MAX_SESSIONS
    sessions.create("someone-else", "viewer")  # another account's are its own
    assert sessions.get(tokens[-1]) is not None and len(list((tmp_path / "sessions").iterdir())) == 21


@pytest.mark.parametrize("headers, allowed", [
    ({"origin": "http://testserver"}, True),
    ({}, True),  # not a browser, or a same-origin GET (browsers omit Origin there)
    ({"sec-fetch-site": "same-origin"}, True),
    ({"origin": "https://evil.example"}, False),
    ({"origin": "null"}, False),
    ({"sec-fetch-site": "cross-site"}, False),
])
def test_same_origin(headers, allowed):
    from starlette.datastructures import Headers
    assert auth.same_origin(Headers({"host": "testserver", **headers}), "http") is allowed


def test_users_commands(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["users", "add", "marie", "--data-dir", str(tmp_path), "--password-stdin"],
                      input="a fine password\n")
    assert r.exit_code == 0, r.output
    again = runner.invoke(main, ["users", "add", "marie", "--data-dir", str(tmp_path), "--password-stdin"],
                          input="a fine password\n")
    assert again.exit_code == 1 and 'an account "marie" exists already' in again.output
    listed = runner.invoke(main, ["users", "list", "--data-dir", str(tmp_path), "--format", "json"])
    rows = json.loads(listed.output)
    assert [(r["name"], r["role"]) for r in rows] == [("marie", "viewer")]
    assert "hash" not in listed.output
    gone = runner.invoke(main, ["users", "remove", "nobody", "--data-dir", str(tmp_path)])
    assert gone.exit_code == 1 and 'no account "nobody"' in gone.output


def test_the_api_mount_lets_a_viewer_session_read_reports_only(client):
    login(client)
    token = csrf_of(client)
    with_csrf = {"x-csrf-token": token, **ORIGIN}
    # Past the mount's check (no such report here: the reports' own route answers), with the CSRF header...
    assert client.get("/api/reports/anything", headers=with_csrf).status_code != 401
    # ...refused without it, with a forged one, or from another site, each saying why in a session's words (an
    # outside tester's finding: each spoke of an admin token a viewer never has).
    refused = lambda r: (r.status_code, r.json()["error"].split(" ")[:4])  # noqa: E731
    assert refused(client.get("/api/reports/anything")) == (401, ["missing", "or", "wrong", "X-CSRF-Token"])
    assert refused(client.get("/api/reports/anything", headers={"x-csrf-token": "forged"})) == (
        401, ["missing", "or", "wrong", "X-CSRF-Token"])
    assert refused(client.get("/api/reports/anything", headers={**with_csrf, "origin": "https://evil.example"})) == (
        401, ["refused:", "the", "request", "comes"])
    # Everything else under /api is the admin token's alone.
    assert refused(client.post("/api/sql", content="SELECT 1", headers=with_csrf)) == (
        401, ["a", "dashboard", "session", "reads"])
    assert client.get("/api/export?table=events", headers=with_csrf).status_code == 401
    assert client.post("/api/rejected/replay?since=1d", headers=with_csrf).status_code == 401
    assert client.get("/api/reports/anything", headers={"authorization": "Bearer admin-test-token"}).status_code != 401


def test_a_phone_typed_as_the_account_name_is_masked_in_the_log(client, monkeypatch, caplog):
    # Outside probe: "login: refused for account '06 68 31 23 85'" on stderr; the throttled line likewise.
    monkeypatch.setattr(logins, "MAX_FAILURES", 1)
    monkeypatch.setattr(auth, "_refusals", Throttle(auth.log))  # not throttled by the lines of other tests
    with caplog.at_level(logging.INFO, logger="parcours"):
        login(client, name="06 68 31 23 85", password="wrong")
        assert "error=throttled" in login(client, name="06 68 31 23 85", password="wrong").headers["location"]
    logged = "\n".join(r.getMessage() for r in caplog.records if "login" in r.getMessage())
    assert "refused for account '[redacted]'" in logged and "account '[redacted]' or from its client" in logged
    assert "68 31" not in logged


@pytest.mark.parametrize("target,kept", [
    ("/dashboard?period=7d#attribution", "/dashboard?period=7d#attribution"),
    ("/dashboard#quality", "/dashboard#quality"),
    ('/dashboard?period=7d#"><img src=x onerror=alert(1)>', "/dashboard?period=7d"),
    ("/dashboard#//evil.example", "/dashboard"),
    ("https://evil.example/#attribution", "/dashboard"),
])
def test_after_login_a_panels_fragment_is_kept_and_no_other(client, target, kept):
    """The login page's script carries a shared link's panel (#attribution) into `next`; a fragment that is no
    panel's id is dropped from the destination (the login page writes it back into its form and its link)."""
    assert login(client, target=target).headers["location"] == kept
