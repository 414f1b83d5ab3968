"""`parcours plan ...`: the plan toolchain for marketers, web developers and CI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tagplan import PlanErrors, load_plan
from tagplan.diff import diff_plans, has_breaking
from tagplan.docs import render_html, render_markdown

STARTER = Path(__file__).parent / "starter.yaml"
_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                       help="text for people (diagnostics on stderr), json for machines (on stdout).")


@click.group()
def plan():
    """Work with tagging plans: check, diff, docs, init."""


def _load_or_exit(file: str, fmt: str, exit_code: int = 1):
    """The plan, or its errors printed and the process ended."""
    try:
        return load_plan(file)
    except PlanErrors as exc:
        if fmt == "json":
            click.echo(json.dumps({"ok": False, "file": file, "errors": [e.to_dict() for e in exc.errors]}, ensure_ascii=False))
        else:
            for e in exc.errors:
                click.echo(str(e), err=True)
            click.echo(f"{len(exc.errors)} error(s)", err=True)
        sys.exit(exit_code)


@plan.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@_FORMAT
def plan_check(file, fmt):
    """Check a plan; print every mistake as file:line:col: message. Exit 1 on errors."""
    loaded = _load_or_exit(file, fmt)
    if fmt == "json":
        click.echo(json.dumps({"ok": True, "file": file, "errors": [], "version": loaded.version}))
    else:
        click.echo(f"{file}: ok (plan version {loaded.version})", err=True)


@plan.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@_FORMAT
def plan_diff(old, new, fmt):
    """List the changes from OLD to NEW, each compatible or breaking.

    Exit 0 when nothing breaks, 1 on a breaking change, 2 when a plan has errors (CI guard).
    """
    before, after = _load_or_exit(old, fmt, 2), _load_or_exit(new, fmt, 2)
    changes = diff_plans(before, after)
    breaking = has_breaking(changes)
    warnings = []
    if changes and before.version == after.version:
        warnings.append(f'the plan changed but its version is still "{after.version}"; bump it so stored events '
                        "tell the plans apart")
    if fmt == "json":
        click.echo(json.dumps({"breaking": breaking, "changes": [c.to_dict() for c in changes], "warnings": warnings},
                              ensure_ascii=False))
    else:
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        for change in changes:
            click.echo(str(change))
        n = sum(c.kind == "breaking" for c in changes)
        click.echo(f"{len(changes)} change(s), {n} breaking" if changes else "no change", err=True)
    sys.exit(1 if breaking else 0)


@plan.command("docs")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True,
              help="Markdown or a standalone HTML page.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the page to this file instead of stdout.")
def plan_docs(file, fmt, output):
    """Write the plan as a page for web developers: events, forms, ready-to-paste tag calls."""
    loaded = _load_or_exit(file, "text")
    page = render_html(loaded) if fmt == "html" else render_markdown(loaded)
    if output:
        Path(output).write_text(page, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(page, nl=False)


@plan.command("init")
@click.argument("path", type=click.Path(dir_okay=False), default="parcours.yaml")
def plan_init(path):
    """Write a commented starter plan (the motorbike-insurance example) to PATH; never overwrites."""
    target = Path(path)
    try:
        with target.open("x", encoding="utf-8") as fh:
            fh.write(STARTER.read_text(encoding="utf-8"))
    except FileExistsError:
        raise click.ClickException(f"{path} already exists; choose another path or remove it first") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"wrote {path}; edit it, then: parcours plan check {path}", err=True)
