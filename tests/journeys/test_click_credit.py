"""`parcours export conversions --model`: each exported sale weighted by the credit the attribution model gives
the touch carrying its click, on a path computed by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
import uuid

import pytest

from collector import ingest
from collector.clock import TimeBounds
from collector.errors import BadParameter
from journeys import adnetworks, conversions, persons
from tests.journeys.builder import broker
from tests.journeys.conftest import data

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def landing(store, plan, secret, visitor: str, when: dt.datetime, captured: dict, phone: str = ""):
    """A landing with campaign parameters (the tag's touch event and page view) and, with a phone, a quote."""
    ms = int(when.timestamp() * 1000)
    session = f"{visitor}-{ms}"
    events = [{"id": str(uuid.uuid4()), "e": "touch", "t": ms, "vid": visitor, "sid": session,
               "url": "https://www.motoassur.example/", "c": captured},
              {"id": str(uuid.uuid4()), "e": "page_view", "t": ms + 1, "vid": visitor, "sid": session,
               "url": "https://www.motoassur.example/", "c": captured}]
    if phone:
        events.append({"id": str(uuid.uuid4()), "e": "form_submit", "t": ms + 60_000, "vid": visitor, "sid": session,
                       "f": "moto_quote", "c": captured, "p": {"quote_id": f"Q-{visitor.upper()}", "phone": phone}})
    body = json.dumps({"sent": int(time.time() * 1000), "events": events}).encode()
    out = ingest.ingest(body, ingest.Request(int(time.time() * 1000), "Mozilla/5.0 Firefox/128.0"), plan, secret,
                        bounds=TimeBounds(max_age_days=365))
    assert not out.rejected, out.rejected
    store.insert_rows("events", out.events)


@pytest.fixture
def paths(store, ctx, plan):
    """Iris: a display ad 6 days ago, a search ad (her gclid) 3 days ago with a quote, then she signs in broker
    B042's shop yesterday (412.50 €): her path is display (5 days before the sale), search_paid (2 days before:
    the click's touch), broker (the point of sale). Jade: a Meta ad 2 days ago and a quote, then she signs with
    the call centre yesterday (200 €): social (the click), call_centre."""
    secret = ctx.secret
    landing(store, plan, secret, "iris", NOW - 6 * DAY, {"utm_source": "regie", "utm_medium": "cpm"})
    landing(store, plan, secret, "iris", NOW - 3 * DAY, {"gclid": "G-IRIS"}, phone="06 12 12 12 12")
    landing(store, plan, secret, "jade", NOW - 2 * DAY, {"fbclid": "F-JADE"}, phone="06 13 13 13 13")
    broker(store, "B042", "Comparamoto", "broker")
    header = "conversion_id,ts,channel,broker_id,premium,currency,phone,ad_consent\n"
    lines = [f"S-IRIS,{(NOW - DAY).isoformat()},shop,B042,412.50,EUR,06 12 12 12 12,oui",
             f"S-JADE,{(NOW - DAY).isoformat()},call_centre,CRC-7,200,EUR,06 13 13 13 13,oui"]
    assert conversions.import_file(store, ctx, data(header + "\n".join(lines) + "\n"), source="s.csv").rejected == 0
    persons.stitch(store, persons.config(plan))


def google(store, plan, model=None):
    out = adnetworks.export(store, plan, "google-ads", NOW - 30 * DAY, NOW, model=model, now=NOW)
    table = list(csv.reader(io.StringIO(out.content.split("\n", 1)[1])))
    return {row[0]: row[3] for row in table[1:]}, out.left_out


def test_without_a_model_each_sale_leaves_whole(store, plan, paths):
    assert google(store, plan) == ({"G-IRIS": "412.50"}, {})


@pytest.mark.parametrize("model, value", [
    ("linear", "137.50"),          # 1/3 each
    ("position_based", "82.50"),   # the middle of three: 0.2
    # 2^(-2/7) / (2^(-5/7) + 2^(-2/7) + 2^0), the half-life 7 days
    ("time_decay", f"{412.5 * 2 ** (-2 / 7) / (2 ** (-5 / 7) + 2 ** (-2 / 7) + 1):.2f}"),
])
def test_the_value_is_the_premium_times_the_models_credit_of_the_clicks_touch(store, plan, paths, model, value):
    assert google(store, plan, model) == ({"G-IRIS": value}, {})


@pytest.mark.parametrize("model", ["first_touch", "last_touch", "last_non_direct"])
def test_a_click_the_model_gives_nothing_is_left_out_and_counted(store, plan, paths, model):
    assert google(store, plan, model) == ({}, {f"{model} gives the touch of the click no credit": 1})


def test_meta_events_carry_the_weighted_value(store, plan, paths):
    out = adnetworks.export(store, plan, "meta", NOW - 7 * DAY, NOW, model="position_based", now=NOW)
    (event,) = [e for body in out.content.splitlines() for e in json.loads(body)["data"]]
    assert (event["event_id"], event["action_source"], event["custom_data"]["value"]) == ("S-JADE", "phone_call", 100.0)


def test_markov_shares_each_path_by_the_levers_removal_effects(store, plan, paths):
    """Two converting paths and no null one: removing any lever loses every conversion through it, so each
    lever's removal effect is 1 and a path's levers share it equally (Iris: search_paid, display, broker)."""
    assert google(store, plan, "markov") == ({"G-IRIS": "137.50"}, {})


def test_an_unknown_model_is_refused_in_words(store, plan):
    with pytest.raises(BadParameter, match='model "lineaire": expected one of first_touch, last_touch'):
        adnetworks.export(store, plan, "google-ads", NOW - DAY, NOW, model="lineaire")
