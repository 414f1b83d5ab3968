"""The dashboard's page and assets as the collector serves them."""

from __future__ import annotations

import re
import shutil
import urllib.parse

import pytest

from collector.app import create_app
from collector.users import Users, users_file
from journeys.dashboard import web
from tests.collector.helpers import event, post, wait_for
from tests.conftest import Client

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    path = tmp_path_factory.mktemp("accounts")
    Users(path).add("elie", PASSWORD)
    return users_file(path)


@pytest.fixture
def client(settings, store, accounts):
    shutil.copy(accounts, users_file(settings.data_dir))
    with Client(create_app(settings)) as c:
        yield c


@pytest.fixture
def page(client):
    client.post("/dashboard/login", data={"name": "elie", "password": PASSWORD},
                headers={"origin": "http://testserver"})
    return client.get("/dashboard")


def test_the_build_names_assets_by_their_content():
    files = web.manifest()
    assert files is not None, "run `make dashboard` (npm run build in journeys/dashboard)"
    assert re.fullmatch(r"dashboard\.[0-9a-f]{12}\.js", files["dashboard.js"])
    assert re.fullmatch(r"dashboard\.[0-9a-f]{12}\.css", files["dashboard.css"])
    assert re.fullmatch(r"login\.[0-9a-f]{12}\.js", files["login.js"])


def test_the_login_page_loads_its_own_small_script(client):
    """The script that carries a shared link's panel through the login (src/login.js), not the dashboard's bundle."""
    page = client.get("/dashboard/login")
    assert re.findall(r'<script[^>]*src="([^"]+)"', page.text) == [f"/dashboard/assets/{web.manifest()['login.js']}"]
    script = client.get(f"/dashboard/assets/{web.manifest()['login.js']}")
    assert script.status_code == 200 and len(script.content) < 2000


def test_assets_are_cached_for_a_year_and_the_page_never(client, page):
    assert page.headers["cache-control"] == "no-store"
    for src in re.findall(r'(?:src|href)="(/dashboard/assets/[^"]+)"', page.text):
        r = client.get(src)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert len(re.findall(r"/dashboard/assets/", page.text)) == 2


def test_an_unknown_asset_is_not_found(client):
    assert client.get("/dashboard/assets/dashboard.000000000000.js").status_code == 404
    assert client.get("/dashboard/assets/manifest.json").status_code == 404


def test_the_page_carries_the_plan_forms_and_the_language(client, page):
    config = re.search(r'<script type="application/json" id="parcours-config">(.*?)</script>', page.text).group(1)
    assert '"id": "moto_quote"' in config and '"user": "elie"' in config
    assert '<html lang="fr">' in page.text
    assert '<html lang="en">' in client.get("/dashboard", headers={"accept-language": "en-GB,en;q=0.9"}).text
    assert '<html lang="en">' in client.get("/dashboard?lang=en").text


@pytest.mark.parametrize("header,lang", [
    ("fr;q=0.1,en;q=0.9", "en"),  # French came first in the header and won, whatever its weight
    ("en;q=0.5, fr", "fr"),
    ("de-DE,en-GB;q=0.8,fr;q=0.7", "en"),
    ("en;q=0, fr;q=0.3", "fr"),  # q=0: not acceptable
    ("de, es;q=0.9", "fr"),
    ("EN-us;Q=0.8,fr;q=0.2", "en"),
    ("en;q=x, fr;q=0.4", "fr"),
])
def test_the_login_page_speaks_the_browsers_most_wanted_language(client, header, lang):
    assert f'<html lang="{lang}">' in client.get("/dashboard/login", headers={"accept-language": header}).text


def test_the_login_page_speaks_the_language_of_the_shared_view_it_leads_to(client):
    """A link shared with `lang=en`, opened by a colleague not logged in: the login page is in English, whatever
    the browser's language; its own ?lang= (the switch) still wins."""
    french = {"accept-language": "fr-FR,fr;q=0.9"}
    shared = urllib.parse.quote("/dashboard?from=2026-10-01&lang=en")
    assert '<html lang="en">' in client.get(f"/dashboard/login?next={shared}", headers=french).text
    assert '<html lang="fr">' in client.get(f"/dashboard/login?next={shared}&lang=fr", headers=french).text
    elsewhere = urllib.parse.quote("https://evil.example/dashboard?lang=en")  # not a destination: not read
    assert '<html lang="fr">' in client.get(f"/dashboard/login?next={elsewhere}", headers=french).text


def test_the_collector_paths_may_not_take_the_dashboards(tmp_path):
    from collector.settings import SettingsError, build
    with pytest.raises(SettingsError, match="collector's own paths"):
        build(plan="p.yaml", data_dir=str(tmp_path), clickhouse=None, admin_token="t", secret="s", demo=False,
              tag_path="/dashboard/t.js")


def test_assets_go_gzipped_to_browsers_that_take_it(client, page):
    src = re.search(r'src="(/dashboard/assets/[^"]+\.js)"', page.text).group(1)
    plain = client.get(src, headers={"accept-encoding": "identity"})
    zipped = client.get(src, headers={"accept-encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == plain.content  # the client decompressed it: the same bundle
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2


def test_the_page_offers_the_filters_and_the_funnel_breakdown_the_reports_take(page):
    config = re.search(r'<script type="application/json" id="parcours-config">(.*?)</script>', page.text).group(1)
    import json

    doc = json.loads(config)
    assert doc["filters"] == ["lever", "campaign", "broker", "device"] and doc["funnelBy"] is True
    # The plan's enumerations and booleans, never personal data, with their labels in the plan.
    assert {"id": "variant", "label": "Variante du formulaire (test A/B)", "forms": ["moto_quote"]} in doc["breakdowns"]
    assert {"id": "formula", "label": "Formule choisie", "forms": ["moto_quote"]} in doc["breakdowns"]
    assert "phone" not in [b["id"] for b in doc["breakdowns"]]
    # None of a sale's event (contract_signed: a back office sends it, no visitor's funnel holds it).
    assert not {"channel", "ad_consent"} & {b["id"] for b in doc["breakdowns"]}


def test_a_funnel_is_offered_the_properties_its_form_or_any_event_carries():
    """A property only another form's steps carry is never in this form's visitors' events: not offered for it."""
    import msgspec

    from journeys.dashboard.web import _breakdowns
    from tagplan.model import Plan

    prop = {"type": "enum", "values": ["a", "b"]}
    plan = msgspec.convert({
        "version": "t", "sites": [{"name": "s", "origins": ["https://example.fr"]}],
        "events": {"ab_viewed": {"properties": {"test": prop}},
                   "signed": {"conversion": {}, "properties": {"contract_id": {"type": "string"}, "channel": prop}}},
        "forms": {"moto": {"steps": [{"id": "s", "properties": {"variant": prop, "test": prop}}],
                           "submit": {"properties": {"formula": prop}}},
                  "home": {"steps": [{"id": "h", "properties": {"variant": prop}}]}}}, Plan)
    assert _breakdowns(plan) == [{"id": "formula", "label": "", "forms": ["moto"]}, {"id": "test", "label": ""},
                                 {"id": "variant", "label": "", "forms": ["moto", "home"]}]


def test_the_default_view_is_computed_ahead_once_a_viewer_can_open_it_and_there_are_events(settings, store,
                                                                                            accounts):
    """Without a viewer account nobody can open the page: the collector computes no default view ahead (a
    collector only ingesting spends nothing on it); once `parcours users add` made one, it does, once there are
    events (a demo's first start computes no empty figures while its data set is being sent)."""
    with Client(create_app(settings)) as c:
        kept, plan = c.app.state.report_results, c.app.state.plan
        assert kept.default_view(plan) == []
        shutil.copy(accounts, users_file(settings.data_dir))
        assert kept.default_view(plan) == [], "no event yet"
        post(c, event())
        wait_for(lambda: kept.default_view(plan) != [])
        assert [name for name, _ in kept.default_view(plan)][:2] == ["attribution", "overview"]


def test_a_stitching_run_asked_for_computes_the_default_view_at_once(settings, store, accounts, caplog):
    """`parcours demo seed` ends with a stitching run through the admin API: the dashboard's default view is
    then computed at once rather than at the reports' next turn, five minutes later (the collector started
    before the demo's events were sent, with nothing to compute then)."""
    import logging

    from tests.journeys.conftest import ADMIN

    caplog.set_level(logging.INFO, logger="parcours.reports")
    shutil.copy(accounts, users_file(settings.data_dir))
    with Client(create_app(settings)) as c:
        kept, plan = c.app.state.report_results, c.app.state.plan
        post(c, event())
        wait_for(lambda: kept.default_view(plan) != [])
        assert "view(s) computed again" not in caplog.text, "the start's turn had no event to show"
        assert c.post("/api/persons/stitch", headers=ADMIN).status_code == 200
        wait_for(lambda: "view(s) computed again" in caplog.text, timeout=120)


def test_a_label_that_opens_a_comment_and_a_script_leaves_the_pages_scripts_alone(tmp_path):
    """A plan's label is data inside the page's <script type="application/json">: "<!--<script>" put the HTML parser
    into a script's double-escaped state, where the element's own </script> no longer closed it: it swallowed the
    bundle's <script>, and the page stayed blank. No "<" is written there at all."""
    import json
    from types import SimpleNamespace

    from collector import auth
    from tagplan import compile_plan, load_plan
    from tests.conftest import EXAMPLE_PLAN

    label = "Vos infos <!--<script> & </script>"
    path = tmp_path / "plan.yaml"
    path.write_text(EXAMPLE_PLAN.read_text().replace("label: Votre moto", f"label: '{label}'", 1))
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(plan=compile_plan(load_plan(path)))))
    text = web._config(request, auth.Session("elie", "viewer", "csrf", 0.0))
    assert "<" not in text and ">" not in text
    steps = json.loads(text)["forms"][0]["steps"]
    assert steps[0]["label"] == label
