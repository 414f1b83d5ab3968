"""The references in docs/cli.md and docs/collector.md are generated from the commands, and kept current."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from collector.cli import main, serve
from collector.docs import CLI_DOC, DOC, cli_reference, commands, render

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
