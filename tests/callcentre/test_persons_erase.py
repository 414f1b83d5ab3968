"""The call centre's data in one person: a call matched by lease links the visitor to the caller's phone; and
`parcours erase` removes the person's call-back phones, deliveries, leases and calls, from the disk too."""

from __future__ import annotations

import datetime as dt
import json

from journeys import erase, persons
from tests.callcentre.conftest import ADMIN, post, step
from tests.callcentre.test_contacts import files_holding
from tests.collector.helpers import rows
from tests.conftest import SECRET

UTC = dt.timezone.utc


def lease(client, visitor, session):
    return client.post("/collect/number", content=json.dumps({"v": visitor, "s": session, "u": "https://x/"}),
                       headers={"content-type": "text/plain"}).json()["n"]


def call(client, call_id, caller, dialled, minutes=1):
    at = (dt.datetime.now(UTC) + dt.timedelta(minutes=minutes)).isoformat()
    body = f"call_id,start,caller,dialled,duration,billsec,disposition\n{call_id},{at},{caller},{dialled},60,50,ANSWERED\n"
    assert client.post("/api/calls", content=body.encode(), headers=ADMIN).json()["imported"] == 1


def person_of(store, key_type, key):
    (row,) = rows(store, "SELECT argMax(person_id, updated_at) AS p FROM parcours.person_keys "
                         "WHERE key_type = {t:String} AND key = {k:String}", t=key_type, k=key)
    return row["p"]


def test_a_call_matched_by_lease_joins_the_callers_phone_to_the_visitor(client, store, plan):
    from collector.enrich import phone_key

    number = lease(client, "v-web", "s-web")
    call(client, "c-1", "06 22 33 44 55", number)
    lease(client, "v-a", "s-a")
    persons.stitch(store, persons.config(plan))
    caller = phone_key("06 22 33 44 55", "FR", SECRET)
    assert person_of(store, "phone", caller) == person_of(store, "visitor", "v-web") != ""
    assert person_of(store, "visitor", "v-a") != person_of(store, "visitor", "v-web")


def test_erasing_a_person_removes_their_call_centre_data_from_the_disk_too(client, store, plan, engine_dir):
    phone = "06 48 27 19 53"
    post(client, step("rider", visitor="v-erase", session="s-erase", phone=phone, callback_consent=True))
    number = lease(client, "v-erase", "s-erase")
    call(client, "c-erase", phone, number)
    call(client, "c-back", "201", phone)  # an agent calling her back: her phone is the number dialled
    (sealed,) = [r["sealed"] for r in rows(store, "SELECT sealed FROM parcours.lead_contacts")]
    store.insert_rows("lead_deliveries", [{"lead_id": "L-1", "state": "delivered", "attempts": 1,
                                           "next_attempt_at": 0.0, "visitor_id": "v-erase", "phone_key": "",
                                           "form_id": "moto_quote", "call_by": 0.0}])
    done = erase.erase(store, plan, SECRET, "phone", phone)
    assert {t: done.removed[t] for t in ("lead_contacts", "lead_deliveries", "number_leases", "calls")} == \
        {"lead_contacts": 1, "lead_deliveries": 1, "number_leases": 1, "calls": 2}
    for table in ("lead_contacts", "lead_deliveries", "number_leases", "calls"):
        assert rows(store, f"SELECT count() AS n FROM parcours.{table}") == [{"n": 0}], table
    assert files_holding([engine_dir], [sealed]) == []
