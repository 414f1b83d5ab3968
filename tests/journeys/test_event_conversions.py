"""Sales recorded as events (a back office's Segment track call) stored as conversions, through the one
function every conversion goes through: matched by the same phone key as an imported line, idempotent,
corrected by a later event, rejected with reasons when the sale cannot be read.

The collector's background turn runs too (the API pokes it when a sale comes in): tests assert what is
stored, and the runs' sums, whichever run did the work."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

from journeys import conversions, event_conversions
from journeys.imports import Context
from tests.conftest import SECRET
from tests.journeys.conftest import ADMIN, data, rows


def _key(client) -> str:
    return client.post("/api/write-keys", params={"source": "back_office"}, headers=ADMIN).json()["key"]


SIGNED = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).replace(microsecond=0)
"""When the sales of these tests were signed: two days ago, as a back office sends a sale it records late."""


def _send(client, key, *props_list):
    batch = [{"type": "track", "event": "Contract Signed", "userId": "CUST-1", "messageId": str(uuid.uuid4()),
              "timestamp": SIGNED.isoformat(), "properties": props} for props in props_list]
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    sent = dt.datetime.now(dt.timezone.utc).isoformat()
    r = client.post("/v1/batch", content=json.dumps({"batch": batch, "sentAt": sent}),
                    headers={"authorization": auth, "content-type": "application/json"})
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text


def test_a_contract_signed_through_the_api_is_a_conversion_like_an_imported_line(client, store, ctx):
    key = _key(client)
    _send(client, key, {"contract_id": "CT-1", "premium": 412.5, "phone": "06 12 34 56 78", "quote_id": "Q-8F2KX1",
                        "channel": "shop", "broker_id": "B042", "product": "Moto tous risques"})
    event_conversions.sync(store, ctx)
    (sale,) = rows(store, "SELECT conversion_id, ts, channel, broker_id, product, premium, currency, phone_key, crm_id, "
                          "source FROM parcours.conversions FINAL")
    assert (sale["conversion_id"], str(sale["premium"]), sale["currency"], sale["crm_id"], sale["channel"],
            sale["broker_id"], sale["product"], sale["source"]) == (
        "CT-1", "412.50", "EUR", "Q-8F2KX1", "shop", "B042", "Moto tous risques", "back_office:contract_signed")
    signed = sale["ts"].replace(tzinfo=dt.timezone.utc) if sale["ts"].tzinfo is None else sale["ts"]
    assert abs((signed - SIGNED).total_seconds()) < 5  # the event's time: sent two days after it was made
    # the same sale in a sales file: the same phone key, so the same journeys match it
    conversions.import_file(store, ctx, data(f"conversion_id,ts,phone\nCT-FILE,{SIGNED.isoformat()},+33612345678\n"),
                            source="file.csv")
    keys = {r["conversion_id"]: r["phone_key"] for r in rows(store, "SELECT conversion_id, phone_key FROM "
                                                                     "parcours.conversions FINAL")}
    assert keys["CT-1"] == keys["CT-FILE"] != ""
    event_key = rows(store, "SELECT phone_key FROM parcours.events WHERE event = 'contract_signed'")[0]["phone_key"]
    assert event_key == keys["CT-1"]


def test_a_run_is_idempotent_and_a_corrected_sale_replaces_the_old(client, store, ctx):
    key = _key(client)
    _send(client, key, {"contract_id": "CT-2", "premium": 300, "quote_id": "Q-2"})
    event_conversions.sync(store, ctx)
    again = event_conversions.sync(store, ctx)  # re-reads the margin: nothing written again
    assert again.events == 1 and (again.imported, again.updated) == (0, 0)
    assert rows(store, "SELECT count() AS n FROM parcours.conversions") == [{"n": 1}]
    _send(client, key, {"contract_id": "CT-2", "premium": 320, "quote_id": "Q-2"})
    event_conversions.sync(store, ctx)
    assert rows(store, "SELECT toString(premium) AS p FROM parcours.conversions FINAL") == [{"p": "320"}]
    assert rows(store, "SELECT count() AS n FROM parcours.conversions") == [{"n": 2}]  # the sale, then its correction
    assert rows(store, "SELECT sum(imported) AS i, sum(updated) AS u FROM parcours.event_conversion_runs") == [
        {"i": 1, "u": 1}]


def test_a_sale_that_cannot_be_read_is_kept_in_import_rejects_until_a_corrected_event_fixes_it(client, store, ctx):
    key = _key(client)
    _send(client, key, {"contract_id": "CT-3", "premium": 99.999, "quote_id": "Q-3", "currency": "EUR"},
          {"contract_id": "CT-4", "premium": 10, "currency": "EUR"})  # 3 decimals; neither phone nor crm id
    event_conversions.sync(store, ctx)
    rejects = rows(store, "SELECT record_key, reasons, resolved FROM parcours.import_rejects FINAL ORDER BY record_key")
    assert rejects == [
        {"record_key": "CT-3", "reasons": ["premium: more than 2 decimals: 99.999"], "resolved": False},
        {"record_key": "CT-4", "reasons": ["phone, crm_id: one of them is required to match the sale to a journey"],
         "resolved": False}]
    _send(client, key, {"contract_id": "CT-3", "premium": 99.99, "quote_id": "Q-3"})
    event_conversions.sync(store, ctx)
    assert rows(store, "SELECT record_key, resolved FROM parcours.import_rejects FINAL ORDER BY record_key") == [
        {"record_key": "CT-3", "resolved": True}, {"record_key": "CT-4", "resolved": False}]  # CT-4 still to fix


def test_the_collectors_background_turn_stores_them(client, store):
    key = _key(client)
    _send(client, key, {"contract_id": "CT-5", "premium": 100, "quote_id": "Q-5"})
    client.app.state.journeys.turn()  # (the turn the API's poke started may have stored it already)
    assert rows(store, "SELECT conversion_id FROM parcours.conversions FINAL") == [{"conversion_id": "CT-5"}]
    assert rows(store, "SELECT sum(imported) AS n FROM parcours.event_conversion_runs") == [{"n": 1}]


def test_a_sale_is_stored_by_the_turn_it_pokes_once_its_event_is_written(settings, store, monkeypatch):
    """The API pokes the background turn once the batch writer has stored the sale's event (here within half
    a second): with turns an hour apart, the sale still becomes a conversion. A turn poked as the request came
    in ran before the event was stored, found nothing, and the sale waited for the next turn (15 s on CI)."""
    import dataclasses
    import functools
    import time

    from collector.app import create_app
    from journeys import background
    from tests.conftest import Client

    monkeypatch.setattr(background, "Background", functools.partial(background.Background, interval=3600.0))
    with Client(create_app(dataclasses.replace(settings, batch_age=0.5))) as client:
        key = _key(client)
        deadline = time.monotonic() + 60  # bounds for a failure on a loaded machine, not speed claims
        while client.app.state.journeys.last is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the turn at start is over: a poke now starts one at once
        _send(client, key, {"contract_id": "CT-6", "premium": 100, "quote_id": "Q-6"})
        deadline = time.monotonic() + 60
        while not rows(store, "SELECT conversion_id FROM parcours.conversions FINAL") and time.monotonic() < deadline:
            time.sleep(0.05)
    assert rows(store, "SELECT conversion_id FROM parcours.conversions FINAL") == [{"conversion_id": "CT-6"}]


def test_nothing_is_read_when_the_plan_marks_no_event(store, plan):
    from dataclasses import replace

    run = event_conversions.sync(store, Context(replace(plan, conversions={}), SECRET))
    assert run.events == 0
    assert rows(store, "SELECT count() AS n FROM parcours.event_conversion_runs") == [{"n": 0}]


def test_contract_ids_that_read_as_phone_numbers_stay_two_sales(client, store, ctx):
    """0145678001 and 0145678002 through the Segment API were both stored `[phone]`: one sale, the other lost
    (outside probe). Each is its keyed hash, as in an imported file, and keyed once only."""
    from collector.redact import Redactor

    key = _key(client)
    _send(client, key, {"contract_id": "0145678001", "premium": 201, "phone": "06 12 34 56 78"},
          {"contract_id": "0145678002", "premium": 202, "phone": "06 12 34 56 79"})
    event_conversions.sync(store, ctx)
    got = {r["conversion_id"]: str(r["premium"]) for r in rows(store, "SELECT conversion_id, premium FROM "
                                                                      "parcours.conversions FINAL")}
    keyed = Redactor("FR").keyed
    assert got == {keyed("0145678001", SECRET): "201.00", keyed("0145678002", SECRET): "202.00"}
    assert not rows(store, "SELECT properties FROM parcours.events WHERE properties LIKE '%0145678%'")


def test_contract_ids_sent_as_json_numbers_that_read_as_phone_numbers_stay_two_sales(settings, store, tmp_path):
    """A plan may give a conversion_id as an integer: 33145678001 and 33145678002 (ids that read as French
    numbers, as a JSON number's digits are read: Redactor.number) were both stored `[phone]` since phone numbers
    sent as JSON numbers are redacted: one sale, the other lost (regression probe). Each is its keyed hash, as the
    same id in an imported file."""
    import dataclasses

    from collector.app import create_app
    from collector.redact import Redactor
    from tests.conftest import EXAMPLE_PLAN, Client
    from tagplan import compile_plan, load_plan

    text = EXAMPLE_PLAN.read_text()
    declared = "contract_id: {type: string, required: true, max_length: 64}"
    assert declared in text
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(declared, "contract_id: {type: integer, required: true}"))
    with Client(create_app(dataclasses.replace(settings, plan=path))) as client:
        key = _key(client)
        _send(client, key, {"contract_id": 33145678001, "premium": 201, "phone": "06 12 34 56 78"},
              {"contract_id": 33145678002, "premium": 202, "phone": "06 12 34 56 79"})
        event_conversions.sync(store, Context(compile_plan(load_plan(path)), SECRET))
    got = {r["conversion_id"]: str(r["premium"]) for r in rows(store, "SELECT conversion_id, premium FROM "
                                                                      "parcours.conversions FINAL")}
    keyed = Redactor("FR").keyed
    assert got == {keyed("33145678001", SECRET): "201.00", keyed("33145678002", SECRET): "202.00"}
    assert not rows(store, "SELECT properties FROM parcours.events WHERE properties LIKE '%3314567800%'")
