"""GET /t.js: the plan's config and the add-ons it uses compiled into the built tag; the size a site downloads."""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess

from collector import tag
from collector.app import create_app
from tagplan import compile_plan, load_plan
from tests.conftest import EXAMPLE_PLAN, Client

PLAUSIBLE_GZIP = 2694
"""Plausible's npm module, gzipped, as published: the served tag must stay under it (issue 10)."""

_EXAMPLE = EXAMPLE_PLAN.read_text()
NO_POOL_PLAN = _EXAMPLE[:_EXAMPLE.index("  numbers:\n")]
"""The example plan without its tracking-number pool (call_centre.numbers), which brings an add-on."""
MARKUP_PLAN = NO_POOL_PLAN.replace("    label: Devis assurance moto\n", "    label: Devis assurance moto\n    markup: true\n")


def served(plan_path, endpoint="collect") -> str:
    return tag.render_tag(tag.TAG_FILE.read_text(), compile_plan(load_plan(plan_path)), endpoint)


def config_of(body: str) -> dict:
    return json.JSONDecoder().raw_decode(body, body.index('{"v":'))[0]


def test_the_served_tag_with_the_example_plan_stays_under_plausibles_size(tmp_path):
    (tmp_path / "plan.yaml").write_text(NO_POOL_PLAN)
    body = served(tmp_path / "plan.yaml").encode()
    assert len(gzip.compress(body, compresslevel=9)) < PLAUSIBLE_GZIP


def test_a_plan_without_markup_or_number_pool_gets_no_add_on(tmp_path):
    (tmp_path / "plan.yaml").write_text(NO_POOL_PLAN)
    body = served(tmp_path / "plan.yaml")
    assert '"a":' not in body and "data-parcours-form" not in body and "data-parcours-phone" not in body
    assert config_of(body)["p"]["gclid"] == 90


def test_a_plan_with_a_number_pool_gets_the_numbers_add_on_asking_next_to_collect(tmp_path):
    body = served(EXAMPLE_PLAN, endpoint="../p/e")
    addon = tag.addon_source("numbers")
    assert "data-parcours-phone" in addon and tag.ENDPOINT_TOKEN in addon
    assert f',"a":[{addon.replace(tag.ENDPOINT_TOKEN, "../p/e")}]}}' in body
    assert tag.ENDPOINT_TOKEN not in body
    # What it costs those sites, on top of the tag, and the file is one valid script.
    (tmp_path / "plain.yaml").write_text(NO_POOL_PLAN)
    plain = len(gzip.compress(served(tmp_path / "plain.yaml").encode(), compresslevel=9))
    assert 0 < len(gzip.compress(body.encode(), compresslevel=9)) - plain < 480
    (tmp_path / "t.js").write_text(body)
    check = subprocess.run(["node", "--check", str(tmp_path / "t.js")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_a_plan_with_a_markup_form_gets_the_declarative_helper_spliced_in(tmp_path):
    (tmp_path / "plan.yaml").write_text(MARKUP_PLAN)
    body = served(tmp_path / "plan.yaml")
    addon = tag.addon_source("markup")
    assert "data-parcours-form" in addon
    assert f',"a":[{addon}]}}' in body
    # What it costs those sites, on top of the tag.
    (tmp_path / "plain.yaml").write_text(NO_POOL_PLAN)
    plain = len(gzip.compress(served(tmp_path / "plain.yaml").encode(), compresslevel=9))
    assert 0 < len(gzip.compress(body.encode(), compresslevel=9)) - plain < 320
    # The whole file is still one valid script.
    (tmp_path / "t.js").write_text(body)
    check = subprocess.run(["node", "--check", str(tmp_path / "t.js")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_a_missing_add_on_is_a_503_that_says_how_to_build_it(tmp_path, settings, store, monkeypatch):
    (tmp_path / "plan.yaml").write_text(MARKUP_PLAN)
    monkeypatch.setattr(tag, "ADDONS_DIR", tmp_path / "nowhere")
    tag.addon_source.cache_clear()
    try:
        with Client(create_app(dataclasses.replace(settings, plan=tmp_path / "plan.yaml"))) as c:
            r = c.get("/t.js")
    finally:
        tag.addon_source.cache_clear()
    assert r.status_code == 503
    assert r.json()["error"] == f"the tag's add-on markup is not built: run `make tag` (expected {tmp_path}/nowhere/markup.js)"
