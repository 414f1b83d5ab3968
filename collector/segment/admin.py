"""Write keys for operators: `parcours keys create|list|revoke` and their admin endpoints.

- `POST /api/write-keys?source=back_office&description=…`: a new key, in the answer only;
- `GET /api/write-keys?all=true`: the keys (valid ones, or every one), never the keys themselves;
- `POST /api/write-keys/revoke?key=wk_AbC1234`: the key stops working at once on this collector, within
  keys.REFRESH seconds on the others (other workers, other machines).
"""

from __future__ import annotations

import json

import click
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector import admin
from collector.errors import flag
from collector.options import format_option, target_options
from collector.output import as_result, format_result
from collector.segment import keys
from collector.target import Op, Target


async def _reloaded(request: Request, response: Response) -> Response:
    """The answer, once this collector's key ring holds the change."""
    await run_in_threadpool(request.app.state.write_keys.load, request.app.state.store)
    return response


async def create_key(request: Request) -> Response:
    params = request.query_params
    response = await admin.run(request, keys.create, params.get("source", ""), params.get("description", ""))
    return await _reloaded(request, response)


async def list_keys(request: Request) -> Response:
    everything = flag(request.query_params, "all")
    return await admin.run(request, keys.listing, everything)


async def revoke_key(request: Request) -> Response:
    response = await admin.run(request, keys.revoke, request.query_params.get("key", ""))
    return await _reloaded(request, response)


ROUTES = [
    Route("/write-keys", list_keys, methods=["GET"]),
    Route("/write-keys", create_key, methods=["POST"]),
    Route("/write-keys/revoke", revoke_key, methods=["POST"]),
]
"""Relative to /api (collector/admin.py's mount)."""


@click.group("keys")
def keys_group() -> None:
    """Write keys of server sources (a back office, a CRM, a call centre) sending events through the
    Segment-compatible API (/v1/batch…)."""


@keys_group.command("create")
@click.argument("source")
@click.option("--description", default="", help="What sends with this key, for the list (e.g. \"shop back office\").")
@target_options
@format_option(("text", "json"), "text")
def create(target: Target, source, description, fmt):
    """A new write key for SOURCE (back_office, crm, call_centre…), recorded on each event it sends.
    The key is printed once, here: parcours keeps only its hash."""
    doc = target.run(Op("POST", "/api/write-keys", lambda store: keys.create(store, source, description),
                        {"source": source, "description": description or None}))
    if fmt == "json":
        click.echo(json.dumps(doc))
    else:
        click.echo(doc["key"])
    click.echo(f'write key for source "{doc["source"]}": shown this once, parcours keeps only its hash. Give it to '
               "the sender as its Segment write key, with the collector's URL as its host.", err=True)


@keys_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Revoked keys too.")
@target_options
@format_option()
def list_(target: Target, everything, fmt):
    """The write keys: their first characters, source, description, when created (and revoked)."""
    doc = target.run(Op("GET", "/api/write-keys", lambda store: keys.listing(store, everything),
                        {"all": "true" if everything else None}))
    click.echo(format_result(as_result(doc), fmt), nl=False)


@keys_group.command("revoke")
@click.argument("key")
@target_options
def revoke(target: Target, key):
    """Revoke KEY (as `parcours keys list` shows it, or whole): its calls are refused from now on
    (at once by the collector, within 10 s by other workers or machines)."""
    doc = target.run(Op("POST", "/api/write-keys/revoke", lambda store: keys.revoke(store, key), {"key": key}))
    click.echo(f'revoked {doc["key"]}… (source "{doc["source"]}") at {doc["revoked_at"]}')
