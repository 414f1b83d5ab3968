"""`parcours users add|remove|list`: the dashboard's viewer accounts, in `<data-dir>/users.json`.

They edit the file directly (a running collector re-reads it when it changes), so they work the same
whether a collector runs or not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from collector.auth import Sessions
from collector.users import MIN_PASSWORD, ROLES, UserError, Users

_DATA_DIR = click.option("--data-dir", envvar="PARCOURS_DATA", default="data", show_default=True, show_envvar=True,
                         help="The collector's data directory, which holds users.json and the sessions.")


@click.group()
def users() -> None:
    """Dashboard accounts (read-only viewers); the admin token stays separate."""


@users.command()
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True,
              help="What the account may do: viewer reads the dashboard and the reports API, nothing else.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input instead of prompting.")
@click.option("--replace", is_flag=True, help="Set a new password (and role) for an existing account.")
@_DATA_DIR
def add(name, role, password_stdin, replace, data_dir):
    """Create an account NAME (asks for its password twice, at least 10 characters)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    accounts = Users(Path(data_dir))
    try:
        existed = name in accounts.all()
        accounts.add(name, password, role, replace=replace)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    # A new password ends the sessions opened with the old one (a password reset after a leak).
    ended = Sessions(Path(data_dir), accounts).end_user(name) if existed else 0
    click.echo(f'account "{name}" ({role}) {"updated" if existed else "created"}'
               + (f'; {ended} session{"s" if ended != 1 else ""} ended' if ended else "")
               + "; log in at <collector URL>/dashboard", err=True)


@users.command()
@click.argument("name")
@_DATA_DIR
def remove(name, data_dir):
    """Delete the account NAME and end its sessions."""
    accounts = Users(Path(data_dir))
    try:
        accounts.remove(name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    ended = Sessions(Path(data_dir), accounts).end_user(name)
    click.echo(f'account "{name}" removed; {ended} session{"s" if ended != 1 else ""} ended', err=True)


@users.command(name="list")
@_DATA_DIR
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="An aligned table for people, or a JSON array for programs.")
def list_(data_dir, fmt):
    """The accounts: name, role, creation time (never the password hashes)."""
    try:
        accounts = sorted(Users(Path(data_dir)).all().values(), key=lambda u: u.name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [{"name": u.name, "role": u.role, "created": u.created} for u in accounts]
    if fmt == "json":
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo(f"no accounts yet: add one with `parcours users add NAME` (passwords of {MIN_PASSWORD}+ characters)",
                   err=True)
        return
    width = max(len("name"), *(len(r["name"]) for r in rows))
    click.echo(f"{'name'.ljust(width)}  role    created")
    for r in rows:
        click.echo(f"{r['name'].ljust(width)}  {r['role'].ljust(6)}  {r['created']}")
