"""Call-centre fixtures: the collector with a leads key, events of the example plan's quote form."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

import pytest

from callcentre.seal import Sealer, parse_keys
from tests.conftest import Client

LEADS_KEY = "4c6561647320617265206b657074207365616c65642c206e6f7420696e20636c"
ADMIN = {"authorization": "Bearer admin-test-token"}


@pytest.fixture
def lead_settings(settings):
    return dataclasses.replace(settings, leads_key=LEADS_KEY)


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(parse_keys(LEADS_KEY))


@pytest.fixture
def client(lead_settings, store):
    from collector.app import create_app

    with Client(create_app(lead_settings)) as c:
        yield c


def step(step_id: str, visitor: str = "v1", session: str = "s1", ts: int | None = None, **props) -> dict:
    """A form_step event of the example plan's moto_quote, in the tag's wire format."""
    now = ts or int(time.time() * 1000)
    event = {"id": str(uuid.uuid4()), "e": "form_step", "t": now, "q": 1, "vid": visitor, "sid": session,
             "url": "https://www.motoassur.example/devis?utm_source=display", "f": "moto_quote", "s": step_id}
    if props:
        event["p"] = props
    return event


def form_event(kind: str, visitor: str = "v1", session: str = "s1", step_id: str = "", ts: int | None = None,
               **props) -> dict:
    event = step(step_id, visitor, session, ts, **props)
    event["e"] = kind
    if not step_id:
        event.pop("s")
    return event


def post(client, *events, headers=None):
    body = {"sent": int(time.time() * 1000), "events": list(events)}
    return client.post("/collect", content=json.dumps(body), headers={"content-type": "text/plain", **(headers or {})})
