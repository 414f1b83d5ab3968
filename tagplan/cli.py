"""`parcours plan ...`: the plan toolchain for marketers and CI."""

from __future__ import annotations

import json
import sys

import click

from tagplan import PlanErrors, load_plan


@click.group()
def plan():
    """Work with tagging plans."""


@plan.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def plan_check(file, fmt):
    """Check a plan; print every mistake as file:line:col: message. Exit 1 on errors."""
    try:
        loaded = load_plan(file)
    except PlanErrors as exc:
        if fmt == "json":
            click.echo(json.dumps({"ok": False, "errors": [e.to_dict() for e in exc.errors]}, ensure_ascii=False))
        else:
            for e in exc.errors:
                click.echo(str(e), err=True)
            click.echo(f"{len(exc.errors)} error(s)", err=True)
        sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps({"ok": True, "errors": [], "version": loaded.version}))
    else:
        click.echo(f"{file}: ok (plan version {loaded.version})", err=True)
