"""A ticked call-back box: the phone sealed into lead_contacts with its proof, never in clear anywhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from callcentre.seal import Sealer, Unsealable, parse_keys
from collector.storage import StoreError
from tests.callcentre.conftest import post, step
from tests.collector.helpers import counts, files_written, rows

PHONE = "06 48 27 19 53"


@pytest.fixture
def client(lead_settings, store):
    """The collector without its background work: its own purge, at its start, would race the tests' purges
    (it took a contact a test made due before the test's purge, under load)."""
    import dataclasses

    from collector.app import create_app
    from tests.conftest import Client

    with Client(create_app(dataclasses.replace(lead_settings, background=False))) as c:
        yield c
FORMS = ("0648271953", "+33648271953", "33648271953", "06 48 27 19 53", "648271953")
"""The ways the number could have been written down."""


def files_holding(roots: list[Path], needles) -> list[str]:
    """Files under `roots` whose bytes hold any of `needles` (the write-ahead log and the engine's parts)."""
    found = []
    for root in roots:
        for path, data in files_written(root):
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


def test_a_ticked_box_keeps_the_phone_sealed_with_its_proof(client, store, sealer):
    ev = step("rider", visitor="v-consent", phone=PHONE, callback_consent=True, licence_years=8)
    assert counts(post(client, ev)) == {"accepted": 1, "rejected": 0}
    (contact,) = rows(store, "SELECT * FROM parcours.lead_contacts")
    assert (contact["visitor_id"], contact["form_id"], contact["step"], contact["step_index"]) == \
        ("v-consent", "moto_quote", "rider", 2)
    assert contact["wording"] == "rappel-2026-08" and contact["url"] == ev["url"]
    assert contact["plan_version"] == "2026.11.1"
    assert (contact["purge_after"] - contact["consented_at"]).days == 30
    assert sealer.open(contact["sealed"], contact["event_id"]) == "+33648271953"
    (event,) = rows(store, "SELECT event_id, phone_key, properties FROM parcours.events")
    assert str(event["event_id"]) == contact["event_id"] and event["phone_key"] == contact["phone_key"] != ""
    assert json.loads(event["properties"]) == {"callback_consent": True, "licence_years": 8}


def test_the_sealed_phone_opens_only_with_its_key_and_for_its_event(client, store, sealer):
    post(client, step("rider", phone=PHONE, callback_consent=True))
    (contact,) = rows(store, "SELECT event_id, sealed FROM parcours.lead_contacts")
    for other, bound in ((Sealer(parse_keys("11" * 32)), contact["event_id"]), (sealer, "another-event")):
        try:
            other.open(contact["sealed"], bound)
        except Unsealable:
            continue
        raise AssertionError("opened with the wrong key or for the wrong event")
    # A rotated key ring (new key first) still opens what the old key sealed.
    rotated = Sealer(parse_keys(",".join(["22" * 32, "4c6561647320617265206b657074207365616c65642c206e6f7420696e20636c"])))
    assert rotated.open(contact["sealed"], contact["event_id"]) == "+33648271953"


def test_without_the_box_ticked_no_phone_is_kept(client, store):
    events = [step("rider", visitor="v-no", phone=PHONE, callback_consent=False),
              step("rider", visitor="v-absent", phone=PHONE),
              step("rider", visitor="v-nophone", callback_consent=True)]
    assert counts(post(client, *events)) == {"accepted": 3, "rejected": 0}
    assert rows(store, "SELECT count() AS n FROM parcours.lead_contacts") == [{"n": 0}]
    # The phone of the first two is in events as its keyed hash only, as any phone.
    keys = rows(store, "SELECT visitor_id, phone_key FROM parcours.events ORDER BY visitor_id")
    assert {r["visitor_id"]: bool(r["phone_key"]) for r in keys} == {"v-absent": True, "v-no": True, "v-nophone": False}


def test_nothing_on_disk_holds_the_phone_in_clear(client, store, lead_settings, engine_dir):
    post(client, step("rider", visitor="v-disk", phone=PHONE, callback_consent=True),
         step("rider", visitor="v-disk-no", phone=PHONE, callback_consent=False))
    (contact,) = rows(store, "SELECT sealed FROM parcours.lead_contacts")
    roots = [engine_dir, lead_settings.data_dir]
    assert files_holding(roots, FORMS) == []
    # The same search finds the sealed value (stored uncompressed), so it would find the phone if it were there.
    assert files_holding([engine_dir], [contact["sealed"]])


def test_a_consent_clickhouse_cannot_take_is_refused_for_the_tag_to_send_again(client, store):
    writer = client.app.state.contacts
    real = writer.store

    class Down:
        database = real.database

        def insert_rows(self, table, rows, token=None):
            raise StoreError("insert into lead_contacts failed: Connection refused (injected outage)")

    ev = step("rider", visitor="v-retry", phone=PHONE, callback_consent=True)
    writer.store = Down()
    try:
        response = post(client, ev)
    finally:
        writer.store = real
    assert response.status_code == 503 and response.headers["retry-after"]
    assert "call-back consent" in response.json()["error"]
    assert counts(post(client, ev)) == {"accepted": 1, "rejected": 0}  # the tag's retry
    assert rows(store, "SELECT count() AS n FROM parcours.lead_contacts FINAL") == [{"n": 1}]


def test_a_collector_without_a_leads_key_keeps_no_phone(settings, store):
    from collector.app import create_app
    from tests.conftest import Client

    assert not settings.leads_key
    with Client(create_app(settings)) as c:
        assert counts(post(c, step("rider", phone=PHONE, callback_consent=True))) == {"accepted": 1, "rejected": 0}
    assert rows(store, "SELECT count() AS n FROM parcours.lead_contacts") == [{"n": 0}]


def test_the_leads_key_file_is_generated_owner_only_in_demo_mode(tmp_path):
    from collector import settings as settings_mod

    s = settings_mod.build(plan="examples/moto-insurance.yaml", data_dir=str(tmp_path), clickhouse=None,
                           admin_token=None, secret=None, demo=True)
    key = tmp_path / settings_mod.LEADS_KEY_FILE
    assert oct(os.stat(key).st_mode & 0o777) == "0o600" and len(parse_keys(s.leads_key)) == 1
    assert s.leads_key != s.secret.decode()


@pytest.mark.parametrize("key, why", [
    ("", "PARCOURS_LEADS_KEY is not set"),
    ("too-short", "PARCOURS_LEADS_KEY is not a key: a leads key is 32 random bytes"),
    ("the-secret", "PARCOURS_LEADS_KEY is the secret"),
])
def test_a_missing_or_unusable_key_turns_the_leads_off_in_one_line_and_ingestion_goes_on(settings, store, caplog,
                                                                                          key, why):
    import dataclasses
    import logging

    from collector.app import create_app
    from tests.conftest import Client

    settings = dataclasses.replace(settings, leads_key=key, secret=b"the-secret")
    with caplog.at_level(logging.ERROR, logger="parcours.callcentre"):
        app = create_app(settings)
    (line,) = [r for r in caplog.records if r.name == "parcours.callcentre"]
    assert line.getMessage().startswith(f"call-back leads are off: {why}") and line.exc_info is None
    assert "Events are stored as usual" in line.getMessage()
    with Client(app) as c:
        assert counts(post(c, step("rider", phone=PHONE, callback_consent=True))) == {"accepted": 1, "rejected": 0}
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 1}]
    assert rows(store, "SELECT count() AS n FROM parcours.lead_contacts") == [{"n": 0}]


def test_the_purge_deletes_the_phones_past_retention_and_leaves_nothing_of_them_on_disk(client, store, engine_dir,
                                                                                         lead_settings):
    from callcentre import retention
    from tests.callcentre.conftest import ADMIN

    post(client, step("rider", visitor="v-old", phone=PHONE, callback_consent=True),
         step("rider", visitor="v-new", phone="06 11 22 33 44", callback_consent=True))
    sealed = {r["visitor_id"]: r["sealed"] for r in rows(store, "SELECT visitor_id, sealed FROM parcours.lead_contacts")}
    assert files_holding([engine_dir], [sealed["v-old"]])  # on disk, uncompressed, before
    store.query(f"ALTER TABLE {store.database}.lead_contacts UPDATE purge_after = consented_at "
                "WHERE visitor_id = 'v-old' SETTINGS mutations_sync = 2", readonly=False)
    assert retention.purge(store).as_dict() == {"contacts": 1, "old_parts_left": 0}
    assert rows(store, "SELECT visitor_id FROM parcours.lead_contacts") == [{"visitor_id": "v-new"}]
    assert files_holding([engine_dir], [sealed["v-old"]]) == []  # no part, old or new, holds it
    assert files_holding([engine_dir], [sealed["v-new"]])  # the one still in retention is kept
    # Merges after the purge bring nothing back; nowhere in the data directory (log, engine) is the number.
    store.query(f"OPTIMIZE TABLE {store.database}.lead_contacts FINAL", readonly=False)
    assert files_holding([engine_dir, lead_settings.data_dir], [sealed["v-old"], *FORMS]) == []
    assert files_holding([engine_dir], [sealed["v-new"]])
    assert client.post("/api/leads/purge", headers=ADMIN).json() == {"contacts": 0, "old_parts_left": 0}


def test_a_purge_while_a_query_reads_the_contacts_leaves_them_attached(client, store, lead_settings):
    """A query that began before the purge still reads lead_contacts: the purge reattaches the table once no
    other query runs (before, its ATTACH failed with "Retry later" and left the table detached: every consent
    refused until a restart)."""
    import threading

    from callcentre import retention

    post(client, step("rider", visitor="v-old", phone=PHONE, callback_consent=True))
    store.query(f"ALTER TABLE {store.database}.lead_contacts UPDATE purge_after = consented_at "
                "WHERE 1 SETTINGS mutations_sync = 2", readonly=False)
    reading = threading.Thread(target=lambda: store.query(
        f"SELECT count() FROM {store.database}.lead_contacts WHERE sleepEachRow(2.5) = 0", readonly=False))
    reading.start()
    import time
    time.sleep(0.3)
    assert retention.purge(store).as_dict() == {"contacts": 1, "old_parts_left": 0}
    reading.join(30)
    post(client, step("rider", visitor="v-new", phone="06 11 22 33 44", callback_consent=True))
    assert rows(store, "SELECT visitor_id FROM parcours.lead_contacts") == [{"visitor_id": "v-new"}]


@pytest.mark.parametrize("consent", ["true", 1, "yes", None, {"given": True}])
def test_anything_but_a_ticked_box_keeps_no_phone_whatever_the_sender_claims(client, store, lead_settings, engine_dir,
                                                                             consent):
    """A forged or sloppy consent (a string, a number, null, an object): never a call-back phone kept."""
    ev = step("rider", visitor="v-forged", phone=PHONE, callback_consent=consent)
    assert response_ok(post(client, ev))
    assert rows(store, "SELECT count() AS n FROM parcours.lead_contacts") == [{"n": 0}]
    assert files_holding([engine_dir, lead_settings.data_dir], FORMS) == []


def response_ok(response) -> bool:
    """Stored or kept as rejected, never a 5xx."""
    return response.status_code == 204


def test_the_managers_guides_consent_query_finds_the_proof_after_the_phone_is_purged(client, store):
    import re

    from callcentre import retention
    from collector.enrich import phone_key
    from tests.conftest import ROOT, SECRET

    doc = (ROOT / "docs" / "call-centre.md").read_text()
    sql = re.search(r'"did this person agree to be called, and to what\?".*?```sql\n(.*?)```', doc, re.S).group(1)
    ev = step("rider", visitor="v-proof", phone=PHONE, callback_consent=True)
    post(client, ev, step("rider", visitor="v-other", phone="06 11 22 33 44", callback_consent=False))
    store.query(f"ALTER TABLE {store.database}.lead_contacts UPDATE purge_after = consented_at WHERE 1 "
                "SETTINGS mutations_sync = 2", readonly=False)
    assert retention.purge(store).contacts == 1
    result = store.query(sql.replace("parcours.", f"{store.database}."),
                         parameters={"phone_key": phone_key(PHONE, "FR", SECRET)})
    (proof,) = [dict(zip(result.columns, r)) for r in result.rows]
    assert (str(proof["event_id"]), proof["visitor_id"], proof["page"]) == (ev["id"], "v-proof", ev["url"])
    assert proof["plan_version"] == "2026.11.1"


def test_a_consent_withdrawn_takes_its_phone_with_it_before_its_retention_ends(client, store, engine_dir):
    """Ticked then unticked (the step sent again without the box): no lead (leads.sql), and the purge deletes
    the phone sealed at the tick; a box ticked again after the untick is kept, as another visitor's."""
    import time

    from callcentre import retention
    from tests.conftest import EXAMPLE_PLAN
    from tagplan import compile_plan, load_plan

    t = int(time.time() * 1000) - 60_000
    post(client, step("rider", visitor="v-gone", ts=t, phone=PHONE, callback_consent=True),
         step("rider", visitor="v-gone", ts=t + 1000, phone=PHONE, callback_consent=False),
         step("rider", visitor="v-back", ts=t, phone="06 11 22 33 44", callback_consent=True),
         step("rider", visitor="v-back", ts=t + 1000, phone="06 11 22 33 44", callback_consent=False),
         step("rider", visitor="v-back", ts=t + 2000, phone="06 11 22 33 44", callback_consent=True),
         step("rider", visitor="v-kept", ts=t, phone="06 99 88 77 66", callback_consent=True),
         step("rider", visitor="v-moved", ts=t, phone="06 55 44 33 22", callback_consent=True),
         step("rider", visitor="v-moved", ts=t + 1000, phone="06 55 44 33 23", callback_consent=True))
    sealed = {r["visitor_id"]: r["sealed"] for r in rows(store, "SELECT visitor_id, sealed FROM parcours.lead_contacts")}
    rules = retention.withdrawals(compile_plan(load_plan(EXAMPLE_PLAN)))
    assert rules == [("moto_quote", "rider", "callback_consent")]
    # v-gone's, v-back's first tick, and v-moved's first phone (a later tick replaced it: only the latest is used).
    assert retention.purge(store, withdrawn=rules).contacts == 3
    left = rows(store, "SELECT visitor_id, consented_at FROM parcours.lead_contacts FINAL ORDER BY visitor_id")
    assert [r["visitor_id"] for r in left] == ["v-back", "v-kept", "v-moved"]
    assert files_holding([engine_dir], [sealed["v-gone"]]) == []
    assert retention.purge(store, withdrawn=rules).contacts == 0
