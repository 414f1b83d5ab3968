"""The settings reference in docs/collector.md is generated from `parcours serve`, and kept current."""

from __future__ import annotations

from click.testing import CliRunner

from collector.cli import main, serve
from collector.docs import DOC, render


def test_the_settings_reference_is_current():
    assert DOC.read_text() == render(DOC.read_text()), "docs/collector.md is stale: run `make docs`"


def test_every_serve_option_has_help_and_an_environment_variable_listed_by_help():
    out = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())  # unwrapped
    for param in serve.params:
        if param.name == "help":
            continue
        assert param.help, f"{param.opts[0]} has no help"
        assert param.envvar and param.envvar.startswith("PARCOURS_"), f"{param.opts[0]} has no environment variable"
        assert f"env var: {param.envvar}" in out, f"{param.envvar} not in serve --help"


def test_the_defaults_listed_are_what_serve_does_with_no_option():
    ctx = serve.make_context("serve", ["--plan", "examples/moto-insurance.yaml"])
    rows = {line.split("|")[1].strip(" `"): line.split("|")[3].strip() for line in DOC.read_text().splitlines()
            if line.startswith("| `--")}
    for param in serve.params:
        if getattr(param, "is_flag", False):
            flag = max(param.opts, key=len)
            assert rows[flag] == ("on" if ctx.params[param.name] else "off"), flag
    assert rows["--demo"] == "off"
