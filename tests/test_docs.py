"""Docs checked against what happens: the references generated from the commands (docs/cli.md,
docs/collector.md), the install snippet, the columns analysts read."""

from __future__ import annotations

import json
import time
import uuid

import click
import pytest
from click.testing import CliRunner

from collector.cli import SNIPPET as CLI_SNIPPET
from collector.cli import main, serve
from collector.docs import CLI_DOC, DOC, cli_reference, commands, render
from collector.ingest import Request, ingest
from e2e.pages import SNIPPET as E2E_SNIPPET
from tagplan import compile_plan, load_plan
from tagplan.model import BUILTIN_EVENTS
from tests.conftest import EXAMPLE_PLAN, ROOT, SECRET

ALL = dict(commands())


def test_the_settings_reference_is_current():
    assert DOC.read_text() == render(DOC.read_text()), "docs/collector.md is stale: run `make docs`"


def test_the_cli_reference_is_current():
    assert CLI_DOC.read_text() == cli_reference(), "docs/cli.md is stale: run `make docs`"


def test_the_reference_covers_the_commands_of_every_group():
    assert {"parcours serve", "parcours sql", "parcours export", "parcours schema", "parcours snippet",
            "parcours rejected summary", "parcours rejected replay", "parcours plan check"} <= set(ALL)
    text = CLI_DOC.read_text()
    for name in ALL:
        assert f"## `{name}`" in text


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_command_and_option_has_help(name):
    command = ALL[name]
    assert command.help, f"{name} has no description"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts[0]} has no help"


def test_every_serve_option_has_an_environment_variable_listed_by_help():
    out = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())  # unwrapped
    for param in serve.params:
        assert param.envvar and param.envvar.startswith("PARCOURS_"), f"{param.opts[0]} has no environment variable"
        assert f"env var: {param.envvar}" in out, f"{param.envvar} not in serve --help"


def test_the_defaults_listed_are_what_serve_does_with_no_option():
    ctx = serve.make_context("serve", ["--plan", "examples/moto-insurance.yaml"])
    rows = {line.split("|")[1].strip(" `"): line.split("|")[3].strip() for line in DOC.read_text().splitlines()
            if line.startswith("| `--")}
    for param in serve.params:
        if getattr(param, "is_flag", False):
            flag = max(param.opts, key=len)
            if param.secondary_opts:
                flag = f"{flag} / {max(param.secondary_opts, key=len)}"
            assert rows[flag] == ("on" if ctx.params[param.name] else "off"), flag
    assert rows["--demo"] == "off"


SNIPPET = ("<script>window.parcours=window.parcours||function(){arguments.t=Date.now();"
           "(parcours.q=parcours.q||[]).push(arguments)};</script>")


def test_every_copy_of_the_install_snippet_is_the_one_that_times_queued_calls():
    for path in ("README.md", "docs/tag.md", "examples/demo-site/index.html"):
        assert SNIPPET in (ROOT / path).read_text(), path
    assert CLI_SNIPPET.format(src="s", pixel="p").startswith(SNIPPET)
    assert E2E_SNIPPET.startswith(SNIPPET.removesuffix("</script>"))


def test_the_event_values_listed_for_analysts_are_the_ones_the_tag_sends():
    row = next(line for line in (ROOT / "docs" / "clickhouse.md").read_text().splitlines() if line.startswith("| `event` |"))
    assert [e for e in BUILTIN_EVENTS if f"`{e}`" not in row] == []


def test_captured_holds_every_captured_parameter_but_the_brokers_as_documented():
    doc = (ROOT / "docs" / "clickhouse.md").read_text()
    assert "every captured URL parameter but the broker's" in doc and "the `utm_*` and click IDs too" in doc
    now = int(time.time() * 1000)
    captured = {"courtier": "B042", "utm_source": "google", "gclid": "abc", "fbclid": "f"}
    body = json.dumps({"sent": now, "events": [{"id": str(uuid.uuid4()), "e": "page_view", "t": now, "c": captured}]})
    (row,) = ingest(body.encode(), Request(received_ms=now), compile_plan(load_plan(EXAMPLE_PLAN)), SECRET).events
    assert row.captured == {"utm_source": "google", "gclid": "abc", "fbclid": "f"}
    assert (row.broker_id, row.utm_source, row.click_id) == ("B042", "google", "abc")


def test_the_readme_layout_names_every_module():
    from collector.docs import DOCS

    readme = (DOCS.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    for package in ("collector", "collector/wal", "tagplan", "journeys", "callcentre"):
        for module in sorted((DOCS.parent / package).glob("*.py")):
            if module.name not in ("__init__.py", "__main__.py"):
                assert f"`{module.name}`" in layout, f"README's layout table does not list {package}/{module.name}"
