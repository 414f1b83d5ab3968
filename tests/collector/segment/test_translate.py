"""Segment's calls read as the tag's events, without a server: names, ids, personal data, times, what is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.segment import translate
from collector.segment.translate import Message
from tests.conftest import SECRET

RECEIVED = 1_763_000_000_000


def read(plan, call="track", **fields):
    if "userId" not in fields and "anonymousId" not in fields:
        fields["userId"] = "u1"
    return translate.read(Message(type=call, **fields), call, "crm", RECEIVED, None, None, plan, SECRET)


@pytest.mark.parametrize("given, name", [("Contract Signed", "contract_signed"), ("contract_signed", "contract_signed"),
                                         ("Quote-Shared (v2)", "quote_shared_v2"), ("  Lead  ", "lead")])
def test_segment_event_names_are_read_as_plan_names(given, name):
    assert translate.event_name(given) == name


def test_ids_that_are_personal_data_are_kept_as_their_keyed_hash(plan):
    by_mail = read(plan, userId="Rider@Example.fr", event="Contract Signed").event
    assert by_mail["uid"].startswith("hash:") and "example" not in by_mail["uid"].lower()
    assert by_mail["vid"] == "user:" + by_mail["uid"]
    by_phone = read(plan, anonymousId="06 12 34 56 78", event="Contract Signed").event
    again = read(plan, anonymousId="+33 6 12 34 56 78", event="Contract Signed").event
    assert by_phone["vid"].startswith("hash:") and by_phone["vid"] == again["vid"]  # keyed on the E.164 number
    assert not any(c in "0189" for c in by_phone["vid"])  # base32: no digit run the redaction would take for a phone
    number = read(plan, userId=20260042, anonymousId="3f2c-visitor", event="Contract Signed").event
    assert (number["uid"], number["vid"]) == ("20260042", "3f2c-visitor")  # a customer number, kept as given


def test_identify_keeps_the_plans_identity_keys_only(plan):
    r = read(plan, "identify", userId="u1", traits={"phone": "0612345678", "quote_id": "Q-1", "email": "a@b.fr",
                                                    "name": "Anne"})
    assert (r.event_name, r.event["p"]) == ("identify", {"phone": "0612345678", "quote_id": "Q-1"})


def test_a_page_gives_its_url_referrer_and_campaign_not_its_page_fields(plan):
    r = read(plan, "page", userId="u1", name="Devis", properties={
        "url": "https://www.motoassur.example/devis?courtier=B042&fbclid=F1&utm_term=moto", "title": "Devis",
        "path": "/devis", "referrer": "https://www.google.fr/"},
        context={"campaign": {"medium": "email", "name": "relance", "term": "casque"}})
    e = r.event
    assert (e["e"], e["url"], e["ref"], e["p"]) == (
        "page_view", "https://www.motoassur.example/devis?courtier=B042&fbclid=F1&utm_term=moto",
        "https://www.google.fr/", {})
    assert e["c"] == {"courtier": "B042", "fbclid": "F1", "utm_term": "casque", "utm_medium": "email",
                      "utm_campaign": "relance"}  # context.campaign wins over the URL


def test_times_as_segment_defines_them(plan):
    both = read(plan, event="Lead", originalTimestamp="2026-11-20T10:00:00Z", timestamp="2026-11-20T11:00:00+01:00",
                sentAt="2026-11-20T10:05:00.000Z")
    ten = int(dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc).timestamp() * 1000)
    assert (both.event["t"], both.sent_ms) == (ten, ten + 5 * 60_000)
    alone = read(plan, event="Lead", timestamp="2026-11-20T11:00:00+01:00")
    assert (alone.event["t"], alone.sent_ms) == (ten, RECEIVED)  # no sentAt: taken as given
    assert read(plan, event="Lead").event["t"] == RECEIVED
    assert read(plan, event="Lead", timestamp="20/11/2026").reasons == [
        'timestamp: "20/11/2026" is not an ISO 8601 time such as 2026-11-20T14:03:00.000Z']


def test_the_same_message_id_from_the_same_source_is_the_same_event(plan):
    one, two = read(plan, event="Lead", messageId="m-1"), read(plan, event="Lead", messageId="m-1")
    other = translate.read(Message(type="track", event="Lead", messageId="m-1", userId="u1"), "track", "back_office", RECEIVED,
                           None, None, plan, SECRET)
    assert one.event_id == two.event_id != other.event_id
    assert read(plan, event="Lead").event_id != read(plan, event="Lead").event_id  # no messageId: no dedup


@pytest.mark.parametrize("written", ["06\u00a071\u00a082\u00a093\u00a004", "06\u202f71\u202f82\u202f93\u202f04",
                                     "06\u201371\u201382\u201393\u201304", "\uff10\uff16\uff17\uff11\uff18\uff12\uff19\uff13\uff10\uff14",
                                     "06_71_82_93_04"])
def test_an_id_that_is_a_phone_is_hashed_whatever_its_separators_and_digits(plan, written):
    plain = read(plan, userId="06 71 82 93 04", event="Contract Signed").event
    other = read(plan, userId=written, event="Contract Signed").event
    assert other["uid"].startswith("hash:") and other["uid"] == plain["uid"]
    assert other["vid"] == "user:" + plain["uid"]


def test_an_event_name_is_redacted_before_it_is_snake_cased(plan):
    got = read(plan, anonymousId="v-1", event="Call 06 71 82 93 04")
    assert got.event_name == "call_phone"
