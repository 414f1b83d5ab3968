"""The dashboard's pages and assets: GET /dashboard, the login page, and the hashed, long-cached bundles."""

from __future__ import annotations

import html
import json
import urllib.parse
from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector import auth
from collector.useragent import DEVICES

STATIC = Path(__file__).resolve().parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = {
    # The page runs only its own bundle and talks only to this collector.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@cache
def manifest() -> dict[str, str] | None:
    """{"dashboard.js": "dashboard.<hash>.js", …} from the build, or None when the dashboard is not built."""
    try:
        return json.loads((STATIC / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _asset(name: str) -> str:
    return f"/dashboard/assets/{manifest()[name]}"


def _not_built() -> Response:
    return Response("the dashboard is not built: run `make setup` (it runs npm ci and the esbuild bundle "
                    "in journeys/dashboard)\n", status_code=503, media_type="text/plain")


async def page(request: Request) -> Response:
    """GET /dashboard: the page for a logged-in viewer, else the login page."""
    if manifest() is None:
        return _not_built()
    session = auth.session_of(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{auth.LOGIN_PATH}?next={_quote(target)}", status_code=303)
    lang = _lang(request)
    body = f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{html.escape(session.csrf)}">
<meta name="viewer" content="{html.escape(session.user)}">
<title>parcours</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{_asset('dashboard.css')}">
<script type="application/json" id="parcours-config">{_config(request, session)}</script>
<script defer src="{_asset('dashboard.js')}"></script>
</head>
<body>
<noscript>{_T[lang]['noscript']}</noscript>
</body>
</html>
"""
    return HTMLResponse(body, headers=SECURITY_HEADERS)


async def login_page(request: Request) -> Response:
    """GET /dashboard/login: the form (French or English), with the reason of a failed attempt; its script
    (src/login.js) carries a link's panel (/dashboard#attribution), which the server never sees, into `next`."""
    if manifest() is None:
        return _not_built()
    target = auth.safe_next(request.query_params.get("next", ""))
    lang = _lang(request, urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).get("lang", [""])[-1])
    words = _T[lang]
    why = request.query_params.get("error")
    message = words.get(f"error.{why}", "") if why else (words["bye"] if request.query_params.get("bye") else "")
    other = "en" if lang == "fr" else "fr"
    body = f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{words['title']}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{_asset('dashboard.css')}">
<script defer src="{_asset('login.js')}"></script>
</head>
<body class="login-page">
<main class="login">
<h1><span class="logo" aria-hidden="true">◆</span> parcours</h1>
<p class="lead">{words['lead']}</p>
{f'<p class="message" role="alert">{message}</p>' if message else ''}
<form method="post" action="{auth.LOGIN_PATH}">
<input type="hidden" name="next" value="{html.escape(target)}">
<label for="name">{words['name']}</label>
<input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">{words['password']}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{words['submit']}</button>
</form>
<p class="switch"><a href="{auth.LOGIN_PATH}?lang={other}&amp;next={html.escape(_quote(target))}" lang="{other}">{_T[other]['in_lang']}</a></p>
</main>
</body>
</html>
"""
    return HTMLResponse(body, headers=SECURITY_HEADERS)


async def asset(request: Request) -> Response:
    """GET /dashboard/assets/<name>.<hash>.<ext>: a built file, cached for a year (its name changes with it)."""
    files = manifest()
    name = request.path_params["name"]
    if files is None or name not in files.values():
        return Response("not found\n", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    body = None
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = _read(name + ".gz")
        if body is not None:
            headers["Content-Encoding"] = "gzip"
    if body is None:
        body = _read(name)
    return Response(body, media_type=_TYPES.get(Path(name).suffix, "application/octet-stream"), headers=headers)


@cache
def _read(name: str) -> bytes | None:
    """A built file (the bundle is ~240 KB, ~85 KB gzipped, compressed once at build time), None if absent."""
    try:
        return (STATIC / name).read_bytes()
    except FileNotFoundError:
        return None


def _config(request: Request, session: auth.Session) -> str:
    """What the page needs to know besides figures: the plan's forms, the device types, the viewer's name."""
    plan = request.app.state.plan.plan
    filters, funnel_by = _report_capabilities()
    doc = {"forms": [{"id": k, "label": f.label or k, "steps": [{"id": s.id, "label": s.label or s.id} for s in f.steps]}
                     for k, f in plan.forms.items()],
           "breakdowns": _breakdowns(plan) if funnel_by else [], "funnelBy": funnel_by, "filters": filters,
           "devices": list(DEVICES),
           "user": session.user}
    # Inside <script>: no "<" at all, whatever a label says. "</" would close the element, and "<!--<script" would
    # keep it open past its own </script> (HTML's double-escaped script state), swallowing the bundle's element.
    return json.dumps(doc, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def _breakdowns(plan) -> list[dict[str, Any]]:
    """The plan's properties a funnel may be broken down by (an A/B variant, a formula): enumerations and
    booleans, never personal data; each with its label in the plan ("" when none: the page reads its id) and,
    when only forms' steps or submits carry it, the forms whose funnel offers it (`forms`: another form's
    visitors never send it; an event's property, which any visitor may send, is offered for every form). Not the
    properties of a sale's event (`conversion:` in the plan: a back office sends it, no visitor's funnel holds it)."""
    props = [(None, p) for e in plan.events.values() if e.conversion is None for p in e.properties.items()]
    for form_id, form in plan.forms.items():
        props += [(form_id, p) for step in form.steps for p in step.properties.items()]
        props += [(form_id, p) for p in form.submit.properties.items()]
    labels: dict[str, str] = {}
    forms: dict[str, list[str] | None] = {}
    for form_id, (name, p) in props:
        if not p.pii and p.type in ("enum", "boolean"):
            labels[name] = labels.get(name) or p.label  # a name declared twice: the first label given
            known = forms.setdefault(name, [])
            if form_id is None or known is None:
                forms[name] = None
            elif form_id not in known:
                known.append(form_id)
    return [{"id": name, "label": labels[name], **({"forms": forms[name]} if forms[name] is not None else {})}
            for name in sorted(labels)]


@cache
def _report_capabilities() -> tuple[list[str], bool]:
    """The filters every report takes, and whether the funnel takes a breakdown: the page offers no
    control the reports API cannot honour."""
    try:
        from journeys import reports
    except ImportError:  # the reports runner is not installed
        return [], False
    filters = list(getattr(reports, "FILTERS", ()))
    funnel = reports.REPORTS.get("funnel")
    return filters, bool(funnel and "by" in funnel.options)


def _lang(request: Request, shared: str = "") -> str:
    """The page's language: ?lang=, else the one of the view the login leads to (`shared`: a link's `lang=en`
    is English however the browser is set), else the browser's Accept-Language (French or English), else French."""
    for asked in (request.query_params.get("lang"), shared):
        if asked in _T:
            return asked
    return next((base for base in _preferred(request.headers.get("accept-language", "")) if base in _T), "fr")


def _preferred(header: str) -> list[str]:
    """The languages of an Accept-Language header, most wanted first by their q weights (RFC 9110 12.5.4; in
    the order written among equal ones), without those refused (q=0): `fr;q=0.1,en;q=0.9` is English first."""
    weighted = []
    for part in header.split(","):
        tag, *params = part.split(";")
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag.strip() and q > 0:
            weighted.append((q, tag.strip().lower().split("-")[0]))
    return [base for _, base in sorted(weighted, key=lambda w: -w[0])]


def _quote(text: str) -> str:
    from urllib.parse import quote
    return quote(text, safe="/")


_T = {
    "fr": {
        "title": "Connexion – parcours", "lead": "Connectez-vous pour voir le tableau de bord.",
        "name": "Identifiant", "password": "Mot de passe", "submit": "Se connecter",
        "error.failed": "Identifiant ou mot de passe incorrect.",
        "error.throttled": "Trop d’essais infructueux : réessayez dans quelques minutes.",
        "error.busy": "Trop de connexions en ce moment : réessayez dans quelques secondes.",
        "bye": "Vous êtes déconnecté.", "in_lang": "Version française",
        "noscript": "Le tableau de bord a besoin de JavaScript.",
    },
    "en": {
        "title": "Log in – parcours", "lead": "Log in to see the dashboard.",
        "name": "Account name", "password": "Password", "submit": "Log in",
        "error.failed": "Wrong account name or password.",
        "error.throttled": "Too many failed attempts: try again in a few minutes.",
        "error.busy": "Too many logins at this moment: try again in a few seconds.",
        "bye": "You are logged out.", "in_lang": "English version",
        "noscript": "The dashboard needs JavaScript.",
    },
}


ROUTES: list[BaseRoute] = [
    Route("/dashboard", page, methods=["GET"]),
    Route("/dashboard/", lambda request: RedirectResponse("/dashboard", status_code=308), methods=["GET"]),
    Route(auth.LOGIN_PATH, login_page, methods=["GET"]),
    Route(auth.LOGIN_PATH, auth.login, methods=["POST"]),
    Route("/dashboard/logout", auth.logout, methods=["POST"]),
    Route("/dashboard/assets/{name}", asset, methods=["GET"]),
]
"""The dashboard's routes, added to the collector's by app.py."""
