"""Dashboard access: viewer sessions, login and logout, and the checks against cross-site requests.

A viewer logs in with a name and password (users.py); the answer sets a random session token in an
HttpOnly, SameSite=Lax cookie (Secure over HTTPS), never in a URL: Lax, not Strict, so that a dashboard
link shared in a webmail or a chat opens the dashboard, not the login page, for a viewer already logged in
(a browser sends a Lax cookie on a top-level GET from another site, never on another site's POST, fetch or
frame; and every API request must also pass the checks below). The server keeps one small file per
session under `<data-dir>/sessions/`, named by the token's SHA-256 (a directory listing gives no usable
token), holding the account, its role, its expiry and the session's CSRF token; every worker process of
one host sees the same sessions, and logout or `parcours users remove` ends them at once.

A request authenticated by the session cookie must also:
- come from this origin: an `Origin` header, when sent, names this host (else `Sec-Fetch-Site`, when sent,
  says same-origin), so a cross-site page's request is refused even if a browser attached the cookie;
- carry the session's CSRF token: in the `X-CSRF-Token` header for the API (a header a cross-site page
  cannot set without a CORS pre-flight, which the collector never grants), in a form field for logout.

What a viewer may reach is decided in one place, `api_access`: the reports API, read-only. Everything else
under /api stays behind the admin token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from collector import logins as logins_mod
from collector.enrich import client_address
from collector.errors import error
from collector.logs import Throttle
from collector.redact import phone_like
from collector.users import Users

log = logging.getLogger("parcours.auth")
_refusals = Throttle(log)
"""Refused logins come in floods too: their lines are throttled, so the log cannot be."""

COOKIE = "parcours_session"
LIFETIME = 12 * 3600
"""Seconds a session lasts from login; then the viewer logs in again."""
VIEWER_PATHS = ("/api/reports/",)
"""The only paths a viewer session may reach (read-only: GET, and POST for parameters kept out of URLs)."""
MAX_SESSIONS = 20
"""Sessions an account may hold at once (browsers, devices); a login past them ends the oldest."""
LOGIN_PATH = "/dashboard/login"
HOME = "/dashboard"
PANEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
"""A panel's id, the only fragment a destination after login keeps (journeys/dashboard/src/login.js PANEL)."""


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str
    expires: float


class Sessions:
    """The sessions of a data directory: one file each, checked against the accounts on every read."""

    def __init__(self, data_dir: Path, users: Users):
        self.dir = Path(data_dir) / "sessions"
        self.users = users

    def _file(self, token: str) -> Path:
        return self.dir / hashlib.sha256(token.encode()).hexdigest()

    def create(self, user: str, role: str) -> tuple[str, Session]:
        """A new session of the account; its oldest ones ended past MAX_SESSIONS (each login made a file that
        only its expiry removed: a script logging in again and again filled the disk)."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        mine = sorted(self.sweep().get(user, []))
        for _, path in mine[:max(0, len(mine) - MAX_SESSIONS + 1)]:
            path.unlink(missing_ok=True)
        token = secrets.token_urlsafe(32)
        session = Session(user, role, secrets.token_urlsafe(32), time.time() + LIFETIME)
        fd = os.open(self._file(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(session.__dict__, fh)
        return token, session

    def get(self, token: str | None) -> Session | None:
        """The live session of this token: not expired, its account still there with the same role."""
        if not token or len(token) > 100:
            return None
        try:
            session = Session(**json.loads(self._file(token).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        user = self.users.get(session.user)
        if session.expires < time.time() or user is None or user.role != session.role:
            self.end(token)
            return None
        return session

    def end(self, token: str) -> None:
        self._file(token).unlink(missing_ok=True)

    def end_user(self, name: str) -> int:
        """End every session of an account (when it is removed); how many there were."""
        ended = 0
        for path in self.dir.glob("*") if self.dir.exists() else ():
            try:
                if json.loads(path.read_text()).get("user") == name:
                    path.unlink(missing_ok=True)
                    ended += 1
            except (OSError, ValueError):
                continue
        return ended

    def sweep(self) -> dict[str, list[tuple[float, Path]]]:
        """Delete expired sessions' files; the others by account: (expiry, file)."""
        now = time.time()
        live: dict[str, list[tuple[float, Path]]] = {}
        for path in self.dir.glob("*"):
            try:
                doc = json.loads(path.read_text())
                if doc.get("expires", 0) < now:
                    path.unlink(missing_ok=True)
                else:
                    live.setdefault(str(doc.get("user")), []).append((float(doc["expires"]), path))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return live


def same_origin(headers: Headers, scheme: str) -> bool:
    """False when the browser says the request comes from another site (Origin, else Sec-Fetch-Site)."""
    origin = headers.get("origin")
    if origin is not None:
        return origin == f"{scheme}://{headers.get('host', '')}"
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def session_of(conn: HTTPConnection) -> Session | None:
    return conn.app.state.sessions.get(conn.cookies.get(COOKIE))


def viewer_refusal(scope) -> str | None:
    """None when a viewer session may make this API request (its path, its origin, its CSRF header); else why
    not, the key of its message (messages.py): the admin token's when the request has no session cookie."""
    conn = HTTPConnection(scope)
    if COOKIE not in conn.cookies:
        return "unauthorized"
    session = session_of(conn)
    if session is None or session.role != "viewer":
        return "session_ended"
    # Under a Mount, Starlette keeps the whole path in scope["path"] (the mount goes into root_path).
    if not scope["path"].startswith(VIEWER_PATHS) or scope.get("method") not in ("GET", "HEAD", "POST"):
        return "viewer_reports_only"
    if not same_origin(conn.headers, conn.url.scheme):
        return "viewer_cross_site"
    given = conn.headers.get("x-csrf-token", "")
    if not (given and hmac.compare_digest(given.encode(), session.csrf.encode())):
        return "viewer_csrf"
    return None


def _logged(name: str) -> str:
    """An account name as a log line shows it: a phone number typed as the name (or one that is the name)
    masked, then shortened (masked first: cut first, a number across the cut would no longer read as one)."""
    return phone_like(name)[:64]


async def login(request: Request) -> Response:
    """POST /dashboard/login (a form: name, password, next): a session cookie and back to the dashboard."""
    if not same_origin(request.headers, request.url.scheme):
        return error(403, "cross-site login refused: log in from the collector's own login page")
    form = await _form(request)
    name, password = form.get("name", "").strip(), form.get("password", "")
    target = safe_next(form.get("next", ""))
    sessions: Sessions = request.app.state.sessions
    logins: logins_mod.Logins = request.app.state.logins
    client = client_address(request.client.host if request.client else "")
    wait = logins.wait(name, client)
    if wait:
        _refusals.log(logging.WARNING, "login: too many failures for account %r or from its client; %d s to wait",
                      _logged(name), wait)
        return _to_login(target, "throttled", wait)
    with logins.check() as free:
        if not free:
            _refusals.log(logging.WARNING, "login: %d password check(s) running already; account %r told to come back",
                          logins_mod.MAX_CHECKS, _logged(name))
            return _to_login(target, "busy", logins_mod.BUSY_RETRY)
        user = await run_in_threadpool(sessions.users.verify, name, password) if name and password else None
    if user is None:
        logins.failed(name, client)
        _refusals.log(logging.INFO, "login: refused for account %r", _logged(name))
        return _to_login(target, "failed")
    logins.succeeded(name, client)
    token, _ = sessions.create(user.name, user.role)
    log.info("login: %r (%s)", _logged(user.name), user.role)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, max_age=LIFETIME, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    """POST /dashboard/logout (a form carrying the session's CSRF token): the session ends."""
    if not same_origin(request.headers, request.url.scheme):
        return error(403, "cross-site logout refused")
    token = request.cookies.get(COOKIE)
    session = request.app.state.sessions.get(token)
    if session is not None:
        given = (await _form(request)).get("csrf", "")
        if not hmac.compare_digest(given.encode(), session.csrf.encode()):
            return error(403, "logout refused: the form's CSRF token does not match the session (reload the page)")
        request.app.state.sessions.end(token)
        log.info("logout: %r", _logged(session.user))
    response = RedirectResponse(f"{LOGIN_PATH}?bye=1", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def safe_next(target: str) -> str:
    """Where to go after login: a path of the dashboard, never another site (an open redirect); with a fragment
    only when it names a panel (#attribution: the login page's script carries a shared link's), else without it."""
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == HOME or parts.path.startswith(HOME + "/")) \
            or parts.path.startswith(LOGIN_PATH) or "\\" in target:
        return HOME
    if "#" in target and not PANEL.fullmatch(parts.fragment):
        return target.split("#", 1)[0]
    return target


def _to_login(target: str, why: str, retry_after: int = 0) -> Response:
    """Back to the login page saying why (the page words it); with Retry-After when waiting is the answer."""
    headers = {"retry-after": str(retry_after)} if retry_after else None
    return RedirectResponse(f"{LOGIN_PATH}?{urllib.parse.urlencode({'error': why, 'next': target})}", status_code=303,
                            headers=headers)


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body of at most 8 KiB (a login form is small; no multipart)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > 8192:
            return {}
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), max_num_fields=10))
