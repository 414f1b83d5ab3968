"""Helpers for collector tests: events in the tag's wire format, posting them, reading rows back."""

from __future__ import annotations

import json
import time
import uuid


def event(e="page_view", **fields) -> dict:
    now = int(time.time() * 1000)
    return {"id": str(uuid.uuid4()), "e": e, "t": now, "q": 1, "vid": "v1", "sid": "s1",
            "url": "https://www.motoassur.example/devis?courtier=B042", **fields}


def post(client, *events, sent=None, headers=None):
    body = {"sent": sent or int(time.time() * 1000), "events": list(events)}
    return client.post("/collect", content=json.dumps(body), headers={"content-type": "text/plain", **(headers or {})})


def counts(response) -> dict[str, int]:
    """What POST /collect answered for a batch it took: 204, the counts in two headers."""
    assert response.status_code == 204, (response.status_code, response.text)
    assert response.content == b""
    return {"accepted": int(response.headers["x-parcours-accepted"]),
            "rejected": int(response.headers["x-parcours-rejected"])}


def rows(store, sql, **parameters):
    result = store.query(sql.replace("parcours.", f"{store.database}."), parameters=parameters or None)
    return [dict(zip(result.columns, r)) for r in result.rows]
